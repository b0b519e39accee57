import Foundation
import GraphIR

/// Table entries of resample and resample_grad, against a per-output-cell Double oracle
/// written from PyTorch's definition of bicubic interpolation (not from the matrices the
/// kernel uses), and against values PyTorch's `F.interpolate` computed in float64.
enum ResampleCases {
    static func all() throws -> [OpCode: OpCase] {
        let bounded = try boundedFixture()
        var forward = try resample(), adjoint = try resampleGrad()
        forward.fixtures.append(bounded)
        adjoint.fixtures.append(bounded)
        return [.resample: forward, .resample_grad: adjoint]
    }

    /// Both ops on an expert's bounded rows (a dispatch's run-time count, as M2M's experts
    /// would use them): each expert's patches resampled 2 x 3 -> 5 x 4 and back by the
    /// adjoint, then combined; only the routed rows are computed and read.
    static func boundedFixture() throws -> OpFixture {
        let c = RoutingCases.overflowK1
        let shape = RoutingCases.rowShape, rowFloats = shape.reduce(1, *)
        var fb = FixtureBuilder("resample and resample_grad on bounded rows \(c.label)")
        let p = fb.input("p", c.pType, c.p)
        let (x, xd) = fb.input("x", TensorType(.f32, [c.patches] + shape), seed: 1530)
        let (gates, gd) = fb.input("gates", .f32(c.patches, c.k), seed: 1531)
        let route = try fb.b(c.routeOp, p)
        var outs: [ValueID] = [], reference: [[Double]] = []
        for e in 0..<c.experts {
            let d = try fb.b(.dispatch(expert: e, k: c.k, capacity: c.capacity), x, route)
            let up = try fb.b(.resample(kernel: .bicubic, height: 5, width: 4), d)
            outs.append(try fb.b(.resampleGrad(kernel: .bicubic, height: shape[0], width: shape[1]), up))
            let rows = Oracle.dispatch(xd, rowFloats: rowFloats, c.routing, expert: e)
            let upRows = BicubicOracle.resample(rows, [c.capacity] + shape, 5, 4)
            reference.append(BicubicOracle.adjoint(upRows, [c.capacity, 5, 4, shape[2]], shape[0], shape[1]))
        }
        fb.expect("y", try fb.b.apply(.combine(k: c.k, capacity: c.capacity, halo: 0), [gates, route] + outs)!,
                  .floats(Oracle.combine(gd, c.routing, reference, RoutingCases.geometry(halo: 0))))
        return fb.fixture()
    }

    /// (input `[N, H, W, C]`, output H, W): down and up on either axis, a 1-sample axis
    /// (all outputs read it), a 1-sample output (it reads the first input sample), the same size.
    static let shapes: [(input: [Int], height: Int, width: Int)] = [
        ([2, 5, 6, 3], 3, 9), ([1, 4, 4, 2], 8, 8), ([2, 8, 6, 1], 4, 3), ([2, 3, 1, 2], 5, 2), ([1, 4, 5, 2], 1, 1),
        ([1, 4, 6, 2], 4, 6),
    ]

    private static func resample() throws -> OpCase {
        var fixtures: [OpFixture] = [], gradients: [GradientCase] = []
        for (i, s) in shapes.enumerated() {
            var fb = FixtureBuilder("resample bicubic \(s.input) -> \(s.height)x\(s.width)")
            let (x, xd) = fb.input("x", TensorType(.f32, s.input), seed: 1500 + UInt64(i))
            fb.expect("y", try fb.b(.resample(kernel: .bicubic, height: s.height, width: s.width), x),
                      .floats(BicubicOracle.resample(xd, s.input, s.height, s.width)))
            fixtures.append(fb.fixture())
        }
        // PyTorch, float64: F.interpolate(x, size, mode="bicubic", align_corners=True) of this 3 x 4 field.
        let field: [Float] = [0.5, -1, 2, 0.25, 1.5, 0.75, -0.5, 3, -2, 1, 0, 0.5]
        let torch: [(Int, Int, [Double])] = [
            (5, 3, [0.5, 0.5234375, 0.25, 1.328125, 0.030517578125, 1.859375, 1.5, -0.2734375, 3.0, -0.15625,
                    0.15576171875, 2.0078125, -2.0, 0.734375, 0.5]),
            (2, 7, [0.5, -0.53125, -1.0, 0.5234375, 2.0, 1.40625, 0.25, -2.0, -0.40625, 1.0, 0.734375, 0.0, 0.15625, 0.5]),
        ]
        for (h, w, expected) in torch {
            var fb = FixtureBuilder("resample bicubic [1,3,4,1] -> \(h)x\(w) (PyTorch values)")
            let x = fb.input("x", .f32(1, 3, 4, 1), field)
            fb.expect("y", try fb.b(.resample(kernel: .bicubic, height: h, width: w), x), .floats(expected))
            fixtures.append(fb.fixture())
        }
        for (input, h, w) in [([1, 4, 5, 2], 7, 3), ([2, 6, 4, 1], 3, 8)] {
            let t = TensorType(.f32, input)
            gradients.append(GradientCase("resample bicubic \(input) -> \(h)x\(w)",
                                          inputs: [("x", t, randomFloats(t.floatCount, seed: 1510))], wrt: ["x"],
                                          body: { b, v in try b(.resample(kernel: .bicubic, height: h, width: w), v["x"]!) },
                                          reference: { BicubicOracle.resample($0["x"]!, input, h, w) }))
        }
        return OpCase(fixtures: fixtures, gradients: gradients)
    }

