import Foundation
import M2MData
import M2MModel
import Planner
import XCTest

/// The UNO baseline (`model: uno`) end to end on tiny-uno: its step and training loss
/// against the independent Double reference (`ReferenceUNO`, neuraloperator's order of
/// operations), bit-identical training across runs, thread counts and resume, one-line
/// config errors naming the key, no heap allocation in steady-state steps, and arenas at
/// the liveness bound.
final class UNOModelTests: XCTestCase, TinyTrainingRuns {
    static var tinyPath: String { TestSupport.configPath("tiny-uno") }
    static func tinyConfig() throws -> ModelConfig { try ModelConfig.load(tinyPath) }

    static func compiled() throws -> CompiledModel { try TestSupport.compiledOnce(tinyPath) }

    var folder: String!

    override func setUpWithError() throws {
        folder = try TestSupport.temporaryDirectory(self).path
    }

    // MARK: (a) Against the Double reference

    /// Runs the inference program once on `x`; returns its prediction.
    func infer(_ runtime: ModelRuntime, _ x: [Float]) throws -> [Double] {
        let program = try runtime.program(CompiledModel.inferenceName)
        try XCTUnwrap(program.buffer(Programs.input)).update(from: x, count: x.count)
        program.run()
        let c = runtime.config
        return UnsafeBufferPointer(start: try XCTUnwrap(program.buffer(Programs.prediction)),
                                   count: c.batch * c.grid[0] * c.grid[1]).map(Double.init)
    }

    /// tiny-uno (down by 2 in H and W, up again; the 4 x 4 grid keeps its Nyquist column), a
    /// variant that resamples W only with an explicit skip map (one source feeding two layers,
    /// a skip across a grid change), and a steady (t_in = 1) variant.
    func variants() throws -> [ModelConfig] {
        let base = try Self.tinyConfig()
        var anisotropic = base
        anisotropic.grid = [6, 8]
        anisotropic.uno!.scalings = [[1, 1], [1, 0.5], [1, 2]]
        anisotropic.uno!.nModes = [[4, 4], [2, 4], [4, 2]]
        anisotropic.uno!.horizontalSkipsMap = ["1": 0, "2": 0]
        var steady = base
        steady.task = .steady
        (steady.tIn, steady.tOut, steady.rolloutTrain) = (1, 1, 1)
        return [base, anisotropic, steady]
    }

    /// Per variant, one compiled model: the inference program's prediction and the training
    /// program's loss on the initial weights against the reference (before Adam changes anything).
    func testInferenceAndTrainingLossMatchReference() throws {
        for (index, config) in try variants().enumerated() {
            try config.validate(source: "test")
            let runtime = try ModelRuntime(try CompiledModel.compile(config, rigor: .estimate, threads: 2), threads: 2)
            let pixels = config.batch * config.grid[0] * config.grid[1]
            let x = TestSupport.randomValues(pixels * config.inputChannels, seed: 31)
            let predicted = try infer(runtime, x)
            let reference = ReferenceUNO(config: config, parameters: ReferenceUNO.parameters(of: config, in: runtime.store))
            let expected = reference.forward(x.map(Double.init), batch: config.batch)
            XCTAssertLessThan(TestSupport.relativeL2(predicted, expected), 1e-5, "\(config.uno!) grid \(config.grid)")
            XCTAssertGreaterThan(expected.map(abs).max()!, 1e-3)
            if index == 0 {
                // The spectral path and the horizontal skip matter: without either the reference predicts otherwise.
                for silenced in ["blocks.1.spectral.weight", "horizontal_skips.0.weight"] {
                    var without = reference
                    without.parameters[silenced] = reference.parameters[silenced]!.map { _ in 0 }
                    let other = without.forward(x.map(Double.init), batch: config.batch)
                    XCTAssertGreaterThan(TestSupport.relativeL2(other, expected), 1e-4, "\(silenced) changes nothing")
                }
            }
            let y = TestSupport.randomValues(pixels * config.rolloutTrain, seed: 42, scale: 0.5)
            let train = try runtime.program(CompiledModel.trainingName)
            try XCTUnwrap(train.buffer(Programs.input)).update(from: x, count: x.count)
            try XCTUnwrap(train.buffer(Programs.target)).update(from: y, count: y.count)
            let s = try XCTUnwrap(train.buffer(Programs.optimizerScalars))
            (s[0], s[1]) = (1e-3, 1)
            train.run()
            let loss = reference.trainingLoss(x: x.map(Double.init), y: y.map(Double.init), batch: config.batch,
                                              steps: config.rolloutTrain)
            XCTAssertEqual(Double(try XCTUnwrap(train.buffer(Programs.loss))[0]), loss, accuracy: 1e-5 * loss)
        }
    }

