import CKernels
import Executor
import Foundation
import XCTest

/// The CPU-dispatched C kernels (CKernels): every ISA variant this CPU runs gives the
/// same bits as the baseline variant and as the Swift code they replaced (FastMath's
/// formulas, restated below as `SwiftFloat`, and the plain Float loops); gelu and gelu'
/// also agree with Double references. No `@testable`, so it also runs in a release build
/// (`swift test -c release --filter CPUDispatchTests`), where the C kernels are vectorized.
final class CPUDispatchTests: XCTestCase {
    private var saved = KernelISA.active
    override func setUp() { saved = KernelISA.active }
    override func tearDown() { KernelISA.select(saved) }

    /// Lengths around every vector width (4, 8, 16) and their unrolled multiples, so the
    /// vector bodies and the scalar remainders both run; offsets misalign the starts.
    static let lengths = [1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 127, 129, 1000, 4099]

    /// Inputs that reach the exp clamps (|x| large), zero, tiny and negative values.
    static func inputs(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix(seed: seed)
        let special: [Float] = [0, -0.0, 1e-30, -1e-30, 1e-3, -1e-3, 5, -5, 9.5, -9.5, 40, -40, 100, -100, 3e38, -3e38]
        return (0..<n).map { i in
            i % 7 == 3 ? special[(i / 7) % special.count] : Float(rng.uniform() * 16 - 8)
        }
    }

    static var available: [KernelISA] { KernelISA.allCases.filter(\.isSupported) }

    /// Runs `body` under every ISA this CPU has and returns each one's output bits.
    private func underEveryISA(_ body: () -> [Float]) -> [(KernelISA, [UInt32])] {
        Self.available.map { isa in
            XCTAssertTrue(KernelISA.select(isa))
            XCTAssertEqual(KernelISA.active, isa)
            return (isa, body().map(\.bitPattern))
        }
    }

    private func assertAllEqual(_ results: [(KernelISA, [UInt32])], _ expected: [Float], _ label: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        for (isa, bits) in results {
            XCTAssertEqual(bits.count, expected.count, label, file: file, line: line)
            let mismatch = bits.indices.first { bits[$0] != expected[$0].bitPattern }
            XCTAssertNil(mismatch, "\(label) under \(isa): first differing element \(mismatch ?? -1)", file: file, line: line)
        }
    }

    func testBaselineIsAlwaysSupportedAndTheBestIsActiveByDefault() {
        XCTAssertTrue(KernelISA.baseline.isSupported)
        // Without M2MC_ISA the widest supported variant runs.
        if ProcessInfo.processInfo.environment["M2MC_ISA"] == nil {
            XCTAssertEqual(saved, Self.available.last)
        }
        if !KernelISA.avx512.isSupported {
            print("CPUDispatchTests: this CPU lacks AVX-512; the AVX-512 variant is not run here, only \(Self.available)")
        }
    }

    func testUnsupportedISAIsRefusedAndChangesNothing() throws {
        guard let missing = KernelISA.allCases.first(where: { !$0.isSupported }) else {
            throw XCTSkip("this CPU supports every variant; nothing to refuse")
        }
        let before = KernelISA.active
        XCTAssertFalse(KernelISA.select(missing))
        XCTAssertEqual(KernelISA.active, before)
    }

