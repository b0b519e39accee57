import GraphIR

/// Table entries of the convolution ops (`conv2d` and its two gradients) and `leaky_relu`,
/// checked against direct Double loops: the forward pass as the defining sum, the input
/// gradient as the scatter of each output cell's gradient onto the cells it read (not the
/// flipped-kernel convolution the kernel runs), the weight gradient as the sum over cells.
enum ConvolutionCases {
    /// A convolution's shape: `x[n, h, w, ci]`, `weight[k, k, ci, co]`.
    struct Shape: CustomStringConvertible {
        var n, h, w, ci, co, k: Int
        var periodic: Bool
        var x: TensorType { .f32(n, h, w, ci) }
        var y: TensorType { .f32(n, h, w, co) }
        var weight: TensorType { .f32(k, k, ci, co) }
        var op: Op { .conv2d(kernel: k, periodic: periodic) }
        var description: String { "\(n)x\(h)x\(w)x\(ci)->\(co) k\(k)\(periodic ? " periodic" : " zeros")" }

        /// Calls `body(sample, row, column, source row, source column, dh, dw)` for every output
        /// cell and kernel offset whose source cell is inside the grid or wrapped into it.
        func forEachTap(_ body: (Int, Int, Int, Int, Int, Int, Int) -> Void) {
            let p = (k - 1) / 2
            for s in 0..<n {
                for i in 0..<h {
                    for j in 0..<w {
                        for dh in 0..<k {
                            for dw in 0..<k {
                                var (si, sj) = (i + dh - p, j + dw - p)
                                if periodic {
                                    si = (si % h + h) % h; sj = (sj % w + w) % w
                                } else if si < 0 || si >= h || sj < 0 || sj >= w {
                                    continue
                                }
                                body(s, i, j, si, sj, dh, dw)
                            }
                        }
                    }
                }
            }
        }

        func forward(_ x: [Double], _ weight: [Double], _ b: [Double]) -> [Double] {
            var y = [Double](repeating: 0, count: n * h * w * co)
            for cell in 0..<(n * h * w) {
                for o in 0..<co { y[cell * co + o] = b[o] }
            }
            forEachTap { s, i, j, si, sj, dh, dw in
                let out = ((s * h + i) * w + j) * co, src = ((s * h + si) * w + sj) * ci
                for c in 0..<ci {
                    for o in 0..<co { y[out + o] += x[src + c] * weight[((dh * k + dw) * ci + c) * co + o] }
                }
            }
            return y
        }

        func gradInput(_ dy: [Double], _ weight: [Double]) -> [Double] {
            var dx = [Double](repeating: 0, count: n * h * w * ci)
            forEachTap { s, i, j, si, sj, dh, dw in
                let out = ((s * h + i) * w + j) * co, src = ((s * h + si) * w + sj) * ci
                for c in 0..<ci {
                    for o in 0..<co { dx[src + c] += dy[out + o] * weight[((dh * k + dw) * ci + c) * co + o] }
                }
            }
            return dx
        }

        func gradWeight(_ x: [Double], _ dy: [Double]) -> [Double] {
            var dw = [Double](repeating: 0, count: k * k * ci * co)
            forEachTap { s, i, j, si, sj, a, b in
                let out = ((s * h + i) * w + j) * co, src = ((s * h + si) * w + sj) * ci
                for c in 0..<ci {
                    for o in 0..<co { dw[((a * k + b) * ci + c) * co + o] += x[src + c] * dy[out + o] }
                }
            }
            return dw
        }
    }

    /// Small grids both ways, kernels 1, 3 and 5 (5 on a 5-row grid: every tap wraps once), and
    /// 256-channel grids 62 cells wide whose padded rows (64 cells) take two row blocks (4, then 1).
    static let shapes: [Shape] = [
        Shape(n: 2, h: 5, w: 6, ci: 3, co: 4, k: 3, periodic: false),
        Shape(n: 2, h: 5, w: 6, ci: 3, co: 4, k: 3, periodic: true),
        Shape(n: 1, h: 5, w: 6, ci: 2, co: 3, k: 5, periodic: true),
        Shape(n: 1, h: 5, w: 6, ci: 2, co: 3, k: 5, periodic: false),
        Shape(n: 2, h: 3, w: 4, ci: 3, co: 2, k: 1, periodic: false),
    ]
    static let blocked = Shape(n: 2, h: 5, w: 62, ci: 256, co: 2, k: 3, periodic: true)
    /// The block size follows the wider side: 256 output channels (the input gradient gathers them).
    static let blockedGradInput = Shape(n: 1, h: 5, w: 62, ci: 2, co: 256, k: 3, periodic: false)
    static let slope = 0.01

