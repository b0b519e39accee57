import Foundation
import GraphIR

/// Table entries of the ops that existing tests already check against references: each names
/// those tests, and adds one small fixture (for bit identity across thread counts, checked
/// against `Reference`) and, for differentiable ops, finite-difference gradient checks.
enum ExistingCases {
    /// A graph of `op` alone on random inputs `(name, type, range)`, its result checked by `reference`.
    static func single(_ label: String, _ op: Op, _ inputs: [(String, TensorType, ClosedRange<Float>)], seed: UInt64,
                       tolerance: Double = 1e-5, reference: ([[Double]]) -> [Double]) throws -> OpFixture {
        var fb = FixtureBuilder(label)
        var ids: [ValueID] = [], data: [[Double]] = []
        for (i, (name, type, range)) in inputs.enumerated() {
            let (v, d) = fb.input(name, type, seed: seed + UInt64(i), in: range)
            ids.append(v); data.append(d)
        }
        fb.expect("y", try fb.b.apply(op, ids)!, .floats(reference(data)))
        return fb.fixture(tolerance: tolerance)
    }

    // Shapes: rows [2, 3, 4] of k = 3 -> n = 5 channels; a 6 x 8 grid with 2 x 3 kept modes.
    static let (k, n, rows) = (3, 5, 24)
    static func rowsOf(_ c: Int) -> TensorType { .f32(2, 3, 4, c) }
    static let grid = SpectralGrid(n: 2, h: 6, w: 8, c: 2, m1: 2, m2: 3)
    /// 2 m1 = H and the Nyquist column kept.
    static let fullGrid = SpectralGrid(n: 1, h: 4, w: 4, c: 2, m1: 2, m2: 3)

