import CKernels
import COpenBLAS
import Foundation
import GraphIR
import Planner

/// The DFT matrices of one geometry's GEMM form (as `PatchDFT` does for patches: angles
/// reduced exactly in integers, computed in Double, rounded to Float), made once at bind
/// time into memory the program owns (`SpectralTables`). Each stage folds its input first
/// (`SpectralFold`): `cos` is even and `sin` odd, so with `e_w = x_w + x_{W-w}` and
/// `o_w = x_w - x_{W-w}` the cosine sums need only the `e` rows and the sine sums only the
/// `o` rows, half the products. Along H the kept rows `f` and `-f` share their cosine and
/// sine sums, so those are made for `f = 0 ... m1` only (a quarter of the real-pair
/// products). Row-major:
/// - `wCos` `[m2, We]`: `cos(2 pi k w / W)`; `wSin` `[m2, Wo]`: `-sin(2 pi k (j + 1) / W)`;
/// - `wCosInverse`, `wSinInverse`: the same with row k scaled by `mult(k) / (H W)` (interior
///   half-spectrum columns count twice in a real inverse, DC and Nyquist once);
/// - `hCos` `[m1 + 1, He]`: `cos(2 pi f h / H)` for `f = 0 ... m1`; `hSin` `[m1, Ho]`:
///   `sin(2 pi f (j + 1) / H)` for `f = 1 ... m1` (at f = 0 the sines vanish);
/// - and the transpose of each (`...Transposed`), the row-major left factors of the inverse
///   direction's products.
/// The inverse direction is the transpose of these products (and of the folds), so every
/// gradient is exact.
struct SpectralDFTMatrices {
    let t: SpectralTransforms
    let wCos, wSin, wCosInverse, wSinInverse, hCos, hSin: UnsafeMutablePointer<Float>
    let wCosTransposed, wSinTransposed, wCosInverseTransposed, wSinInverseTransposed,
        hCosTransposed, hSinTransposed: UnsafeMutablePointer<Float>

    init(_ t: SpectralTransforms, memory: UnsafeMutablePointer<Float>) {
        self.t = t
        let (h, w, m1, m2) = (t.height, t.width, t.modes1, t.modes2)
        let (fw, fh) = (SpectralFold(width: w), SpectralFold(width: h))
        var next = memory
        func take(_ floats: Int) -> UnsafeMutablePointer<Float> { defer { next += floats }; return next }
        (wCos, wSin) = (take(m2 * fw.even), take(m2 * fw.odd))
        (wCosInverse, wSinInverse) = (take(m2 * fw.even), take(m2 * fw.odd))
        (hCos, hSin) = (take((m1 + 1) * fh.even), take(m1 * fh.odd))
        (wCosTransposed, wSinTransposed) = (take(m2 * fw.even), take(m2 * fw.odd))
        (wCosInverseTransposed, wSinInverseTransposed) = (take(m2 * fw.even), take(m2 * fw.odd))
        (hCosTransposed, hSinTransposed) = (take((m1 + 1) * fh.even), take(m1 * fh.odd))
        func angle(_ numerator: Int, _ n: Int) -> Double { 2 * Double.pi * Double(numerator % n) / Double(n) }
        for k in 0..<m2 {
            let multiplicity: Double = k == 0 || 2 * k == w ? 1 : 2
            let scale = multiplicity / Double(h * w)
            for j in 0..<fw.even {
                let c = Foundation.cos(angle(k * j, w))
                wCos[k * fw.even + j] = Float(c); wCosInverse[k * fw.even + j] = Float(scale * c)
            }
            for j in 0..<fw.odd {
                let s = -Foundation.sin(angle(k * (j + 1), w))
                wSin[k * fw.odd + j] = Float(s); wSinInverse[k * fw.odd + j] = Float(scale * s)
            }
        }
        for f in 0...m1 {
            for j in 0..<fh.even { hCos[f * fh.even + j] = Float(Foundation.cos(angle(f * j, h))) }
        }
        for f in stride(from: 1, through: m1, by: 1) {
            for j in 0..<fh.odd { hSin[(f - 1) * fh.odd + j] = Float(Foundation.sin(angle(f * (j + 1), h))) }
        }
        for (matrix, transposed, rows, columns) in [
            (wCos, wCosTransposed, m2, fw.even), (wSin, wSinTransposed, m2, fw.odd),
            (wCosInverse, wCosInverseTransposed, m2, fw.even), (wSinInverse, wSinInverseTransposed, m2, fw.odd),
            (hCos, hCosTransposed, m1 + 1, fh.even), (hSin, hSinTransposed, m1, fh.odd),
        ] {
            transpose(matrix, k: rows, n: columns, into: transposed)
        }
    }
}