    static func all() throws -> [OpCode: OpCase] {
        var conv = OpCase(), gradInput = OpCase(), gradWeight = OpCase()
        for (index, s) in (shapes + [blocked, blockedGradInput]).enumerated() {
            let seed = 1200 + UInt64(10 * index)
            var fb = FixtureBuilder("conv2d \(s)")
            let (x, xd) = fb.input("x", s.x, seed: seed)
            let (w, wd) = fb.input("w", s.weight, seed: seed + 1)
            let (b, bd) = fb.input("b", .f32(s.co), seed: seed + 2)
            fb.expect("y", try fb.b(s.op, x, w, b), .floats(s.forward(xd, wd, bd)))
            conv.fixtures.append(fb.fixture())

            var gi = FixtureBuilder("conv2d_grad_input \(s)")
            let (dy, dyd) = gi.input("dy", s.y, seed: seed + 3)
            let (w2, w2d) = gi.input("w", s.weight, seed: seed + 4)
            gi.expect("dx", try gi.b(.conv2dGradInput(kernel: s.k, periodic: s.periodic), dy, w2), .floats(s.gradInput(dyd, w2d)))
            gradInput.fixtures.append(gi.fixture())

            var gw = FixtureBuilder("conv2d_grad_weight \(s)")
            let (x3, x3d) = gw.input("x", s.x, seed: seed + 5)
            let (dy3, dy3d) = gw.input("dy", s.y, seed: seed + 6)
            gw.expect("dw", try gw.b(.conv2dGradWeight(kernel: s.k, periodic: s.periodic), x3, dy3), .floats(s.gradWeight(x3d, dy3d)))
            gradWeight.fixtures.append(gw.fixture())
        }
        // Zero and periodic borders with k = 3, and k = 5 wrapping every tap; every second weight.
        let gradientShapes = [Shape(n: 1, h: 4, w: 5, ci: 2, co: 3, k: 3, periodic: false),
                              Shape(n: 2, h: 3, w: 4, ci: 2, co: 2, k: 3, periodic: true),
                              Shape(n: 1, h: 5, w: 5, ci: 1, co: 2, k: 5, periodic: true)]
        for (index, shape) in gradientShapes.enumerated() {
            let seed = 1300 + UInt64(10 * index)
            var check = GradientCase(
                "conv2d \(shape)",
                inputs: [("x", shape.x, randomFloats(shape.x.elementCount, seed: seed)),
                         ("w", shape.weight, randomFloats(shape.weight.elementCount, seed: seed + 1)),
                         ("b", .f32(shape.co), randomFloats(shape.co, seed: seed + 2))],
                wrt: ["x", "w", "b"],
                body: { b, v in try b(shape.op, v["x"]!, v["w"]!, v["b"]!) },
                reference: { shape.forward($0["x"]!, $0["w"]!, $0["b"]!) })
            check.strides = ["w": 2]
            conv.gradients.append(check)
        }
        return [.conv2d: conv, .conv2d_grad_input: gradInput, .conv2d_grad_weight: gradWeight,
                .leaky_relu: try leakyRelu(), .leaky_relu_grad: try leakyReluGrad()]
    }

    static func leakyRelu(_ x: Double) -> Double { x > 0 ? x : slope * x }

    /// Values at least 0.1 away from the kink at 0 (the central differences never straddle it).
    static func awayFromZero(_ count: Int, seed: UInt64) -> [Float] {
        randomFloats(count, seed: seed, in: -1...1).map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }
    }

    private static func leakyRelu() throws -> OpCase {
        let type = TensorType.f32(2, 3, 5)
        var fb = FixtureBuilder("leaky_relu")
        let data = awayFromZero(type.elementCount, seed: 1400)
        let x = fb.input("x", type, data)
        fb.expect("y", try fb.b(.leakyRelu(slope: slope), x), .floats(data.map { leakyRelu(Double($0)) }))
        return OpCase(fixtures: [fb.fixture()], gradients: [
            GradientCase("leaky_relu", inputs: [("x", type, awayFromZero(type.elementCount, seed: 1401))], wrt: ["x"],
                         body: { b, v in try b(.leakyRelu(slope: slope), v["x"]!) },
                         reference: { $0["x"]!.map(leakyRelu) }),
        ])
    }

    private static func leakyReluGrad() throws -> OpCase {
        let type = TensorType.f32(2, 3, 5)
        var fb = FixtureBuilder("leaky_relu_grad")
        let (x, xd) = fb.input("x", type, seed: 1410)
        let (dy, dyd) = fb.input("dy", type, seed: 1411)
        fb.expect("dx", try fb.b(.leakyReluGrad(slope: slope), x, dy), .floats(zip(xd, dyd).map { $0 > 0 ? $1 : slope * $1 }))
        return OpCase(fixtures: [fb.fixture()])
    }
}
