import Foundation
import GraphIR

/// Table entries of band_energies (+grad), spectral_centroid and the multi-scale patch ops (+grads).
enum PatchCases {
    static func all() throws -> [OpCode: OpCase] {
        [
            .band_energies: try bandEnergies(),
            .band_energies_grad: try bandEnergiesGrad(),
            .spectral_centroid: try spectralCentroid(),
            .extract_patches: try extractPatches(),
            .merge_patches: try mergePatches(),
            .extract_patches_grad: try extractPatchesGrad(),
            .merge_patches_grad: try mergePatchesGrad(),
        ]
    }

    /// Patches `[Np, P, Q, 1]` of random data; `constant` patches hold one repeated value.
    static func patchData(_ np: Int, _ p: Int, _ q: Int, seed: UInt64, constant: Set<Int> = []) -> [Float] {
        var x = randomFloats(np * p * q, seed: seed)
        for n in constant { for i in 0..<(p * q) { x[n * p * q + i] = 0.375 } }
        return x
    }

    /// (patches, P, Q, bands, constant patches): 8 x 8 puts modes exactly on the 1/4 and 1/2
    /// edges (upper band), 5 x 6 has odd rows, and bands 2, 3, 5 keep the edges dyadic.
    static let spectrumShapes: [(n: Int, p: Int, q: Int, bands: Int, constant: Set<Int>)] = [
        (3, 8, 8, 4, [1]), (2, 5, 6, 3, []), (1, 8, 8, 5, []), (2, 4, 8, 2, []), (1, 6, 6, 4, []),
        // More bands than 2 P Q: 1 x 1 patches (DC only, all bands 0) and 2 x 2 patches with 12 bands.
        (5, 1, 1, 4, []), (4, 2, 2, 12, []),
    ]

    private static func bandEnergies() throws -> OpCase {
        var fixtures: [OpFixture] = []
        for (i, s) in spectrumShapes.enumerated() {
            var fb = FixtureBuilder("band_energies \(s.n)x\(s.p)x\(s.q) bands \(s.bands)")
            let data = patchData(s.n, s.p, s.q, seed: 600 + UInt64(i), constant: s.constant)
            let x = fb.input("x", .f32(s.n, s.p, s.q, 1), data)
            fb.expect("energies", try fb.b(.bandEnergies(bands: s.bands), x),
                      .floats(Oracle.bandEnergies(data.doubles, patches: s.n, p: s.p, q: s.q, bands: s.bands)))
            fixtures.append(fb.fixture())
        }
        var gradients: [GradientCase] = []
        for (n, p, q, bands) in [(2, 8, 8, 4), (1, 5, 6, 3)] {
            let t = TensorType.f32(n, p, q, 1)
            gradients.append(GradientCase("band_energies \(n)x\(p)x\(q) bands \(bands)",
                                          inputs: [("x", t, patchData(n, p, q, seed: 610))], wrt: ["x"],
                                          body: { b, v in try b(.bandEnergies(bands: bands), v["x"]!) },
                                          reference: { Oracle.bandEnergies($0["x"]!, patches: n, p: p, q: q, bands: bands) }))
        }
        return OpCase(fixtures: fixtures, gradients: gradients)
    }

    private static func bandEnergiesGrad() throws -> OpCase {
        var fixtures: [OpFixture] = []
        for (i, s) in spectrumShapes.enumerated() {
            var fb = FixtureBuilder("band_energies_grad \(s.n)x\(s.p)x\(s.q) bands \(s.bands)")
            let data = patchData(s.n, s.p, s.q, seed: 620 + UInt64(i), constant: s.constant)
            let x = fb.input("x", .f32(s.n, s.p, s.q, 1), data)
            let (dE, dEd) = fb.input("dE", .f32(s.n, s.bands), seed: 630 + UInt64(i))
            fb.expect("dx", try fb.b(.bandEnergiesGrad(bands: s.bands), x, dE),
                      .floats(Oracle.bandEnergiesGrad(data.doubles, dEd, patches: s.n, p: s.p, q: s.q, bands: s.bands)))
            fixtures.append(fb.fixture())
        }
        return OpCase(fixtures: fixtures)
    }

    private static func spectralCentroid() throws -> OpCase {
        var fixtures: [OpFixture] = []
        for (i, s) in spectrumShapes.enumerated() {
            var fb = FixtureBuilder("spectral_centroid \(s.n)x\(s.p)x\(s.q)")
            let data = patchData(s.n, s.p, s.q, seed: 640 + UInt64(i), constant: s.constant)
            let x = fb.input("x", .f32(s.n, s.p, s.q, 1), data)
            fb.expect("centroid", try fb.b(.spectralCentroid, x),
                      .floats(Oracle.spectralCentroid(data.doubles, patches: s.n, p: s.p, q: s.q)))
            fixtures.append(fb.fixture())
        }
        return OpCase(fixtures: fixtures)
    }