/// The even/odd fold of n runs about index 0 (`m2m_fold_row` for a row along W; along H
/// `m2m_butterfly` on the W stage's rows in place): `e_0 = x_0`, `e_j = x_j + x_{n-j}` and
/// `o_j = x_j - x_{n-j}` for `j = 1 ... (n-1)/2`, and `e_{n/2} = x_{n/2}` when n is even;
/// `even` e runs, then `odd` o runs (n in all). Unfolding is its transpose.
struct SpectralFold {
    let even, odd: Int
    init(width: Int) { (even, odd) = (width / 2 + 1, (width - 1) / 2) }
    /// The run of the folded order that index j's value is stored in before the fold.
    func slot(_ j: Int) -> Int { j < even ? j : even + (even + odd - j) - 1 }
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

/// The GEMM form of one transform on one sample: two stages of dense products with fixed
/// shapes (so a fixed summation order whatever the thread count), each `m2m_linear_rows`
/// (fused multiply-adds in k order, the same bits under every ISA) where the product has
/// 8 or more columns, single-threaded sgemm otherwise. The workspace tile
/// (`SpectralTransforms.gemmTileFloats`) holds the W stage's rows `[H, 2 m2 C]` (row h: the
/// real parts `[m2, C]`, then the imaginary ones) in the H fold's order, then the H stage's
/// sine sums `Q` `[m1, 2 m2 C]`; its cosine sums `P` `[m1 + 1, 2 m2 C]` take the place of
/// the folded odd rows once the sine products have read them (after `Q` where they do not
/// fit there), and the folded image row `[W, C]` that of `Q` during the W stage.
struct SpectralGEMM {
    let d: SpectralDFTMatrices
    var t: SpectralTransforms { d.t }

    /// c `[rows, n]` = a `[rows, k]` b `[k, n]`, all row-major and dense.
    @inline(__always) private func product(rows: Int, k: Int, n: Int, _ a: UnsafePointer<Float>,
                                           _ b: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>) {
        if rows == 0 { return }
        if k == 0 {
            c.update(repeating: 0, count: rows * n)
        } else if n >= linearRowsMinimumColumns {
            m2m_linear_rows(a, b, nil, nil, 0, nil, c, rows, k, n)
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(n), Int32(k), 1, a, Int32(k),
                        b, Int32(n), 0, c, Int32(n))
        }
    }

    /// Where one sample's stages live in its workspace tile.
    private struct Layout {
        let rowFloats: Int
        /// The W stage's rows, the sine sums of f = 1 ... m1, the cosine sums of f = 0 ... m1,
        /// and the folded image row.
        let rows, sines, cosines, folded: UnsafeMutablePointer<Float>
        let fw, fh: SpectralFold
        init(_ t: SpectralTransforms, _ workspace: UnsafeMutablePointer<Float>) {
            rowFloats = 2 * t.modes2 * t.channels
            (fw, fh) = (SpectralFold(width: t.width), SpectralFold(width: t.height))
            rows = workspace
            sines = workspace + t.height * rowFloats
            cosines = t.cosineSumsFitOddRows ? rows + fh.even * rowFloats : sines + t.modes1 * rowFloats
            folded = sines
        }
        /// Row h of the W stage (in the H fold's order).
        func row(_ h: Int) -> UnsafeMutablePointer<Float> { rows + fh.slot(h) * rowFloats }
        /// The H fold in place: rows j and H - j (slots j and `even + j - 1`) become their
        /// sum and difference; its own transpose.
        func butterflies() {
            for j in stride(from: 1, through: fh.odd, by: 1) {
                m2m_butterfly(rows + j * rowFloats, rows + (fh.even + j - 1) * rowFloats, rowFloats)
            }
        }
    }

