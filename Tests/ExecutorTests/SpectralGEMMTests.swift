import Executor
import GraphIR
import Planner
import XCTest

/// The GEMM form of the truncated transforms (DFT-matrix products) against the same
/// independent oracles as the FFTW form: direct DFTs in Double (`Reference`), central
/// differences for the gradients, and the FFTW form itself to float rounding.
final class SpectralGEMMTests: XCTestCase {
    /// A grid big enough that products and FFTs sum in many different orders.
    let wide = SpectralGrid(n: 3, h: 16, w: 20, c: 5, m1: 5, m2: 7)
    /// Odd H (its fold without a middle row; W is even in every rfft2) and 8 channels (the
    /// W stage's products by `m2m_linear_rows`, as at `wide`'s H stage).
    let odd = SpectralGrid(n: 2, h: 9, w: 12, c: 8, m1: 3, m2: 4)

    func testRfft2MatchesDirectDFT() throws {
        for (i, g) in (spectralGrids + [wide, odd]).enumerated() {
            let x = Tensor(g.realType, seed: 130 + UInt64(i))
            assertClose(try runOp(g.forward, [x], spectral: .gemm), Reference.rfft2(x.data, g), tolerance: 2e-6,
                        "gemm rfft2 \(g)")
        }
    }

    func testIrfft2MatchesC2RSemantics() throws {
        for (i, g) in (spectralGrids + [wide, odd]).enumerated() {
            let spectrum = Tensor(g.spectrumType, seed: 140 + UInt64(i))
            assertClose(try runOp(g.inverse, [spectrum], spectral: .gemm),
                        Reference.irfft2(spectrum.data.map(Double.init), g), tolerance: 2e-6, "gemm irfft2 \(g)")
        }
    }

    func testRfft2GradIsGradientOfRfft2() throws {
        for (i, g) in (spectralGrids + [wide, odd]).enumerated() {
            let seed = Tensor(g.spectrumType, seed: 160 + UInt64(i))
            let dx = try runOp(.rfft2Grad(height: g.h, width: g.w, modes1: g.m1, modes2: g.m2), [seed], spectral: .gemm)
            assertClose(dx, Reference.rfft2Gradient(seed.data, g), tolerance: 2e-6, "gemm rfft2_grad \(g)")
        }
    }

    /// dY of `L(Y) = sum g * irfft2(Y)` by central differences in float64 on the reference irfft2.
    func testIrfft2GradIsGradientOfIrfft2() throws {
        for (i, g) in spectralGrids.enumerated() {       // small grids: the differences are O(size^2)
            let dy = Tensor(g.realType, seed: 170 + UInt64(i))
            let at = randomFloats(2 * g.spectrumCount, seed: 180 + UInt64(i)).map(Double.init)
            func loss(_ spectrum: [Double]) -> Double {
                zip(dy.data, Reference.irfft2(spectrum, g)).reduce(0) { $0 + Double($1.0) * $1.1 }
            }
            let step = 0.5
            let expected = at.indices.map { j -> Double in
                var (up, down) = (at, at)
                up[j] += step; down[j] -= step
                return (loss(up) - loss(down)) / (2 * step)
            }
            assertClose(try runOp(.irfft2Grad(modes1: g.m1, modes2: g.m2), [dy], spectral: .gemm), expected,
                        tolerance: 2e-6, "gemm irfft2_grad \(g)")
        }
    }

    /// The two forms compute the same maps: they agree to float rounding on every op.
    func testAgreesWithFFTWForm() throws {
        for (i, g) in (spectralGrids + [wide, odd]).enumerated() {
            let real = Tensor(g.realType, seed: 190 + UInt64(i)), spectrum = Tensor(g.spectrumType, seed: 200 + UInt64(i))
            let cases: [(Op, Tensor)] = [
                (g.forward, real), (g.inverse, spectrum),
                (.rfft2Grad(height: g.h, width: g.w, modes1: g.m1, modes2: g.m2), spectrum),
                (.irfft2Grad(modes1: g.m1, modes2: g.m2), real),
            ]
            for (op, input) in cases {
                let fftw = try runOp(op, [input], spectral: .fftw), gemm = try runOp(op, [input], spectral: .gemm)
                assertClose(gemm, fftw.map(Double.init), tolerance: 2e-6, "\(op.name) gemm vs fftw \(g)")
            }
        }
    }