    private static func resampleGrad() throws -> OpCase {
        var fixtures: [OpFixture] = []
        for (i, s) in shapes.enumerated() {
            let output = [s.input[0], s.height, s.width, s.input[3]]
            var fb = FixtureBuilder("resample_grad bicubic \(output) -> \(s.input[1])x\(s.input[2])")
            let (dy, dyd) = fb.input("dy", TensorType(.f32, output), seed: 1520 + UInt64(i))
            fb.expect("dx", try fb.b(.resampleGrad(kernel: .bicubic, height: s.input[1], width: s.input[2]), dy),
                      .floats(BicubicOracle.adjoint(dyd, output, s.input[1], s.input[2])))
            fixtures.append(fb.fixture())
        }
        return OpCase(fixtures: fixtures)
    }
}

/// PyTorch's bicubic interpolation with `align_corners=True`, cell by cell in Double.
enum BicubicOracle {
    /// The four (source index, weight) taps of output sample `i` when `n` samples become `m`.
    static func taps(_ i: Int, from n: Int, to m: Int) -> [(index: Int, weight: Double)] {
        let source = m > 1 ? Double(i) * Double(n - 1) / Double(m - 1) : 0
        let base = min(Int(floor(source)), n - 1)
        let t = min(max(source - Double(base), 0), 1)
        // Keys' kernel W(d), a = -0.75, at the distance d of each tap.
        func keys(_ d: Double) -> Double {
            let (x, a) = (abs(d), -0.75)
            if x <= 1 { return (a + 2) * x * x * x - (a + 3) * x * x + 1 }
            if x < 2 { return a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a }
            return 0
        }
        return (-1...2).map { k in (min(max(base + k, 0), n - 1), keys(Double(k) - t)) }
    }

    /// `x[N, H, W, C]` -> `[N, height, width, C]`.
    static func resample(_ x: [Double], _ shape: [Int], _ height: Int, _ width: Int) -> [Double] {
        let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        var y = [Double](repeating: 0, count: n * height * width * c)
        for s in 0..<n {
            for i in 0..<height {
                for j in 0..<width {
                    for (p, a) in taps(i, from: h, to: height) {
                        for (q, b) in taps(j, from: w, to: width) {
                            for ch in 0..<c { y[((s * height + i) * width + j) * c + ch] += a * b * x[((s * h + p) * w + q) * c + ch] }
                        }
                    }
                }
            }
        }
        return y
    }

    /// The adjoint: each output cell's gradient scattered back onto the taps it read;
    /// `dy[N, H2, W2, C]` -> `[N, height, width, C]`.
    static func adjoint(_ dy: [Double], _ shape: [Int], _ height: Int, _ width: Int) -> [Double] {
        let (n, h2, w2, c) = (shape[0], shape[1], shape[2], shape[3])
        var dx = [Double](repeating: 0, count: n * height * width * c)
        for s in 0..<n {
            for i in 0..<h2 {
                for j in 0..<w2 {
                    for (p, a) in taps(i, from: height, to: h2) {
                        for (q, b) in taps(j, from: width, to: w2) {
                            for ch in 0..<c { dx[((s * height + p) * width + q) * c + ch] += a * b * dy[((s * h2 + i) * w2 + j) * c + ch] }
                        }
                    }
                }
            }
        }
        return dx
    }
}
