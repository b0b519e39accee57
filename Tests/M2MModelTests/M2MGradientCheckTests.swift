import Executor
import Foundation
import GraphIR
import M2MData
import M2MModel
import Planner
import XCTest

/// Whole-model gradient check of M2M: the runtime's loss terms and routing tables against
/// the independent Double `ReferenceM2M`, and its reverse-mode gradients of the training
/// loss `L_data + lambda L_router` (lambda fed as the runtime input `routing_weight`)
/// against central finite differences of the reference, for sampled coordinates of every
/// parameter tensor (router, each expert, the global expert).
///
/// The ranking is a constant for differentiation (M2M.md section 5), and so is the
/// frequency prior (section 6): a coordinate whose +eps or -eps perturbation changes any
/// routing table in the reference is skipped (and enough coordinates must remain), and the
/// reference's finite differences hold each step's prior at its unperturbed value.
/// Criterion as in `GradientCheckTests`: |g - fd| <= 1e-3 max(|fd|, 1e-2 max|g| of the tensor).
final class M2MGradientCheckTests: XCTestCase {
    static func tinyM2M() throws -> ModelConfig {
        try ModelConfig.load(TestSupport.repoRoot.appendingPathComponent("configs/tiny-m2m.json").path)
    }

    /// Rollout loss with its terms and routing tables as outputs, gradients as "g.<name>".
    static func gradientGraph(_ config: ModelConfig, steps: Int) throws -> Graph {
        let model = Models.make(config)
        var b = GraphBuilder(name: "m2m-gradcheck")
        let params = model.declareParameters(&b)
        let losses = try Programs.rolloutLoss(&b, model: model, parameters: params, steps: steps)
        let names = model.parameterNames
        let grads = try Autodiff.appendBackward(to: &b, loss: losses.total, wrt: names.map { params[$0]! })
        b.output(Programs.loss, losses.total)
        b.output(Programs.dataLoss, losses.data)
        b.output(Programs.routerLoss, try XCTUnwrap(losses.router))
        b.output(Programs.klLoss, try XCTUnwrap(losses.kl))
        for (i, r) in losses.routes.enumerated() { b.output(Programs.route(i), r) }
        for (name, g) in zip(names, grads) { b.output("g." + name, g) }
        return b.graph
    }

    /// Every parameter of `config`'s model read from `store` (complex as (re, im) pairs).
    static func parameters(_ config: ModelConfig, in store: PersistentStore) -> [String: [Double]] {
        var result: [String: [Double]] = [:]
        for (name, type) in Models.make(config).parameterTypes {
            let p = store.pointer(name)!
            result[name] = (0..<type.floatCount).map { Double(p[$0]) }
        }
        return result
    }

    /// Inputs whose patches differ in level, amplitude and frequency content (so that the
    /// router sees distinct features), and a target of the same scale.
    static func data(_ config: ModelConfig, steps: Int, seed: UInt64) -> (x: [Float], y: [Float]) {
        let (h, w, t, s) = (config.grid[0], config.grid[1], config.inputChannels, config.m2m!.scale)
        let noise = TestSupport.randomValues(config.batch * h * w * t, seed: seed)
        var x = noise
        for b in 0..<config.batch {
            for i in 0..<h {
                for j in 0..<w {
                    let patch = (b * s + i / (h / s)) * s + j / (w / s)
                    let amplitude = 0.3 + 0.4 * Double(patch % 5), level = 0.2 * Double(patch % 3) - 0.2
                    for f in 0..<t {
                        let wave = sin(2 * Double.pi * Double((patch % 3) * j + i) / Double(w) + Double(f))
                        let index = ((b * h + i) * w + j) * t + f
                        x[index] = Float(level + amplitude * (0.7 * wave + 0.5 * Double(noise[index])))
                    }
                }
            }
        }
        return (x, TestSupport.randomValues(config.batch * h * w * steps, seed: seed + 1, scale: 0.5))
    }

    /// A runtime routing table in the reference's form.
    static func routing(_ table: UnsafePointer<Int32>, _ layout: RouteTable) -> ReferenceM2M.Routing {
        var r = ReferenceM2M.Routing(experts: [], positions: [], counts: [], reroutes: [], drops: [])
        for patch in 0..<layout.patches {
            r.experts.append((0..<layout.k).map { Int(table[layout.slot(patch, $0)]) })
            r.positions.append((0..<layout.k).map { Int(table[layout.slot(patch, $0) + 1]) })
        }
        r.counts = (0..<layout.experts).map { Int(table[layout.countIndex($0)]) }
        r.reroutes = (0..<layout.experts).map { Int(table[layout.rerouteIndex($0)]) }
        r.drops = (0..<layout.experts).map { Int(table[layout.dropIndex($0)]) }
        return r
    }

