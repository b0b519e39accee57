import Foundation
import GraphIR

/// Table entries of the elementwise and shape primitives.
enum ElementwiseCases {
    static let type = TensorType.f32(2, 3, 5)

    static func all() throws -> [OpCode: OpCase] {
        [
            .sub: try binary(.sub, -1...1, -1...1, -),
            .mul: try binary(.mul, -1...1, -1...1, *),
            .div: try binary(.div, -1...1, 0.5...2, /, big: true),
            .affine: try affine(),
            .exp: try unary(.exp, -2...2, Foundation.exp),
            .log: try unary(.log, 0.25...2, Foundation.log),
            .sqrt: try unary(.sqrt, 0.25...2) { $0.squareRoot() },
            .stop_gradient: try stopGradient(),
            .reduce_sum: try reduce(isMax: false),
            .reduce_max: try reduce(isMax: true),
            .broadcast: try broadcast(),
            .reshape: try reshape(),
        ]
    }

    private static func unary(_ op: Op, _ range: ClosedRange<Float>, _ f: @escaping (Double) -> Double) throws -> OpCase {
        var fb = FixtureBuilder(op.name)
        let (x, xd) = fb.input("x", type, seed: 500, in: range)
        fb.expect("y", try fb.b(op, x), .floats(xd.map(f)))
        let data = randomFloats(type.floatCount, seed: 501, in: range)
        return OpCase(fixtures: [fb.fixture()], gradients: [
            GradientCase(op.name, inputs: [("x", type, data)], wrt: ["x"],
                         body: { b, v in try b(op, v["x"]!) }, reference: { $0["x"]!.map(f) }),
        ])
    }

    /// `big` adds a 40960-element fixture: two elementwise chunks, split over the threads.
    private static func binary(_ op: Op, _ ra: ClosedRange<Float>, _ rb: ClosedRange<Float>,
                               _ f: @escaping (Double, Double) -> Double, big: Bool = false) throws -> OpCase {
        var fixtures: [OpFixture] = []
        for t in [type] + (big ? [TensorType.f32(2, 64, 64, 5)] : []) {
            var fb = FixtureBuilder("\(op.name) \(t)")
            let (a, ad) = fb.input("a", t, seed: 510, in: ra), (b, bd) = fb.input("b", t, seed: 511, in: rb)
            fb.expect("y", try fb.b(op, a, b), .floats(zip(ad, bd).map(f)))
            fixtures.append(fb.fixture())
        }
        let a = randomFloats(type.floatCount, seed: 512, in: ra), b = randomFloats(type.floatCount, seed: 513, in: rb)
        // One operand read twice: the two contributions are summed (exactly 0 for a - a and a / a).
        var twice = GradientCase("\(op.name)(a, a)", inputs: [("a", type, b)], wrt: ["a"],
                                 body: { g, v in try g(op, v["a"]!, v["a"]!) }, reference: { $0["a"]!.map { f($0, $0) } })
        if op == .sub || op == .div { twice.zeroGradients = ["a"] }
        return OpCase(fixtures: fixtures, gradients: [
            GradientCase(op.name, inputs: [("a", type, a), ("b", type, b)], wrt: ["a", "b"],
                         body: { g, v in try g(op, v["a"]!, v["b"]!) },
                         reference: { zip($0["a"]!, $0["b"]!).map(f) }),
            twice,
        ])
    }

    private static func affine() throws -> OpCase {
        var fixtures: [OpFixture] = [], gradients: [GradientCase] = []
        for (scale, shift) in [(1.5, -0.25), (-2.0, 0.0), (0.0, 3.0)] {
            let op = Op.affine(scale: scale, shift: shift)
            var fb = FixtureBuilder("affine(\(scale), \(shift))")
            let (x, xd) = fb.input("x", type, seed: 520)
            fb.expect("y", try fb.b(op, x), .floats(xd.map { scale * $0 + shift }))
            fixtures.append(fb.fixture())
            if scale != 0 {
                gradients.append(GradientCase("affine(\(scale), \(shift))", inputs: [("x", type, randomFloats(30, seed: 521))],
                                              wrt: ["x"], body: { b, v in try b(op, v["x"]!) },
                                              reference: { $0["x"]!.map { scale * $0 + shift } }))
            }
        }
        return OpCase(fixtures: fixtures, gradients: gradients)
    }

    /// The identity forward; through autodiff, `x * stop_gradient(x)` has gradient `w x`, not `2 w x`.
    private static func stopGradient() throws -> OpCase {
        var fb = FixtureBuilder("stop_gradient")
        let (x, xd) = fb.input("x", type, seed: 530)
        let (w, wd) = fb.input("w", type, seed: 531)
        let held = try fb.b(.stopGradient, x)
        let loss = try fb.b(.reduceSum(axis: 0), try fb.b(.reshape(shape: [30]), try fb.b(.mul, try fb.b(.mul, x, held), w)))
        let grad = try Autodiff.appendBackward(to: &fb.b, loss: loss, wrt: [x])[0]
        fb.expect("y", held, .floats(xd))
        fb.expect("loss", loss, .floats([zip(zip(xd, xd), wd).reduce(0) { $0 + $1.0.0 * $1.0.1 * $1.1 }]))
        fb.expect("grad", grad, .floats(zip(xd, wd).map { $0 * $1 }))
        return OpCase(fixtures: [fb.fixture()])
    }

