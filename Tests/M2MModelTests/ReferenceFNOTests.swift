import Foundation
import M2MModel
import Planner
import XCTest

/// The runtime's inference program against an independent Double reference of
/// FNO2d with naive DFTs, on the weights of the runtime's seeded initialization.
final class ReferenceFNOTests: XCTestCase {
    /// Runs the "infer" program once on `x`; returns "prediction".
    func infer(_ runtime: ModelRuntime, _ x: [Float]) throws -> [Float] {
        let program = try runtime.program(CompiledModel.inferenceName)
        let input = try XCTUnwrap(program.buffer(Programs.input))
        let output = try XCTUnwrap(program.buffer(Programs.prediction))
        XCTAssertEqual(program.type(of: Programs.input)?.elementCount, x.count)
        input.update(from: x, count: x.count)
        program.run()
        let c = runtime.config
        return Array(UnsafeBufferPointer(start: output, count: c.batch * c.grid[0] * c.grid[1]))
    }

    func checkInference(_ config: ModelConfig, threads: Int = 2, rigor: FFTRigor = .estimate,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let compiled = try CompiledModel.compile(config, rigor: rigor, threads: threads)
        let runtime = try ModelRuntime(compiled, threads: threads)
        let count = config.batch * config.grid[0] * config.grid[1] * config.inputChannels
        let x = TestSupport.randomValues(count, seed: 11 + config.seed)
        let predicted = try infer(runtime, x).map(Double.init)
        let reference = ReferenceFNO(config: config, parameters: TestSupport.parameters(of: config, in: runtime.store))
        let expected = reference.forward(x.map(Double.init), batch: config.batch)
        let error = TestSupport.relativeL2(predicted, expected)
        XCTAssertLessThan(error, 1e-5, "relative L2 error of the prediction vs the Double reference",
                          file: file, line: line)
        // The prediction must actually depend on the spectral path (not a vacuous match).
        XCTAssertGreaterThan(expected.map(abs).max()!, 1e-3, file: file, line: line)
    }

    func testTinyInferenceMatchesReference() throws {
        try checkInference(try TestSupport.tinyConfig())
    }

