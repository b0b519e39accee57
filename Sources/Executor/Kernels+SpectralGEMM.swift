import CKernels
import Foundation
import GraphIR
import Planner

/// The DFT matrices of one geometry's GEMM form (as `PatchDFT` does for patches: angles
/// reduced exactly in integers, computed in Double, rounded to Float), made once at bind
/// time into memory the program owns (`SpectralTables`), for products on folded inputs
/// (`HFold`, `WFold`): `cos` is even and `sin` odd, so the cosine sums need only
/// sums `x_j + x_{n-j}` and the sine sums only differences. Along W a second fold about
/// W/4 (`cos(2 pi k (W/2 - w) / W) = (-1)^k cos(2 pi k w / W)`, and the sines with the
/// opposite sign) halves them again, even k on one part and odd k on the other. Along H
/// the kept rows `f` and `-f` share their cosine and sine sums, made for `f = 0 ... m1`
/// only. Row-major:
/// - `alongW`: `cos(2 pi k w / W)` and `-sin(2 pi k w / W)` on the W fold's parts
///   (`WMatrices`); `alongWInverse`: the same with row k scaled by `mult(k) / (H W)`
///   (interior half-spectrum columns count twice in a real inverse, DC and Nyquist once);
/// - `hCos` `[m1 + 1, He]`: `cos(2 pi f h / H)` for `f = 0 ... m1`; `hSin` `[m1, Ho]`:
///   `sin(2 pi f (j + 1) / H)` for `f = 1 ... m1` (at f = 0 the sines vanish);
/// - and the transpose of each (`...Transposed`), the row-major left factors of the inverse
///   direction's products.
/// The inverse direction is the transpose of these products (and of the folds), so every
/// gradient is exact.
struct SpectralDFTMatrices {
    /// The four W-stage matrices of one direction: cosines of even k `[ke, cosEven]` and odd k
    /// `[ko, cosOdd]`, minus sines of even k `[ke, sinEven]` and odd k `[ko, sinOdd]` (the
    /// column counts of `WFold`; transposed in the `...Transposed` sets).
    struct WMatrices {
        let cosEven, cosOdd, sinEven, sinOdd: UnsafeMutablePointer<Float>
    }
    let t: SpectralTransforms
    let alongW, alongWInverse, alongWTransposed, alongWInverseTransposed: WMatrices
    let hCos, hSin, hCosTransposed, hSinTransposed: UnsafeMutablePointer<Float>

