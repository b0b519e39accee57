import Foundation
import GraphIR
import Planner

/// The full 2-D DFT of one real `P x Q` patch in double precision, separable (rows,
/// then columns), with twiddle tables made once at bind time.
struct PatchDFT {
    let p, q: Int
    private let cosP, sinP, cosQ, sinQ: [Double]

    init(rows p: Int, cols q: Int) {
        (self.p, self.q) = (p, q)
        cosP = (0..<p).map { Foundation.cos(-2 * Double.pi * Double($0) / Double(p)) }
        sinP = (0..<p).map { Foundation.sin(-2 * Double.pi * Double($0) / Double(p)) }
        cosQ = (0..<q).map { Foundation.cos(-2 * Double.pi * Double($0) / Double(q)) }
        sinQ = (0..<q).map { Foundation.sin(-2 * Double.pi * Double($0) / Double(q)) }
    }

    /// `F[ky, kx] = sum x[r, c] e^{-2 pi i (ky r / P + kx c / Q)}` into `f` (interleaved
    /// re, im; `[P, Q]`), with `temp` of the same size.
    func forward(_ x: UnsafePointer<Float>, into f: UnsafeMutablePointer<Double>, temp: UnsafeMutablePointer<Double>) {
        for r in 0..<p {
            for kx in 0..<q {
                var re = 0.0, im = 0.0
                for c in 0..<q {
                    let v = Double(x[r * q + c]), t = (kx * c) % q
                    re += v * cosQ[t]; im += v * sinQ[t]
                }
                temp[2 * (r * q + kx)] = re; temp[2 * (r * q + kx) + 1] = im
            }
        }
        for ky in 0..<p {
            for kx in 0..<q {
                var re = 0.0, im = 0.0
                for r in 0..<p {
                    let t = (ky * r) % p, a = temp[2 * (r * q + kx)], b = temp[2 * (r * q + kx) + 1]
                    re += a * cosP[t] - b * sinP[t]; im += a * sinP[t] + b * cosP[t]
                }
                f[2 * (ky * q + kx)] = re; f[2 * (ky * q + kx) + 1] = im
            }
        }
    }

    /// The real part of the unnormalized inverse DFT of `f`: `sum F e^{+2 pi i (...)}`.
    func inverseReal(_ f: UnsafePointer<Double>, into x: UnsafeMutablePointer<Float>, scale: Double,
                     temp: UnsafeMutablePointer<Double>) {
        for r in 0..<p {
            for kx in 0..<q {
                var re = 0.0, im = 0.0
                for ky in 0..<p {
                    let t = (ky * r) % p, a = f[2 * (ky * q + kx)], b = f[2 * (ky * q + kx) + 1]
                    re += a * cosP[t] + b * sinP[t]; im += b * cosP[t] - a * sinP[t]
                }
                temp[2 * (r * q + kx)] = re; temp[2 * (r * q + kx) + 1] = im
            }
        }
        for r in 0..<p {
            for c in 0..<q {
                var re = 0.0
                for kx in 0..<q {
                    let t = (kx * c) % q
                    re += temp[2 * (r * q + kx)] * cosQ[t] + temp[2 * (r * q + kx) + 1] * sinQ[t]
                }
                x[r * q + c] = Float(scale * re)
            }
        }
    }
}

/// Radial bands of M2M.md section 4 for a `P x Q` patch: the band of each mode (-1 for
/// DC) and its radius `rho` (1 = Nyquist along an axis). Edges are dyadic
/// (`1/2^(b-1), ..., 1/4, 1/2`), half-open, compared exactly in integers.
struct RadialBands {
    let band: [Int]
    let rho: [Double]

    init(rows p: Int, cols q: Int, bands: Int) {
        var band = [Int](), rho = [Double]()
        for ky in 0..<p {
            for kx in 0..<q {
                let sy = ky <= p / 2 ? ky : ky - p, sx = kx <= q / 2 ? kx : kx - q
                // rho^2 (PQ)^2 / 4 as an integer: (ky Q)^2 + (kx P)^2.
                let scaled = (sy * q) * (sy * q) + (sx * p) * (sx * p)
                rho.append((Double(scaled) * 4).squareRoot() / Double(p * q))
                guard scaled > 0 else { band.append(-1); continue }
                // rho >= 1/2^m  <=>  4^m * 4 * scaled >= (PQ)^2 ; edges m = b-1 ... 1.
                var b = 0
                for m in stride(from: bands - 1, through: 1, by: -1) where (1 << (2 * m)) * 4 * scaled >= (p * q) * (p * q) {
                    b += 1
                }
                band.append(b)
            }
        }
        (self.band, self.rho) = (band, rho)
    }
}

