import COpenBLAS
import Foundation
import GraphIR
import Planner

/// The DFT matrices of one geometry's GEMM form (as `PatchDFT` does for patches: angles
/// reduced exactly in integers, computed in Double, rounded to Float), made once at bind
/// time into memory the program owns (`SpectralTables`). Row-major:
/// - `alongH` `[4 m1, H]`: row `2 r` is `cos(2 pi f_r h / H)`, row `2 r + 1` is `-sin(...)`
///   for the kept rows `f_r` (`0..<m1`, then `H-m1..<H`): `e^{-i phi}` applied to a real input;
/// - `alongW` `[2 m2, 2 W]`: the real-pair matrix of `e^{-2 pi i k w / W}` from a complex row
///   given as planes `[re (W), im (W)]` to the kept columns as planes `[re (m2), im (m2)]`;
/// - `alongWInverse` `[2 m2, 2 W]`: `alongW` with rows k and `m2 + k` scaled by
///   `mult(k) / (H W)` (interior half-spectrum columns count twice in a real inverse).
/// The inverse direction runs the transposed products, so every gradient is exact.
struct SpectralDFTMatrices {
    let t: SpectralTransforms
    let alongH, alongW, alongWInverse: UnsafeMutablePointer<Float>

    init(_ t: SpectralTransforms, memory: UnsafeMutablePointer<Float>) {
        self.t = t
        let (h, w, m1, m2) = (t.height, t.width, t.modes1, t.modes2)
        alongH = memory
        alongW = memory + 4 * m1 * h
        alongWInverse = alongW + 4 * m2 * w
        func angle(_ numerator: Int, _ n: Int) -> Double { 2 * Double.pi * Double(numerator % n) / Double(n) }
        for r in 0..<(2 * m1) {
            let f = r < m1 ? r : h - 2 * m1 + r
            for j in 0..<h {
                alongH[2 * r * h + j] = Float(Foundation.cos(angle(f * j, h)))
                alongH[(2 * r + 1) * h + j] = Float(-Foundation.sin(angle(f * j, h)))
            }
        }
        for k in 0..<m2 {
            let multiplicity: Double = k == 0 || 2 * k == w ? 1 : 2
            let scale = multiplicity / Double(h * w)
            let re = k * 2 * w, im = (m2 + k) * 2 * w
            for j in 0..<w {
                let c = Foundation.cos(angle(k * j, w)), s = Foundation.sin(angle(k * j, w))
                // Re(e^{-i theta} (a + i b)) = a cos + b sin ; Im(...) = -a sin + b cos
                for (row, column, value) in [(re, j, c), (re, w + j, s), (im, j, -s), (im, w + j, c)] {
                    alongW[row + column] = Float(value)
                    alongWInverse[row + column] = Float(scale * value)
                }
            }
        }
    }
}

/// The DFT matrices of every transform geometry a program runs in the GEMM form, in one
/// 64-byte aligned block owned by the program (allocated and filled once at bind time).
final class SpectralTables {
    private let block: UnsafeMutablePointer<Float>?
    let matrices: [SpectralTransforms: SpectralDFTMatrices]

    init(_ geometries: [SpectralTransforms]) {
        let unique = Array(Set(geometries)).sorted { [$0.height, $0.width, $0.channels, $0.modes1, $0.modes2]
            .lexicographicallyPrecedes([$1.height, $1.width, $1.channels, $1.modes1, $1.modes2]) }
        // Each geometry's matrices start on a 64-byte boundary.
        let sizes = unique.map { ($0.gemmTableFloats + 15) / 16 * 16 }
        let total = sizes.reduce(0, +)
        guard total > 0 else { (block, matrices) = (nil, [:]); return }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: total * 4, alignment: 64)
        let floats = raw.bindMemory(to: Float.self, capacity: total)
        var result: [SpectralTransforms: SpectralDFTMatrices] = [:]
        var offset = 0
        for (g, size) in zip(unique, sizes) {
            result[g] = SpectralDFTMatrices(g, memory: floats + offset)
            offset += size
        }
        (block, matrices) = (floats, result)
    }

    deinit { block?.deallocate() }
}