    init(_ t: SpectralTransforms, memory: UnsafeMutablePointer<Float>) {
        self.t = t
        let (h, w, m1, m2) = (t.height, t.width, t.modes1, t.modes2)
        let (fw, fh) = (WFold(width: w, modes: m2), HFold(height: h))
        var next = memory
        func take(_ floats: Int) -> UnsafeMutablePointer<Float> { defer { next += floats }; return next }
        func takeW() -> WMatrices {
            WMatrices(cosEven: take(fw.evenK * fw.cosEven), cosOdd: take(fw.oddK * fw.cosOdd),
                      sinEven: take(fw.evenK * fw.sinEven), sinOdd: take(fw.oddK * fw.sinOdd))
        }
        (alongW, alongWInverse, alongWTransposed, alongWInverseTransposed) = (takeW(), takeW(), takeW(), takeW())
        (hCos, hSin) = (take((m1 + 1) * fh.even), take(m1 * fh.odd))
        (hCosTransposed, hSinTransposed) = (take((m1 + 1) * fh.even), take(m1 * fh.odd))
        assert(next - memory == t.gemmTableFloats, "the planner's gemmTableFloats disagrees with the tables")
        func angle(_ numerator: Int, _ n: Int) -> Double { 2 * Double.pi * Double(numerator % n) / Double(n) }
        for k in 0..<m2 {
            let multiplicity: Double = k == 0 || 2 * k == w ? 1 : 2
            let scale = multiplicity / Double(h * w)
            let row = k / 2, even = k % 2 == 0
            // Columns: the e part's sums (even k) or differences (odd k) are w = j; the o part's
            // are w = j + 1.
            let (cosColumns, sinColumns) = even ? (fw.cosEven, fw.sinEven) : (fw.cosOdd, fw.sinOdd)
            let (cosines, sines) = even ? (alongW.cosEven, alongW.sinEven) : (alongW.cosOdd, alongW.sinOdd)
            let (scaledCosines, scaledSines) = even ? (alongWInverse.cosEven, alongWInverse.sinEven)
                                                    : (alongWInverse.cosOdd, alongWInverse.sinOdd)
            for j in 0..<cosColumns {
                let c = Foundation.cos(angle(k * j, w))
                cosines[row * cosColumns + j] = Float(c); scaledCosines[row * cosColumns + j] = Float(scale * c)
            }
            for j in 0..<sinColumns {
                let s = -Foundation.sin(angle(k * (j + 1), w))
                sines[row * sinColumns + j] = Float(s); scaledSines[row * sinColumns + j] = Float(scale * s)
            }
        }
        for f in 0...m1 {
            for j in 0..<fh.even { hCos[f * fh.even + j] = Float(Foundation.cos(angle(f * j, h))) }
        }
        for f in stride(from: 1, through: m1, by: 1) {
            for j in 0..<fh.odd { hSin[(f - 1) * fh.odd + j] = Float(Foundation.sin(angle(f * (j + 1), h))) }
        }
        for (set, transposed) in [(alongW, alongWTransposed), (alongWInverse, alongWInverseTransposed)] {
            transpose(set.cosEven, k: fw.evenK, n: fw.cosEven, into: transposed.cosEven)
            transpose(set.cosOdd, k: fw.oddK, n: fw.cosOdd, into: transposed.cosOdd)
            transpose(set.sinEven, k: fw.evenK, n: fw.sinEven, into: transposed.sinEven)
            transpose(set.sinOdd, k: fw.oddK, n: fw.sinOdd, into: transposed.sinOdd)
        }
        transpose(hCos, k: m1 + 1, n: fh.even, into: hCosTransposed)
        transpose(hSin, k: m1, n: fh.odd, into: hSinTransposed)
    }
}

/// The fold of the W stage's H rows about row 0 (`m2m_butterfly` on rows h and H - h, in
/// place): `e_0 = T_0`, `e_h = T_h + T_{H-h}` and `o_h = T_h - T_{H-h}` for
/// `h = 1 ... (H-1)/2`, and `e_{H/2} = T_{H/2}` when H is even; `even` e rows, then `odd`
/// o rows (H in all). Unfolding is its transpose (the same butterflies).
struct HFold {
    let even, odd: Int
    init(height: Int) { (even, odd) = (height / 2 + 1, (height - 1) / 2) }
    /// The row of the folded order that row j is stored in before the fold.
    func slot(_ j: Int) -> Int { j < even ? j : even + (even + odd - j) - 1 }
}

/// The two folds of an image row along W (W even, as every rfft2's), made in one pass by
/// `m2m_width_fold`: the first gives `e` (`W/2 + 1` runs, w = 0 ... W/2: `x_w + x_{W-w}`)
/// and `o` (`W/2 - 1` runs, w = 1 ... W/2 - 1: `x_w - x_{W-w}`); the second folds each of
/// those about its middle (w against W/2 - w). Even k reads the sums of `e` (`cosEven` runs)
/// and the differences of `o` (`sinEven`), odd k the differences of `e` (`cosOdd`) and the
/// sums of `o` (`sinOdd`). The W stage's rows list even k first, then odd k (`slot`).
struct WFold {
    let evenRuns, oddRuns, evenK, oddK: Int
    init(width: Int, modes: Int) {
        assert(width % 2 == 0, "rfft2 grids have even widths (the op verifier's rule)")
        (evenRuns, oddRuns) = (width / 2 + 1, max(width / 2 - 1, 0))
        (evenK, oddK) = ((modes + 1) / 2, modes / 2)
    }
    var cosEven: Int { (evenRuns + 1) / 2 }
    var cosOdd: Int { evenRuns / 2 }
    var sinOdd: Int { (oddRuns + 1) / 2 }
    var sinEven: Int { oddRuns / 2 }
    /// The row of mode k among a W-stage row's real (or imaginary) parts.
    func slot(_ k: Int) -> Int { k % 2 == 0 ? k / 2 : evenK + k / 2 }
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
/// real parts `[m2, C]` in `WFold.slot` order, then the imaginary ones) in the H fold's
/// order, then the H stage's sine sums `Q` `[m1, 2 m2 C]`; its cosine sums `P`
/// `[m1 + 1, 2 m2 C]` take the place of the folded odd rows once the sine products have
/// read them (after `Q` where they do not fit there), and the folded image row `[W, C]`
/// that of `Q` during the W stage.
struct SpectralGEMM {
    let d: SpectralDFTMatrices
    var t: SpectralTransforms { d.t }