    /// x `[H, W, C]` -> kept modes of sample n in `[M, samples, C]`. `adjoint` (irfft2_grad)
    /// uses the inverse's W matrices: `r2c` scaled by `mult(k) / (H W)`. With `T_h` the W
    /// stage's row h (complex), `P_f = sum_h T_h cos(2 pi f h / H)` and
    /// `Q_f = sum_h T_h sin(2 pi f h / H)`: mode f is `P_f - i Q_f`, mode -f is `P_f + i Q_f`.
    func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, sample n: Int, samples: Int,
                 workspace: UnsafeMutablePointer<Float>, adjoint: Bool) {
        let (h, w, c, m1, m2) = (t.height, t.width, t.channels, t.modes1, t.modes2)
        let l = Layout(t, workspace), mc = m2 * c
        let (cosines, sines) = adjoint ? (d.wCosInverse, d.wSinInverse) : (d.wCos, d.wSin)
        for row in 0..<h {       // T_h [2 m2, C] = A_W [2 m2, W] x_h [W, C], folded
            let th = l.row(row)
            m2m_fold_row(x + row * w * c, l.folded, w, c)
            product(rows: m2, k: l.fw.even, n: c, cosines, l.folded, into: th)
            product(rows: m2, k: l.fw.odd, n: c, sines, l.folded + l.fw.even * c, into: th + mc)
        }
        l.butterflies()
        product(rows: m1, k: l.fh.odd, n: l.rowFloats, d.hSin, l.rows + l.fh.even * l.rowFloats, into: l.sines)
        product(rows: m1 + 1, k: l.fh.even, n: l.rowFloats, d.hCos, l.rows, into: l.cosines)
        for r in 0..<(2 * m1) {
            let f = r < m1 ? r : 2 * m1 - r     // kept row r is frequency f, or -f from m1 on
            let p = l.cosines + f * l.rowFloats
            for k in 0..<m2 {
                let (pre, pim) = (p + k * c, p + mc + k * c)
                let dst = y + ((r * m2 + k) * samples + n) * 2 * c
                guard f > 0 else {
                    for ch in 0..<c { dst[2 * ch] = pre[ch]; dst[2 * ch + 1] = pim[ch] }
                    continue
                }
                let q = l.sines + (f - 1) * l.rowFloats
                let (qre, qim) = (q + k * c, q + mc + k * c)
                if r < m1 {
                    for ch in 0..<c { dst[2 * ch] = pre[ch] + qim[ch]; dst[2 * ch + 1] = pim[ch] - qre[ch] }
                } else {
                    for ch in 0..<c { dst[2 * ch] = pre[ch] - qim[ch]; dst[2 * ch + 1] = pim[ch] + qre[ch] }
                }
            }
        }
    }

    /// Kept modes of sample n in `[M, samples, C]` -> x `[H, W, C]`, the transpose of the
    /// forward: irfft2 with the inverse's W matrices (their 1/(HW) included), the exact
    /// adjoint of rfft2 (`adjoint`, rfft2_grad) with the forward's.
    func inverse(_ spectrum: UnsafePointer<Float>, sample n: Int, samples: Int, into x: UnsafeMutablePointer<Float>,
                 workspace: UnsafeMutablePointer<Float>, adjoint: Bool) {
        let (h, w, c, m1, m2) = (t.height, t.width, t.channels, t.modes1, t.modes2)
        let l = Layout(t, workspace), mc = m2 * c
        let (cosines, sines) = adjoint ? (d.wCosTransposed, d.wSinTransposed)
                                       : (d.wCosInverseTransposed, d.wSinInverseTransposed)
        func mode(_ r: Int, _ k: Int) -> UnsafePointer<Float> { spectrum + ((r * m2 + k) * samples + n) * 2 * c }
        for k in 0..<m2 {        // the forward's last step transposed: modes f and -f -> P_f, Q_f
            let (pre, pim) = (l.cosines + k * c, l.cosines + mc + k * c), a = mode(0, k)
            for ch in 0..<c { pre[ch] = a[2 * ch]; pim[ch] = a[2 * ch + 1] }
        }
        for f in stride(from: 1, through: m1, by: 1) {
            let p = l.cosines + f * l.rowFloats, q = l.sines + (f - 1) * l.rowFloats
            for k in 0..<m2 {
                let (pre, pim, qre, qim) = (p + k * c, p + mc + k * c, q + k * c, q + mc + k * c)
                let b = mode(2 * m1 - f, k)
                if f < m1 {
                    let a = mode(f, k)
                    for ch in 0..<c {
                        pre[ch] = a[2 * ch] + b[2 * ch]; pim[ch] = a[2 * ch + 1] + b[2 * ch + 1]
                        qim[ch] = a[2 * ch] - b[2 * ch]; qre[ch] = b[2 * ch + 1] - a[2 * ch + 1]
                    }
                } else {         // f = m1: only -m1 is kept
                    for ch in 0..<c { pre[ch] = b[2 * ch]; pim[ch] = b[2 * ch + 1]; qim[ch] = -b[2 * ch]; qre[ch] = b[2 * ch + 1] }
                }
            }
        }
        product(rows: l.fh.even, k: m1 + 1, n: l.rowFloats, d.hCosTransposed, l.cosines, into: l.rows)
        product(rows: l.fh.odd, k: m1, n: l.rowFloats, d.hSinTransposed, l.sines, into: l.rows + l.fh.even * l.rowFloats)
        l.butterflies()
        for row in 0..<h {       // x_h [W, C] = A_W^T [W, 2 m2] U_h [2 m2, C], folded
            let uh = l.row(row)
            product(rows: l.fw.even, k: m2, n: c, cosines, uh, into: l.folded)
            product(rows: l.fw.odd, k: m2, n: c, sines, uh + mc, into: l.folded + l.fw.even * c)
            m2m_unfold_row(l.folded, x + row * w * c, w, c)
        }
    }
}
