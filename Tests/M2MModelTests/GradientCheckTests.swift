import Executor
import Foundation
import GraphIR
import M2MData
import M2MModel
import Planner
import XCTest

/// Whole-model gradient check: the runtime's reverse-mode gradients of the
/// training loss (forward + relative L2 + Autodiff, without Adam) against central
/// finite differences of the independent Double reference loss.
///
/// Criterion: |g - fd| <= 1e-3 * max(|fd|, 1e-2 * scale), scale = max |g| over the
/// whole tensor. The runtime computes in float32 (relative rounding ~1e-6 on sums
/// of O(100) terms), the reference in Double with eps = 1e-4 (central-difference
/// truncation ~eps^2 * L''' ~ 1e-8 of the loss scale), so 1e-3 relative is ~100x
/// above the expected error yet far below any wrong rule (a wrong sign, a missing
/// factor 2 on the Hermitian columns, a transposed layout give O(1) errors). The
/// floor 1e-5 * scale covers coordinates whose gradient is small through cancellation
/// (e.g. exactly zero for the imaginary part of the DC mode's weights).
final class GradientCheckTests: XCTestCase {
    struct GradientProgram {
        let config: ModelConfig
        let steps: Int
        let program: ExecutableProgram
        let store: PersistentStore
    }

    func makeProgram(_ config: ModelConfig, steps: Int, threads: Int = 2) throws -> GradientProgram {
        let model = FNO2d(config: config)
        let (program, store) = try RuntimeGradients.program(try RuntimeGradients.graph(model, steps: steps), model: model,
                                                            threads: threads)
        return GradientProgram(config: config, steps: steps, program: program, store: store)
    }

    /// Random input and a target of the same scale (fixed seeds).
    func data(_ config: ModelConfig, steps: Int) -> (x: [Float], y: [Float]) {
        let pixels = config.batch * config.grid[0] * config.grid[1]
        return (TestSupport.randomValues(pixels * config.inputChannels, seed: 21),
                TestSupport.randomValues(pixels * steps, seed: 22, scale: 0.5))
    }

    /// Runs the gradient program; returns the loss and every gradient (complex as pairs).
    func run(_ g: GradientProgram, x: [Float], y: [Float]) throws -> (loss: Float, grads: [String: [Float]]) {
        let p = g.program
        try XCTUnwrap(p.buffer(Programs.input)).update(from: x, count: x.count)
        try XCTUnwrap(p.buffer(Programs.target)).update(from: y, count: y.count)
        p.run()
        var grads: [String: [Float]] = [:]
        for (name, type) in FNO2d(config: g.config).parameterTypes {
            let count = type.elementCount * (type.dtype == .c64 ? 2 : 1)
            let buffer = try XCTUnwrap(p.buffer("g." + name), name)
            XCTAssertEqual(p.type(of: "g." + name), type, name)
            grads[name] = Array(UnsafeBufferPointer(start: buffer, count: count))
        }
        return (try XCTUnwrap(p.buffer(Programs.loss))[0], grads)
    }

    /// Coordinates to check in a tensor: `extra` plus `count` distinct seeded ones.
    func sample(_ size: Int, count: Int, seed: UInt64, extra: [Int] = []) -> [Int] {
        TestSupport.distinctIndices(count, below: size, seed: seed, extra: extra)
    }

