import Foundation
import M2MData
import M2MModel
import Planner
import XCTest

/// The KNO baseline (`model: kno`) end to end on tiny-kno: its step and training loss
/// against the independent Double reference (`ReferenceKNO`), bit-identical training
/// across runs, thread counts and resume, one-line config errors naming the key, no heap
/// allocation in steady-state steps, and arenas at the liveness bound.
final class KNOModelTests: XCTestCase, TinyTrainingRuns {
    static var tinyPath: String { TestSupport.configPath("tiny-kno") }
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

    /// tiny-kno, its non-linear variant and a steady (t_in = 1) variant.
    func variants() throws -> [ModelConfig] {
        let base = try Self.tinyConfig()
        var nonlinear = base
        nonlinear.kno!.linearType = false
        var steady = base
        steady.task = .steady
        (steady.tIn, steady.tOut, steady.rolloutTrain) = (1, 1, 1)
        var square = base
        square.grid = [8, 6]
        square.kno!.modes = [4, 4]   // 2 mx = H: the two corner blocks tile every row; my = W/2 + 1 keeps Nyquist
        return [base, nonlinear, steady, square]
    }

    func testInferenceMatchesReference() throws {
        for config in try variants() {
            try config.validate(source: "test")
            let runtime = try ModelRuntime(try CompiledModel.compile(config, rigor: .estimate, threads: 2), threads: 2)
            let count = config.batch * config.grid[0] * config.grid[1] * config.inputChannels
            let x = TestSupport.randomValues(count, seed: 31)
            let predicted = try infer(runtime, x)
            let reference = ReferenceKNO(config: config, parameters: ReferenceKNO.parameters(of: config, in: runtime.store))
            let expected = reference.forward(x.map(Double.init), batch: config.batch).prediction
            XCTAssertLessThan(TestSupport.relativeL2(predicted, expected), 1e-5, "\(config.kno!) grid \(config.grid)")
            XCTAssertGreaterThan(expected.map(abs).max()!, 1e-3)
            // The Koopman path matters: without it the reference gives another prediction.
            var noKoopman = reference
            noKoopman.parameters["koopman.weight"] = reference.parameters["koopman.weight"]!.map { _ in 0 }
            let without = noKoopman.forward(x.map(Double.init), batch: config.batch).prediction
            XCTAssertGreaterThan(TestSupport.relativeL2(without, expected), 1e-3, "the Koopman operator changes nothing")
        }
    }

    /// The training program's loss, its data part and the weighted reconstruction term on
    /// the initial weights, against the reference (before Adam changes anything).
    func testTrainingLossMatchesReference() throws {
        for config in try variants() {
            let runtime = try ModelRuntime(try CompiledModel.compile(config, rigor: .estimate, threads: 2), threads: 2)
            let reference = ReferenceKNO(config: config, parameters: ReferenceKNO.parameters(of: config, in: runtime.store))
            let pixels = config.batch * config.grid[0] * config.grid[1]
            let x = TestSupport.randomValues(pixels * config.tIn, seed: 41)
            let y = TestSupport.randomValues(pixels * config.rolloutTrain, seed: 42, scale: 0.5)
            let train = try runtime.program(CompiledModel.trainingName)
            try XCTUnwrap(train.buffer(Programs.input)).update(from: x, count: x.count)
            try XCTUnwrap(train.buffer(Programs.target)).update(from: y, count: y.count)
            let s = try XCTUnwrap(train.buffer(Programs.optimizerScalars))
            (s[0], s[1]) = (1e-3, 1)
            train.run()
            let expected = reference.trainingLoss(x: x.map(Double.init), y: y.map(Double.init), batch: config.batch,
                                                  steps: config.rolloutTrain)
            let loss = Double(try XCTUnwrap(train.buffer(Programs.loss))[0])
            let data = Double(try XCTUnwrap(train.buffer(Programs.dataLoss))[0])
            let auxiliary = Double(try XCTUnwrap(train.buffer(Programs.auxiliaryLoss))[0])
            XCTAssertEqual(loss, expected.total, accuracy: 1e-5 * expected.total)
            XCTAssertEqual(data, expected.data, accuracy: 1e-5 * expected.data)
            XCTAssertEqual(auxiliary, expected.auxiliary, accuracy: 1e-5 * expected.auxiliary)
            XCTAssertGreaterThan(expected.auxiliary, 1e-3 * expected.total, "the reconstruction term is not vacuous")
        }
    }

