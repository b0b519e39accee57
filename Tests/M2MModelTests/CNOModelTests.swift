import Executor
import Foundation
import GraphIR
import M2MData
import M2MModel
import Planner
import XCTest

/// The CNO baseline (`model: cno`) end to end on tiny-cno: its step and training loss against
/// the independent Double reference (`ReferenceCNO`), whole-model gradients against central
/// differences of that reference, bit-identical training across runs, thread counts and
/// resume, one-line config errors naming the key, no heap allocation in steady-state steps,
/// and arenas at the liveness bound.
final class CNOModelTests: XCTestCase, TinyTrainingRuns {
    static var tinyPath: String { TestSupport.configPath("tiny-cno") }
    static func tinyConfig() throws -> ModelConfig { try ModelConfig.load(tinyPath) }

    static func compiled() throws -> CompiledModel { try TestSupport.compiledOnce(tinyPath) }

    var folder: String!

    override func setUpWithError() throws {
        folder = try TestSupport.temporaryDirectory(self).path
    }

    // MARK: (a) Against the Double reference

    /// tiny-cno (zero padding, one level) and a periodic two-level variant on a 16 x 16 grid.
    func variants() throws -> [ModelConfig] {
        let base = try Self.tinyConfig()
        var deeper = base
        deeper.grid = [16, 16]
        deeper.cno!.nLayers = 2
        deeper.cno!.periodicPadding = true
        deeper.cno!.nRes = 0
        return [base, deeper]
    }

    func testInferenceMatchesReference() throws {
        for config in try variants() {
            try config.validate(source: "test")
            let runtime = try ModelRuntime(try CompiledModel.compile(config, rigor: .estimate, threads: 2), threads: 2)
            let count = config.batch * config.grid[0] * config.grid[1] * config.inputChannels
            let x = TestSupport.randomValues(count, seed: 31)
            let program = try runtime.program(CompiledModel.inferenceName)
            try XCTUnwrap(program.buffer(Programs.input)).update(from: x, count: x.count)
            program.run()
            let predicted = UnsafeBufferPointer(start: try XCTUnwrap(program.buffer(Programs.prediction)),
                                                count: config.batch * config.grid[0] * config.grid[1]).map(Double.init)
            let reference = ReferenceCNO(config: config, parameters: ReferenceCNO.parameters(of: config, in: runtime.store))
            let expected = reference.forward(x.map(Double.init), batch: config.batch)
            XCTAssertLessThan(TestSupport.relativeL2(predicted, expected), 1e-5, "\(config.cno!) grid \(config.grid)")
            XCTAssertGreaterThan(expected.map(abs).max()!, 1e-3)
            // The skip path matters: without the level-0 expansion the reference predicts otherwise.
            var noSkip = reference
            noSkip.parameters["expansion.0.weight"] = reference.parameters["expansion.0.weight"]!.map { _ in 0 }
            noSkip.parameters["expansion.0.bias"] = reference.parameters["expansion.0.bias"]!.map { _ in 0 }
            XCTAssertGreaterThan(TestSupport.relativeL2(noSkip.forward(x.map(Double.init), batch: config.batch), expected), 1e-3,
                                 "the skip connection changes nothing")
        }
    }

    /// The runtime's gradients of the training loss over two rollout steps (the first step's
    /// loss plus the second's, through the fed-back prediction) against central differences of
    /// the reference loss, 4 elements of every parameter tensor (batch 1).
    func testGradientsMatchFiniteDifferences() throws {
        for steps in [2] {
            var config = try Self.tinyConfig()
            config.batch = 1
            let model = CNO2d(config: config)
            let pixels = config.batch * config.grid[0] * config.grid[1]
            let x = TestSupport.randomValues(pixels * config.inputChannels, seed: 51)
            let y = TestSupport.randomValues(pixels * steps, seed: 52, scale: 0.5)
            let (runtimeLoss, gradients, store) = try RuntimeGradients.run(model, steps: steps, x: x, y: y)
            let reference = ReferenceCNO(config: config, parameters: ReferenceCNO.parameters(of: config, in: store))
            let (xd, yd) = (x.map(Double.init), y.map(Double.init))
            func loss(_ r: ReferenceCNO) -> Double { r.trainingLoss(x: xd, y: yd, batch: config.batch, steps: steps) }
            let expected = loss(reference)
            XCTAssertEqual(Double(runtimeLoss), expected, accuracy: 1e-5 * expected)
            // A small step, so that few of the (small) pre-activations cross the leaky ReLU's kink
            // (with 1e-4 such crossings made 1% differences in the biases' central differences).
            let eps = 1e-6
            // The deep levels' gradients are 1e-5 of the largest: below 1e-4 of it, compare absolutely.
            let largest = Double(gradients.values.map { $0.map(abs).max()! }.max()!)
            var checked = 0
            for (index, (name, _)) in model.parameterTypes.enumerated() {
                let gradient = gradients[name]!
                let scale = Double(gradient.map(abs).max()!)
                XCTAssertGreaterThan(scale, 0, "\(name): all-zero gradient")
                let chosen = TestSupport.distinctIndices(4, below: gradient.count, seed: 300 + UInt64(index))
                for i in chosen {
                    var plus = reference, minus = reference
                    plus.parameters[name]![i] += eps
                    minus.parameters[name]![i] -= eps
                    let fd = (loss(plus) - loss(minus)) / (2 * eps)
                    XCTAssertLessThanOrEqual(abs(Double(gradient[i]) - fd), 1e-3 * max(abs(fd), 1e-2 * scale, 1e-4 * largest),
                                             "\(steps) steps, \(name)[\(i)]: runtime \(gradient[i]), finite difference \(fd)")
                    checked += 1
                }
            }
            XCTAssertGreaterThanOrEqual(checked, 50)
        }
    }