    /// Odd height and channel counts: the per-sample FFT tiles `[H, W/2+1, C]` are 8 bytes
    /// off a 16-byte boundary for every other sample (H = 5, W/2+1 = 3, C = 3), which
    /// FFTW's plans for aligned arrays may not touch; the plans must be made unaligned.
    func testOddGridAndWidthMatchReference() throws {
        var config = try TestSupport.tinyConfig()
        config.grid = [5, 4]
        config.width = 3
        config.modes = [2, 2]
        config.batch = 3
        let transforms = try CompiledModel.compile(config, rigor: .estimate, threads: 1).inference.plan.transforms
        XCTAssertTrue(!transforms.isEmpty && transforms.allSatisfy(\.unaligned), "\(transforms)")
        let aligned = try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .estimate, threads: 1)
        XCTAssertFalse(aligned.inference.plan.transforms.contains(where: \.unaligned))
        try checkInference(config)
        try checkInference(config, threads: 3, rigor: .measure)
    }

    func testSingleThreadInferenceMatchesReference() throws {
        try checkInference(try TestSupport.tinyConfig(), threads: 1)
    }

    /// H = 2 m1 (the two row blocks tile every frequency row) and m2 = W/2 + 1 (the
    /// Nyquist column is kept), on a non-square grid.
    func testFullSpectrumWithNyquistColumnMatchesReference() throws {
        var config = try TestSupport.tinyConfig()
        config.grid = [6, 8]
        config.modes = [3, 5]
        config.width = 3
        config.tIn = 2
        config.projectionHidden = 5
        config.batch = 1
        config.seed = 3
        try config.validate(source: "test")
        try checkInference(config)
    }

    /// Odd H with the Nyquist column kept, three layers, one input frame.
    func testOddHeightMatchesReference() throws {
        var config = try TestSupport.tinyConfig()
        config.grid = [5, 6]
        config.modes = [2, 4]
        config.tIn = 1
        config.layers = 3
        config.seed = 5
        try config.validate(source: "test")
        try checkInference(config)
    }

    /// A larger grid whose FFT sizes are not powers of two (12 x 10), batch 3, width 6.
    func testNonPowerOfTwoGridMatchesReference() throws {
        var config = try TestSupport.tinyConfig()
        config.grid = [12, 10]
        config.modes = [3, 4]
        config.width = 6
        config.batch = 3
        config.seed = 12
        try config.validate(source: "test")
        try checkInference(config, threads: 3)
    }

    /// `predict` over 3 samples (the last batch padded) with a 2-step rollout against the
    /// reference rollout, sample by sample.
    func testRolloutPredictMatchesReference() throws {
        let config = try TestSupport.tinyConfig()
        let runtime = try ModelRuntime(try CompiledModel.compile(config, rigor: .estimate, threads: 2), threads: 2)
        let (h, w, t) = (config.grid[0], config.grid[1], config.inputChannels)
        let count = 3, steps = 2
        let x = TestSupport.randomValues(count * h * w * t, seed: 99)
        let predicted = try x.withUnsafeBufferPointer { try runtime.predict($0, count: count, rollout: steps) }
        XCTAssertEqual(predicted.count, count * h * w * steps)
        let reference = ReferenceFNO(config: config, parameters: TestSupport.parameters(of: config, in: runtime.store))
        let expected = reference.rollout(x.map(Double.init), batch: count, steps: steps)
        XCTAssertLessThan(TestSupport.relativeL2(predicted.map(Double.init), expected), 1e-5)
        // Step 2 differs from step 1 (the window really shifted).
        let step0 = stride(from: 0, to: expected.count, by: steps).map { expected[$0] }
        let step1 = stride(from: 1, to: expected.count, by: steps).map { expected[$0] }
        XCTAssertGreaterThan(TestSupport.relativeL2(step1, step0), 1e-3)
        // Per-step error too, so an error in the second step alone cannot hide in the total.
        for step in 0..<steps {
            let p = stride(from: step, to: predicted.count, by: steps).map { Double(predicted[$0]) }
            let e = stride(from: step, to: expected.count, by: steps).map { expected[$0] }
            XCTAssertLessThan(TestSupport.relativeL2(p, e), 1e-5, "rollout step \(step)")
        }
    }

    /// predict keeps no state between calls: the same call twice gives the same bits,
    /// also after an unrelated call in between.
    func testPredictIsRepeatable() throws {
        let config = try TestSupport.tinyConfig()
        let runtime = try ModelRuntime(try CompiledModel.compile(config, rigor: .estimate, threads: 2), threads: 2)
        let sample = config.grid[0] * config.grid[1] * config.inputChannels
        let a = TestSupport.randomValues(3 * sample, seed: 31), b = TestSupport.randomValues(sample, seed: 32)
        let first = try a.withUnsafeBufferPointer { try runtime.predict($0, count: 3, rollout: 3) }
        _ = try b.withUnsafeBufferPointer { try runtime.predict($0, count: 1, rollout: 2) }
        let second = try a.withUnsafeBufferPointer { try runtime.predict($0, count: 3, rollout: 3) }
        XCTAssertEqual(first.map(\.bitPattern), second.map(\.bitPattern))
        // Sample 0 predicted alone equals sample 0 predicted in a batch.
        let alone = try Array(a[0..<sample]).withUnsafeBufferPointer { try runtime.predict($0, count: 1, rollout: 3) }
        XCTAssertEqual(alone.map(\.bitPattern), Array(first[0..<alone.count]).map(\.bitPattern))
    }

    /// Batch rows are independent: sample 0 of a batch equals the same sample alone.
    func testBatchSamplesAreIndependent() throws {
        let config = try TestSupport.tinyConfig()
        let runtime = try ModelRuntime(try CompiledModel.compile(config, rigor: .estimate, threads: 2), threads: 2)
        let sample = config.grid[0] * config.grid[1] * config.inputChannels
        let a = TestSupport.randomValues(sample * 2, seed: 1)
        var b = a
        for i in sample..<(2 * sample) { b[i] = -3 * b[i] }
        let pa = try infer(runtime, a), pb = try infer(runtime, b)
        let pixels = config.grid[0] * config.grid[1]
        XCTAssertEqual(Array(pa[0..<pixels]), Array(pb[0..<pixels]))
        XCTAssertNotEqual(Array(pa[pixels...]), Array(pb[pixels...]))
    }

    func testPredictRejectsBadArguments() throws {
        let config = try TestSupport.tinyConfig()
        let runtime = try ModelRuntime(try CompiledModel.compile(config, rigor: .estimate, threads: 1), threads: 1)
        let x = [Float](repeating: 0, count: 5)
        XCTAssertThrowsError(try x.withUnsafeBufferPointer { try runtime.predict($0, count: 1, rollout: 1) }) {
            XCTAssertTrue("\($0)".contains("expected 1 x 8 x 8 x 3"), "\($0)")
        }
        let ok = [Float](repeating: 0, count: 8 * 8 * 3)
        XCTAssertThrowsError(try ok.withUnsafeBufferPointer { try runtime.predict($0, count: 1, rollout: 0) }) {
            XCTAssertTrue("\($0)".contains("--rollout must be >= 1"), "\($0)")
        }
        XCTAssertThrowsError(try ModelRuntime(runtime.compiled, threads: 0))
    }
}
