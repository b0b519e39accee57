import Foundation
import M2MData
import M2MModel
import XCTest

/// Bit-identical results: inference across processes (the m2mc binary), and
/// training across fresh runtimes and thread counts.
final class DeterminismTests: XCTestCase {
    /// Runs `steps` training steps on fixed batches (inputs rewritten before every step: the
    /// planner reuses input bytes inside a run); returns the losses.
    static func train(_ runtime: ModelRuntime, steps: Int) throws -> [Float] {
        let c = runtime.config
        let program = try runtime.program(CompiledModel.trainingName)
        let pixels = c.batch * c.grid[0] * c.grid[1]
        var losses: [Float] = []
        for step in 1...steps {
            // Two alternating batches.
            let seed = UInt64(step % 2)
            let x = TestSupport.randomValues(pixels * c.tIn, seed: 10 + seed)
            let y = TestSupport.randomValues(pixels * c.rolloutTrain, seed: 20 + seed)
            program.buffer(Programs.input)!.update(from: x, count: x.count)
            program.buffer(Programs.target)!.update(from: y, count: y.count)
            program.buffer(Programs.optimizerScalars)!.update(from: [Float(c.optimizer.lr), Float(step)], count: 2)
            program.run()
            losses.append(program.buffer(Programs.loss)![0])
        }
        return losses
    }

    func testTrainingIsBitIdenticalAcrossRuntimesAndThreadCounts() throws {
        var config = try TestSupport.tinyConfig()
        config.optimizer.lr = 1e-2
        let compiled = try CompiledModel.compile(config, rigor: .estimate, threads: 2)
        var results: [(losses: [Float], state: [UInt8])] = []
        for threads in [1, 2, 3, 2] {
            let runtime = try ModelRuntime(compiled, threads: threads)
            let losses = try Self.train(runtime, steps: 5)
            results.append((losses, TestSupport.persistentBytes(runtime.store)))
        }
        for r in results.dropFirst() {
            XCTAssertEqual(r.losses.map(\.bitPattern), results[0].losses.map(\.bitPattern))
            XCTAssertTrue(r.state == results[0].state, "weights and Adam moments differ bitwise")
        }
        // Training does something: every loss finite, and the same batch's loss went down.
        let losses = results[0].losses
        XCTAssertTrue(losses.allSatisfy(\.isFinite))
        XCTAssertLessThan(losses[4], losses[0], "\(losses)")
        XCTAssertLessThan(losses[3], losses[1], "\(losses)")
        let initial = try ModelRuntime(compiled, threads: 1)
        XCTAssertFalse(TestSupport.persistentBytes(initial.store) == results[0].state, "training changed nothing")
    }

