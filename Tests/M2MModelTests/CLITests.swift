import Foundation
import M2MData
import M2MModel
import XCTest

/// The m2mc command line (CLI.md): inspect figures, bench, steady-task infer, exit codes.
final class CLITests: XCTestCase {
    func compileTiny(_ dir: URL, config: String = TestSupport.tinyConfigPath) throws -> String {
        let model = dir.appendingPathComponent("tiny.m2m").path
        let run = try TestSupport.runM2MC(["compile", config, "-o", model, "--fftw", "estimate", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["path"] as? String, model)
        return model
    }

    func testInspectJSONFigures() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let model = try compileTiny(dir)
        let run = try TestSupport.runM2MC(["inspect", model, "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        for key in ["arena_bytes", "arena_lower_bound_bytes", "persistent_bytes", "parameters", "flops_per_train_step",
                    "flops_per_inference"] {
            XCTAssertNotNil(o[key], key)
        }
        // Parameters of tiny-fno, counted by hand: lift 5x4+4; per layer 12 modes x 4x4 complex
        // + 4x4 + 4; projection 4x8+8 and 8x1+1.
        let expected = (5 * 4 + 4) + 2 * (12 * 4 * 4 * 2 + 4 * 4 + 4) + (4 * 8 + 8 + 8 + 1)
        XCTAssertEqual(o["parameters"] as? Int, expected)
        let compiled = try CompiledModel.load(model)
        XCTAssertEqual(try ModelRuntime(compiled, threads: 1).parameterCount, expected)
        // Parameters plus two Adam moments, float32.
        XCTAssertGreaterThanOrEqual(o["persistent_bytes"] as? Int ?? 0, 3 * expected * 4)
        XCTAssertEqual(o["persistent_bytes"] as? Int, compiled.persistent.totalBytes)
        let arena = try XCTUnwrap(o["arena_bytes"] as? Int), bound = try XCTUnwrap(o["arena_lower_bound_bytes"] as? Int)
        XCTAssertGreaterThanOrEqual(arena, bound)
        XCTAssertGreaterThan(bound, 0)
        XCTAssertGreaterThan(o["flops_per_train_step"] as? Double ?? 0, o["flops_per_inference"] as? Double ?? .infinity)
        // The text form lists both programs.
        let text = try TestSupport.runM2MC(["inspect", model])
        XCTAssertEqual(text.status, 0)
        XCTAssertTrue(text.stdout.contains("program infer"), text.stdout)
        XCTAssertTrue(text.stdout.contains("program train"), text.stdout)
    }

    /// LCG of `m2mc bench` (its random batch), reproduced to check the reported loss.
    func benchRandom(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2000 - 1000) / 1000
        }
    }

    /// bench's final_loss is the loss of its random batch after warm-up + timed one-step
    /// training steps: every step must see the batch (not arena leftovers of the last step).
    func testBenchTrainsOnItsBatch() throws {
        let (warmup, steps) = (2, 3)
        let run = try TestSupport.runM2MC(["bench", TestSupport.tinyConfigPath, "--train", "--steps", "\(steps)",
                                           "--warmup", "\(warmup)", "--threads", "2", "--fftw", "estimate", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let reported = try XCTUnwrap(o["final_loss"] as? Double)
        XCTAssertEqual(o["train_rollout"] as? Int, 1)
        XCTAssertEqual(o["steps"] as? Int, steps)
        if o["allocation_counting"] as? Bool == true {
            XCTAssertEqual(o["allocations_per_step"] as? Double, 0)
        }

        let config = try TestSupport.tinyConfig()
        let compiled = try CompiledModel.compile(config, rigor: .estimate, threads: 2, trainingRollout: 1)
        let runtime = try ModelRuntime(compiled, threads: 2)
        let program = try runtime.program(CompiledModel.trainingName)
        let pixels = config.batch * config.grid[0] * config.grid[1]
        let x = benchRandom(pixels * config.tIn, seed: 2), y = benchRandom(pixels, seed: 3)
        var loss: Float = 0
        for step in 1...(warmup + steps) {
            program.buffer(Programs.input)!.update(from: x, count: x.count)
            program.buffer(Programs.target)!.update(from: y, count: y.count)
            program.buffer(Programs.optimizerScalars)!.update(from: [Float(config.optimizer.lr), Float(step)], count: 2)
            program.run()
            loss = program.buffer(Programs.loss)![0]
        }
        XCTAssertEqual(reported, Double(loss), accuracy: 1e-5 * Double(loss))
    }

    /// A routed model's bench reports each expert's share of the slots: the mean over the timed
    /// training steps, and the inference step's. tiny-m2m: 2 samples x 4 patches, k = 1, two
    /// experts of capacity ceil(0.5 x 8 / 2) = 2, so each share is a count over 8 x steps slots
    /// (over 8 for inference) and at most 2 of 8 per step.
    func testBenchReportsRoutedFractionsOfARoutedModel() throws {
        let steps = 3
        let config = TestSupport.repoRoot.appendingPathComponent("configs/tiny-m2m.json").path
        let run = try TestSupport.runM2MC(["bench", config, "--steps", "\(steps)", "--warmup", "1", "--fftw", "estimate", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        for (key, slots) in [("routed_fraction", 8 * steps), ("infer_routed_fraction", 8)] {
            let shares = try XCTUnwrap(o[key] as? [Double], key)
            XCTAssertEqual(shares.count, 2, key)
            for share in shares {
                let count = share * Double(slots)
                XCTAssertEqual(count, count.rounded(), accuracy: 1e-9, "\(key): \(shares)")
                XCTAssertLessThanOrEqual(count.rounded(), Double(2 * slots / 8), "\(key): \(shares)")
            }
        }
        XCTAssertNil(try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try TestSupport.runM2MC(
            ["bench", TestSupport.tinyConfigPath, "--steps", "1", "--warmup", "0", "--fftw", "estimate", "--json"]).stdout.utf8))
            as? [String: Any])["routed_fraction"], "an FNO has no routing")
    }

    /// No heap allocation per step at the shipped configs' own shapes, where the tiny configs'
    /// shapes do not reach it: on an AVX-512 host, OpenBLAS 0.3.21's small-matrix sgemm kernel
    /// called malloc on every narrow product (the M2M router's logits, 80 a step at m2m-ns64;
    /// the CNO's narrow convolutions, 1980 at cno-ns64). On an AVX2 host OpenBLAS never took
    /// that path, so there this checks the same promise without that hazard. Batch 2 instead of
    /// 20: every kernel's per-sample (per-tile) shapes stay those of the shipped config.
    func testShippedConfigsAllocateNothingPerStep() throws {
        for config in ["m2m-ns64", "cno-ns64"] {
            let shipped = TestSupport.repoRoot.appendingPathComponent("configs/\(config).json")
            var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: shipped)) as? [String: Any])
            object["batch"] = 2
            let path = try TestSupport.temporaryDirectory(self).appendingPathComponent("\(config).json").path
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
            let run = try TestSupport.runM2MC(["bench", path, "--train", "--steps", "1", "--warmup", "1", "--fftw", "estimate",
                                               "--json"])
            XCTAssertEqual(run.status, 0, run.stderr)
            let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            guard o["allocation_counting"] as? Bool == true else {
                print("notice: this m2mc build does not count allocations; \(config) not checked")
                continue
            }
            XCTAssertEqual(o["allocations_per_step"] as? Double, 0, "\(config) (OpenBLAS core \(o["blas_core"] ?? "?"))")
        }
    }

    func testBenchInferenceReportsZeroAllocations() throws {
        let run = try TestSupport.runM2MC(["bench", TestSupport.tinyConfigPath, "--infer", "--steps", "3", "--warmup", "1",
                                           "--fftw", "estimate", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        XCTAssertGreaterThan(o["infer_ms_median"] as? Double ?? 0, 0)
        if o["allocation_counting"] as? Bool == true {
            XCTAssertEqual(o["allocations_per_step"] as? Double, 0)
        }
    }

    /// A steady operator takes [N, H, W] and returns [N, H, W]; a rollout is refused.
    func testSteadyTaskInfer() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: TestSupport.tinyConfigPath))) as? [String: Any])
        object["task"] = "steady"
        object["t_in"] = 1
        object["t_out"] = 1
        object["rollout_train"] = 1
        let configPath = dir.appendingPathComponent("steady.json").path
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: configPath))
        let model = try compileTiny(dir, config: configPath)
        let x = TestSupport.randomValues(3 * 8 * 8, seed: 4)
        let input = dir.appendingPathComponent("f.npy").path, output = dir.appendingPathComponent("u.npy").path
        try Npy.write(x, shape: [3, 8, 8], to: input)
        let run = try TestSupport.runM2MC(["infer", model, "--input", input, "-o", output])
        XCTAssertEqual(run.status, 0, run.stderr)
        let u = try Npy.read(output)
        XCTAssertEqual(u.shape, [3, 8, 8])
        let runtime = try ModelRuntime(try CompiledModel.load(model), threads: 1)
        let reference = ReferenceFNO(config: runtime.config,
                                     parameters: TestSupport.parameters(of: runtime.config, in: runtime.store))
        let expected = reference.forward(x.map(Double.init), batch: 3)
        XCTAssertLessThan(TestSupport.relativeL2(u.values.map(Double.init), expected), 1e-5)

        let refused = try TestSupport.runM2MC(["infer", model, "--input", input, "-o", output, "--rollout", "2"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("a steady operator has no rollout"), refused.stderr)
        // [N, H, W, 1] is the time-stepping layout, not the steady one.
        try Npy.write(x, shape: [3, 8, 8, 1], to: input)
        let wrong = try TestSupport.runM2MC(["infer", model, "--input", input, "-o", output])
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.stderr.contains("the model expects [N, 8, 8]"), wrong.stderr)

        // -o onto the plan file or the input is refused, and the file is left as it was.
        let planBytes = try Data(contentsOf: URL(fileURLWithPath: model))
        let ontoPlan = try TestSupport.runM2MC(["infer", model, "--input", input, "-o", model])
        XCTAssertEqual(ontoPlan.status, 1)
        XCTAssertTrue(ontoPlan.stderr.contains("is the model file"), ontoPlan.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: model)), planBytes)
        let ontoInput = try TestSupport.runM2MC(["infer", model, "--input", input, "-o", input])
        XCTAssertEqual(ontoInput.status, 1)
        XCTAssertTrue(ontoInput.stderr.contains("is --input file"), ontoInput.stderr)
    }

    /// float64 input is accepted and converted: same output as the float32 input of the same values.
    func testInferAcceptsFloat64Input() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let model = try compileTiny(dir)
        let x = TestSupport.randomValues(2 * 8 * 8 * 3, seed: 6)
        let in32 = dir.appendingPathComponent("x32.npy").path, in64 = dir.appendingPathComponent("x64.npy").path
        try Npy.write(x, shape: [2, 8, 8, 3], to: in32)
        try Npy.write(x.map(Double.init), shape: [2, 8, 8, 3], to: in64)
        var outputs: [[Float]] = []
        for (i, input) in [in32, in64].enumerated() {
            let output = dir.appendingPathComponent("y\(i).npy").path
            let run = try TestSupport.runM2MC(["infer", model, "--input", input, "-o", output, "--rollout", "3"])
            XCTAssertEqual(run.status, 0, run.stderr)
            let y = try Npy.read(output)
            XCTAssertEqual(y.shape, [2, 8, 8, 3])
            outputs.append(y.values)
        }
        XCTAssertEqual(outputs[0], outputs[1])
    }

    func testExitCodes() throws {
        let help = try TestSupport.runM2MC(["--help"])
        XCTAssertEqual(help.status, 0)
        for command in ["compile", "inspect", "infer", "bench"] {
            XCTAssertTrue(help.stdout.contains(command), command)
            XCTAssertEqual(try TestSupport.runM2MC([command, "--help"]).status, 0, command)
        }
        // Usage errors exit 2 with one line naming the flag or argument and the command's --help.
        let usage: [([String], String)] = [
            (["compile", TestSupport.tinyConfigPath], "m2mc: error: Missing expected argument '-o <o>' (see 'm2mc compile --help')"),
            (["frobnicate"], "m2mc: error: Unexpected argument 'frobnicate' (see 'm2mc --help')"),
            (["infer", "m.m2m", "--input", "x.npy", "-o", "y.npy", "--threads", "-3"],
             "m2mc: error: Missing value for '--threads <threads>' (see 'm2mc infer --help')"),
            (["train", "m.m2m", "--data", "d", "--epochs", "abc"],
             "m2mc: error: The value 'abc' is invalid for '--epochs <epochs>' (see 'm2mc train --help')"),
            (["bench", "m.m2m", "--bogus"], "m2mc: error: Unknown option '--bogus' (see 'm2mc bench --help')"),
            (["datagen", "ns", "-o", "d", "--n", "1e3"], "m2mc: error: The value '1e3' is invalid for '--n <n>' (see 'm2mc datagen --help')"),
        ]
        for (arguments, line) in usage {
            let run = try TestSupport.runM2MC(arguments)
            XCTAssertEqual(run.status, 2, "\(arguments)")
            XCTAssertEqual(run.stderr, line + "\n", "\(arguments)")
        }
        // User errors exit 1 with one line naming the file.
        let missing = try TestSupport.runM2MC(["inspect", "/nonexistent/m.m2m"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "m2mc: error: /nonexistent/m.m2m: cannot read the compiled model\n")
        let dir = try TestSupport.temporaryDirectory(self)
        let threads = try TestSupport.runM2MC(["compile", TestSupport.tinyConfigPath, "-o",
                                               dir.appendingPathComponent("t.m2m").path, "--threads", "0"])
        XCTAssertEqual(threads.status, 1)
        XCTAssertTrue(threads.stderr.contains("--threads must be >= 1"), threads.stderr)
    }
}