    /// Tiles are samples and each sample's products run single-threaded: the bits do not
    /// depend on the thread count.
    func testBitIdenticalAcrossThreadCounts() throws {
        let g = wide
        let real = Tensor(g.realType, seed: 210), spectrum = Tensor(g.spectrumType, seed: 211)
        let cases: [(Op, Tensor)] = [
            (g.forward, real), (g.inverse, spectrum),
            (.rfft2Grad(height: g.h, width: g.w, modes1: g.m1, modes2: g.m2), spectrum),
            (.irfft2Grad(modes1: g.m1, modes2: g.m2), real),
        ]
        for (op, input) in cases {
            let bits = try [1, 2, 3].map { try runOp(op, [input], threads: $0, spectral: .gemm).map(\.bitPattern) }
            XCTAssertEqual(bits[0], bits[1], "\(op.name): 1 vs 2 threads")
            XCTAssertEqual(bits[0], bits[2], "\(op.name): 1 vs 3 threads")
        }
    }

    /// A GEMM-only program makes no FFTW plan of its spectral transforms (it would need
    /// wisdom it does not have): binding succeeds with `wisdomOnly` and no wisdom.
    func testGEMMFormNeedsNoFFTWPlans() throws {
        let g = wide
        var b = GraphBuilder(name: "gemm-only")
        let x = b.input("x", g.realType)
        b.output("y", try b.apply(g.forward, [x])!)
        try FFTPlan.importWisdom("")
        let program = try compile(b.graph, rigor: .measure, wisdomOnly: true, spectral: .gemm)
        let input = Tensor(g.realType, seed: 220)
        program.feed("x", input.data)
        program.run()
        assertClose(program.read("y"), Reference.rfft2(input.data, g), tolerance: 2e-6, "gemm rfft2 without wisdom")
        XCTAssertThrowsError(try compile(b.graph, rigor: .measure, wisdomOnly: true, spectral: .fftw),
                             "the FFTW form does need the wisdom")
    }

    /// Every graph of the op test table that runs a truncated transform (single ops, bounded
    /// expert pipelines, gradient graphs), in the GEMM form: its references hold, and its bits
    /// are the same for 1, 2 and 3 threads.
    func testOpTableGraphsInGEMMForm() throws {
        let spectral: Set<OpCode> = [.rfft2, .irfft2, .rfft2_grad, .irfft2_grad]
        var checked = 0
        for (_, entry) in try OpTableTests.table() {
            let gradientGraphs = try entry.gradients.map { try $0.fixture() }
            for (fixture, hasReference) in entry.fixtures.map({ ($0, true) }) + gradientGraphs.map({ ($0, false) })
            where fixture.graph.nodes.contains(where: { spectral.contains($0.op.code) }) {
                var reference: [String: [UInt32]]?
                for threads in [1, 2, 3] {
                    let program = try fixture.run(threads: threads, spectral: .gemm)
                    if hasReference && threads == 2 { fixture.check(program) }
                    let bits = fixture.bits(program)
                    if let reference {
                        for (name, value) in reference where bits[name] != value {
                            XCTFail("\(fixture.label): \(name) differs between 1 and \(threads) threads (GEMM form)")
                        }
                    } else {
                        reference = bits
                    }
                }
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 4, "the table has spectral graphs")
    }

    /// The compile-time timer measures both forms (positive, finite seconds per sample).
    func testTimerMeasuresBothForms() throws {
        let t = SpectralTransform(SpectralTransforms(height: 16, width: 16, channels: 4, modes1: 4, modes2: 4), .inverse)
        for form in SpectralForm.allCases {
            let s = try SpectralFormTimer.secondsPerSample(t, form, rigor: .estimate)
            XCTAssertTrue(s.isFinite && s > 0 && s < 1, "\(form): \(s) s per sample")
        }
    }
}