    /// Re-initializing a runtime restores the seeded weights and zero moments exactly.
    func testInitializeWeightsResetsTraining() throws {
        let compiled = try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .estimate, threads: 1)
        let runtime = try ModelRuntime(compiled, threads: 1)
        let initial = TestSupport.persistentBytes(runtime.store)
        _ = try Self.train(runtime, steps: 2)
        XCTAssertNotEqual(TestSupport.persistentBytes(runtime.store), initial)
        runtime.initializeWeights()
        XCTAssertEqual(TestSupport.persistentBytes(runtime.store), initial)
    }

    /// `m2mc compile` once (FFTW measure), `m2mc infer` twice in separate processes:
    /// byte-identical outputs, equal to the in-process prediction of the same plan.
    func testInferenceIsByteIdenticalAcrossProcesses() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let model = dir.appendingPathComponent("a.m2m").path
        let input = dir.appendingPathComponent("x.npy").path
        let compile = try TestSupport.runM2MC(["compile", TestSupport.tinyConfigPath, "-o", model, "--fftw", "measure"])
        XCTAssertEqual(compile.status, 0, compile.stderr)
        let config = try TestSupport.tinyConfig()
        let shape = [3] + config.grid + [config.tIn]   // 3 samples: the last batch is padded
        let x = TestSupport.randomValues(shape.reduce(1, *), seed: 5)
        try Npy.write(x, shape: shape, to: input)
        var outputs: [Data] = []
        for (i, threads) in ["2", "1"].enumerated() {
            let output = dir.appendingPathComponent("y\(i + 1).npy").path
            let run = try TestSupport.runM2MC(["infer", model, "--input", input, "-o", output, "--rollout", "2",
                                               "--threads", threads])
            XCTAssertEqual(run.status, 0, run.stderr)
            outputs.append(try Data(contentsOf: URL(fileURLWithPath: output)))
        }
        XCTAssertFalse(outputs[0].isEmpty)
        XCTAssertEqual(outputs[0], outputs[1], "two processes gave different bytes")

        let y = try Npy.read(dir.appendingPathComponent("y1.npy").path)
        XCTAssertEqual(y.shape, [3] + config.grid + [2])
        let runtime = try ModelRuntime(try CompiledModel.load(model), threads: 2)
        let local = try x.withUnsafeBufferPointer { try runtime.predict($0, count: 3, rollout: 2) }
        XCTAssertEqual(local.map(\.bitPattern), y.values.map(\.bitPattern), "in-process prediction differs")
        // And it is the model's prediction (not, e.g., zeros): compare with the reference.
        let reference = ReferenceFNO(config: runtime.config,
                                     parameters: TestSupport.parameters(of: runtime.config, in: runtime.store))
        let expected = reference.rollout(x.map(Double.init), batch: 3, steps: 2)
        XCTAssertLessThan(TestSupport.relativeL2(y.values.map(Double.init), expected), 1e-5)
    }

    /// `m2mc infer --weights` uses the given weights, and user errors exit 1 with one line.
    func testInferWithWeightsAndErrors() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let model = dir.appendingPathComponent("a.m2m").path
        XCTAssertEqual(try TestSupport.runM2MC(["compile", TestSupport.tinyConfigPath, "-o", model,
                                                "--fftw", "estimate"]).status, 0)
        var compiled = try CompiledModel.load(model)
        compiled.config.seed = 42
        let trained = try ModelRuntime(compiled, threads: 1)
        let weights = dir.appendingPathComponent("w.safetensors").path
        try trained.save(to: weights, includeOptimizer: false, metadata: [:])
        let config = compiled.config
        let shape = [2] + config.grid + [config.tIn]
        let x = TestSupport.randomValues(shape.reduce(1, *), seed: 8)
        let input = dir.appendingPathComponent("x.npy").path
        try Npy.write(x, shape: shape, to: input)
        let output = dir.appendingPathComponent("y.npy").path
        let run = try TestSupport.runM2MC(["infer", model, "--weights", weights, "--input", input, "-o", output])
        XCTAssertEqual(run.status, 0, run.stderr)
        let y = try Npy.read(output)
        XCTAssertEqual(y.shape, [2] + config.grid + [1])
        let expected = try x.withUnsafeBufferPointer { try trained.predict($0, count: 2, rollout: 1) }
        XCTAssertEqual(y.values, expected)

        // Wrong input shape: exit 1, one line naming the file and the expected shape.
        let bad = dir.appendingPathComponent("bad.npy").path
        try Npy.write([Float](repeating: 0, count: 2 * 8 * 8), shape: [2, 8, 8], to: bad)
        let failed = try TestSupport.runM2MC(["infer", model, "--input", bad, "-o", output])
        XCTAssertEqual(failed.status, 1)
        XCTAssertTrue(failed.stderr.hasPrefix("m2mc: error: \(bad): shape [2, 8, 8], the model expects [N, 8, 8, 3]"),
                      failed.stderr)
        XCTAssertEqual(failed.stderr.split(separator: "\n").count, 1, failed.stderr)
        // A corrupt plan file.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: model)))
        bytes[bytes.count / 2] ^= 1
        let corrupt = dir.appendingPathComponent("corrupt.m2m").path
        try Data(bytes).write(to: URL(fileURLWithPath: corrupt))
        let corrupted = try TestSupport.runM2MC(["infer", corrupt, "--input", input, "-o", output])
        XCTAssertEqual(corrupted.status, 1)
        XCTAssertTrue(corrupted.stderr.contains("\(corrupt): corrupt (checksum mismatch)"), corrupted.stderr)
        // A bad config at compile time.
        let config2 = dir.appendingPathComponent("c.json").path
        try Data(#"{"widht": 3}"#.utf8).write(to: URL(fileURLWithPath: config2))
        let compileFailed = try TestSupport.runM2MC(["compile", config2, "-o", model])
        XCTAssertEqual(compileFailed.status, 1)
        XCTAssertEqual(compileFailed.stderr, "m2mc: error: \(config2): unknown key 'widht'\n")
    }
}
