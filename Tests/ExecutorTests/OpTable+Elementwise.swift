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
            .tanh: try tanh(),
            .stop_gradient: try stopGradient(),
            .reduce_sum: try complexShared(into: try reduce(isMax: false), reduceFixture: true),
            .reduce_max: try reduce(isMax: true),
            .broadcast: try complexShared(into: try complexBroadcast(into: try broadcast()), reduceFixture: false),
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

    /// tanh on [-3, 3] (gradient included), plus a sweep of [-9, 9] and tiny values through
    /// every branch of the rational approximation (clamp, |x| < 4e-4, the rational part),
    /// checked against Double tanh with a relative tolerance of 1e-6.
    private static func tanh() throws -> OpCase {
        var entry = try unary(.tanh, -3...3, Foundation.tanh)
        var sweep = (0..<4096).map { Float(-9 + 18 * Double($0) / 4095) }
        sweep += [0, -0, 1e-30, -1e-30, 3e-4, -3e-4, 4e-4, 5e-4, 7.9, -7.9, 7.91, 100, -100]
        var fb = FixtureBuilder("tanh sweep")
        let x = fb.input("x", .f32(sweep.count), sweep)
        let y = try fb.b(.tanh, x)
        fb.expect("y", y, .floats(sweep.map { Foundation.tanh(Double($0)) }))
        entry.fixtures.append(fb.fixture(tolerance: 1e-6))
        return entry
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

    /// broadcast of a c64 tensor: real and imaginary parts repeated alike.
    private static func complexBroadcast(into entry: OpCase) throws -> OpCase {
        var entry = entry
        let shape = [3, 2]
        for axis in [0, 2] {
            var fb = FixtureBuilder("broadcast c64 axis \(axis)")
            let (z, zd) = fb.input("z", TensorType(.c64, shape), seed: 556 + UInt64(axis))
            // A c64 element is a pair: broadcast the pairs as a trailing axis of 2 floats.
            fb.expect("y", try fb.b(.broadcast(axis: axis, size: 3), z),
                      .floats(Oracle.broadcast(zd, shape: shape + [2], axis: axis, size: 3)))
            entry.fixtures.append(fb.fixture())
        }
        return entry
    }

    /// A c64 weight shared by both mode blocks of a spectrum (the KNO's Koopman matrix):
    /// `irfft2(spectral_mix(x, reshape(broadcast(w, 0, 2), [2K, Ci, Co])))`. Its gradient with
    /// respect to w runs reduce_sum over c64 (the adjoint of the broadcast); the reference
    /// duplicates w in Double. With `reduceFixture`, also a forward fixture of reduce_sum on c64.
    private static func complexShared(into entry: OpCase, reduceFixture: Bool) throws -> OpCase {
        var entry = entry
        if reduceFixture {
            var fb = FixtureBuilder("reduce_sum c64 axis 1")
            let (z, zd) = fb.input("z", .c64(2, 3, 2), seed: 565)
            fb.expect("y", try fb.b(.reduceSum(axis: 1), z), .floats(Oracle.reduce(zd, shape: [2, 3, 2, 2], axis: 1, max: false)))
            entry.fixtures.append(fb.fixture())
        }
        let g = SpectralGrid(n: 2, h: 6, w: 8, c: 3, m1: 2, m2: 3)
        let half = g.m1 * g.m2
        let xType = TensorType.c64(g.modes, 2, 2), wType = TensorType.c64(half, 2, 3)
        let inverse = Op.irfft2(height: g.h, width: g.w, modes1: g.m1, modes2: g.m2)
        entry.gradients.append(GradientCase("c64 weight shared by both mode blocks",
            inputs: [("x", xType, randomFloats(xType.floatCount, seed: 566)), ("w", wType, randomFloats(wType.floatCount, seed: 567))],
            wrt: ["x", "w"],
            body: { b, v in
                let both = try b(.reshape(shape: [g.modes, 2, 3]), try b(.broadcast(axis: 0, size: 2), v["w"]!))
                return try b(inverse, try b(.spectralMix, v["x"]!, both))
            },
            reference: { v in
                Reference.irfft2(Reference.spectralMix(v["x"]!, v["w"]! + v["w"]!, modes: g.modes, batch: 2, ci: 2, co: 3), g)
            }))
        return entry
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