/// band_energies, band_energies_grad and spectral_centroid: one patch per tile.
final class PatchSpectrumKernel: KernelDeclaration {
    enum Form { case energies, gradient, centroid }
    let form: Form
    let x, out: UnsafeMutablePointer<Float>
    let dE: UnsafeMutablePointer<Float>?
    let workspace: UnsafeMutablePointer<Double>
    let dft: PatchDFT
    let radial: RadialBands
    let patches, bands: Int

    static func workspaceBytes(_ node: Node, in graph: Graph) -> Int {
        let s = graph.values[node.inputs[0]].type.shape
        return s[0] * 4 * s[1] * s[2] * 8   // F and a temporary, complex Double, per patch
    }

    init(_ bind: KernelBinding) {
        switch bind.node.op {
        case .bandEnergies(let b): form = .energies; bands = b
        case .bandEnergiesGrad(let b): form = .gradient; bands = b
        case .spectralCentroid: form = .centroid; bands = 1
        case .linear, .linearGelu, .mlp, .gelu, .add, .sub, .mul, .div, .affine, .exp, .log, .sqrt, .reduceSum,
             .reduceMax, .broadcast, .reshape, .stopGradient, .fill, .appendCoordinates, .sliceChannels,
             .padChannels, .concatChannels, .rfft2, .irfft2, .spectralMix, .extractPatches, .mergePatches, .route,
             .dispatch, .gatherGates, .combine, .relativeL2Loss, .linearGradInput, .linearGradInputGelu,
             .linearGradWeight, .sumRows, .geluGrad, .rfft2Grad, .irfft2Grad, .spectralMixGradInput,
             .spectralMixGradWeight, .extractPatchesGrad, .mergePatchesGrad, .dispatchGrad, .gatherGatesGrad,
             .combineGradGates, .combineGradExpert, .relativeL2LossGrad, .adam:
            preconditionFailure("PatchSpectrumKernel bound to \(bind.node.op.name)")
        }
        let s = bind.type(ofInput: 0).shape
        patches = s[0]
        dft = PatchDFT(rows: s[1], cols: s[2])
        radial = RadialBands(rows: s[1], cols: s[2], bands: bands)
        x = bind.input(0)
        dE = form == .gradient ? bind.input(1) : nil
        out = bind.output
        workspace = bind.workspace!.assumingMemoryBound(to: Double.self)
    }

    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { patches }
    func run(phase: Int, tile n: Int) {
        let cells = dft.p * dft.q
        let f = workspace + n * 4 * cells, temp = f + 2 * cells
        dft.forward(x + n * cells, into: f, temp: temp)
        let norm = 1 / Double(cells * cells)
        switch form {
        case .energies:
            accumulate(f, norm: norm, into: out + n * bands)
        case .centroid:
            var weighted = 0.0, total = 0.0
            for m in 0..<cells where radial.band[m] >= 0 {
                let power = f[2 * m] * f[2 * m] + f[2 * m + 1] * f[2 * m + 1]
                weighted += power * radial.rho[m]; total += power
            }
            out[n] = total * norm < 1e-12 ? 0 : Float(weighted / total)
        case .gradient:
            // dx = 2/(PQ)^2 Re(IDFT(w F)), w = dE of each mode's band (0 at DC).
            let g = dE! + n * bands
            for m in 0..<cells {
                let w = radial.band[m] >= 0 ? Double(g[radial.band[m]]) : 0
                f[2 * m] *= w; f[2 * m + 1] *= w
            }
            dft.inverseReal(f, into: out + n * cells, scale: 2 * norm, temp: temp)
        }
    }

    /// Band sums in mode order (Double), then stored as Float. No scratch: `bands` may exceed
    /// the `2 P Q` doubles of the patch's temporary (1 x 1 patches, many bands).
    private func accumulate(_ f: UnsafeMutablePointer<Double>, norm: Double, into e: UnsafeMutablePointer<Float>) {
        let cells = dft.p * dft.q
        for b in 0..<bands {
            var sum = 0.0
            for m in 0..<cells where radial.band[m] == b {
                sum += f[2 * m] * f[2 * m] + f[2 * m + 1] * f[2 * m + 1]
            }
            e[b] = Float(sum * norm)
        }
    }
}
