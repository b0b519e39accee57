import Foundation
import M2MData
import M2MModel
import XCTest

/// Helpers of the tests that train a tiny model end to end (tiny-m2m, -kno, -uno, -cno, -fno):
/// a small data set, trainers writing into `folder`, the runs' outputs, the allocation check.
protocol TinyTrainingRuns: XCTestCase {
    var folder: String! { get }
    /// The tiny model, compiled once per test class.
    static func compiled() throws -> CompiledModel
}

extension TinyTrainingRuns {
    /// Trains tiny runs "a" and "b" (2 threads), "one" (1), "three" (3) for `epochs` epochs
    /// each, and "resumed" for half of them, then resumed from its checkpoint to the end;
    /// asserts every run's final checkpoint and metrics (wall time removed) equal run a's, and
    /// returns run a's metrics lines.
    @discardableResult
    func assertTrainingBitIdenticalAcrossRunsThreadsAndResume(epochs: Int = 4) throws -> [String] {
        let data = try writeNSData()
        try trainer("a", threads: 2, data: data).run(epochs: epochs)
        for (run, threads) in [("b", 2), ("one", 1), ("three", 3)] {
            try trainer(run, threads: threads, data: data).run(epochs: epochs)
        }
        try trainer("resumed", threads: 2, data: data).run(epochs: epochs / 2)
        let resumed = try trainer("resumed", threads: 2, data: data)
        try resumed.resume(from: folder + "/resumed/last.safetensors")
        XCTAssertEqual(resumed.epoch, epochs / 2)
        try resumed.run(epochs: epochs)
        return try assertRunsMatchRunA(epochs: epochs)
    }

    /// Runs "b", "one", "three" and "resumed" ended with run a's final checkpoint and metrics
    /// (wall time removed); returns run a's metrics lines.
    @discardableResult
    func assertRunsMatchRunA(epochs: Int) throws -> [String] {
        let expected = try bytes("a/last.safetensors")
        let expectedMetrics = try metricsWithoutSeconds("a")
        XCTAssertEqual(expectedMetrics.count, epochs)
        for run in ["b", "one", "three", "resumed"] {
            XCTAssertTrue(try bytes(run + "/last.safetensors") == expected, "\(run): final checkpoint differs")
            XCTAssertEqual(try metricsWithoutSeconds(run), expectedMetrics, run)
        }
        return expectedMetrics
    }

    /// Inference and training steps of the tiny model allocate nothing after warm-up: 5
    /// counted steps of each (ordo-one's malloc interposer; skips where it is not active).
    /// `routingWeight` sets lambda for a routed model's training program.
    func assertStepsAllocateNothing(routingWeight: Float? = nil) throws {
        try AllocationTests.requireCounter()
        let runtime = try ModelRuntime(try Self.compiled(), threads: 2)
        let c = runtime.config
        let pixels = c.batch * c.grid[0] * c.grid[1]
        let x = TestSupport.randomValues(pixels * c.tIn, seed: 1)
        let y = TestSupport.randomValues(pixels * c.rolloutTrain, seed: 2)
        let infer = try runtime.program(CompiledModel.inferenceName)
        let xi = try XCTUnwrap(infer.buffer(Programs.input))
        xi.update(from: x, count: x.count)
        infer.run()
        infer.run()
        XCTAssertEqual(AllocationTests.allocations { for _ in 0..<5 { xi.update(from: x, count: x.count); infer.run() } },
                       0, "heap allocations in 5 inference steps")
        let train = try runtime.program(CompiledModel.trainingName)
        let (xb, yb, s) = (try XCTUnwrap(train.buffer(Programs.input)), try XCTUnwrap(train.buffer(Programs.target)),
                           try XCTUnwrap(train.buffer(Programs.optimizerScalars)))
        let lambda = try routingWeight.map { _ in try XCTUnwrap(train.buffer(Programs.routingWeight)) }
        func step(_ k: Int) {
            xb.update(from: x, count: x.count)
            yb.update(from: y, count: y.count)
            (s[0], s[1]) = (1e-3, Float(k))
            if let lambda, let routingWeight { lambda[0] = routingWeight }
            train.run()
        }
        step(1)
        step(2)
        XCTAssertEqual(AllocationTests.allocations { for k in 3...7 { step(k) } }, 0, "heap allocations in 5 training steps")
        XCTAssertTrue(try XCTUnwrap(train.buffer(Programs.loss))[0].isFinite)
    }

    /// A small Navier-Stokes data set on tiny-m2m's 8 x 8 grid: t_in + t_out = 6 frames.
    func writeNSData(samples: Int = 6) throws -> Dataset {
        let gen = try NavierStokesGenerator(count: samples, res: 8, solverRes: 16, dt: 0.05, frames: 6, interval: 0.1,
                                            seed: 3)
        _ = try gen.write(to: folder + "/data", threads: 2)
        return try Dataset(path: folder + "/data")
    }

    func trainer(_ run: String, threads: Int, data: Dataset, ntrain: Int = 4) throws -> Trainer {
        let t = try Trainer(runtime: try ModelRuntime(try Self.compiled(), threads: threads), data: data,
                            ntrain: ntrain, ntest: 2, runDirectory: folder + "/" + run)
        t.checkpointEvery = 2
        return t
    }

    func bytes(_ path: String) throws -> Data {
        try XCTUnwrap(FileManager.default.contents(atPath: folder + "/" + path), path)
    }

    /// metrics.jsonl of a run with each line's `seconds` field removed (wall time, the only
    /// field allowed to differ).
    func metricsWithoutSeconds(_ run: String) throws -> [String] {
        let text = String(decoding: try bytes(run + "/metrics.jsonl"), as: UTF8.self)
        let seconds = try NSRegularExpression(pattern: #""seconds":[^,}]*,?"#)
        return text.split(separator: "\n").map { line in
            let s = String(line)
            XCTAssertEqual(seconds.numberOfMatches(in: s, range: NSRange(s.startIndex..., in: s)), 1, s)
            return seconds.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: "")
        }
    }
}