    /// `reconstruction_weight: 0` drops the reconstruction from the graph: the loss is the data term alone.
    func testZeroReconstructionWeightLeavesThePredictionLoss() throws {
        var config = try Self.tinyConfig()
        config.kno!.reconstructionWeight = 0
        let graph = try Programs.training(config)
        XCTAssertNil(graph.outputs.first { $0.0 == Programs.auxiliaryLoss })
        XCTAssertEqual(graph.nodes.filter { $0.op == .relativeL2Loss }.count, config.rolloutTrain)
        let weighted = try Programs.training(try Self.tinyConfig())
        XCTAssertEqual(weighted.nodes.filter { $0.op == .relativeL2Loss }.count, 2 * config.rolloutTrain)
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
        let before = ReferenceKNO.parameters(of: config, in: initial.store)
        let after = ReferenceKNO.parameters(of: config, in: trained.store)
        for name in KNO2d(config: config).parameterNames { XCTAssertNotEqual(before[name], after[name], "\(name) never moved") }
        let records = expectedMetrics.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let losses = records.compactMap { $0["train_loss"] as? Double }
        XCTAssertEqual(losses.count, epochs)
        XCTAssertLessThan(losses.last!, losses.first!, "training did not lower the loss: \(losses)")
    }

    // MARK: (c) Config errors

    func json(_ edit: TestSupport.ConfigEdit) throws -> Data {
        try TestSupport.editedConfig(Self.tinyPath, section: "kno", edit)
    }

    func testBadKNOConfigsGetOneLineErrorsNamingTheKey() throws {
        XCTAssertNoThrow(try ModelConfig.parse(try json { _, _ in }, source: "c.json"))
        let cases: [(String, String, TestSupport.ConfigEdit)] = [
            ("op_size 0", "key 'kno.op_size'", { $1["op_size"] = 0 }),
            ("modes above Nyquist", "key 'kno.modes'", { $1["modes"] = [5, 2] }),
            ("one mode count", "key 'kno.modes'", { $1["modes"] = [2] }),
            ("decompose 0", "key 'kno.decompose'", { $1["decompose"] = 0 }),
            ("decompose 65", "key 'kno.decompose'", { $1["decompose"] = 65 }),
            ("negative reconstruction weight", "key 'kno.reconstruction_weight'", { $1["reconstruction_weight"] = -1 }),
            ("linear_type not a bool", "key 'kno.linear_type'", { $1["linear_type"] = "yes" }),
            ("unknown kno key", "unknown key 'kno.width'", { $1["width"] = 3 }),
            ("width for model kno", "key 'width'", { o, _ in o["width"] = 8 }),
            ("layers for model kno", "key 'layers'", { o, _ in o["layers"] = 2 }),
            ("kno key on an fno config", "key 'kno'", { o, _ in o["model"] = "fno" }),
            ("decompose x rollout_train too large", "kno.decompose", { o, k in k["decompose"] = 64; o["t_out"] = 9; o["rollout_train"] = 9 }),
        ]
        try TestSupport.assertOneLineConfigErrors(cases, json: json)
    }

    /// Defaults are koopmanlab's (o 32, m 16, r 8, linear, 0.5 / 5), and a config's canonical
    /// JSON (stored in compiled plans) parses back to the same config.
    func testDefaultsAndCanonicalRoundTrip() throws {
        let d = KNOConfig()
        XCTAssertEqual([d.opSize, d.modes[0], d.modes[1], d.decompose], [32, 16, 16, 8])
        XCTAssertTrue(d.linearType)
        XCTAssertEqual(d.reconstructionWeight, 0.5 / 5)
        try TestSupport.assertCanonicalRoundTrip(["tiny-kno", "kno-ns64", "kno-mscale64"], kind: .kno)
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
        assertAtLowerBound(compiled.inference.plan, "tiny-kno inference")
        assertAtLowerBound(compiled.training.plan, "tiny-kno training")
        for name in ["kno-ns64", "kno-mscale64"] {
            let config = try ModelConfig.load(TestSupport.repoRoot.appendingPathComponent("configs/\(name).json").path)
            assertAtLowerBound(try ProgramPlanner.plan(try Programs.inference(config)), "\(name) inference")
            for rollout in Set([1, config.rolloutTrain]).sorted() {
                assertAtLowerBound(try ProgramPlanner.plan(try Programs.training(config, rollout: rollout)),
                                     "\(name) training, rollout \(rollout)")
            }
        }
    }
}