    /// c `[rows, n]` = a `[rows, k]` b `[k, n]`, all row-major and dense.
    @inline(__always) private func product(rows: Int, k: Int, n: Int, _ a: UnsafePointer<Float>,
                                           _ b: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>) {
        if rows == 0 { return }
        if k == 0 {
            c.update(repeating: 0, count: rows * n)
        } else {
            m2m_linear_rows(a, b, nil, nil, 0, nil, c, rows, k, n)
        }
    }

    /// Where one sample's stages live in its workspace tile.
    private struct Layout {
        let width, channels, rowFloats: Int
        /// The W stage's rows, the sine sums of f = 1 ... m1, the cosine sums of f = 0 ... m1.
        let rows, sines, cosines: UnsafeMutablePointer<Float>
        /// The folded image row (`m2m_width_fold`): the sums and differences of `e`, then those of `o`.
        let eSums, eDifferences, oSums, oDifferences: UnsafeMutablePointer<Float>
        let fw: WFold
        let fh: HFold
        init(_ t: SpectralTransforms, _ workspace: UnsafeMutablePointer<Float>) {
            (width, channels, rowFloats) = (t.width, t.channels, 2 * t.modes2 * t.channels)
            (fw, fh) = (WFold(width: t.width, modes: t.modes2), HFold(height: t.height))
            rows = workspace
            sines = workspace + t.height * rowFloats
            cosines = t.cosineSumsFitOddRows ? rows + fh.even * rowFloats : sines + t.modes1 * rowFloats
            let c = t.channels
            (eSums, eDifferences) = (sines, sines + fw.cosEven * c)
            (oSums, oDifferences) = (sines + fw.evenRuns * c, sines + (fw.evenRuns + fw.sinOdd) * c)
        }
        /// Row h of the W stage (in the H fold's order).
        func row(_ h: Int) -> UnsafeMutablePointer<Float> { rows + fh.slot(h) * rowFloats }
        /// The H fold in place: rows j and H - j become their sum and difference; its own transpose.
        func butterflies() {
            for j in stride(from: 1, through: fh.odd, by: 1) {
                m2m_butterfly(row(j), row(fh.even + fh.odd - j), rowFloats)
            }
        }
        /// Both W folds of image row x `[W, C]`.
        func fold(_ x: UnsafePointer<Float>) { m2m_width_fold(x, eSums, width, channels) }
        /// The transpose of `fold`, into image row x.
        func unfold(into x: UnsafeMutablePointer<Float>) { m2m_width_unfold(eSums, x, width, channels) }
    }