    static func all() throws -> [OpCode: OpCase] {
        let g = grid
        let r: ClosedRange<Float> = -1...1
        var table: [OpCode: OpCase] = [:]
        table[.linear] = OpCase(existingTests: ["DenseOpTests.testLinear"], fixtures: [
            try single("linear", .linear, [("x", rowsOf(k), r), ("w", .f32(k, n), r), ("b", .f32(n), r)], seed: 900) {
                Reference.linear($0[0], $0[1], $0[2], rows: rows, k: k, n: n)
            },
            // One output column: the sgemv path.
            try single("linear n=1", .linear, [("x", rowsOf(k), r), ("w", .f32(k, 1), r), ("b", .f32(1), r)], seed: 901) {
                Reference.linear($0[0], $0[1], $0[2], rows: rows, k: k, n: 1)
            },
        ], gradients: [linearGradient()])
        table[.linear_gelu] = OpCase(existingTests: ["DenseOpTests.testLinearGelu"], fixtures: [
            try single("linear_gelu", .linearGelu, [("x", rowsOf(k), r), ("w", .f32(k, n), r), ("b", .f32(n), r)], seed: 903) {
                Reference.linear($0[0], $0[1], $0[2], rows: rows, k: k, n: n).map { Reference.gelu($0) }
            },
        ])
        table[.mlp] = OpCase(existingTests: ["DenseOpTests.testMLP"], fixtures: [
            try single("mlp", .mlp, [("x", rowsOf(k), r), ("w1", .f32(k, 6), r), ("b1", .f32(6), r), ("w2", .f32(6, 2), r),
                                     ("b2", .f32(2), r)], seed: 906) {
                Reference.mlp($0[0], $0[1], $0[2], $0[3], $0[4], rows: rows, k: k, hidden: 6, n: 2)
            },
            try single("mlp n=1", .mlp, [("x", rowsOf(k), r), ("w1", .f32(k, 6), r), ("b1", .f32(6), r), ("w2", .f32(6, 1), r),
                                         ("b2", .f32(1), r)], seed: 907) {
                Reference.mlp($0[0], $0[1], $0[2], $0[3], $0[4], rows: rows, k: k, hidden: 6, n: 1)
            },
        ], gradients: [mlpGradient(out: 2), mlpGradient(out: 1)])
        table[.mlp_grad] = OpCase(existingTests: ["DenseOpTests.testMLPGrad"], fixtures: try [2, 1].map { out in
            try single("mlp_grad n=\(out)", .mlpGrad, [("dy", rowsOf(out), r), ("x", rowsOf(k), r), ("w1", .f32(k, 6), r),
                                                      ("b1", .f32(6), r), ("w2", .f32(6, out), r)], seed: 908 + UInt64(out) * 5) {
                Reference.mlpGrad($0[0], $0[1], $0[2], $0[3], $0[4], rows: rows, k: k, hidden: 6, n: out)
            }
        })
        table[.slice_flat] = OpCase(fixtures: [
            try single("slice_flat", .sliceFlat(start: 3, shape: [2, 4], bounded: false), [("x", .f32(20), r)], seed: 919) { Array($0[0][3..<11]) },
            try single("slice_flat whole", .sliceFlat(start: 0, shape: [5, 4], bounded: false), [("x", .f32(20), r)], seed: 920) { $0[0] },
        ])
        table[.gelu] = OpCase(existingTests: ["ElementwiseOpTests.testGelu"], fixtures: [
            try single("gelu", .gelu, [("x", .f32(2, 3, 5), -6...6)], seed: 911) { $0[0].map { Reference.gelu($0) } },
            // Samples of at least a chunk (32768 floats): one tile per sample.
            try single("gelu per-sample tiles", .gelu, [("x", .f32(3, 128, 257), -6...6)], seed: 921) {
                $0[0].map { Reference.gelu($0) }
            },
        ], gradients: [
            GradientCase("gelu", inputs: [("x", .f32(2, 3, 5), randomFloats(30, seed: 912, in: -3...3))], wrt: ["x"],
                         body: { b, v in try b(.gelu, v["x"]!) }, reference: { $0["x"]!.map { Reference.gelu($0) } }),
        ])
        table[.add] = OpCase(existingTests: ["ElementwiseOpTests.testAdd"], fixtures: [
            try single("add", .add, [("a", .f32(2, 3, 5), r), ("b", .f32(2, 3, 5), r)], seed: 913) { zip($0[0], $0[1]).map(+) },
            try single("add c64", .add, [("a", .c64(4, 3), r), ("b", .c64(4, 3), r)], seed: 915) { zip($0[0], $0[1]).map(+) },
            try single("add per-sample tiles", .add, [("a", .f32(3, 128, 257), r), ("b", .f32(3, 128, 257), r)], seed: 922) {
                zip($0[0], $0[1]).map(+)
            },
        ], gradients: [
            GradientCase("add", inputs: [("a", .f32(2, 3, 5), randomFloats(30, seed: 917)),
                                         ("b", .f32(2, 3, 5), randomFloats(30, seed: 918))],
                         wrt: ["a", "b"], body: { b, v in try b(.add, v["a"]!, v["b"]!) }, reference: { zip($0["a"]!, $0["b"]!).map(+) }),
        ])
        var fill = FixtureBuilder("fill")
        fill.expect("y", try fill.b(.fill(value: 2.5, shape: [3, 4])), .floats(Array(repeating: 2.5, count: 12)))
        fill.expect("scalar", try fill.b(.fill(value: -1, shape: [])), .floats([-1]))
        table[.fill] = OpCase(existingTests: ["ElementwiseOpTests.testFill"], fixtures: [fill.fixture()])
        table[.append_coordinates] = OpCase(existingTests: ["ElementwiseOpTests.testAppendCoordinates"], fixtures: [
            try single("append_coordinates", .appendCoordinates, [("x", rowsOf(2), r)], seed: 920) {
                appendCoordinates($0[0], [2, 3, 4, 2])
            },
        ], gradients: [
            GradientCase("append_coordinates", inputs: [("x", .f32(1, 3, 4, 2), randomFloats(24, seed: 921))], wrt: ["x"],
                         body: { b, v in try b(.appendCoordinates, v["x"]!) },
                         reference: { appendCoordinates($0["x"]!, [1, 3, 4, 2]) }),
        ])
        table[.slice_channels] = OpCase(existingTests: ["ElementwiseOpTests.testSliceChannels"], fixtures: [
            try single("slice_channels", .sliceChannels(start: 1, count: 3), [("x", rowsOf(5), r)], seed: 922) { slice($0[0], 5, 1, 3) },
        ], gradients: [
            GradientCase("slice_channels", inputs: [("x", .f32(1, 3, 4, 5), randomFloats(60, seed: 923))], wrt: ["x"],
                         body: { b, v in try b(.sliceChannels(start: 1, count: 3), v["x"]!) }, reference: { slice($0["x"]!, 5, 1, 3) }),
        ])
        table[.pad_channels] = OpCase(existingTests: ["ElementwiseOpTests.testPadChannels"], fixtures: [
            try single("pad_channels", .padChannels(start: 1, total: 5), [("x", rowsOf(2), r)], seed: 924) { pad($0[0], 2, 1, 5) },
        ], gradients: [
            GradientCase("pad_channels", inputs: [("x", .f32(1, 3, 4, 2), randomFloats(24, seed: 925))], wrt: ["x"],
                         body: { b, v in try b(.padChannels(start: 1, total: 5), v["x"]!) }, reference: { pad($0["x"]!, 2, 1, 5) }),
        ])
        table[.concat_channels] = OpCase(existingTests: ["ElementwiseOpTests.testConcatChannels"], fixtures: [
            try single("concat_channels", .concatChannels, [("a", rowsOf(2), r), ("b", rowsOf(3), r)], seed: 926) {
                concat($0[0], 2, $0[1], 3)
            },
        ], gradients: [
            GradientCase("concat_channels", inputs: [("a", .f32(1, 3, 4, 2), randomFloats(24, seed: 928)),
                                                     ("b", .f32(1, 3, 4, 3), randomFloats(36, seed: 929))], wrt: ["a", "b"],
                         body: { b, v in try b(.concatChannels, v["a"]!, v["b"]!) }, reference: { concat($0["a"]!, 2, $0["b"]!, 3) }),
        ])
        table[.rfft2] = OpCase(existingTests: ["SpectralOpTests.testRfft2MatchesDirectDFT"], fixtures: [
            try single("rfft2", g.forward, [("x", g.realType, r)], seed: 930) { Reference.rfft2($0[0], g) },
        ], gradients: [grid, fullGrid].map(spectralGradient))
        table[.irfft2] = OpCase(existingTests: ["SpectralOpTests.testIrfft2MatchesC2RSemantics"], fixtures: [
            try single("irfft2", g.inverse, [("spectrum", g.spectrumType, r)], seed: 931) { Reference.irfft2($0[0], g) },
        ], gradients: [grid, fullGrid].map { g in
            GradientCase("irfft2 \(g)", inputs: [("s", g.spectrumType, randomFloats(g.spectrumType.floatCount, seed: 932))], wrt: ["s"],
                         body: { b, v in try b(g.inverse, v["s"]!) }, reference: { Reference.irfft2($0["s"]!, g) })
        })
        let (modes, batch) = (g.modes, 2)
        table[.spectral_mix] = OpCase(existingTests: ["SpectralOpTests.testSpectralMix"], fixtures: [
            try single("spectral_mix", .spectralMix, [("x", .c64(modes, batch, 2), r), ("w", .c64(modes, 2, 3), r)], seed: 933) {
                Reference.spectralMix($0[0], $0[1], modes: modes, batch: batch, ci: 2, co: 3)
            },
        ], gradients: [spectralMixGradient()])
        table[.relative_l2_loss] = OpCase(existingTests: ["LossOpTests.testRelativeL2Loss"], fixtures: [
            try single("relative_l2_loss", .relativeL2Loss, [("p", .f32(3, 4, 5), r), ("target", .f32(3, 4, 5), r)], seed: 935) {
                [Reference.relativeL2Loss($0[0], $0[1], samples: 3)]
            },
        ], gradients: [
            GradientCase("relative_l2_loss", inputs: [("p", .f32(3, 4, 5), randomFloats(60, seed: 936)),
                                                      ("target", .f32(3, 4, 5), randomFloats(60, seed: 937))], wrt: ["p"],
                         body: { b, v in try b(.relativeL2Loss, v["p"]!, v["target"]!) },
                         reference: { [Reference.relativeL2Loss($0["p"]!, $0["target"]!, samples: 3)] }),
        ])
        table[.linear_grad_input] = OpCase(existingTests: ["DenseOpTests.testLinearGradInput"], fixtures: [
            try single("linear_grad_input", .linearGradInput, [("dy", rowsOf(n), r), ("w", .f32(k, n), r)], seed: 940) {
                Reference.linearGradInput($0[0], $0[1], rows: rows, k: k, n: n)
            },
            // One column of dy: the outer-product path.
            try single("linear_grad_input n=1", .linearGradInput, [("dy", rowsOf(1), r), ("w", .f32(k, 1), r)], seed: 941) {
                Reference.linearGradInput($0[0], $0[1], rows: rows, k: k, n: 1)
            },
        ])
        table[.linear_grad_input_gelu] = OpCase(existingTests: ["DenseOpTests.testLinearGradInputGelu"], fixtures: [
            try single("linear_grad_input_gelu", .linearGradInputGelu,
                       [("dy", rowsOf(n), r), ("w", .f32(k, n), r), ("x", rowsOf(k), -3...3)], seed: 942) {
                zip(Reference.linearGradInput($0[0], $0[1], rows: rows, k: k, n: n), $0[2]).map { $0 * Reference.geluDerivative($1) }
            },
            try single("linear_grad_input_gelu n=1", .linearGradInputGelu,
                       [("dy", rowsOf(1), r), ("w", .f32(k, 1), r), ("x", rowsOf(k), -3...3)], seed: 943) {
                zip(Reference.linearGradInput($0[0], $0[1], rows: rows, k: k, n: 1), $0[2]).map { $0 * Reference.geluDerivative($1) }
            },
        ])
        table[.linear_grad_weight] = OpCase(existingTests: ["DenseOpTests.testLinearGradWeight"], fixtures: [
            try single("linear_grad_weight", .linearGradWeight, [("x", rowsOf(k), r), ("dy", rowsOf(n), r)], seed: 945) {
                Reference.linearGradWeight($0[0], $0[1], rows: rows, k: k, n: n)
            },
            try single("linear_grad_weight n=1", .linearGradWeight, [("x", rowsOf(k), r), ("dy", rowsOf(1), r)], seed: 946) {
                Reference.linearGradWeight($0[0], $0[1], rows: rows, k: k, n: 1)
            },
        ])
        table[.sum_rows] = OpCase(existingTests: ["DenseOpTests.testSumRows"], fixtures: [
            try single("sum_rows", .sumRows, [("dy", rowsOf(n), r)], seed: 947) { Reference.sumRows($0[0], rows: rows, n: n) },
        ])
        table[.gelu_grad] = OpCase(existingTests: ["ElementwiseOpTests.testGeluGrad"], fixtures: [
            try single("gelu_grad", .geluGrad, [("x", .f32(2, 3, 5), -6...6), ("dy", .f32(2, 3, 5), r)], seed: 948) {
                zip($0[0], $0[1]).map { Reference.geluDerivative($0) * $1 }
            },
        ])
        table[.rfft2_grad] = OpCase(existingTests: ["SpectralGradientTests.testRfft2GradIsGradientOfRfft2"], fixtures: [
            try single("rfft2_grad", .rfft2Grad(height: g.h, width: g.w, modes1: g.m1, modes2: g.m2), [("dY", g.spectrumType, r)],
                       seed: 950) { Reference.rfft2Gradient($0[0], g) },
        ])
        table[.irfft2_grad] = OpCase(existingTests: ["SpectralGradientTests.testIrfft2GradIsGradientOfIrfft2"], fixtures: [
            try single("irfft2_grad", .irfft2Grad(modes1: g.m1, modes2: g.m2), [("dy", g.realType, r)], seed: 951) {
                Reference.irfft2Gradient($0[0], g)
            },
        ])
        table[.spectral_mix_grad_input] = OpCase(existingTests: ["SpectralOpTests.testSpectralMixGradInput"], fixtures: [
            try single("spectral_mix_grad_input", .spectralMixGradInput, [("dY", .c64(modes, batch, 3), r), ("w", .c64(modes, 2, 3), r)],
                       seed: 952) { Reference.spectralMixGradInput($0[0], $0[1], modes: modes, batch: batch, ci: 2, co: 3) },
        ])
        table[.spectral_mix_grad_weight] = OpCase(existingTests: ["SpectralOpTests.testSpectralMixGradWeight"], fixtures: [
            try single("spectral_mix_grad_weight", .spectralMixGradWeight,
                       [("x", .c64(modes, batch, 2), r), ("dY", .c64(modes, batch, 3), r)], seed: 954) {
                Reference.spectralMixGradWeight($0[0], $0[1], modes: modes, batch: batch, ci: 2, co: 3)
            },
        ])
        var lossGrad = FixtureBuilder("relative_l2_loss_grad")
        let (p, pd) = lossGrad.input("p", .f32(3, 4, 5), seed: 956), (y, yd) = lossGrad.input("target", .f32(3, 4, 5), seed: 957)
        let dL = lossGrad.input("dL", .f32(), [0.75])
        lossGrad.expect("dp", try lossGrad.b(.relativeL2LossGrad, p, y, dL),
                        .floats(Reference.relativeL2LossGrad(pd, yd, seed: 0.75, samples: 3)))
        table[.relative_l2_loss_grad] = OpCase(existingTests: ["LossOpTests.testRelativeL2LossGrad"], fixtures: [lossGrad.fixture()])
        table[.adam] = OpCase(existingTests: ["AdamTests.testAdamWithL2WeightDecay", "AdamTests.testAdamWWithDecoupledWeightDecay"],
                              fixtures: try [false, true].map(adam))
        return table
    }

