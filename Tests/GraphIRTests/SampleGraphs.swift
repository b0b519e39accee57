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

        let m = b.state("adam.m.proj.weight", .f32(8, 1))
        let v = b.state("adam.v.proj.weight", .f32(8, 1))
        let hyper = b.input("hyper", .f32(2))
        try b.apply(.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 1e-4, decoupled: true), [w1, dW1, m, v, hyper])

        let fused = try b(.linearGelu, a, w0, b0)
        let w2 = b.parameter("mlp.weight", .f32(4, 2)), b2 = b.parameter("mlp.bias", .f32(2))
        let mlp = try b(.mlp, a, w0, b0, w2, b2)

        b.output("loss", loss)
        b.output("fused", fused)
        b.output("mlp", mlp)
        b.output("fused.grad", fusedGrad)

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
