import Executor
import GraphIR

/// One FNO layer with its loss and full backward pass: rfft2, spectral_mix,
/// irfft2, gelu, linear, relative L2 loss, then every gradient op back to dx.
enum TrainingStepGraph {
    static let outputs = ["loss", "dlw", "dlb", "dsw", "dx"]

    static let (h, w, c, co, m1, m2) = (8, 8, 3, 4, 2, 3)

    static func make(batch: Int = 5) throws -> Graph {
        var b = GraphBuilder(name: "training_step")
        let x = b.input("x", .f32(batch, h, w, c))
        let target = b.input("target", .f32(batch, h, w, co))
        let sw = b.parameter("sw", .c64(2 * m1 * m2, c, c))
        let lw = b.parameter("lw", .f32(c, co))
        let lb = b.parameter("lb", .f32(co))
        let s = try b(.rfft2(modes1: m1, modes2: m2), x)
        let mixed = try b(.spectralMix, s, sw)
        let y = try b(.irfft2(height: h, width: w, modes1: m1, modes2: m2), mixed)
        let a = try b(.gelu, y)
        let p = try b(.linear, a, lw, lb)
        let loss = try b(.relativeL2Loss, p, target)
        let one = try b(.fill(value: 1, shape: []))
        let dp = try b(.relativeL2LossGrad, p, target, one)
        let dlw = try b(.linearGradWeight, a, dp)
        let dlb = try b(.sumRows, dp)
        let da = try b(.linearGradInput, dp, lw)
        let dy = try b(.geluGrad, y, da)
        let dmixed = try b(.irfft2Grad(modes1: m1, modes2: m2), dy)
        let dsw = try b(.spectralMixGradWeight, s, dmixed)
        let ds = try b(.spectralMixGradInput, dmixed, sw)
        let dx = try b(.rfft2Grad(height: h, width: w, modes1: m1, modes2: m2), ds)
        for (name, v) in zip(outputs, [loss, dlw, dlb, dsw, dx]) { b.output(name, v) }
        return b.graph
    }

    /// Feeds every input, parameter and state of `program` with seeded random data; returns it by name.
    @discardableResult
    static func feedRandom(_ program: ExecutableProgram) -> [String: [Float]] {
        var fed: [String: [Float]] = [:]
        for (i, v) in program.graph.values.enumerated() {
            guard let name = v.kind.name else { continue }
            fed[name] = randomFloats(v.type.floatCount, seed: 200 + UInt64(i))
            program.feed(name, fed[name]!)
        }
        return fed
    }

    /// Bit patterns of every output.
    static func outputBits(_ program: ExecutableProgram) -> [[UInt32]] {
        outputs.map { program.read($0).map(\.bitPattern) }
    }
}