    /// x `[H, W, C]` -> kept modes of sample n in `[M, samples, C]`. `adjoint` (irfft2_grad)
    /// uses the inverse's W matrices: `r2c` scaled by `mult(k) / (H W)`. With `T_h` the W
    /// stage's row h (complex), `P_f = sum_h T_h cos(2 pi f h / H)` and
    /// `Q_f = sum_h T_h sin(2 pi f h / H)`: mode f is `P_f - i Q_f`, mode -f is `P_f + i Q_f`.
    func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, sample n: Int, samples: Int,
                 workspace: UnsafeMutablePointer<Float>, adjoint: Bool) {
        let (h, w, c, m1, m2) = (t.height, t.width, t.channels, t.modes1, t.modes2)
        let l = Layout(t, workspace), mc = m2 * c
        let matrices = adjoint ? d.alongWInverse : d.alongW, fw = l.fw
        for row in 0..<h {       // T_h [2 m2, C] = A_W [2 m2, W] x_h [W, C], on the folded row
            let th = l.row(row)
            l.fold(x + row * w * c)
            product(rows: fw.evenK, k: fw.cosEven, n: c, matrices.cosEven, l.eSums, into: th)
            product(rows: fw.oddK, k: fw.cosOdd, n: c, matrices.cosOdd, l.eDifferences, into: th + fw.evenK * c)
            product(rows: fw.evenK, k: fw.sinEven, n: c, matrices.sinEven, l.oDifferences, into: th + mc)
            product(rows: fw.oddK, k: fw.sinOdd, n: c, matrices.sinOdd, l.oSums, into: th + mc + fw.evenK * c)
        }
        l.butterflies()
        product(rows: m1, k: l.fh.odd, n: l.rowFloats, d.hSin, l.rows + l.fh.even * l.rowFloats, into: l.sines)
        product(rows: m1 + 1, k: l.fh.even, n: l.rowFloats, d.hCos, l.rows, into: l.cosines)
        for r in 0..<(2 * m1) {
            let f = r < m1 ? r : 2 * m1 - r     // kept row r is frequency f, or -f from m1 on
            let p = l.cosines + f * l.rowFloats
            for k in 0..<m2 {
                let column = l.fw.slot(k) * c
                let (pre, pim) = (p + column, p + mc + column)
                let dst = y + ((r * m2 + k) * samples + n) * 2 * c
                guard f > 0 else {
                    for ch in 0..<c { dst[2 * ch] = pre[ch]; dst[2 * ch + 1] = pim[ch] }
                    continue
                }
                let q = l.sines + (f - 1) * l.rowFloats
                let (qre, qim) = (q + column, q + mc + column)
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
        let matrices = adjoint ? d.alongWTransposed : d.alongWInverseTransposed, fw = l.fw
        func mode(_ r: Int, _ k: Int) -> UnsafePointer<Float> { spectrum + ((r * m2 + k) * samples + n) * 2 * c }
        for k in 0..<m2 {        // the forward's last step transposed: modes f and -f -> P_f, Q_f
            let column = l.fw.slot(k) * c
            let (pre, pim) = (l.cosines + column, l.cosines + mc + column), a = mode(0, k)
            for ch in 0..<c { pre[ch] = a[2 * ch]; pim[ch] = a[2 * ch + 1] }
        }
        for f in stride(from: 1, through: m1, by: 1) {
            let p = l.cosines + f * l.rowFloats, q = l.sines + (f - 1) * l.rowFloats
            for k in 0..<m2 {
                let column = l.fw.slot(k) * c
                let (pre, pim, qre, qim) = (p + column, p + mc + column, q + column, q + mc + column)
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
        for row in 0..<h {       // x_h [W, C] = A_W^T [W, 2 m2] U_h [2 m2, C], then the folds' transposes
            let uh = l.row(row)
            product(rows: fw.cosEven, k: fw.evenK, n: c, matrices.cosEven, uh, into: l.eSums)
            product(rows: fw.cosOdd, k: fw.oddK, n: c, matrices.cosOdd, uh + fw.evenK * c, into: l.eDifferences)
            product(rows: fw.sinEven, k: fw.evenK, n: c, matrices.sinEven, uh + mc, into: l.oDifferences)
            product(rows: fw.sinOdd, k: fw.oddK, n: c, matrices.sinOdd, uh + mc + fw.evenK * c, into: l.oSums)
            l.unfold(into: x + row * w * c)
        }
    }
}