    private static func adam(decoupled: Bool) throws -> OpFixture {
        let (beta1, beta2, epsilon, weightDecay, lr, step) = (0.9, 0.99, 1e-6, 0.1, 0.05, 3.0)
        let type = TensorType.f32(4, 7)
        var fb = FixtureBuilder("adam decoupled \(decoupled)")
        let (param, pd) = fb.persistent("p", type, state: false, seed: 960)
        let (m, md) = fb.persistent("m", type, state: true, seed: 961, in: -0.1...0.1)
        let (v, vd) = fb.persistent("v", type, state: true, seed: 962, in: 0...0.05)
        let grad = fb.input("g", type, randomFloats(28, seed: 963))
        let hyper = fb.input("hyper", .f32(2), [Float(lr), Float(step)])
        try fb.b.apply(.adam(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, decoupled: decoupled),
                       [param, grad, m, v, hyper])
        let expected = Reference.adam(param: pd, grad: randomFloats(28, seed: 963), m: md, v: vd, lr: lr, step: step,
                                      beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, decoupled: decoupled)
        fb.expectValue("p", .floats(expected.param))
        fb.expectValue("m", .floats(expected.m))
        fb.expectValue("v", .floats(expected.v))
        return fb.fixture()
    }

    private static func linearGradient() -> GradientCase {
        GradientCase("linear", inputs: [("x", .f32(2, 3, 3), randomFloats(18, seed: 970)), ("w", .f32(3, 4), randomFloats(12, seed: 971)),
                                        ("b", .f32(4), randomFloats(4, seed: 972))], wrt: ["x", "w", "b"],
                     body: { b, v in try b(.linear, v["x"]!, v["w"]!, v["b"]!) },
                     reference: { Reference.linear($0["x"]!, $0["w"]!, $0["b"]!, rows: 6, k: 3, n: 4) })
    }

