import Foundation
import GraphIR

/// A spectral convolution whose output grid differs from its input grid (the UNO's layers):
/// `rfft2` keeps modes on the input grid, `irfft2` evaluates them on the output grid (the
/// bottom block at rows `H2-m1..<H2`, scaled by `1/(H2 W2)`). Added to the irfft2 entry of
/// the table (forward against the Double DFTs of `Reference`, gradients of the input and the
/// weights against central differences, bit identity across thread counts).
enum GridChangeCases {
    /// (input grid, output grid H2 x W2): up on both axes; down to a grid whose Nyquist column
    /// is the last kept one; down on H, up on W.
    static let grids: [(input: SpectralGrid, height: Int, width: Int)] = [
        (SpectralGrid(n: 2, h: 8, w: 6, c: 3, m1: 2, m2: 3), 12, 10),
        (SpectralGrid(n: 2, h: 8, w: 6, c: 3, m1: 2, m2: 3), 4, 4),
        (SpectralGrid(n: 1, h: 8, w: 8, c: 2, m1: 3, m2: 2), 6, 12),
    ]
    static let outChannels = 2

    static func spectralConvolution(_ b: inout GraphBuilder, _ x: ValueID, _ w: ValueID, _ g: SpectralGrid,
                                    height: Int, width: Int) throws -> ValueID {
        let spectrum = try b(.rfft2(modes1: g.m1, modes2: g.m2), x)
        let mixed = try b(.spectralMix, spectrum, w)
        return try b(.irfft2(height: height, width: width, modes1: g.m1, modes2: g.m2), mixed)
    }

    static func reference(_ x: [Double], _ w: [Double], _ g: SpectralGrid, height: Int, width: Int) -> [Double] {
        let mixed = Reference.spectralMix(Reference.rfft2(x, g), w, modes: g.modes, batch: g.n, ci: g.c, co: outChannels)
        return Reference.irfft2(mixed, SpectralGrid(n: g.n, h: height, w: width, c: outChannels, m1: g.m1, m2: g.m2))
    }

    /// Fixtures and gradient checks to add to the table's entries.
    static func all() throws -> [OpCode: OpCase] {
        var fixtures: [OpFixture] = [], gradients: [GradientCase] = []
        for (i, (g, h2, w2)) in grids.enumerated() {
            let label = "spectral conv \(g) -> \(h2)x\(w2)"
            var fb = FixtureBuilder(label)
            let (x, xd) = fb.input("x", .f32(g.n, g.h, g.w, g.c), seed: 1600 + UInt64(i))
            let (w, wd) = fb.input("w", .c64(g.modes, g.c, outChannels), seed: 1610 + UInt64(i))
            fb.expect("y", try spectralConvolution(&fb.b, x, w, g, height: h2, width: w2),
                      .floats(reference(xd, wd, g, height: h2, width: w2)))
            fixtures.append(fb.fixture())
            let xType = TensorType.f32(g.n, g.h, g.w, g.c), wType = TensorType.c64(g.modes, g.c, outChannels)
            var gradient = GradientCase(label, inputs: [("x", xType, randomFloats(xType.floatCount, seed: 1620 + UInt64(i))),
                                                        ("w", wType, randomFloats(wType.floatCount, seed: 1630 + UInt64(i)))],
                                        wrt: ["x", "w"],
                                        body: { b, v in try spectralConvolution(&b, v["x"]!, v["w"]!, g, height: h2, width: w2) },
                                        reference: { reference($0["x"]!, $0["w"]!, g, height: h2, width: w2) })
            // Every 9th input and 7th weight float (the naive reference DFTs are slow).
            gradient.strides = ["x": 9, "w": 7]
            gradients.append(gradient)
        }
        return [.irfft2: OpCase(fixtures: fixtures, gradients: gradients)]
    }
}