    /// (field, scale, halo): a halo of 3 around 2 x 3 cores reaches past the 4 x 6 field; around
    /// 1 x 2 cores of a 2 x 4 field it wraps more than once on both sides.
    static let patchShapes: [(field: [Int], scale: Int, halo: Int)] = [
        ([2, 4, 6, 2], 2, 1), ([2, 4, 6, 1], 2, 3), ([1, 4, 6, 3], 1, 0), ([1, 8, 8, 1], 4, 0), ([1, 6, 6, 2], 3, 2),
        ([2, 2, 4, 2], 2, 3),
    ]

    static func patchType(_ f: [Int], _ s: Int, _ h: Int) -> TensorType {
        .f32(f[0] * s * s, f[1] / s + 2 * h, f[2] / s + 2 * h, f[3])
    }

    private static func extractPatches() throws -> OpCase {
        var fixtures: [OpFixture] = [], gradients: [GradientCase] = []
        for (i, (f, s, h)) in patchShapes.enumerated() {
            var fb = FixtureBuilder("extract_patches \(f) s\(s) h\(h)")
            let (x, xd) = fb.input("x", TensorType(.f32, f), seed: 650 + UInt64(i))
            fb.expect("patches", try fb.b(.extractPatches(scale: s, halo: h), x),
                      .floats(Oracle.extractPatches(xd, field: f, scale: s, halo: h)))
            fixtures.append(fb.fixture())
        }
        for (f, s, h) in [([1, 4, 4, 1], 2, 1), ([1, 4, 6, 1], 2, 3), ([1, 2, 4, 1], 2, 5)] {
            gradients.append(GradientCase("extract_patches \(f) s\(s) h\(h)",
                                          inputs: [("x", TensorType(.f32, f), randomFloats(f.reduce(1, *), seed: 655))],
                                          wrt: ["x"], body: { b, v in try b(.extractPatches(scale: s, halo: h), v["x"]!) },
                                          reference: { Oracle.extractPatches($0["x"]!, field: f, scale: s, halo: h) }))
        }
        return OpCase(fixtures: fixtures, gradients: gradients)
    }

    private static func mergePatches() throws -> OpCase {
        var fixtures: [OpFixture] = [], gradients: [GradientCase] = []
        for (i, (f, s, h)) in patchShapes.enumerated() {
            var fb = FixtureBuilder("merge_patches \(f) s\(s) h\(h)")
            let (x, xd) = fb.input("patches", patchType(f, s, h), seed: 660 + UInt64(i))
            fb.expect("field", try fb.b(.mergePatches(scale: s, halo: h), x),
                      .floats(Oracle.mergePatches(xd, field: f, scale: s, halo: h)))
            fixtures.append(fb.fixture())
        }
        for (f, s, h) in [([1, 4, 4, 1], 2, 1), ([1, 4, 6, 2], 2, 0)] {
            let t = patchType(f, s, h)
            gradients.append(GradientCase("merge_patches \(f) s\(s) h\(h)", inputs: [("x", t, randomFloats(t.floatCount, seed: 665))],
                                          wrt: ["x"], body: { b, v in try b(.mergePatches(scale: s, halo: h), v["x"]!) },
                                          reference: { Oracle.mergePatches($0["x"]!, field: f, scale: s, halo: h) }))
        }
        return OpCase(fixtures: fixtures, gradients: gradients)
    }

    private static func extractPatchesGrad() throws -> OpCase {
        var fixtures: [OpFixture] = []
        for (i, (f, s, h)) in patchShapes.enumerated() {
            var fb = FixtureBuilder("extract_patches_grad \(f) s\(s) h\(h)")
            let (dy, dyd) = fb.input("dy", patchType(f, s, h), seed: 670 + UInt64(i))
            fb.expect("dx", try fb.b(.extractPatchesGrad(scale: s, halo: h), dy),
                      .floats(Oracle.extractPatchesGrad(dyd, field: f, scale: s, halo: h)))
            fixtures.append(fb.fixture())
        }
        return OpCase(fixtures: fixtures)
    }

    private static func mergePatchesGrad() throws -> OpCase {
        var fixtures: [OpFixture] = []
        for (i, (f, s, h)) in patchShapes.enumerated() {
            var fb = FixtureBuilder("merge_patches_grad \(f) s\(s) h\(h)")
            let (dy, dyd) = fb.input("dy", TensorType(.f32, f), seed: 680 + UInt64(i))
            fb.expect("dpatches", try fb.b(.mergePatchesGrad(scale: s, halo: h), dy),
                      .floats(Oracle.mergePatchesGrad(dyd, field: f, scale: s, halo: h)))
            fixtures.append(fb.fixture())
        }
        return OpCase(fixtures: fixtures)
    }
}