    /// The mlp through its packed gradient (mlp_grad, then slice_flat for each input).
    private static func mlpGradient(out: Int) -> GradientCase {
        let inputs: [(String, TensorType, [Float])] = [
            ("x", .f32(2, 3, 3), randomFloats(18, seed: 975)), ("w1", .f32(3, 6), randomFloats(18, seed: 976)),
            ("b1", .f32(6), randomFloats(6, seed: 977)), ("w2", .f32(6, out), randomFloats(6 * out, seed: 978)),
            ("b2", .f32(out), randomFloats(out, seed: 979)),
        ]
        return GradientCase("mlp n=\(out)", inputs: inputs, wrt: ["x", "w1", "b1", "w2", "b2"],
                            body: { b, v in try b(.mlp, v["x"]!, v["w1"]!, v["b1"]!, v["w2"]!, v["b2"]!) },
                            reference: { v in Reference.mlp(v["x"]!, v["w1"]!, v["b1"]!, v["w2"]!, v["b2"]!, rows: 6, k: 3, hidden: 6, n: out) })
    }

    /// rfft2 read out through a fixed spectral_mix (mixing channels) and irfft2.
    private static func spectralGradient(_ g: SpectralGrid) -> GradientCase {
        let wType = TensorType.c64(g.modes, g.c, g.c)
        return GradientCase("rfft2 \(g)", inputs: [("x", g.realType, randomFloats(g.realCount, seed: 973)),
                                                  ("w", wType, randomFloats(wType.floatCount, seed: 974))], wrt: ["x"],
                            body: { b, v in try b(g.inverse, try b(.spectralMix, try b(g.forward, v["x"]!), v["w"]!)) },
                            reference: { v in
                                let mixed = Reference.spectralMix(Reference.rfft2(v["x"]!, g), v["w"]!, modes: g.modes, batch: g.n,
                                                                  ci: g.c, co: g.c)
                                return Reference.irfft2(mixed, g)
                            })
    }