    /// `count` distinct seeded coordinates of a tensor of `size` floats.
    func sample(_ size: Int, count: Int, seed: UInt64) -> [Int] {
        TestSupport.distinctIndices(count, below: size, seed: seed)
    }

    /// Checks loss terms, routing tables and gradients; returns the reference's base loss
    /// (for case-specific assertions on the routing).
    @discardableResult
    func check(_ config: ModelConfig, steps: Int, lambda: Float = 0.3, seed: UInt64 = 31,
               file: StaticString = #filePath, line: UInt = #line) throws -> ReferenceM2M.Loss {
        try config.validate(source: "test")
        let model = Models.make(config)
        let net = try XCTUnwrap(model as? M2MNet)
        let (program, store) = try RuntimeGradients.program(try Self.gradientGraph(config, steps: steps), model: model)
        let (x, y) = Self.data(config, steps: steps, seed: seed)
        try XCTUnwrap(program.buffer(Programs.input)).update(from: x, count: x.count)
        try XCTUnwrap(program.buffer(Programs.target)).update(from: y, count: y.count)
        try XCTUnwrap(program.buffer(Programs.routingWeight), "routing_weight input")[0] = lambda
        program.run()
        // Loss terms and routing tables against the reference.
        let reference = ReferenceM2M(config: config, parameters: Self.parameters(config, in: store))
        let (xd, yd, l) = (x.map(Double.init), y.map(Double.init), Double(lambda))
        let base = reference.trainingLoss(x: xd, y: yd, batch: config.batch, steps: steps, lambda: l)
        for (name, expected) in [(Programs.loss, base.total), (Programs.dataLoss, base.data),
                                 (Programs.routerLoss, base.router), (Programs.klLoss, base.kl)] {
            let value = Double(try XCTUnwrap(program.buffer(name))[0])
            XCTAssertEqual(value, expected, accuracy: 1e-5 * abs(expected) + 1e-7, "\(name)", file: file, line: line)
        }
        for s in 0..<steps {
            let table = try XCTUnwrap(program.indexBuffer(Programs.route(s)))
            XCTAssertEqual(Self.routing(table, net.routeTable), base.routings[s], "route.\(s)", file: file, line: line)
        }

        // Gradients against central differences of the reference (routing and prior held).
        let eps = 1e-4
        var (checked, skipped, sampled) = (0, 0, 0)
        for (index, (name, type)) in model.parameterTypes.enumerated() {
            // The router's few tensors get more coordinates than each expert's many.
            let perTensor = name.hasPrefix("router.") ? 4 : 2
            let gradient = Array(UnsafeBufferPointer(start: try XCTUnwrap(program.buffer("g." + name), name),
                                                     count: type.floatCount))
            XCTAssertEqual(program.type(of: "g." + name), type, name, file: file, line: line)
            let scale = Double(gradient.map(abs).max()!)
            XCTAssertGreaterThan(scale, 0, "\(name): all-zero gradient", file: file, line: line)
            for i in sample(gradient.count, count: perTensor, seed: 500 + UInt64(index)) {
                sampled += 1
                var plus = reference, minus = reference
                plus.parameters[name]![i] += eps
                minus.parameters[name]![i] -= eps
                let lp = plus.trainingLoss(x: xd, y: yd, batch: config.batch, steps: steps, lambda: l, priors: base.priors)
                let lm = minus.trainingLoss(x: xd, y: yd, batch: config.batch, steps: steps, lambda: l, priors: base.priors)
                guard lp.routings == base.routings && lm.routings == base.routings else {
                    skipped += 1
                    continue
                }
                let fd = (lp.total - lm.total) / (2 * eps)
                let tolerance = 1e-3 * max(abs(fd), 1e-2 * scale)
                XCTAssertLessThanOrEqual(abs(Double(gradient[i]) - fd), tolerance,
                                         "\(name)[\(i)]: runtime \(gradient[i]), finite difference \(fd)",
                                         file: file, line: line)
                checked += 1
            }
        }
        print("\(config.name) \(steps)-step gradient check: \(checked) coordinates checked, \(skipped) skipped (routing flips)")
        XCTAssertLessThanOrEqual(skipped, sampled / 10, "routing flipped too often", file: file, line: line)
        XCTAssertGreaterThanOrEqual(checked, 40, file: file, line: line)
        return base
    }

    /// Overflow of a routing: reroutes and drops summed over experts.
    func overflow(_ r: ReferenceM2M.Routing) -> (reroutes: Int, drops: Int) {
        (r.reroutes.reduce(0, +), r.drops.reduce(0, +))
    }

