import COpenBLAS
import Foundation
import GraphIR
import Planner

/// The full 2-D DFT of one real `P x Q` patch as dense products with the DFT matrices
/// (single-threaded sgemm: fixed summation order for fixed shapes), which for patch
/// sizes up to 64 beats a per-patch FFT setup. The twiddle matrices are made once at
/// bind time (angles in Double). Spectra are split planes `re`, `im`, each `[P, Q]`.
final class PatchDFT {
    let p, q: Int
    /// `C[k][j] = cos(-2 pi k j / n)`, `S[k][j] = sin(-2 pi k j / n)` (symmetric).
    private let cosP, sinP, cosQ, sinQ: UnsafeMutablePointer<Float>

    init(rows p: Int, cols q: Int) {
        (self.p, self.q) = (p, q)
        func table(_ n: Int, _ f: (Double) -> Double) -> UnsafeMutablePointer<Float> {
            let t = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
            for k in 0..<n { for j in 0..<n { t[k * n + j] = Float(f(-2 * Double.pi * Double((k * j) % n) / Double(n))) } }
            return t
        }
        (cosP, sinP, cosQ, sinQ) = (table(p, Foundation.cos), table(p, Foundation.sin), table(q, Foundation.cos),
                                    table(q, Foundation.sin))
    }

    deinit { for t in [cosP, sinP, cosQ, sinQ] { t.deallocate() } }

    /// `C = alpha A B + beta C` for row-major `[m, k] x [k, n]`.
    @inline(__always) private func gemm(_ m: Int, _ n: Int, _ k: Int, _ alpha: Float, _ a: UnsafePointer<Float>,
                                        _ b: UnsafePointer<Float>, _ beta: Float, _ c: UnsafeMutablePointer<Float>) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), alpha, a, Int32(k),
                    b, Int32(n), beta, c, Int32(n))
    }

    /// `F = W_P x W_Q` (`W` the DFT matrices): rows first (`T = x W_Q`, x real), then columns.
    /// `temp` holds `2 P Q` floats.
    func forward(_ x: UnsafePointer<Float>, re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>,
                 temp: UnsafeMutablePointer<Float>) {
        let tRe = temp, tIm = temp + p * q
        gemm(p, q, q, 1, x, cosQ, 0, tRe)
        gemm(p, q, q, 1, x, sinQ, 0, tIm)
        gemm(p, q, p, 1, cosP, tRe, 0, re)       // re = C T_re - S T_im
        gemm(p, q, p, -1, sinP, tIm, 1, re)
        gemm(p, q, p, 1, sinP, tRe, 0, im)       // im = S T_re + C T_im
        gemm(p, q, p, 1, cosP, tIm, 1, im)
    }

    /// `x = scale Re(sum_k G e^{+2 pi i (...)})`, the unnormalized inverse's real part:
    /// `U = (C - iS) G` along P, then `Re(U (C - iS))` along Q. `temp` holds `2 P Q` floats.
    func inverseReal(re: UnsafePointer<Float>, im: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>,
                     scale: Float, temp: UnsafeMutablePointer<Float>) {
        let uRe = temp, uIm = temp + p * q
        gemm(p, q, p, 1, cosP, re, 0, uRe)       // U_re = C G_re + S G_im
        gemm(p, q, p, 1, sinP, im, 1, uRe)
        gemm(p, q, p, 1, cosP, im, 0, uIm)       // U_im = C G_im - S G_re
        gemm(p, q, p, -1, sinP, re, 1, uIm)
        gemm(p, q, q, scale, uRe, cosQ, 0, x)    // x = scale (U_re C + U_im S)
        gemm(p, q, q, scale, uIm, sinQ, 1, x)
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
    let workspace: UnsafeMutablePointer<Float>
    let dft: PatchDFT
    let radial: RadialBands
    let patches, bands: Int

    static func workspaceBytes(_ node: Node, in graph: Graph) -> Int {
        let s = graph.values[node.inputs[0]].type.shape
        return s[0] * 4 * s[1] * s[2] * 4   // F and a temporary, complex, per patch
    }

    init(_ bind: KernelBinding, _ form: Form, bands: Int) {
        (self.form, self.bands) = (form, bands)
        let s = bind.type(ofInput: 0).shape
        patches = s[0]
        dft = PatchDFT(rows: s[1], cols: s[2])
        radial = RadialBands(rows: s[1], cols: s[2], bands: bands)
        x = bind.input(0)
        dE = form == .gradient ? bind.input(1) : nil
        out = bind.output
        workspace = bind.scratch
    }

    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { patches }
    func run(phase: Int, tile n: Int) {
        let cells = dft.p * dft.q
        let re = workspace + n * 4 * cells, im = re + cells, temp = re + 2 * cells
        dft.forward(x + n * cells, re: re, im: im, temp: temp)
        let norm = 1 / Double(cells * cells)
        switch form {
        case .energies:
            // Band sums in mode order (Double), then stored as Float.
            let e = out + n * bands
            for b in 0..<bands {
                var sum = 0.0
                for m in 0..<cells where radial.band[m] == b {
                    sum += Double(re[m]) * Double(re[m]) + Double(im[m]) * Double(im[m])
                }
                e[b] = Float(sum * norm)
            }
        case .centroid:
            var weighted = 0.0, total = 0.0
            for m in 0..<cells where radial.band[m] >= 0 {
                let power = Double(re[m]) * Double(re[m]) + Double(im[m]) * Double(im[m])
                weighted += power * radial.rho[m]; total += power
            }
            out[n] = total * norm < 1e-12 ? 0 : Float(weighted / total)
        case .gradient:
            // dx = 2/(PQ)^2 Re(IDFT(w F)), w = dE of each mode's band (0 at DC).
            let g = dE! + n * bands
            for m in 0..<cells {
                let w = radial.band[m] >= 0 ? g[radial.band[m]] : 0
                re[m] *= w; im[m] *= w
            }
            dft.inverseReal(re: re, im: im, into: out + n * cells, scale: Float(2 * norm), temp: temp)
        }
    }
}