    private static func spectralMixGradient() -> GradientCase {
        let g = SpectralGrid(n: 2, h: 6, w: 8, c: 3, m1: 2, m2: 3)
        let xType = TensorType.c64(g.modes, 2, 2), wType = TensorType.c64(g.modes, 2, 3)
        return GradientCase("spectral_mix", inputs: [("x", xType, randomFloats(xType.floatCount, seed: 975)),
                                                     ("w", wType, randomFloats(wType.floatCount, seed: 976))], wrt: ["x", "w"],
                            body: { b, v in try b(g.inverse, try b(.spectralMix, v["x"]!, v["w"]!)) },
                            reference: { v in
                                Reference.irfft2(Reference.spectralMix(v["x"]!, v["w"]!, modes: g.modes, batch: 2, ci: 2, co: 3), g)
                            })
    }

    // Channel layouts (last axis), per pixel.
    static func appendCoordinates(_ x: [Double], _ s: [Int]) -> [Double] {
        var out: [Double] = []
        for n in 0..<s[0] {
            for i in 0..<s[1] {
                for j in 0..<s[2] {
                    let p = ((n * s[1] + i) * s[2] + j) * s[3]
                    out += x[p..<(p + s[3])] + [Double(j) / Double(s[2]), Double(i) / Double(s[1])]
                }
            }
        }
        return out
    }

    static func slice(_ x: [Double], _ c: Int, _ start: Int, _ count: Int) -> [Double] {
        stride(from: 0, to: x.count, by: c).flatMap { x[($0 + start)..<($0 + start + count)] }
    }

    static func pad(_ x: [Double], _ c: Int, _ start: Int, _ total: Int) -> [Double] {
        var out: [Double] = []
        for p in stride(from: 0, to: x.count, by: c) {
            for i in 0..<total { out.append(i >= start && i < start + c ? x[p + i - start] : 0) }
        }
        return out
    }

    static func concat(_ a: [Double], _ ca: Int, _ b: [Double], _ cb: Int) -> [Double] {
        var out: [Double] = []
        for p in 0..<(a.count / ca) {
            out += a[(p * ca)..<((p + 1) * ca)]
            out += b[(p * cb)..<((p + 1) * cb)]
        }
        return out
    }
}