    /// top-1, capacity factor < 1: the greedy assignment reroutes and drops; dropped patches
    /// predict zero and their experts get no gradient from them.
    func testTopOneWithCapacityRerouteAndDrop() throws {
        var config = try Self.tinyM2M()
        config.m2m!.halo = 0
        config.m2m!.capacityFactor = 0.75   // 8 patches, E = 2: capacity 3 each, 2 slots dropped
        config.m2m!.temperature = 0.7
        let base = try check(config, steps: 1)
        let (reroutes, drops) = overflow(base.routings[0])
        XCTAssertGreaterThan(reroutes, 0, "\(base.routings[0])")
        XCTAssertEqual(drops, 2, "\(base.routings[0])")
    }

    /// k = 2 of 3 experts, gates renormalized over the kept slots (dropped ones not in the sum):
    /// capacity 5 per expert, 15 places for 16 slots.
    func testTopTwoRenormalizedGates() throws {
        var config = try Self.tinyM2M()
        config.m2m!.halo = 0
        config.m2m!.expertModes = [1, 2, 2]
        config.m2m!.expertWidths = [3, 4, 3]
        config.m2m!.k = 2
        config.m2m!.capacityFactor = 0.8
        config.m2m!.renormalizeGates = true
        let base = try check(config, steps: 1)
        let (reroutes, drops) = overflow(base.routings[0])
        XCTAssertGreaterThan(reroutes + drops, 0, "\(base.routings[0])")
    }

    /// Dense: every expert on every patch, weighted by p.
    func testDenseMode() throws {
        var config = try Self.tinyM2M()
        config.m2m!.halo = 0
        config.m2m!.capacityFactor = nil
        config.m2m!.dense = true
        config.m2m!.gamma = 0.3
        try check(config, steps: 1)
    }

    /// Halo 1 (experts on 6 x 6 extended patches, cores kept) through a 2-step rollout: the
    /// router of step 2 reads the (not detached) prediction of step 1.
    func testHaloAndTwoStepRollout() throws {
        let config = try Self.tinyM2M()
        XCTAssertEqual(config.m2m!.halo, 1)
        try check(config, steps: 2)
    }

    /// The frequency prior (per-patch q from the spectral centroid, KL between patch means),
    /// through a 2-step rollout where it would otherwise carry a gradient: the step-2
    /// centroids (of the step-1 prediction) fall between the cut-offs 1/2 and 1 of the two
    /// experts, where q depends on them (a reference that let the prior carry a gradient
    /// fails this test).
    func testFrequencyPrior() throws {
        var config = try Self.tinyM2M()
        config.m2m!.halo = 0
        config.m2m!.prior = .frequency
        config.m2m!.tau = 0.3
        config.m2m!.bands = 3
        try check(config, steps: 2, lambda: 0.7)
    }

    /// `prior_match: patch`: each patch's p against its own frequency prior q (mean of the
    /// per-patch KLs), through the same 2-step rollout as `testFrequencyPrior`.
    func testPerPatchFrequencyPrior() throws {
        var config = try Self.tinyM2M()
        config.m2m!.halo = 0
        config.m2m!.prior = .frequency
        config.m2m!.priorMatch = .patch
        config.m2m!.tau = 0.3
        config.m2m!.bands = 3
        try check(config, steps: 2, lambda: 0.7)
    }

    /// An explicit prior vector (normalised to sum 1), on 4 x 8 patches: 3 bands with
    /// modes exactly on both edges (rho = 1/4 along Q, 1/2 along P) and P != Q.
    func testExplicitPriorOnRectangularPatches() throws {
        var config = try Self.tinyM2M()
        config.grid = [8, 16]
        config.batch = 1
        config.m2m!.halo = 0
        config.m2m!.prior = .weights([1, 3])
        config.m2m!.bands = 3
        try check(config, steps: 1)
    }

    /// `expert_coordinates: global`: each expert reads its cells' positions in the whole
    /// field (wrapped through the halo) instead of its own patch grid.
    func testGlobalExpertCoordinates() throws {
        var config = try Self.tinyM2M()
        config.m2m!.expertCoordinates = "global"
        try check(config, steps: 2)
    }

    /// The global expert on the whole field, added ungated.
    func testGlobalExpert() throws {
        var config = try Self.tinyM2M()
        config.m2m!.halo = 0
        config.m2m!.globalExpert = true
        config.m2m!.globalModes = 2
        config.m2m!.globalWidth = 3
        try check(config, steps: 1)
    }
}