    // MARK: (b) Bit-identical training

    func testTrainingIsBitIdenticalAcrossRunsThreadsAndResume() throws {
        try assertTrainingBitIdenticalAcrossRunsThreadsAndResume()
        let initial = try ModelRuntime(try Self.compiled(), threads: 1)
        let trained = try ModelRuntime(try Self.compiled(), threads: 1)
        _ = try trained.load(from: folder + "/a/last.safetensors", includeOptimizer: false)
        let config = try Self.tinyConfig()
        let before = ReferenceCNO.parameters(of: config, in: initial.store)
        let after = ReferenceCNO.parameters(of: config, in: trained.store)
        for name in CNO2d(config: config).parameterNames { XCTAssertNotEqual(before[name], after[name], "\(name) never moved") }
    }

    // MARK: (c) Config errors

    func json(_ edit: TestSupport.ConfigEdit) throws -> Data {
        try TestSupport.editedConfig(Self.tinyPath, section: "cno", edit)
    }

    func testBadCNOConfigsGetOneLineErrorsNamingTheKey() throws {
        XCTAssertNoThrow(try ModelConfig.parse(try json { _, _ in }, source: "c.json"))
        let cases: [(String, String, TestSupport.ConfigEdit)] = [
            ("n_layers 0", "key 'cno.n_layers'", { $1["n_layers"] = 0 }),
            ("n_layers too deep for the grid", "key 'cno.n_layers'", { $1["n_layers"] = 2 }),
            ("n_res negative", "key 'cno.n_res'", { $1["n_res"] = -1 }),
            ("n_res_neck 65", "key 'cno.n_res_neck'", { $1["n_res_neck"] = 65 }),
            ("odd channel multiplier", "key 'cno.channel_multiplier'", { $1["channel_multiplier"] = 5 }),
            ("latent_dim 0", "key 'cno.latent_dim'", { $1["latent_dim"] = 0 }),
            ("even kernel", "key 'cno.kernel'", { $1["kernel"] = 4 }),
            ("periodic_padding not a bool", "key 'cno.periodic_padding'", { $1["periodic_padding"] = "yes" }),
            ("unknown cno key", "unknown key 'cno.width'", { $1["width"] = 3 }),
            ("width for model cno", "key 'width'", { o, _ in o["width"] = 8 }),
            ("cno key on an fno config", "key 'cno'", { o, _ in o["model"] = "fno" }),
        ]
        try TestSupport.assertOneLineConfigErrors(cases, json: json)
    }

    func testDefaultsAndCanonicalRoundTrip() throws {
        let d = CNOConfig()
        XCTAssertEqual([d.nLayers, d.nRes, d.nResNeck, d.channelMultiplier, d.latentDim, d.kernel], [3, 4, 4, 16, 64, 3])
        XCTAssertFalse(d.periodicPadding)
        try TestSupport.assertCanonicalRoundTrip(["tiny-cno", "cno-ns64", "cno-mscale64"], kind: .cno)
    }

    // MARK: (d) No heap allocation in steady state

    func testInferenceAndTrainingStepsAllocateNothing() throws {
        try assertStepsAllocateNothing()
    }

    // MARK: (e) Arena at the liveness bound

    func testArenaPlansAtTheLowerBound() throws {
        let compiled = try Self.compiled()
        for (plan, what) in [(compiled.inference.plan, "inference"), (compiled.training.plan, "training")] {
            let ratio = Double(plan.arenaBytes) / Double(plan.lowerBoundBytes)
            print("tiny-cno \(what): arena \(plan.arenaBytes) bytes, lower bound \(plan.lowerBoundBytes), ratio \(ratio)")
            XCTAssertEqual(ratio, 1.0, what)
            XCTAssertGreaterThanOrEqual(ratio, 1.0, what)
        }
    }
}
