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
        let bounded = try boundedFixture()
        conv.fixtures.append(bounded)
        gradInput.fixtures.append(bounded)
        gradWeight.fixtures.append(bounded)
        return [.conv2d: conv, .conv2d_grad_input: gradInput, .conv2d_grad_weight: gradWeight,
                .leaky_relu: try leakyRelu(), .leaky_relu_grad: try leakyReluGrad()]
    }

    /// The `windowed_sinc` kernel of `resample` (the CNO's anti-aliased resampling; its matrices
    /// are checked against numpy in WindowedSincTests): up by 2 and 4, down by 2 and 4, and the
    /// adjoint, each against the separable sum written cell by cell; gradients up and down.
    static func windowedSinc() throws -> (resample: OpCase, resampleGrad: OpCase) {
        var forward = OpCase(), adjoint = OpCase()
        let cases: [([Int], Int, Int)] = [([2, 4, 6, 3], 8, 12), ([1, 8, 4, 2], 4, 16), ([1, 8, 16, 2], 4, 4), ([2, 16, 8, 1], 4, 8)]
        for (index, (input, h, w)) in cases.enumerated() {
            let seed = 1500 + UInt64(10 * index)
            let x = TensorType.f32(input[0], input[1], input[2], input[3]), y = TensorType.f32(input[0], h, w, input[3])
            var fb = FixtureBuilder("resample windowed_sinc \(x) -> \(h)x\(w)")
            let (xv, xd) = fb.input("x", x, seed: seed)
            fb.expect("y", try fb.b(.resample(kernel: .windowedSinc, height: h, width: w), xv),
                      .floats(separable(xd, x.shape, to: [h, w], adjoint: false)))
            forward.fixtures.append(fb.fixture())
            var gb = FixtureBuilder("resample_grad windowed_sinc \(y) -> \(input[1])x\(input[2])")
            let (dy, dyd) = gb.input("dy", y, seed: seed + 1)
            gb.expect("dx", try gb.b(.resampleGrad(kernel: .windowedSinc, height: input[1], width: input[2]), dy),
                      .floats(separable(dyd, y.shape, to: [input[1], input[2]], adjoint: true)))
            adjoint.fixtures.append(gb.fixture())
        }
        for (index, (input, h, w)) in [([1, 4, 6, 2], 8, 12), ([1, 8, 8, 2], 4, 4)].enumerated() {
            let x = TensorType.f32(input[0], input[1], input[2], input[3])
            forward.gradients.append(GradientCase(
                "resample windowed_sinc \(x) -> \(h)x\(w)", inputs: [("x", x, randomFloats(x.elementCount, seed: 1550 + UInt64(index)))],
                wrt: ["x"], body: { b, v in try b(.resample(kernel: .windowedSinc, height: h, width: w), v["x"]!) },
                reference: { separable($0["x"]!, x.shape, to: [h, w], adjoint: false) }))
        }
        return (forward, adjoint)
    }

    /// `y[n, i, j, c] = sum_a sum_b A[i, a] B[j, b] x[n, a, b, c]` with the windowed-sinc matrices
    /// of `shape`'s grid onto `to`; `adjoint`: `x` is on the grid `to` maps from, and the sum
    /// runs over the output indices (`A^T dy B`).
    static func separable(_ x: [Double], _ shape: [Int], to: [Int], adjoint: Bool) -> [Double] {
        let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        let (ho, wo) = (to[0], to[1])
        // Forward: A maps h -> ho. Adjoint: the forward map was ho -> h; apply its transpose.
        let a = adjoint ? ResampleKernel.windowedSinc.matrix(from: ho, to: h) : ResampleKernel.windowedSinc.matrix(from: h, to: ho)
        let b = adjoint ? ResampleKernel.windowedSinc.matrix(from: wo, to: w) : ResampleKernel.windowedSinc.matrix(from: w, to: wo)
        func weightA(_ i: Int, _ r: Int) -> Double { adjoint ? a[r * ho + i] : a[i * h + r] }
        func weightB(_ j: Int, _ q: Int) -> Double { adjoint ? b[q * wo + j] : b[j * w + q] }
        var y = [Double](repeating: 0, count: n * ho * wo * c)
        for s in 0..<n {
            for i in 0..<ho {
                for j in 0..<wo {
                    for r in 0..<h {
                        for q in 0..<w {
                            let weight = weightA(i, r) * weightB(j, q)
                            for ch in 0..<c { y[((s * ho + i) * wo + j) * c + ch] += weight * x[((s * h + r) * w + q) * c + ch] }
                        }
                    }
                }
            }
        }
        return y
    }

    /// The three ops on an expert's capacity buffers (M2M's experts could run convolutions):
    /// `dispatch` with k = 1 and room (counts 4, 1, 1 of capacity 6), so each kernel runs only
    /// its valid samples and the weight gradient sums only those (rows past the count are
    /// undefined, compared for no output).
    static func boundedFixture() throws -> OpFixture {
        let c = RoutingCases.roomK1
        let s = Shape(n: c.capacity, h: 3, w: 4, ci: 2, co: 3, k: 3, periodic: true)
        let cells = s.h * s.w
        var fb = FixtureBuilder("conv2d family on bounded rows \(c.label)")
        let p = fb.input("p", c.pType, c.p)
        let (x, xd) = fb.input("x", .f32(c.patches, s.h, s.w, s.ci), seed: 1600)
        let (dy, dyd) = fb.input("dy", .f32(c.patches, s.h, s.w, s.co), seed: 1601)
        let (w, wd) = fb.input("w", s.weight, seed: 1602)
        let (b, bd) = fb.input("b", .f32(s.co), seed: 1603)
        let route = try fb.b(c.routeOp, p)
        let r = c.routing
        for e in 0..<c.experts {
            let dispatch = Op.dispatch(expert: e, k: c.k, capacity: c.capacity)
            let (xe, dye) = (try fb.b(dispatch, x, route), try fb.b(dispatch, dy, route))
            let xr = Oracle.dispatch(xd, rowFloats: cells * s.ci, r, expert: e)
            let dyr = Oracle.dispatch(dyd, rowFloats: cells * s.co, r, expert: e)
            let count = r.counts[e]
            precondition(count > 0 && count < c.capacity)
            fb.expect("y\(e)", try fb.b(s.op, xe, w, b), .floats(s.forward(xr, wd, bd), valid: count * cells * s.co))
            fb.expect("dx\(e)", try fb.b(.conv2dGradInput(kernel: s.k, periodic: s.periodic), dye, w),
                      .floats(s.gradInput(dyr, wd), valid: count * cells * s.ci))
            fb.expect("dw\(e)", try fb.b(.conv2dGradWeight(kernel: s.k, periodic: s.periodic), xe, dye),
                      .floats(s.gradWeight(xr, dyr)))
        }
        return fb.fixture()
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
