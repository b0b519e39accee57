import Foundation
import GraphIR

/// One router invocation: probabilities `[patches, experts]`, k and capacity.
struct RouteConfig {
    var label: String
    var p: [Float]
    var patches, experts, k, capacity: Int
    var routing: Oracle.Routing {
        Oracle.route(p.doubles, patches: patches, experts: experts, k: k, capacity: capacity)
    }
    var pType: TensorType { .f32(patches, experts) }
    var routeOp: Op { .route(k: k, capacity: capacity) }
}

/// Table entries of route, dispatch, gather_gates, combine and their gradients.
enum RoutingCases {
    /// Margins of at least 0.14 between ranks (levels 0.55, 0.3, 0.15 plus a jitter below 0.01).
    static let levels: [Float] = [0.55, 0.3, 0.15]
    static let rankings: [[Int]] = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [0, 1, 2], [2, 0, 1], [0, 1, 2]]

    /// k = 1 with room: every expert gets fewer patches than its capacity (4, 1, 1 of 6).
    static let roomK1 = RouteConfig(label: "k1 cap6", p: rankedProbabilities(rankings, levels: levels, seed: 700),
                                    patches: 6, experts: 3, k: 1, capacity: 6)
    /// k = 2, capacity 3: patch 3 is rerouted twice (its second choice, taken by its first
    /// reroute, counts as full), patches 4 and 5 lose slots (patch 5 both), all experts fill.
    static let overflowK2 = RouteConfig(label: "k2 cap3", p: rankedProbabilities(rankings, levels: levels, seed: 701),
                                        patches: 6, experts: 3, k: 2, capacity: 3)
    /// k = 1, capacity 2: two reroutes charged to expert 0.
    static let overflowK1 = RouteConfig(label: "k1 cap2", p: rankedProbabilities(rankings, levels: levels, seed: 702),
                                        patches: 6, experts: 3, k: 1, capacity: 2)
    /// k = E: every patch takes every expert.
    static let allK3 = RouteConfig(label: "k3 cap6", p: rankedProbabilities(rankings, levels: levels, seed: 703),
                                   patches: 6, experts: 3, k: 3, capacity: 6)
    static let configs = [roomK1, overflowK2, overflowK1, allK3]

    /// Patch rows `[Np, 2, 3, 2]`; expert outputs `[capacity, 2 + 2h, 3 + 2h, 2]`.
    static let rowShape = [2, 3, 2]
    static func expertType(_ c: RouteConfig, halo: Int) -> TensorType {
        .f32(c.capacity, rowShape[0] + 2 * halo, rowShape[1] + 2 * halo, rowShape[2])
    }
    static func geometry(halo: Int) -> Oracle.Extended {
        Oracle.Extended(rows: rowShape[0] + 2 * halo, cols: rowShape[1] + 2 * halo, channels: rowShape[2], halo: halo)
    }

    static func all() throws -> [OpCode: OpCase] {
        [
            .route: try route(),
            .dispatch: try dispatch(),
            .dispatch_grad: try dispatchGrad(),
            .gather_gates: try gatherGates(),
            .gather_gates_grad: try gatherGatesGrad(),
            .combine: try combine(),
            .combine_grad_gates: try combineGradGates(),
            .combine_grad_expert: try combineGradExpert(),
        ]
    }

    // MARK: route

    private static func route() throws -> OpCase {
        var fixtures: [OpFixture] = []
        for c in configs {
            var fb = FixtureBuilder("route \(c.label)")
            let p = fb.input("p", c.pType, c.p)
            fb.expect("table", try fb.b(c.routeOp, p), .ints(c.routing.table))
            fixtures.append(fb.fixture())
        }
        // Hand-derived tables (M2M.md section 5), independent of the oracle too.
        let exact: [(String, [Float], Int, Int, [Int32])] = [
            // Capacity 2, k = 2. Patch 2: expert 0 is full, slot 0 is rerouted to expert 1; slot 1 asks
            // for expert 1, which it already took: rerouted to expert 2. Patch 3 ranks 2, 0, 1 (the tie
            // of 0 and 1 goes to the lower index): every expert is full, both slots drop.
            ("route reroute and drop", [0.5, 0.3, 0.2, 0.6, 0.1, 0.3, 0.7, 0.2, 0.1, 0.25, 0.25, 0.5], 2, 2,
             [0, 0, 1, 0, 0, 1, 2, 0, 1, 1, 2, 1, -1, -1, -1, -1, 2, 2, 2, 1, 1, 0, 1, 0, 1]),
            // Capacity 3, k = 2. Patches 0-2 fill experts 0 and 2. Patch 3: slot 0 is rerouted from the
            // full expert 0 to expert 1, which keeps room; slot 1 asks for expert 1, already taken by
            // this patch, so it counts as full: experts 0 and 2 are full, the slot drops (charged to 1).
            ("route taken counts as full", [0.6, 0.1, 0.3, 0.6, 0.1, 0.3, 0.6, 0.1, 0.3, 0.7, 0.2, 0.1], 2, 3,
             [0, 0, 2, 0, 0, 1, 2, 1, 0, 2, 2, 2, 1, 0, -1, -1, 3, 1, 3, 1, 0, 0, 0, 1, 0]),
            // Ties go to the lower expert index.
            ("route ties", [0.4, 0.4, 0.2, 0.2, 0.4, 0.4, 0.3, 0.3, 0.3], 1, 4,
             [0, 0, 1, 0, 0, 1, 2, 1, 0, 0, 0, 0, 0, 0, 0]),
        ]
        for (label, p, k, capacity, table) in exact {
            let patches = p.count / 3
            XCTAssertEqualTables(Oracle.route(p.doubles, patches: patches, experts: 3, k: k, capacity: capacity).table, table, label)
            var fb = FixtureBuilder(label)
            let pv = fb.input("p", .f32(patches, 3), p)
            fb.expect("table", try fb.b(.route(k: k, capacity: capacity), pv), .ints(table))
            fixtures.append(fb.fixture())
        }
        return OpCase(fixtures: fixtures)
    }

    // MARK: dispatch

    private static func dispatch() throws -> OpCase {
        let xType = TensorType(.f32, [6] + rowShape), rowFloats = rowShape.reduce(1, *)
        var fixtures: [OpFixture] = []
        for (i, c) in configs.enumerated() {
            var fb = FixtureBuilder("dispatch \(c.label)")
            let p = fb.input("p", c.pType, c.p)
            let (x, xd) = fb.input("x", xType, seed: 710 + UInt64(i))
            let route = try fb.b(c.routeOp, p)
            let r = c.routing
            for e in 0..<c.experts {
                fb.expect("expert\(e)", try fb.b(.dispatch(expert: e, k: c.k, capacity: c.capacity), x, route),
                          .floats(Oracle.dispatch(xd, rowFloats: rowFloats, r, expert: e), valid: r.counts[e] * rowFloats))
            }
            fixtures.append(fb.fixture())
        }
        fixtures.append(try boundedChainFixture())
        var gradients = try [roomK1, overflowK2].map { try dispatchGradientCase($0) }
        gradients.append(try boundedChainGradientCase())
        gradients += PipelineCases.all
        return OpCase(fixtures: fixtures, gradients: gradients)
    }

    /// Expert e squares `(e + 1) x + 0.25` on its bounded rows; the cores are combined with fixed gates.
    private static func dispatchGradientCase(_ c: RouteConfig) throws -> GradientCase {
        let xType = TensorType(.f32, [6] + rowShape), rowFloats = rowShape.reduce(1, *)
        let gatesType = TensorType.f32(c.patches, c.k)
        return GradientCase("dispatch \(c.label)",
                            inputs: [("p", c.pType, c.p), ("x", xType, randomFloats(xType.floatCount, seed: 720)),
                                     ("gates", gatesType, randomFloats(gatesType.floatCount, seed: 721))],
                            wrt: ["x"],
                            body: { b, v in
                                let route = try b(c.routeOp, v["p"]!)
                                let outs = try (0..<c.experts).map { e -> ValueID in
                                    let d = try b(.dispatch(expert: e, k: c.k, capacity: c.capacity), v["x"]!, route)
                                    let a = try b(.affine(scale: Double(e + 1), shift: 0.25), d)
                                    return try b(.mul, a, a)
                                }
                                return try b.apply(.combine(k: c.k, capacity: c.capacity, halo: 0), [v["gates"]!, route] + outs)!
                            },
                            reference: { v in
                                let r = Oracle.route(v["p"]!, patches: c.patches, experts: c.experts, k: c.k, capacity: c.capacity)
                                let outs = (0..<c.experts).map { e in
                                    Oracle.dispatch(v["x"]!, rowFloats: rowFloats, r, expert: e).map { x -> Double in
                                        let a = Double(e + 1) * x + 0.25
                                        return a * a
                                    }
                                }
                                return Oracle.combine(v["gates"]!, r, outs, geometry(halo: 0))
                            })
    }

    /// `sqrt(a) log(a) / a - exp(x)` with `a = x / 2 + 3 / 2`, then gelu, on an expert's bounded rows.
    static func boundedChain(_ b: inout GraphBuilder, _ d: ValueID) throws -> ValueID {
        let a = try b(.affine(scale: 0.5, shift: 1.5), d)
        let m = try b(.mul, try b(.sqrt, a), try b(.log, a))
        return try b(.gelu, try b(.sub, try b(.div, m, a), try b(.exp, d)))
    }

    static func boundedChain(_ x: Double) -> Double {
        let a = 0.5 * x + 1.5
        return Reference.gelu(a.squareRoot() * Foundation.log(a) / a - Foundation.exp(x))
    }

    /// The elementwise primitives on bounded rows (route k = 1, capacity 2: reroutes, every
    /// expert full), plus a `stop_gradient` of a bounded value; combined with fixed gates.
    static func boundedChainFixture() throws -> OpFixture {
        let c = overflowK1
        let xType = TensorType(.f32, [6] + rowShape), rowFloats = rowShape.reduce(1, *)
        var fb = FixtureBuilder("elementwise ops on bounded rows \(c.label)")
        let p = fb.input("p", c.pType, c.p)
        let (x, xd) = fb.input("x", xType, seed: 730)
        let (gates, gd) = fb.input("gates", .f32(c.patches, c.k), seed: 731)
        let route = try fb.b(c.routeOp, p)
        var outs: [ValueID] = []
        for e in 0..<c.experts {
            let d = try fb.b(.dispatch(expert: e, k: c.k, capacity: c.capacity), x, route)
            outs.append(try fb.b(.add, try boundedChain(&fb.b, d), try fb.b(.stopGradient, d)))
        }
        let r = c.routing
        let reference = (0..<c.experts).map { e in
            Oracle.dispatch(xd, rowFloats: rowFloats, r, expert: e).map { boundedChain($0) + $0 }
        }
        fb.expect("y", try fb.b.apply(.combine(k: c.k, capacity: c.capacity, halo: 0), [gates, route] + outs)!,
                  .floats(Oracle.combine(gd, r, reference, geometry(halo: 0))))
        return fb.fixture()
    }

    private static func boundedChainGradientCase() throws -> GradientCase {
        let c = roomK1
        let xType = TensorType(.f32, [6] + rowShape), rowFloats = rowShape.reduce(1, *)
        return GradientCase("elementwise ops on bounded rows \(c.label)",
                            inputs: [("p", c.pType, c.p), ("x", xType, randomFloats(xType.floatCount, seed: 732)),
                                     ("gates", .f32(c.patches, c.k), randomFloats(c.patches * c.k, seed: 733))],
                            wrt: ["x", "gates"],
                            body: { b, v in
                                let route = try b(c.routeOp, v["p"]!)
                                let outs = try (0..<c.experts).map { e -> ValueID in
                                    try boundedChain(&b, try b(.dispatch(expert: e, k: c.k, capacity: c.capacity), v["x"]!, route))
                                }
                                return try b.apply(.combine(k: c.k, capacity: c.capacity, halo: 0), [v["gates"]!, route] + outs)!
                            },
                            reference: { v in
                                let r = Oracle.route(v["p"]!, patches: c.patches, experts: c.experts, k: c.k, capacity: c.capacity)
                                let outs = (0..<c.experts).map { e in
                                    Oracle.dispatch(v["x"]!, rowFloats: rowFloats, r, expert: e).map { boundedChain($0) }
                                }
                                return Oracle.combine(v["gates"]!, r, outs, geometry(halo: 0))
                            })
    }

    private static func dispatchGrad() throws -> OpCase {
        let rowFloats = rowShape.reduce(1, *)
        var fixtures: [OpFixture] = []
        for (i, c) in configs.enumerated() {
            var fb = FixtureBuilder("dispatch_grad \(c.label)")
            let p = fb.input("p", c.pType, c.p)
            let route = try fb.b(c.routeOp, p)
            let r = c.routing
            for e in 0..<c.experts {
                let (dy, dyd) = fb.input("dy\(e)", TensorType(.f32, [c.capacity] + rowShape), seed: 740 + UInt64(3 * i + e))
                fb.expect("dx\(e)", try fb.b(.dispatchGrad(expert: e, k: c.k, capacity: c.capacity, patches: c.patches), dy, route),
                          .floats(Oracle.dispatchGrad(dyd, rowFloats: rowFloats, r, expert: e)))
            }
            fixtures.append(fb.fixture())
        }
        return OpCase(fixtures: fixtures)
    }

    // MARK: gather_gates

    /// (config, renormalize): k = 2 with drops (patch 5 keeps no slot), k = 1 with reroutes, k = E.
    static let gateCases: [(RouteConfig, Bool)] = [(overflowK2, false), (overflowK2, true), (overflowK1, false),
                                                   (allK3, true), (roomK1, false)]

    private static func gatherGates() throws -> OpCase {
        var fixtures: [OpFixture] = [], gradients: [GradientCase] = []
        for (c, renormalize) in gateCases {
            let label = "gather_gates \(c.label) renormalize \(renormalize)"
            var fb = FixtureBuilder(label)
            let p = fb.input("p", c.pType, c.p)
            fb.expect("gates", try fb.b(.gatherGates(k: c.k, renormalize: renormalize), p, try fb.b(c.routeOp, p)),
                      .floats(Oracle.gates(c.p.doubles, c.routing, renormalize: renormalize)))
            fixtures.append(fb.fixture())
            gradients.append(GradientCase(label, inputs: [("p", c.pType, c.p)], wrt: ["p"],
                                          body: { b, v in
                                              try b(.gatherGates(k: c.k, renormalize: renormalize), v["p"]!, try b(c.routeOp, v["p"]!))
                                          },
                                          reference: { v in
                                              let r = Oracle.route(v["p"]!, patches: c.patches, experts: c.experts, k: c.k,
                                                                   capacity: c.capacity)
                                              return Oracle.gates(v["p"]!, r, renormalize: renormalize)
                                          }))
        }
        return OpCase(fixtures: fixtures, gradients: gradients)
    }

    private static func gatherGatesGrad() throws -> OpCase {
        var fixtures: [OpFixture] = []
        for (i, (c, renormalize)) in gateCases.enumerated() {
            var fb = FixtureBuilder("gather_gates_grad \(c.label) renormalize \(renormalize)")
            let p = fb.input("p", c.pType, c.p)
            let (dg, dgd) = fb.input("dgates", .f32(c.patches, c.k), seed: 750 + UInt64(i))
            fb.expect("dp", try fb.b(.gatherGatesGrad(k: c.k, renormalize: renormalize), p, try fb.b(c.routeOp, p), dg),
                      .floats(Oracle.gatesGrad(c.p.doubles, dgd, c.routing, renormalize: renormalize)))
            fixtures.append(fb.fixture())
        }
        return OpCase(fixtures: fixtures)
    }

    // MARK: combine

    static let combineCases: [(RouteConfig, Int)] = [(overflowK2, 1), (roomK1, 0), (allK3, 1), (overflowK1, 2)]

    private static func combine() throws -> OpCase {
        var fixtures: [OpFixture] = [], gradients: [GradientCase] = []
        for (i, (c, halo)) in combineCases.enumerated() {
            let label = "combine \(c.label) halo \(halo)"
            let g = geometry(halo: halo), r = c.routing, yType = expertType(c, halo: halo)
            var fb = FixtureBuilder(label)
            let p = fb.input("p", c.pType, c.p)
            let (gates, gd) = fb.input("gates", .f32(c.patches, c.k), seed: 760 + UInt64(i))
            var ys: [ValueID] = [], yd: [[Double]] = []
            for e in 0..<c.experts {
                let (y, d) = fb.input("y\(e)", yType, seed: 765 + UInt64(10 * i + e))
                ys.append(y); yd.append(d)
            }
            fb.expect("out", try fb.b.apply(.combine(k: c.k, capacity: c.capacity, halo: halo), [gates, try fb.b(c.routeOp, p)] + ys)!,
                      .floats(Oracle.combine(gd, r, yd, g)))
            fixtures.append(fb.fixture())

            // Gradients for the gates and for each expert output (valid rows only: the loss
            // does not read an expert's rows past its count, and the gradient leaves them undefined).
            var inputs: [(String, TensorType, [Float])] = [("p", c.pType, c.p),
                                                           ("gates", .f32(c.patches, c.k), randomFloats(c.patches * c.k, seed: 770))]
            for e in 0..<c.experts { inputs.append(("y\(e)", yType, randomFloats(yType.floatCount, seed: 771 + UInt64(e)))) }
            var gradient = GradientCase(label, inputs: inputs, wrt: ["gates"] + (0..<c.experts).map { "y\($0)" },
                                        body: { b, v in
                                            let route = try b(c.routeOp, v["p"]!)
                                            return try b.apply(.combine(k: c.k, capacity: c.capacity, halo: halo),
                                                               [v["gates"]!, route] + (0..<c.experts).map { v["y\($0)"]! })!
                                        },
                                        reference: { v in
                                            let r = Oracle.route(v["p"]!, patches: c.patches, experts: c.experts, k: c.k,
                                                                 capacity: c.capacity)
                                            return Oracle.combine(v["gates"]!, r, (0..<c.experts).map { v["y\($0)"]! }, g)
                                        })
            for e in 0..<c.experts { gradient.validFloats["y\(e)"] = r.counts[e] * g.floats }
            gradients.append(gradient)
        }
        fixtures.append(try combineOrderFixture())
        return OpCase(fixtures: fixtures, gradients: gradients)
    }

    /// M2M.md section 5: "output patch = sum over its selected experts, in expert-index order, of
    /// gate x expert output". With k = 3 the float sum depends on the order: checked bit for bit
    /// against that sum in Float (patches 1, 2 and 4 rank the experts in another order).
    private static func combineOrderFixture() throws -> OpFixture {
        let c = allK3, halo = 1, g = geometry(halo: halo), r = c.routing
        var fb = FixtureBuilder("combine \(c.label) sums in expert-index order")
        let p = fb.input("p", c.pType, c.p)
        let gates = randomFloats(c.patches * c.k, seed: 799)
        let gv = fb.input("gates", .f32(c.patches, c.k), gates)
        let ys = (0..<c.experts).map { randomFloats(expertType(c, halo: halo).floatCount, seed: 800 + UInt64($0), in: -100...100) }
        let yv = ys.indices.map { fb.input("y\($0)", expertType(c, halo: halo), ys[$0]) }
        var expected = [Float](repeating: 0, count: c.patches * g.coreFloats)
        for n in 0..<c.patches {
            for e in 0..<c.experts {
                guard let j = r.slot(n, to: e) else { continue }
                for i in 0..<g.coreFloats {
                    expected[n * g.coreFloats + i] += gates[n * c.k + j] * ys[e][r.position[n][j] * g.floats + g.offset(core: i)]
                }
            }
        }
        fb.expect("out", try fb.b.apply(.combine(k: c.k, capacity: c.capacity, halo: halo), [gv, try fb.b(c.routeOp, p)] + yv)!,
                  .bits(expected))
        return fb.fixture()
    }

    private static func combineGradGates() throws -> OpCase {
        var fixtures: [OpFixture] = []
        for (i, (c, halo)) in combineCases.enumerated() {
            let g = geometry(halo: halo), yType = expertType(c, halo: halo)
            var fb = FixtureBuilder("combine_grad_gates \(c.label) halo \(halo)")
            let p = fb.input("p", c.pType, c.p)
            let (dy, dyd) = fb.input("dy", TensorType(.f32, [c.patches] + rowShape), seed: 780 + UInt64(i))
            var ys: [ValueID] = [], yd: [[Double]] = []
            for e in 0..<c.experts {
                let (y, d) = fb.input("y\(e)", yType, seed: 785 + UInt64(10 * i + e))
                ys.append(y); yd.append(d)
            }
            let route = try fb.b(c.routeOp, p)
            fb.expect("dgates", try fb.b.apply(.combineGradGates(k: c.k, capacity: c.capacity, halo: halo), [route, dy] + ys)!,
                      .floats(Oracle.combineGradGates(dyd, c.routing, yd, g)))
            fixtures.append(fb.fixture())
        }
        return OpCase(fixtures: fixtures)
    }

    private static func combineGradExpert() throws -> OpCase {
        var fixtures: [OpFixture] = []
        for (i, (c, halo)) in combineCases.enumerated() {
            let g = geometry(halo: halo), r = c.routing
            var fb = FixtureBuilder("combine_grad_expert \(c.label) halo \(halo)")
            let p = fb.input("p", c.pType, c.p)
            let (gates, gd) = fb.input("gates", .f32(c.patches, c.k), seed: 790 + UInt64(i))
            let (dy, dyd) = fb.input("dy", TensorType(.f32, [c.patches] + rowShape), seed: 795 + UInt64(i))
            let route = try fb.b(c.routeOp, p)
            for e in 0..<c.experts {
                fb.expect("dy\(e)", try fb.b(.combineGradExpert(expert: e, k: c.k, capacity: c.capacity, halo: halo), gates, route, dy),
                          .floats(Oracle.combineGradExpert(gd, r, dyd, g, expert: e), valid: r.counts[e] * g.floats))
            }
            fixtures.append(fb.fixture())
        }
        return OpCase(fixtures: fixtures)
    }
}