    /// The graph resamples only where a grid changes, in the cheaper order per layer.
    func testResamplesExactlyWhereTheGridChanges() throws {
        let graph = try Programs.inference(try Self.tinyConfig())
        let resamples = graph.nodes.filter { $0.op.code == .resample }.map { graph.values[$0.result!].type.shape }
        // Layer 1 (down, 4 -> 6 channels) resamples its input 8x8 -> 4x4 for both skip paths; layer 0's
        // skip output (8 x 8) is resampled to layer 2's input grid (4 x 4); layer 2 (up, 10 -> 4 channels)
        // applies its skip convolutions on the 4 x 4 grid and resamples their outputs (fewer FLOPs).
        XCTAssertEqual(resamples, [[2, 4, 4, 4], [2, 4, 4, 4], [2, 8, 8, 4], [2, 8, 8, 4]])
        // uno-ns64 the same way: down at layer 1 (16 channels), the skip 0 -> 4 (64 -> 32), up at layer 4.
        let ns64 = try ModelConfig.load(TestSupport.repoRoot.appendingPathComponent("configs/uno-ns64.json").path)
        let big = try Programs.inference(ns64)
        XCTAssertEqual(big.nodes.filter { $0.op.code == .resample }.map { big.values[$0.result!].type.shape },
                       [[20, 32, 32, 16], [20, 32, 32, 16], [20, 64, 64, 16], [20, 64, 64, 16]])
    }

    // MARK: (b) Bit-identical training

    func testTrainingIsBitIdenticalAcrossRunsThreadsAndResume() throws {
        let epochs = 4
        let expectedMetrics = try assertTrainingBitIdenticalAcrossRunsThreadsAndResume(epochs: epochs)
        // Training moved every weight tensor and lowered the loss.
        let initial = try ModelRuntime(try Self.compiled(), threads: 1)
        let trained = try ModelRuntime(try Self.compiled(), threads: 1)
        _ = try trained.load(from: folder + "/a/last.safetensors", includeOptimizer: false)
        let config = try Self.tinyConfig()
        let before = ReferenceUNO.parameters(of: config, in: initial.store)
        let after = ReferenceUNO.parameters(of: config, in: trained.store)
        for name in UNO2d(config: config).parameterNames { XCTAssertNotEqual(before[name], after[name], "\(name) never moved") }
        let records = expectedMetrics.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let losses = records.compactMap { $0["train_loss"] as? Double }
        XCTAssertEqual(losses.count, epochs)
        XCTAssertLessThan(losses.last!, losses.first!, "training did not lower the loss: \(losses)")
    }

    // MARK: (c) Config errors

    func json(_ edit: TestSupport.ConfigEdit) throws -> Data {
        try TestSupport.editedConfig(Self.tinyPath, section: "uno", edit)
    }