    func checkGradients(_ config: ModelConfig, steps: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let g = try makeProgram(config, steps: steps)
        let (x, y) = data(config, steps: steps)
        let (loss, grads) = try run(g, x: x, y: y)
        let reference = ReferenceFNO(config: config, parameters: TestSupport.parameters(of: config, in: g.store))
        let (xd, yd) = (x.map(Double.init), y.map(Double.init))
        let referenceLoss = reference.trainingLoss(x: xd, y: yd, batch: config.batch, steps: steps)
        XCTAssertEqual(Double(loss), referenceLoss, accuracy: 1e-5 * referenceLoss, "loss", file: file, line: line)

        let eps = 1e-4
        let (m1, m2, c) = (config.modes[0], config.modes[1], config.width)
        var checked = 0
        for (index, (name, type)) in FNO2d(config: config).parameterTypes.enumerated() {
            let gradient = grads[name]!
            let scale = Double(gradient.map(abs).max()!)
            XCTAssertGreaterThan(scale, 0, "\(name): all-zero gradient", file: file, line: line)
            var extra: [Int] = []
            if type.dtype == .c64 {
                // (re, im) of: the DC mode, the bottom block's first row at column 0, and the
                // last kept column: the Hermitian special cases of the real inverse.
                let pair = { (mode: Int, ci: Int, co: Int) -> Int in ((mode * c + ci) * c + co) * 2 }
                let bottom = (m1 + 0) * m2 + 0, lastColumn = (0 * m1 + 1 % m1) * m2 + (m2 - 1)
                extra = [pair(0, 0, 0), pair(0, 0, 0) + 1, pair(bottom, c - 1, 0), pair(bottom, c - 1, 0) + 1,
                         pair(lastColumn, 0, c - 1), pair(lastColumn, 0, c - 1) + 1]
            }
            for i in sample(gradient.count, count: 10, seed: 100 + UInt64(index), extra: extra) {
                var plus = reference, minus = reference
                plus.parameters[name]![i] += eps
                minus.parameters[name]![i] -= eps
                let fd = (plus.trainingLoss(x: xd, y: yd, batch: config.batch, steps: steps)
                          - minus.trainingLoss(x: xd, y: yd, batch: config.batch, steps: steps)) / (2 * eps)
                let tolerance = 1e-3 * max(abs(fd), 1e-2 * scale)
                XCTAssertLessThanOrEqual(abs(Double(gradient[i]) - fd), tolerance,
                                         "\(name)[\(i)]: runtime \(gradient[i]), finite difference \(fd)",
                                         file: file, line: line)
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 60, file: file, line: line)
    }

    func testOneStepGradientsMatchFiniteDifferences() throws {
        try checkGradients(try TestSupport.tinyConfig(), steps: 1)
    }

    /// Backpropagation through a 2-step autoregressive rollout (the concat window).
    func testRolloutGradientsMatchFiniteDifferences() throws {
        try checkGradients(try TestSupport.tinyConfig(), steps: 2)
    }

    /// The Nyquist column kept (m2 = W/2 + 1) and every frequency row kept (2 m1 = H).
    func testFullSpectrumGradientsMatchFiniteDifferences() throws {
        var config = try TestSupport.tinyConfig()
        config.grid = [4, 6]
        config.modes = [2, 4]
        config.width = 3
        config.tIn = 2
        config.projectionHidden = 4
        config.batch = 3
        config.seed = 9
        try config.validate(source: "test")
        try checkGradients(config, steps: 2)
    }

    /// One input frame (each prediction is the whole next window) through a 3-step rollout.
    func testSingleFrameThreeStepRolloutGradients() throws {
        var config = try TestSupport.tinyConfig()
        config.tIn = 1
        config.tOut = 3
        config.rolloutTrain = 3
        config.width = 3
        config.seed = 4
        try config.validate(source: "test")
        try checkGradients(config, steps: 3)
    }

    /// The training program: its loss equals the reference loss, and after one step every
    /// weight moved by exactly Adam's first update (bias-corrected, L2 decay) of the
    /// gradient program's gradient.
    func testTrainingStepAppliesAdamToTheGradients() throws {
        try checkAdamStep(decoupled: false, step: 1)
    }

    /// AdamW (decoupled decay), first update fed as step 3: bias corrections use the fed step.
    func testTrainingStepAppliesAdamWWithFedStep() throws {
        try checkAdamStep(decoupled: true, step: 3)
    }

    func checkAdamStep(decoupled: Bool, step: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        var config = try TestSupport.tinyConfig()
        config.optimizer.decoupledWeightDecay = decoupled
        config.optimizer.weightDecay = 0.05   // large enough to matter in the update
        let steps = config.rolloutTrain
        let gradients = try makeProgram(config, steps: steps)
        let (x, y) = data(config, steps: steps)
        let (gradientLoss, grads) = try run(gradients, x: x, y: y)

        let runtime = try ModelRuntime(try CompiledModel.compile(config, rigor: .estimate, threads: 2), threads: 2)
        let before = TestSupport.parameters(of: config, in: runtime.store)
        let train = try runtime.program(CompiledModel.trainingName)
        train.buffer(Programs.input)!.update(from: x, count: x.count)
        train.buffer(Programs.target)!.update(from: y, count: y.count)
        let lr: Float = 0.01
        train.buffer(Programs.optimizerScalars)!.update(from: [lr, Float(step)], count: 2)
        train.run()
        let loss = train.buffer(Programs.loss)![0]
        XCTAssertEqual(loss, gradientLoss, accuracy: 1e-6 * gradientLoss, file: file, line: line)
        let reference = ReferenceFNO(config: config, parameters: before)
        let referenceLoss = reference.trainingLoss(x: x.map(Double.init), y: y.map(Double.init),
                                                   batch: config.batch, steps: steps)
        XCTAssertEqual(Double(loss), referenceLoss, accuracy: 1e-5 * referenceLoss, file: file, line: line)

        let o = config.optimizer
        let (c1, c2) = (1 - pow(o.beta1, Double(step)), 1 - pow(o.beta2, Double(step)))
        let after = TestSupport.parameters(of: config, in: runtime.store)
        for (name, _) in FNO2d(config: config).parameterTypes {
            let g = grads[name]!, p0 = before[name]!, p1 = after[name]!
            let m = runtime.store.pointer(Programs.adamMoment1(name))!
            let v = runtime.store.pointer(Programs.adamMoment2(name))!
            var worst = 0.0
            for i in g.indices {
                let gi = Double(g[i]) + (decoupled ? 0 : o.weightDecay * p0[i])
                let (mi, vi) = ((1 - o.beta1) * gi, (1 - o.beta2) * gi * gi)
                let shrunk = decoupled ? p0[i] * (1 - Double(lr) * o.weightDecay) : p0[i]
                let expected = shrunk - Double(lr) / c1 * mi / ((vi / c2).squareRoot() + o.epsilon)
                // (1 - beta) in float32 is off by ~1e-5 relative for beta2 = 0.999.
                XCTAssertEqual(Double(m[i]), mi, accuracy: 1e-5 * abs(mi) + 1e-12, "\(name) m[\(i)]",
                               file: file, line: line)
                XCTAssertEqual(Double(v[i]), vi, accuracy: 1e-4 * vi + 1e-18, "\(name) v[\(i)]", file: file, line: line)
                worst = max(worst, abs(p1[i] - expected))
            }
            // Updates are of order lr: 1e-4 lr of slack for float rounding.
            XCTAssertLessThan(worst, 1e-4 * Double(lr), name, file: file, line: line)
        }
    }

    /// `add` of two c64 tensors sums every float (both halves of the interleaved pairs):
    /// the summed gradient of a spectral weight shared by rollout steps relies on it.
    func testComplexAddSumsEveryFloat() throws {
        var b = GraphBuilder(name: "c64add")
        let p = b.parameter("p", .c64(3, 2, 2)), q = b.parameter("q", .c64(3, 2, 2))
        b.output("sum", try b(.add, p, q))
        let graph = b.graph
        let store = try PersistentStore(layout: try PersistentLayout([graph]))
        let count = 3 * 2 * 2 * 2
        let (pv, qv) = (TestSupport.randomValues(count, seed: 1), TestSupport.randomValues(count, seed: 2))
        store.pointer("p")!.update(from: pv, count: count)
        store.pointer("q")!.update(from: qv, count: count)
        let program = try ExecutableProgram(graph: graph, plan: try ProgramPlanner.plan(graph), store: store,
                                            pool: ThreadPool(threads: 2), rigor: .estimate, wisdomOnly: false)
        program.run()
        let sum = Array(UnsafeBufferPointer(start: try XCTUnwrap(program.buffer("sum")), count: count))
        XCTAssertEqual(sum, zip(pv, qv).map { $0 + $1 })
    }
}