    func testGeluIsBitIdenticalAcrossISAsAndMatchesFastMath() {
        for n in Self.lengths {
            for offset in [0, 1, 3] {
                let x = Self.inputs(n + offset, seed: UInt64(n * 10 + offset))
                let results = underEveryISA {
                    var y = [Float](repeating: .nan, count: n + offset)
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { m2m_gelu(xp.baseAddress! + offset, $0.baseAddress! + offset, n) }
                    }
                    return Array(y[offset...])
                }
                let xs = Array(x[offset...])
                assertAllEqual(results, xs.map { SwiftFloat.gelu($0) }, "gelu n=\(n)")
                // In place (the GEMM epilogues: y == x), which must take the same vector path.
                let inPlace = underEveryISA {
                    var y = xs
                    y.withUnsafeMutableBufferPointer { m2m_gelu($0.baseAddress!, $0.baseAddress!, n) }
                    return y
                }
                assertAllEqual(inPlace, xs.map { SwiftFloat.gelu($0) }, "gelu in place n=\(n)")
                for (v, y) in zip(xs, xs.map { SwiftFloat.gelu($0) }) where abs(v) < 1e30 {
                    let r = Reference.gelu(v)
                    XCTAssertEqual(Double(y), r, accuracy: 2e-6 * max(1, abs(r)), "gelu(\(v))")
                }
            }
        }
    }

    func testGeluGradIsBitIdenticalAcrossISAsAndMatchesFastMath() {
        for n in Self.lengths {
            let x = Self.inputs(n, seed: UInt64(100 + n)), dy = Self.inputs(n, seed: UInt64(200 + n))
            let expected = zip(x, dy).map { $1 * SwiftFloat.geluDerivative($0) }
            let results = underEveryISA {
                var y = [Float](repeating: .nan, count: n)
                m2m_gelu_grad(x, dy, &y, n)
                return y
            }
            assertAllEqual(results, expected, "gelu_grad n=\(n)")
            // In place (the linear_grad_input_gelu epilogue: dy overwritten by dy * gelu'(x)).
            let inPlace = underEveryISA {
                var y = dy
                y.withUnsafeMutableBufferPointer { m2m_gelu_grad(x, $0.baseAddress!, $0.baseAddress!, n) }
                return y
            }
            assertAllEqual(inPlace, expected, "gelu_grad in place n=\(n)")
            for v in x where abs(v) < 20 {
                XCTAssertEqual(Double(SwiftFloat.geluDerivative(v)), Reference.geluDerivative(v), accuracy: 1e-5, "gelu'(\(v))")
            }
        }
    }

    /// gelu and gelu' in one pass (mlp_grad): the bits of the two separate kernels, in place too.
    func testGeluAndGradIsBitIdenticalToTheSeparateKernels() {
        for n in Self.lengths {
            let x = Self.inputs(n, seed: UInt64(150 + n)), dy = Self.inputs(n, seed: UInt64(250 + n))
            let expected = x.map { SwiftFloat.gelu($0) } + zip(x, dy).map { $1 * SwiftFloat.geluDerivative($0) }
            assertAllEqual(underEveryISA {
                var h = [Float](repeating: .nan, count: n), dx = [Float](repeating: .nan, count: n)
                m2m_gelu_and_grad(x, dy, &h, &dx, n)
                return h + dx
            }, expected, "gelu_and_grad n=\(n)")
            assertAllEqual(underEveryISA {
                var h = [Float](repeating: .nan, count: n), d = dy
                d.withUnsafeMutableBufferPointer { m2m_gelu_and_grad(x, $0.baseAddress!, &h, $0.baseAddress!, n) }
                return h + d
            }, expected, "gelu_and_grad in place n=\(n)")
        }
    }

    /// x^T dy accumulated into `out` in row order, one fused multiply-add per product: every
    /// block shape (4 x 16 register blocks, their edges, row chunks of 32 and a remainder) gives
    /// the bits of the plain Float loop.
    func testTransposedProductAccumulatesInRowOrderUnderEveryISA() {
        for (rows, k, n) in [(1, 1, 1), (7, 3, 5), (33, 4, 16), (100, 9, 37), (256, 32, 128), (70, 32, 1), (65, 8, 32),
                             (40, 11, 16), (20, 7, 48), (13, 6, 20), (9, 2, 16)] {
            let x = Self.inputs(rows * k, seed: UInt64(800 + rows)).map { max(-50, min(50, $0)) }
            let dy = Self.inputs(rows * n, seed: UInt64(900 + n)).map { max(-50, min(50, $0)) }
            let start = Self.inputs(k * n, seed: UInt64(1000 + k)).map { max(-50, min(50, $0)) }
            var expected = start
            for i in 0..<k {
                for j in 0..<n {
                    var a = start[i * n + j]
                    for r in 0..<rows { a = a.addingProduct(x[r * k + i], dy[r * n + j]) }
                    expected[i * n + j] = a
                }
            }
            assertAllEqual(underEveryISA {
                var out = start
                m2m_transposed_product_accumulate(x, dy, &out, rows, k, n)
                return out
            }, expected, "transposed_product_accumulate \(rows)x\(k)x\(n)")
        }
    }

    /// `m2m_linear_rows`: per element the bias (or 0), the products fused-added in k order, then the
    /// epilogues (add, gelu, gelu') as the separate kernels round them; every register block
    /// (4 rows x 16 and 8 columns, fewer rows at the end), the scalar column edge and row chunks
    /// (32 rows at 128 columns, 4 rows from 1024 columns) give the bits of the plain Float loop.
    func testLinearRowsIsThePlainLoopWithItsEpiloguesUnderEveryISA() {
        let shapes = [(1, 1, 1), (7, 3, 5), (5, 13, 45), (3, 8, 8), (37, 32, 32), (67, 32, 128), (9, 128, 32), (4, 5, 24), (3, 2, 2050)]
        for (index, (rows, k, n)) in shapes.enumerated() {
            let clamp = { (v: [Float]) in v.map { max(-4, min(4, $0)) } }
            let x = clamp(Self.inputs(rows * k, seed: UInt64(1100 + index)))
            let w = clamp(Self.inputs(k * n, seed: UInt64(1200 + index)))
            let bias = clamp(Self.inputs(n, seed: UInt64(1300 + index)))
            let addend = clamp(Self.inputs(rows * n, seed: UInt64(1400 + index)))
            let pre = Self.inputs(rows * n, seed: UInt64(1500 + index))
            for (withBias, withAddend, gelu, withPre) in [(true, false, false, false), (false, false, false, false),
                                                          (true, true, false, false), (true, true, true, false),
                                                          (true, false, true, false), (false, true, false, true),
                                                          (false, false, false, true)] {
                var expected = [Float](repeating: 0, count: rows * n)
                for r in 0..<rows {
                    for j in 0..<n {
                        var a: Float = withBias ? bias[j] : 0
                        for i in 0..<k { a = a.addingProduct(x[r * k + i], w[i * n + j]) }
                        if withAddend { a = a + addend[r * n + j] }
                        if gelu { a = SwiftFloat.gelu(a) }
                        if withPre { a = a * SwiftFloat.geluDerivative(pre[r * n + j]) }
                        expected[r * n + j] = a
                    }
                }
                assertAllEqual(underEveryISA {
                    var y = [Float](repeating: .nan, count: rows * n)
                    bias.withUnsafeBufferPointer { b in
                        addend.withUnsafeBufferPointer { ad in
                            pre.withUnsafeBufferPointer { p in
                                m2m_linear_rows(x, w, withBias ? b.baseAddress : nil, withAddend ? ad.baseAddress : nil,
                                                gelu ? 1 : 0, withPre ? p.baseAddress : nil, &y, rows, k, n)
                            }
                        }
                    }
                    return y
                }, expected, "linear_rows \(rows)x\(k)x\(n) bias \(withBias) add \(withAddend) gelu \(gelu) gelu' \(withPre)")
            }
        }
    }

    /// `m2m_product_accumulate`: `y += x w`, per element y's own value, then the products
    /// fused-added in k order; the narrow shapes it runs for (2-15 columns: the scalar column
    /// edge with 1-6 rows side by side), and wider ones through the register blocks.
    func testProductAccumulateStartsFromYAndAddsInKOrderUnderEveryISA() {
        let shapes = [(1, 1, 1), (80, 32, 3), (7, 6, 2), (13, 12, 15), (6, 33, 7), (11, 16, 16), (5, 9, 40), (4, 0, 3)]
        for (index, (rows, k, n)) in shapes.enumerated() {
            let clamp = { (v: [Float]) in v.map { max(-4, min(4, $0)) } }
            let x = clamp(Self.inputs(rows * k, seed: UInt64(1600 + index)))
            let w = clamp(Self.inputs(k * n, seed: UInt64(1700 + index)))
            let start = clamp(Self.inputs(rows * n, seed: UInt64(1800 + index)))
            var expected = start
            for r in 0..<rows {
                for j in 0..<n {
                    var a = start[r * n + j]
                    for i in 0..<k { a = a.addingProduct(x[r * k + i], w[i * n + j]) }
                    expected[r * n + j] = a
                }
            }
            assertAllEqual(underEveryISA {
                var y = start
                m2m_product_accumulate(x, w, &y, rows, k, n)
                return y
            }, expected, "product_accumulate \(rows)x\(k)x\(n)")
        }
    }

    func testAddAccumulateAndBroadcastAreExactFloatOperations() {
        for n in Self.lengths {
            let a = Self.inputs(n, seed: UInt64(300 + n)), b = Self.inputs(n, seed: UInt64(400 + n))
            let sum = zip(a, b).map { $0 + $1 }
            assertAllEqual(underEveryISA {
                var y = [Float](repeating: .nan, count: n)
                m2m_add(a, b, &y, n)
                return y
            }, sum, "add n=\(n)")
            assertAllEqual(underEveryISA {
                var y = a
                m2m_accumulate(&y, b, n)
                return y
            }, sum, "accumulate n=\(n)")
            assertAllEqual(underEveryISA {
                var y = a
                y.withUnsafeMutableBufferPointer { m2m_add($0.baseAddress!, b, $0.baseAddress!, n) }
                return y
            }, sum, "add in place n=\(n)")
            let rows = 3
            assertAllEqual(underEveryISA {
                var y = [Float](repeating: .nan, count: rows * n)
                m2m_broadcast_rows(a, &y, rows, n)
                return y
            }, Array([[Float]](repeating: a, count: rows).joined()), "broadcast_rows n=\(n)")
            // out += each row of src in row order: the bits of `rows` m2m_accumulate calls.
            let src = Self.inputs(rows * n, seed: UInt64(500 + n))
            var expected = a
            for r in 0..<rows { for c in 0..<n { expected[c] = expected[c] + src[r * n + c] } }
            assertAllEqual(underEveryISA {
                var y = a
                m2m_accumulate_rows(&y, src, rows, n)
                return y
            }, expected, "accumulate_rows n=\(n)")
        }
    }

    /// The mirror fold of `runs` runs of c floats: the sums of runs j and runs-1-j (the middle
    /// run of an odd count alone), then their differences; and its transpose.
    static func mirrorFold(_ a: [Float], runs: Int, c: Int) -> [Float] {
        let (pairs, sums) = (runs / 2, runs - runs / 2)
        var f = [Float](repeating: .nan, count: runs * c)
        for ch in 0..<c {
            for j in 0..<pairs {
                let (x, y) = (a[j * c + ch], a[(runs - 1 - j) * c + ch])
                f[j * c + ch] = x + y; f[(sums + j) * c + ch] = x - y
            }
            if runs % 2 == 1 { f[pairs * c + ch] = a[pairs * c + ch] }
        }
        return f
    }
    static func mirrorUnfold(_ f: [Float], runs: Int, c: Int) -> [Float] {
        let (pairs, sums) = (runs / 2, runs - runs / 2)
        var a = [Float](repeating: .nan, count: runs * c)
        for ch in 0..<c {
            for j in 0..<pairs {
                let (s, d) = (f[j * c + ch], f[(sums + j) * c + ch])
                a[j * c + ch] = s + d; a[(runs - 1 - j) * c + ch] = s - d
            }
            if runs % 2 == 1 { a[pairs * c + ch] = f[pairs * c + ch] }
        }
        return a
    }

    /// The GEMM spectral form's folds along W, against their definition as three mirror
    /// folds (runs 1 ... W-1 after run 0 into `e` and `o`, then each of those about its
    /// middle) and unfolds, the butterfly in place; exact Float operations under every ISA.
    func testWidthFoldUnfoldAndButterflyUnderEveryISA() {
        for width in [2, 4, 6, 8, 10, 12, 64] {
            for c in [1, 5, 32] {
                let a = Self.inputs(width * c, seed: UInt64(700 + width * c))
                let (evenRuns, oddRuns) = (width / 2 + 1, width / 2 - 1)
                let first = Array(a[0..<c]) + Self.mirrorFold(Array(a[c...]), runs: width - 1, c: c)
                let folded = Self.mirrorFold(Array(first[0..<(evenRuns * c)]), runs: evenRuns, c: c)
                    + Self.mirrorFold(Array(first[(evenRuns * c)...]), runs: oddRuns, c: c)
                let halves = Self.mirrorUnfold(Array(a[0..<(evenRuns * c)]), runs: evenRuns, c: c)
                    + Self.mirrorUnfold(Array(a[(evenRuns * c)...]), runs: oddRuns, c: c)
                let unfolded = Array(halves[0..<c]) + Self.mirrorUnfold(Array(halves[c...]), runs: width - 1, c: c)
                assertAllEqual(underEveryISA {
                    var f = [Float](repeating: .nan, count: width * c)
                    m2m_width_fold(a, &f, width, c)
                    return f
                }, folded, "width_fold width=\(width) c=\(c)")
                assertAllEqual(underEveryISA {
                    var y = [Float](repeating: .nan, count: width * c)
                    m2m_width_unfold(a, &y, width, c)
                    return y
                }, unfolded, "width_unfold width=\(width) c=\(c)")
            }
        }
        for n in Self.lengths {
            let a = Self.inputs(n, seed: UInt64(800 + n)), b = Self.inputs(n, seed: UInt64(900 + n))
            assertAllEqual(underEveryISA {
                var (y, z) = (a, b)
                m2m_butterfly(&y, &z, n)
                return y + z
            }, zip(a, b).map { $0 + $1 } + zip(a, b).map { $0 - $1 }, "butterfly n=\(n)")
        }
    }

    /// Column sums in row order: the fixed order the thread bit-identity relies on.
    func testSumRowsSumsInRowOrderUnderEveryISA() {
        for n in [1, 5, 16, 17, 32, 33, 128, 130] {
            for rows in [1, 2, 7, 300] {
                let src = Self.inputs(rows * n, seed: UInt64(500 + rows * n)).map { $0 * 1e-3 + 1 }
                var expected = Array(src[0..<n])
                for r in 1..<rows { for c in 0..<n { expected[c] += src[r * n + c] } }
                assertAllEqual(underEveryISA {
                    var out = [Float](repeating: .nan, count: n)
                    m2m_sum_rows(src, &out, rows, n)
                    return out
                }, expected, "sum_rows \(rows)x\(n)")
                // Not just any order: the reverse order rounds differently somewhere.
                if rows == 300 && n == 128 {
                    var reversed = Array(src[((rows - 1) * n)...])
                    for r in (0..<(rows - 1)).reversed() { for c in 0..<n { reversed[c] += src[r * n + c] } }
                    XCTAssertNotEqual(reversed.map(\.bitPattern), expected.map(\.bitPattern))
                }
            }
        }
    }

    func testAdamIsBitIdenticalAcrossISAsAndMatchesTheFloatFormula() {
        let (beta1, beta2, eps): (Float, Float, Float) = (0.9, 0.999, 1e-8)
        for (l2, shrink) in [(Float(1e-4), Float(1)), (0, 1 - 1e-3 * 1e-2)] {
            for n in Self.lengths {
                let p0 = Self.inputs(n, seed: UInt64(600 + n)).map { max(-10, min(10, $0)) }
                let g = Self.inputs(n, seed: UInt64(700 + n)).map { max(-10, min(10, $0)) }
                let m0 = g.map { $0 * 0.3 }, v0 = g.map { $0 * $0 * 0.5 }
                let (stepSize, c2): (Float, Float) = (1e-3 / 0.271, 0.00399)
                var p = p0, m = m0, v = v0
                for i in 0..<n {
                    let gi = g[i] + l2 * p[i]
                    let mi = beta1 * m[i] + (1 - beta1) * gi
                    let vi = beta2 * v[i] + (1 - beta2) * gi * gi
                    m[i] = mi; v[i] = vi
                    p[i] = p[i] * shrink - stepSize * mi / ((vi / c2).squareRoot() + eps)
                }
                let results = underEveryISA {
                    var pp = p0, mm = m0, vv = v0
                    m2m_adam(&pp, g, &mm, &vv, n, beta1, beta2, eps, l2, shrink, stepSize, c2)
                    return pp + mm + vv
                }
                assertAllEqual(results, p + m + v, "adam n=\(n) l2=\(l2)")
            }
        }
    }
}