/// The oracle itself agrees with hand-derived tables (a failure here is in the test, not the kernel).
func XCTAssertEqualTables(_ a: [Int32], _ b: [Int32], _ label: String) {
    precondition(a == b, "\(label): the route oracle gives \(a), the hand-derived table is \(b)")
}

extension RoutingCases {
    /// `gelu` on an expert's routed samples of a chunk each (one tile per valid sample, as an
    /// M2M expert's activations at 32 x 32 x 32): k = 1 with room (counts 4, 1, 1 of 6).
    static func boundedPerSampleFixture() throws -> OpFixture {
        let c = roomK1
        let sampleShape = [128, 256], rowFloats = 128 * 256
        var fb = FixtureBuilder("gelu on bounded samples of a chunk each \(c.label)")
        let p = fb.input("p", c.pType, c.p)
        let (x, xd) = fb.input("x", TensorType(.f32, [c.patches] + sampleShape), seed: 1720, in: -4...4)
        let route = try fb.b(c.routeOp, p)
        let r = c.routing
        for e in 0..<c.experts {
            let d = try fb.b(.dispatch(expert: e, k: c.k, capacity: c.capacity), x, route)
            fb.expect("y\(e)", try fb.b(.gelu, d), .floats(Oracle.dispatch(xd, rowFloats: rowFloats, r, expert: e)
                .map { Reference.gelu($0) }, valid: r.counts[e] * rowFloats))
        }
        return fb.fixture()
    }
}
