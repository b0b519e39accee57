import XCTest

/// The whole compiled training step (planned arena, every kernel in sequence)
/// against the same computation composed from the Double reference ops.
final class TrainingStepTests: XCTestCase {
    func testTrainingStepMatchesComposedReference() throws {
        typealias T = TrainingStepGraph
        let batch = 3
        let program = try compile(try T.make(batch: batch), threads: 2)
        let fed = T.feedRandom(program)
        program.run()

        let g = SpectralGrid(n: batch, h: T.h, w: T.w, c: T.c, m1: T.m1, m2: T.m2)
        let (rows, modes) = (batch * T.h * T.w, g.modes)
        let (x, target) = (fed["x"]!.map(Double.init), fed["target"]!.map(Double.init))
        let (sw, lw, lb) = (fed["sw"]!.map(Double.init), fed["lw"]!.map(Double.init), fed["lb"]!.map(Double.init))
        let s = Reference.rfft2(x, g)
        let mixed = Reference.spectralMix(s, sw, modes: modes, batch: batch, ci: T.c, co: T.c)
        let y = Reference.irfft2(mixed, g)
        let a = y.map(Reference.gelu)
        let p = Reference.linear(a, lw, lb, rows: rows, k: T.c, n: T.co)
        let dp = Reference.relativeL2LossGrad(p, target, seed: 1, samples: batch)
        let da = Reference.linearGradInput(dp, lw, rows: rows, k: T.c, n: T.co)
        let dmixed = Reference.irfft2Gradient(zip(y, da).map { Reference.geluDerivative($0) * $1 }, g)
        let ds = Reference.spectralMixGradInput(dmixed, sw, modes: modes, batch: batch, ci: T.c, co: T.c)

        assertClose(program.read("loss"), [Reference.relativeL2Loss(p, target, samples: batch)], "loss")
        assertClose(program.read("dlw"), Reference.linearGradWeight(a, dp, rows: rows, k: T.c, n: T.co), "dlw")
        assertClose(program.read("dlb"), Reference.sumRows(dp, rows: rows, n: T.co), "dlb")
        assertClose(program.read("dsw"),
                    Reference.spectralMixGradWeight(s, dmixed, modes: modes, batch: batch, ci: T.c, co: T.c), "dsw")
        assertClose(program.read("dx"), Reference.rfft2Gradient(ds, g), "dx")
    }
}
