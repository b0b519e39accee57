import Foundation
import GraphIR

/// `mlp`, `mlp_grad` and a bounded `slice_flat` on an expert's routed rows (an M2M expert's
/// projection): `dispatch` with k = 1 and room (counts 4, 1, 1 of capacity 6), so each kernel
/// runs only its valid samples and the parameter gradients sum only those. Rows past a count
/// are undefined and compared for no output.
enum BoundedMLPCases {
    static let route = RoutingCases.roomK1
    /// Each patch is `[2, 3]` rows of k = 3 features; the mlp maps them to
    /// `RoutingCases.rowShape` (`[2, 3, 2]`), what `combine` reads.
    static let (k, hidden, n) = (3, 5, RoutingCases.rowShape[2])
    static let rowsPerPatch = RoutingCases.rowShape[0] * RoutingCases.rowShape[1]
    static let xType = TensorType.f32(route.patches, RoutingCases.rowShape[0], RoutingCases.rowShape[1], k)
    static let dyType = TensorType.f32(route.patches, RoutingCases.rowShape[0], RoutingCases.rowShape[1], n)
    static let weights: [(String, TensorType)] = [("w1", .f32(k, hidden)), ("b1", .f32(hidden)), ("w2", .f32(hidden, n)),
                                                  ("b2", .f32(n))]

    static func all() throws -> [OpCode: OpCase] {
        let bounded = try fixture()
        return [.mlp: OpCase(fixtures: [bounded], gradients: [gradientCase()]), .mlp_grad: OpCase(fixtures: [bounded]),
                .slice_flat: OpCase(fixtures: [bounded])]
    }

    /// Per expert: `mlp` of the routed rows, and `mlp_grad` taken apart by `slice_flat` as
    /// the gradient rule does (x's gradient bounded), against Double references of the
    /// routed rows only (`Oracle.dispatch` zero-fills past the count, which adds nothing).
    static func fixture() throws -> OpFixture {
        let r = route.routing
        var fb = FixtureBuilder("mlp family on bounded rows \(route.label)")
        let p = fb.input("p", route.pType, route.p)
        let (x, xd) = fb.input("x", xType, seed: 1700)
        let (dy, dyd) = fb.input("dy", dyType, seed: 1701)
        var w: [ValueID] = [], wd: [[Double]] = []
        for (i, (name, type)) in weights.enumerated() {
            let (v, d) = fb.input(name, type, seed: 1702 + UInt64(i))
            w.append(v)
            wd.append(d)
        }
        let table = try fb.b(route.routeOp, p)
        for e in 0..<route.experts {
            let dispatch = Op.dispatch(expert: e, k: route.k, capacity: route.capacity)
            let (xe, dye) = (try fb.b(dispatch, x, table), try fb.b(dispatch, dy, table))
            let xr = Oracle.dispatch(xd, rowFloats: rowsPerPatch * k, r, expert: e)
            let dyr = Oracle.dispatch(dyd, rowFloats: rowsPerPatch * n, r, expert: e)
            let (count, rows) = (r.counts[e], route.capacity * rowsPerPatch)
            precondition(count > 0 && count < route.capacity)
            fb.expect("y\(e)", try fb.b(.mlp, xe, w[0], w[1], w[2], w[3]),
                      .floats(Reference.mlp(xr, wd[0], wd[1], wd[2], wd[3], rows: rows, k: k, hidden: hidden, n: n),
                              valid: count * rowsPerPatch * n))
            let packed = try fb.b(.mlpGrad, dye, xe, w[0], w[1], w[2])
            let reference = Reference.mlpGrad(dyr, xr, wd[0], wd[1], wd[2], rows: rows, k: k, hidden: hidden, n: n)
            var start = 0
            for (name, type) in [("x", xType.bounded(0))] + weights {
                let count = type.elementCount, part = Array(reference[start..<start + count])
                let slice = try fb.b(.sliceFlat(start: start, shape: type.shape, bounded: type.isBounded), packed)
                fb.expect("d\(name)\(e)", slice,
                          type.isBounded ? .floats(part, valid: r.counts[e] * rowsPerPatch * k) : .floats(part))
                start += count
            }
        }
        return fb.fixture()
    }

    /// dispatch -> mlp -> combine with fixed gates: the gradient rule's bounded slice and
    /// `mlp_grad` over valid rows, against central differences of the Double reference.
    static func gradientCase() -> GradientCase {
        let rowFloats = rowsPerPatch * k
        let inputs: [(String, TensorType, [Float])] =
            [("p", route.pType, route.p), ("x", xType, randomFloats(xType.elementCount, seed: 1710)),
             ("gates", .f32(route.patches, route.k), randomFloats(route.patches * route.k, seed: 1711))]
            + weights.enumerated().map { i, w in (w.0, w.1, randomFloats(w.1.elementCount, seed: 1712 + UInt64(i))) }
        return GradientCase("mlp on bounded rows \(route.label)", inputs: inputs, wrt: ["x", "w1", "b1", "w2", "b2"],
                            body: { b, v in
                                let table = try b(route.routeOp, v["p"]!)
                                let outs = try (0..<route.experts).map { e -> ValueID in
                                    let d = try b(.dispatch(expert: e, k: route.k, capacity: route.capacity), v["x"]!, table)
                                    return try b(.mlp, d, v["w1"]!, v["b1"]!, v["w2"]!, v["b2"]!)
                                }
                                return try b.apply(.combine(k: route.k, capacity: route.capacity, halo: 0),
                                                   [v["gates"]!, table] + outs)!
                            },
                            reference: { v in
                                let r = Oracle.route(v["p"]!, patches: route.patches, experts: route.experts, k: route.k,
                                                     capacity: route.capacity)
                                let outs = (0..<route.experts).map { e in
                                    Reference.mlp(Oracle.dispatch(v["x"]!, rowFloats: rowFloats, r, expert: e),
                                                  v["w1"]!, v["b1"]!, v["w2"]!, v["b2"]!,
                                                  rows: route.capacity * rowsPerPatch, k: k, hidden: hidden, n: n)
                                }
                                return Oracle.combine(v["gates"]!, r, outs, RoutingCases.geometry(halo: 0))
                            })
    }
}
