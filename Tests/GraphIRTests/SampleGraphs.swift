import GraphIR

/// Small graphs shared by the tests.
enum SampleGraphs {
    /// A tiny FNO-like training step that uses every op in `Op.allNames`, with inputs
    /// declared between nodes and an output for every gradient nothing else reads.
    static func everyOp() throws -> Graph {
        var b = GraphBuilder(name: "every \"op\"")
        let (m1, m2) = (1, 2)
        let x = b.input("x", .f32(2, 4, 4, 1))
        let w0 = b.parameter("lift.weight", .f32(3, 4))
        let b0 = b.parameter("lift.bias", .f32(4))
        let spectralWeight = b.parameter("spectral.weight", .c64(4, 4, 4))
        let w1 = b.parameter("proj.weight", .f32(8, 1))
        let b1 = b.parameter("proj.bias", .f32(1))

        let a = try b(.appendCoordinates, x)
        let h = try b(.linear, a, w0, b0)
        let g = try b(.gelu, h)
        let s = try b(.sliceChannels(start: 1, count: 2), g)
        let p = try b(.padChannels(start: 1, total: 4), s)
        let spectrum = try b(.rfft2(modes1: m1, modes2: m2), g)
        let mixed = try b(.spectralMix, spectrum, spectralWeight)
        let back = try b(.irfft2(height: 4, width: 4, modes1: m1, modes2: m2), mixed)
        let sum = try b(.add, back, p)
        let cat = try b(.concatChannels, sum, g)
        let pred = try b(.linear, cat, w1, b1)
        let target = b.input("y", .f32(2, 4, 4, 1))
        let loss = try b(.relativeL2Loss, pred, target)

        let dLoss = try b(.fill(value: 1, shape: []))
        let dPred = try b(.relativeL2LossGrad, pred, target, dLoss)
        let dCat = try b(.linearGradInput, dPred, w1)
        let dW1 = try b(.linearGradWeight, cat, dPred)
        let dB1 = try b(.sumRows, dPred)
        let dSum = try b(.sliceChannels(start: 0, count: 4), dCat)
        let dG = try b(.sliceChannels(start: 4, count: 4), dCat)
        let dH = try b(.geluGrad, h, dG)
        let dMixed = try b(.irfft2Grad(modes1: m1, modes2: m2), dSum)
        let dSpectrum = try b(.spectralMixGradInput, dMixed, spectralWeight)
        let dSpectralWeight = try b(.spectralMixGradWeight, spectrum, dMixed)
        let dG2 = try b(.rfft2Grad(height: 4, width: 4, modes1: m1, modes2: m2), dSpectrum)

        let fusedGrad = try b(.linearGradInputGelu, dPred, w1, cat)
        let fusedGradAdd = try b(.linearGradInputAdd, dPred, w1, cat)
        let fusedGradAddGelu = try b(.linearGradInputAddGelu, dPred, w1, fusedGradAdd, cat)

        let m = b.state("adam.m.proj.weight", .f32(8, 1))
        let v = b.state("adam.v.proj.weight", .f32(8, 1))
        let hyper = b.input("hyper", .f32(2))
        try b.apply(.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 1e-4, decoupled: true), [w1, dW1, m, v, hyper])

        let fused = try b(.linearGelu, a, w0, b0)
        let w2 = b.parameter("mlp.weight", .f32(4, 2)), b2 = b.parameter("mlp.bias", .f32(2))
        let mlp = try b(.mlp, a, w0, b0, w2, b2)
        let mlpGrad = try b(.mlpGrad, mlp, a, w0, b0, w2)
        let dMLPWeight = try b(.sliceFlat(start: 2 * 4 * 4 * 3, shape: [3, 4], bounded: false), mlpGrad)
        let residual = try b(.linearAdd, a, w0, b0, h)
        let residualGelu = try b(.linearAddGelu, a, w0, b0, residual)