/// SplitMix64: a small deterministic generator for test inputs.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// The Swift Float code of FastMath's GELU, op for op (its multiply-adds fused, as the C
/// kernels' fmaf): the C variants must reproduce its bits.
private enum SwiftFloat {
    static func exp2Clamped(_ t: Float) -> Float {
        let shifted = t + 12_582_912
        let k = shifted - 12_582_912
        let g = t - k
        let g2 = g * g, g4 = g2 * g2
        let q01 = Float(1).addingProduct(0.6931471825, g), q23 = Float(0.2402264625).addingProduct(0.05550328642, g)
        let q45 = Float(0.009618483484).addingProduct(0.001339994371, g)
        let p = q01.addingProduct(g2, q23).addingProduct(g4, q45.addingProduct(g2, 0.0001534728071))
        return Float(bitPattern: p.bitPattern &+ (shifted.bitPattern &<< 23))
    }
    /// sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3), as 1 / (1 + 2^t), t = -2u / ln 2.
    static func sigmoid(_ x: Float) -> Float {
        var t = x * Float(-2.302208198).addingProduct(-0.1029432396, x * x)
        t = t > -126 ? t : -126   // max then min (a NaN becomes -126; gelu still returns the NaN of x)
        t = t < 127 ? t : 127
        return 1 / (1 + exp2Clamped(t))
    }
    static func gelu(_ x: Float) -> Float { x * sigmoid(x) }
    static func geluDerivative(_ x: Float) -> Float {
        let s = sigmoid(x)
        return s.addingProduct(x * s * (1 - s), Float(1.5957691216).addingProduct(0.2140644488, x * x))
    }
}