/// The forms and DFT matrices the spectral kernels of one program bind to.
struct SpectralExecution {
    let forms: SpectralForms
    let tables: SpectralTables
}

/// The GEMM form of one transform on one sample: a big product along H on the whole real
/// tile (`[4 m1, H] x [H, W C]`), one small product along W per kept row, and a gather or
/// scatter between the kept modes as real planes (`[2 m1][re, im][m2][C]`) and the
/// `[M, N, C]` complex spectrum. Single-threaded sgemms of fixed shapes: a fixed summation
/// order whatever the thread count.
struct SpectralGEMM {
    let d: SpectralDFTMatrices
    var t: SpectralTransforms { d.t }

    @inline(__always) private func gemm(_ transA: CBLAS_TRANSPOSE, _ m: Int, _ n: Int, _ k: Int,
                                        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                                        _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b,
                    Int32(ldb), 0, c, Int32(ldc))
    }

    /// x `[H, W, C]` -> kept modes of sample n in `[M, samples, C]`. `adjoint` (irfft2_grad)
    /// uses the inverse's W matrix: the transpose of irfft2's products.
    func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, sample n: Int, samples: Int,
                 workspace: UnsafeMutablePointer<Float>, adjoint: Bool) {
        let (h, w, c, m1, m2) = (t.height, t.width, t.channels, t.modes1, t.modes2)
        let rows = workspace, planes = workspace + 4 * m1 * w * c, wMatrix = adjoint ? d.alongWInverse : d.alongW
        // Kept rows [2 m1][re, im][W, C] = A_H [4 m1, H] x [H, W C]
        gemm(CblasNoTrans, 4 * m1, w * c, h, d.alongH, h, x, w * c, rows, w * c)
        for r in 0..<(2 * m1) {  // planes_r [2 m2, C] = A_W [2 m2, 2 W] rows_r [2 W, C]
            gemm(CblasNoTrans, 2 * m2, c, 2 * w, wMatrix, 2 * w, rows + 2 * r * w * c, c, planes + 2 * r * m2 * c, c)
        }
        for r in 0..<(2 * m1) {
            for k in 0..<m2 {
                let re = planes + 2 * r * m2 * c + k * c, im = re + m2 * c
                let dst = y + ((r * m2 + k) * samples + n) * 2 * c
                for ch in 0..<c { dst[2 * ch] = re[ch]; dst[2 * ch + 1] = im[ch] }
            }
        }
    }

    /// Kept modes of sample n in `[M, samples, C]` -> x `[H, W, C]`, the transposed products:
    /// irfft2 with the inverse's W matrix (its 1/(HW) included), and with `adjoint` the exact
    /// adjoint of rfft2 (rfft2_grad) with the forward's.
    func inverse(_ spectrum: UnsafePointer<Float>, sample n: Int, samples: Int, into x: UnsafeMutablePointer<Float>,
                 workspace: UnsafeMutablePointer<Float>, adjoint: Bool) {
        let (h, w, c, m1, m2) = (t.height, t.width, t.channels, t.modes1, t.modes2)
        let rows = workspace, planes = workspace + 4 * m1 * w * c, wMatrix = adjoint ? d.alongW : d.alongWInverse
        for r in 0..<(2 * m1) {
            for k in 0..<m2 {
                let re = planes + 2 * r * m2 * c + k * c, im = re + m2 * c
                let src = spectrum + ((r * m2 + k) * samples + n) * 2 * c
                for ch in 0..<c { re[ch] = src[2 * ch]; im[ch] = src[2 * ch + 1] }
            }
        }
        for r in 0..<(2 * m1) {  // rows_r [2 W, C] = A_W^T [2 W, 2 m2] planes_r [2 m2, C]
            gemm(CblasTrans, 2 * w, c, 2 * m2, wMatrix, 2 * w, planes + 2 * r * m2 * c, c, rows + 2 * r * w * c, c)
        }
        // x [H, W C] = A_H^T [H, 4 m1] rows [4 m1, W C]
        gemm(CblasTrans, h, w * c, 4 * m1, d.alongH, h, rows, w * c, x, w * c)
    }
}