    func testBadUNOConfigsGetOneLineErrorsNamingTheKey() throws {
        XCTAssertNoThrow(try ModelConfig.parse(try json { _, _ in }, source: "c.json"))
        let cases: [(String, String, TestSupport.ConfigEdit)] = [
            ("hidden_channels 0", "key 'uno.hidden_channels'", { $1["hidden_channels"] = 0 }),
            ("lifting_channels 0", "key 'uno.lifting_channels'", { $1["lifting_channels"] = 0 }),
            ("projection_channels huge", "key 'uno.projection_channels'", { $1["projection_channels"] = 1 << 40 }),
            ("no layers", "key 'uno.out_channels'", { $1["out_channels"] = [Int]() }),
            ("a zero width layer", "key 'uno.out_channels'", { $1["out_channels"] = [4, 0, 4] }),
            ("modes per layer missing", "key 'uno.n_modes'", { $1["n_modes"] = [[4, 4], [4, 4]] }),
            ("odd n_h", "key 'uno.n_modes'", { $1["n_modes"] = [[3, 4], [4, 4], [4, 2]] }),
            ("modes above the coarse grid's Nyquist", "key 'uno.n_modes'", { $1["n_modes"] = [[4, 4], [6, 4], [4, 2]] }),
            ("modes as one number", "'uno.n_modes", { $1["n_modes"] = [4, 4, 4] }),
            ("scalings per layer missing", "key 'uno.scalings'", { $1["scalings"] = [[1, 1], [0.5, 0.5]] }),
            ("scalings not returning to the grid", "key 'uno.scalings'", { $1["scalings"] = [[1, 1], [0.5, 0.5], [1, 1]] }),
            ("a negative scaling", "key 'uno.scalings'", { $1["scalings"] = [[1, 1], [-0.5, 0.5], [-2, 2]] }),
            ("an odd W on the way", "key 'uno.scalings'", { $1["scalings"] = [[1, 1], [1, 0.625], [1, 1.6]] }),
            ("a grid explosion", "key 'uno.scalings'", {
                $1["out_channels"] = [4, 4, 4, 4]
                $1["n_modes"] = [[4, 4], [4, 4], [4, 4], [4, 4]]
                $1["scalings"] = [[64, 64], [64, 64], [64, 64], [1.0 / 262144, 1.0 / 262144]]
            }),
            ("a skip backwards", "key 'uno.horizontal_skips_map'", { $1["horizontal_skips_map"] = ["1": 2] }),
            ("a skip from itself", "key 'uno.horizontal_skips_map'", { $1["horizontal_skips_map"] = ["2": 2] }),
            ("a skip key that is no index", "key 'uno.horizontal_skips_map'", { $1["horizontal_skips_map"] = ["two": 0] }),
            ("expansion 0", "key 'uno.channel_mlp_expansion'", { $1["channel_mlp_expansion"] = 0 }),
            ("expansion rounding to no channel", "key 'uno.channel_mlp_expansion'", { $1["channel_mlp_expansion"] = 0.1 }),
            ("out_channels not a list", "key 'uno.out_channels'", { $1["out_channels"] = "wide" }),
            ("unknown uno key", "unknown key 'uno.width'", { $1["width"] = 3 }),
            ("width for model uno", "key 'width'", { o, _ in o["width"] = 8 }),
            ("layers for model uno", "key 'layers'", { o, _ in o["layers"] = 2 }),
            ("uno key on an fno config", "key 'uno'", { o, _ in o["model"] = "fno" }),
        ]
        try TestSupport.assertOneLineConfigErrors(cases, json: json)
    }

    /// Defaults: neuraloperator's where it has them (expansion 0.5, skip map {L-1-i: i});
    /// a config's canonical JSON (stored in compiled plans) parses back to the same config.
    func testDefaultsAndCanonicalRoundTrip() throws {
        let d = UNOConfig()
        XCTAssertEqual(d.channelMlpExpansion, 0.5)
        XCTAssertNil(d.horizontalSkipsMap)
        XCTAssertEqual(d.skips, [4: 0, 3: 1])
        XCTAssertEqual(d.grids([64, 64]), [[64, 64], [64, 64], [32, 32], [32, 32], [32, 32], [64, 64]])
        XCTAssertEqual(d.inChannels, [16, 16, 32, 64, 48])
        try TestSupport.assertCanonicalRoundTrip(["tiny-uno", "uno-ns64", "uno-mscale64"], kind: .uno)
    }

    // MARK: (d) No heap allocation in steady state

    func testInferenceAndTrainingStepsAllocateNothing() throws {
        try assertStepsAllocateNothing()
    }

    // MARK: (e) Arena at the liveness bound

    /// At the bound (the planner reaches it on every shipped program).
    func assertAtLowerBound(_ plan: ProgramPlan, _ what: String,
                              file: StaticString = #filePath, line: UInt = #line) {
        let ratio = Double(plan.arenaBytes) / Double(plan.lowerBoundBytes)
        print("\(what): arena \(plan.arenaBytes) bytes, lower bound \(plan.lowerBoundBytes), ratio \(ratio)")
        XCTAssertEqual(ratio, 1.0, what, file: file, line: line)
        XCTAssertGreaterThanOrEqual(ratio, 1.0, "\(what): the arena cannot beat the lower bound", file: file, line: line)
    }

    func testArenaPlansAtTheLowerBound() throws {
        let compiled = try Self.compiled()
        assertAtLowerBound(compiled.inference.plan, "tiny-uno inference")
        assertAtLowerBound(compiled.training.plan, "tiny-uno training")
        for name in ["uno-ns64", "uno-mscale64"] {
            let config = try ModelConfig.load(TestSupport.repoRoot.appendingPathComponent("configs/\(name).json").path)
            assertAtLowerBound(try ProgramPlanner.plan(try Programs.inference(config)), "\(name) inference")
            for rollout in Set([1, config.rolloutTrain]).sorted() {
                assertAtLowerBound(try ProgramPlanner.plan(try Programs.training(config, rollout: rollout)),
                                     "\(name) training, rollout \(rollout)")
            }
        }
    }
}