    private static let reduceShape = [2, 3, 4]

    /// reduce_sum and reduce_max over each axis. reduce_max carries no gradient: the softmax
    /// shift `exp(x - max)` differentiates as if the max were a constant.
    private static func reduce(isMax: Bool) throws -> OpCase {
        let t = TensorType(.f32, reduceShape)
        var fixtures: [OpFixture] = [], gradients: [GradientCase] = []
        for axis in 0..<3 {
            let op: Op = isMax ? .reduceMax(axis: axis) : .reduceSum(axis: axis)
            var fb = FixtureBuilder("\(op.name) axis \(axis)")
            let (x, xd) = fb.input("x", t, seed: 540 + UInt64(axis))
            fb.expect("y", try fb.b(op, x), .floats(Oracle.reduce(xd, shape: reduceShape, axis: axis, max: isMax)))
            fixtures.append(fb.fixture())
            if !isMax {
                gradients.append(GradientCase("reduce_sum axis \(axis)", inputs: [("x", t, randomFloats(24, seed: 545))],
                                              wrt: ["x"], body: { b, v in try b(op, v["x"]!) },
                                              reference: { Oracle.reduce($0["x"]!, shape: reduceShape, axis: axis, max: false) }))
            }
        }
        if isMax {
            var fb = FixtureBuilder("exp(x - reduce_max(x)) gradient")
            let (x, xd) = fb.input("x", t, seed: 546), (w, wd) = fb.input("w", t, seed: 547)
            let m = try fb.b(.broadcast(axis: 2, size: 4), try fb.b(.reduceMax(axis: 2), x))
            let y = try fb.b(.exp, try fb.b(.sub, x, m))
            let loss = try fb.b(.reduceSum(axis: 0), try fb.b(.reshape(shape: [24]), try fb.b(.mul, y, w)))
            let grad = try Autodiff.appendBackward(to: &fb.b, loss: loss, wrt: [x])[0]
            let maxima = Oracle.broadcast(Oracle.reduce(xd, shape: reduceShape, axis: 2, max: true), shape: [2, 3], axis: 2, size: 4)
            let yd = zip(xd, maxima).map { Foundation.exp($0 - $1) }
            fb.expect("y", y, .floats(yd))
            fb.expect("loss", loss, .floats([zip(yd, wd).reduce(0) { $0 + $1.0 * $1.1 }]))
            fb.expect("grad", grad, .floats(zip(yd, wd).map { $0 * $1 }))
            fixtures.append(fb.fixture())
        }
        return OpCase(fixtures: fixtures, gradients: gradients)
    }

    private static func broadcast() throws -> OpCase {
        let shape = [2, 3], t = TensorType(.f32, shape)
        var fixtures: [OpFixture] = [], gradients: [GradientCase] = []
        for axis in 0...2 {
            let op = Op.broadcast(axis: axis, size: 4)
            var fb = FixtureBuilder("broadcast axis \(axis)")
            let (x, xd) = fb.input("x", t, seed: 550 + UInt64(axis))
            fb.expect("y", try fb.b(op, x), .floats(Oracle.broadcast(xd, shape: shape, axis: axis, size: 4)))
            fixtures.append(fb.fixture())
            gradients.append(GradientCase("broadcast axis \(axis)", inputs: [("x", t, randomFloats(6, seed: 555))], wrt: ["x"],
                                          body: { b, v in try b(op, v["x"]!) },
                                          reference: { Oracle.broadcast($0["x"]!, shape: shape, axis: axis, size: 4) }))
        }
        return OpCase(fixtures: fixtures, gradients: gradients)
    }

    private static func reshape() throws -> OpCase {
        var fb = FixtureBuilder("reshape")
        let (x, xd) = fb.input("x", .f32(2, 3, 4), seed: 560)
        fb.expect("y", try fb.b(.reshape(shape: [4, 6]), x), .floats(xd))
        let (z, zd) = fb.input("z", .c64(3, 2), seed: 561)
        fb.expect("z6", try fb.b(.reshape(shape: [6]), z), .floats(zd))
        return OpCase(fixtures: [fb.fixture()], gradients: [
            GradientCase("reshape", inputs: [("x", .f32(2, 3, 4), randomFloats(24, seed: 562))], wrt: ["x"],
                         body: { b, v in try b(.reshape(shape: [6, 1, 4]), v["x"]!) }, reference: { $0["x"]! }),
        ])
    }
}