        // M2M: patches, router features from primitives, routing, bounded expert buffers.
        let field = b.input("field", .f32(1, 8, 8, 1))
        let patches = try b(.extractPatches(scale: 2, halo: 1), field)
        let cores = try b(.extractPatches(scale: 2, halo: 0), field)
        let energies = try b(.bandEnergies(bands: 2), cores)
        let logEnergies = try b(.log, try b(.affine(scale: 1, shift: 1e-6), energies))
        let centroid = try b(.reshape(shape: [4, 1]), try b(.spectralCentroid, cores))
        let features = try b(.concatChannels, logEnergies, try b(.stopGradient, centroid))
        let shift = try b(.broadcast(axis: 1, size: 3), try b(.reduceMax(axis: 1), features))
        let exps = try b(.exp, try b(.sub, features, shift))
        let probabilities = try b(.div, exps, try b(.broadcast(axis: 1, size: 3), try b(.reduceSum(axis: 1), exps)))
        let route = try b(.route(k: 2, capacity: 3), probabilities)
        let gates = try b(.gatherGates(k: 2, renormalize: true), probabilities, route)
        let experts = try (0..<3).map { try b(.dispatch(expert: $0, k: 2, capacity: 3), patches, route) }
        let outputs = [try b(.gelu, experts[0]), try b(.mul, experts[1], experts[1]), experts[2]]
        // An expert's projection gradient on its routed rows, x's part bounded as x is.
        let expertW1 = b.parameter("expert.w1", .f32(1, 4)), expertB1 = b.parameter("expert.b1", .f32(4))
        let expertW2 = b.parameter("expert.w2", .f32(4, 1))
        let expertGrad = try b(.mlpGrad, experts[2], experts[2], expertW1, expertB1, expertW2)
        b.output("m2m.d.expert.x", try b(.sliceFlat(start: 0, shape: [3, 6, 6, 1], bounded: true), expertGrad))
        let combined = try b.apply(.combine(k: 2, capacity: 3, halo: 1), [gates, route] + outputs)!
        let merged = try b(.mergePatches(scale: 2, halo: 0), combined)
        let dPatches = try b(.dispatchGrad(expert: 0, k: 2, capacity: 3, patches: 4), outputs[0], route)
        let dGates = try b.apply(.combineGradGates(k: 2, capacity: 3, halo: 1), [route, combined] + outputs)!
        let dExpert = try b(.combineGradExpert(expert: 1, k: 2, capacity: 3, halo: 1), gates, route, combined)
        b.output("m2m.merged", merged)
        b.output("m2m.d.patches", dPatches)
        b.output("m2m.d.p", try b(.gatherGatesGrad(k: 2, renormalize: true), probabilities, route, dGates))
        b.output("m2m.d.expert", dExpert)
        b.output("m2m.d.cores", try b(.bandEnergiesGrad(bands: 2), cores, energies))
        b.output("m2m.d.field", try b(.extractPatchesGrad(scale: 2, halo: 1), patches))
        b.output("m2m.d.merged", try b(.mergePatchesGrad(scale: 2, halo: 0), merged))
        b.output("m2m.sqrt", try b(.sqrt, exps))
        b.output("kno.tanh", try b(.tanh, exps))
        let resampled = try b(.resample(kernel: .bicubic, height: 3, width: 6), x)
        b.output("uno.resampled", resampled)
        b.output("uno.d.resampled", try b(.resampleGrad(kernel: .bicubic, height: 4, width: 4), resampled))

        // CNO: a periodic 3x3 convolution, its gradients, the leaky ReLU and its gradient.
        let convWeight = b.parameter("conv.weight", .f32(3, 3, 1, 2)), convBias = b.parameter("conv.bias", .f32(2))
        let convolved = try b(.conv2d(kernel: 3, periodic: true), field, convWeight, convBias)
        let activated = try b(.leakyRelu(slope: 0.01), convolved)
        let dActivated = try b(.leakyReluGrad(slope: 0.01), convolved, activated)
        b.output("cno.d.field", try b(.conv2dGradInput(kernel: 3, periodic: true), dActivated, convWeight))
        b.output("cno.d.weight", try b(.conv2dGradWeight(kernel: 3, periodic: true), field, dActivated))

        b.output("loss", loss)
        b.output("fused", fused)
        b.output("mlp", mlp)
        b.output("d.mlp.weight", dMLPWeight)
        b.output("fused.grad", fusedGrad)
        b.output("fused.grad.add.gelu", fusedGradAddGelu)
        b.output("fused.residual.gelu", residualGelu)

        b.output("d.proj.bias", dB1)
        b.output("d.h", dH)
        b.output("d.spectral.weight", dSpectralWeight)
        b.output("d.g", dG2)
        return b.graph
    }

    /// `y = gelu(x)`, the smallest graph that passes `verify()`.
    static func gelu() -> Graph {
        var b = GraphBuilder(name: "gelu")
        let x = b.input("x", .f32(2, 3))
        b.output("y", try! b(.gelu, x))
        return b.graph
    }
}
