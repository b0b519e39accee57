import COpenBLAS
import Foundation
import GraphIR
import Planner

/// The DFT matrices of one geometry's GEMM form (as `PatchDFT` does for patches: angles
/// reduced exactly in integers, computed in Double, rounded to Float), made once at bind
/// time into memory the program owns (`SpectralTables`). Row-major:
/// - `alongW` `[2 m2, W]`: row k is `cos(2 pi k w / W)`, row `m2 + k` is `-sin(2 pi k w / W)`;
/// - `alongWInverse` `[2 m2, W]`: `alongW` with row k scaled by `mult(k) / (H W)` (interior
///   half-spectrum columns count twice in a real inverse, DC and Nyquist once);
/// - `alongH` `[4 m1, 2 H]`: the real-pair matrix of `e^{-2 pi i f_r h / H}` for the kept rows
///   `f_r` (row `2 r + p`, column `2 h + q`; p, q: 0 real, 1 imaginary).
/// The inverse direction is the transpose of these products, so every gradient is exact.
struct SpectralDFTMatrices {
    let t: SpectralTransforms
    let alongW, alongWInverse, alongH: UnsafeMutablePointer<Float>

    init(_ t: SpectralTransforms, memory: UnsafeMutablePointer<Float>) {
        self.t = t
        let (h, w, m1, m2) = (t.height, t.width, t.modes1, t.modes2)
        alongW = memory
        alongWInverse = memory + 2 * m2 * w
        alongH = memory + 4 * m2 * w
        func angle(_ numerator: Int, _ n: Int) -> Double { 2 * Double.pi * Double(numerator % n) / Double(n) }
        for k in 0..<m2 {
            let multiplicity: Double = k == 0 || 2 * k == w ? 1 : 2
            let scale = multiplicity / Double(h * w)
            for j in 0..<w {
                let c = Foundation.cos(angle(k * j, w)), s = -Foundation.sin(angle(k * j, w))
                alongW[k * w + j] = Float(c); alongW[(m2 + k) * w + j] = Float(s)
                alongWInverse[k * w + j] = Float(scale * c); alongWInverse[(m2 + k) * w + j] = Float(scale * s)
            }
        }
        for r in 0..<(2 * m1) {
            let f = r < m1 ? r : h - 2 * m1 + r
            for j in 0..<h {
                let c = Float(Foundation.cos(angle(f * j, h))), s = Float(Foundation.sin(angle(f * j, h)))
                let re = alongH + 2 * r * 2 * h, im = re + 2 * h
                re[2 * j] = c; re[2 * j + 1] = s       // Re(e^{-i phi} (a + i b)) = a cos + b sin
                im[2 * j] = -s; im[2 * j + 1] = c      // Im(...) = -a sin + b cos
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

/// The GEMM form of one transform on one sample: two single-threaded sgemm stages (fixed
/// shapes, so a fixed summation order whatever the thread count) and a gather or scatter
/// between the kept modes as real planes (`[4 m1, m2 C]`, or its transpose in the forward
/// direction) and the `[M, N, C]` complex spectrum.
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
    /// uses the inverse's W matrix transposed: `r2c` scaled by `mult(k) / (H W)`.
    func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, sample n: Int, samples: Int,
                 workspace: UnsafeMutablePointer<Float>, adjoint: Bool) {
        let (h, w, c, m1, m2) = (t.height, t.width, t.channels, t.modes1, t.modes2)
        let planes = workspace + 2 * h * m2 * c, wMatrix = adjoint ? d.alongWInverse : d.alongW
        for row in 0..<h {       // T_h [2 m2, C] = A_W [2 m2, W] x_h [W, C]
            gemm(CblasNoTrans, 2 * m2, c, w, wMatrix, w, x + row * w * c, c, workspace + row * 2 * m2 * c, c)
        }
        // Kept modes, transposed: [m2 C, 4 m1] = T^T [m2 C, 2 H] A_H^T [2 H, 4 m1] (this orientation
        // runs faster in OpenBLAS than [4 m1, m2 C], and each (re, im) pair lands side by side).
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, Int32(m2 * c), Int32(4 * m1), Int32(2 * h), 1, workspace,
                    Int32(m2 * c), d.alongH, Int32(2 * h), 0, planes, Int32(4 * m1))
        for r in 0..<(2 * m1) {
            for k in 0..<m2 {
                let src = planes + k * c * 4 * m1 + 2 * r, dst = y + ((r * m2 + k) * samples + n) * 2 * c
                for ch in 0..<c { dst[2 * ch] = src[ch * 4 * m1]; dst[2 * ch + 1] = src[ch * 4 * m1 + 1] }
            }
        }
    }

    /// Kept modes of sample n in `[M, samples, C]` -> x `[H, W, C]`, the transpose of the
    /// forward products: irfft2 with the inverse's W matrix (its 1/(HW) included), the exact
    /// adjoint of rfft2 (`adjoint`, rfft2_grad) with the forward's.
    func inverse(_ spectrum: UnsafePointer<Float>, sample n: Int, samples: Int, into x: UnsafeMutablePointer<Float>,
                 workspace: UnsafeMutablePointer<Float>, adjoint: Bool) {
        let (h, w, c, m1, m2) = (t.height, t.width, t.channels, t.modes1, t.modes2)
        let planes = workspace + 2 * h * m2 * c, wMatrix = adjoint ? d.alongW : d.alongWInverse
        for r in 0..<(2 * m1) {
            for k in 0..<m2 {
                let re = planes + 2 * r * m2 * c + k * c, im = re + m2 * c
                let src = spectrum + ((r * m2 + k) * samples + n) * 2 * c
                for ch in 0..<c { re[ch] = src[2 * ch]; im[ch] = src[2 * ch + 1] }
            }
        }
        // U [2 H, m2 C] = A_H^T [2 H, 4 m1] modes [4 m1, m2 C]
        gemm(CblasTrans, 2 * h, m2 * c, 4 * m1, d.alongH, 2 * h, planes, m2 * c, workspace, m2 * c)
        for row in 0..<h {       // x_h [W, C] = A_W^T [W, 2 m2] U_h [2 m2, C]
            gemm(CblasTrans, w, c, 2 * m2, wMatrix, w, workspace + row * 2 * m2 * c, c, x + row * w * c, c)
        }
    }
}
