import XCTest
@testable import M2MData

final class PoissonGeneratorTests: XCTestCase {
    /// mscale: the spectral Laplacian of the stored u is -f. The data are float32, and the
    /// Laplacian multiplies u's rounding error (about 6e-8 relative) by up to |2 pi k|^2, so
    /// the bound is 2e-5 relative L2 at 64 x 64 (observed up to 7e-6), not double precision.
    func testMultiScaleLaplacianOfUIsMinusF() throws {
        let res = 64
        let gen = try MultiScalePoissonGenerator(count: 3, res: res, seed: 2)
        let out = try gen.generate(samples: 0..<3, threads: 2)
        let (f, u) = (out[0].data.values, out[1].data.values)
        let grid = SpectralGrid(size: res)
        let phys = SpectralGrid.allocate(res * res), spec = SpectralGrid.allocate(2 * grid.modes)
        defer { SpectralGrid.free(phys); SpectralGrid.free(spec) }
        for s in 0..<3 {
            for j in 0..<(res * res) { phys[j] = Double(u[s * res * res + j]) }
            grid.transform(phys, into: spec)
            for r in 0..<res {
                for c in 0..<grid.columns {
                    let m = r * grid.columns + c
                    let k2 = grid.kx[c] * grid.kx[c] + grid.ky[r] * grid.ky[r]
                    spec[2 * m] *= k2
                    spec[2 * m + 1] *= k2
                }
            }
            grid.synthesize(spec, into: phys)  // -lap u
            var diff = 0.0, norm = 0.0, meanF = 0.0, meanU = 0.0
            for j in 0..<(res * res) {
                let fj = Double(f[s * res * res + j])
                diff += (phys[j] - fj) * (phys[j] - fj)
                norm += fj * fj
                meanF += fj
                meanU += Double(u[s * res * res + j])
            }
            XCTAssertLessThan((diff / norm).squareRoot(), 2e-5, "sample \(s)")
            XCTAssertEqual(meanF / Double(res * res), 0, accuracy: 1e-6)
            XCTAssertEqual(meanU / Double(res * res), 0, accuracy: 1e-6)
            XCTAssertGreaterThan(norm, 0)
        }
    }

    /// mscale: regions of one sample oscillate at different scales. Local wavenumber of a tile,
    /// sqrt(sum |grad f|^2 / sum f^2) / 2 pi, over the 4 x 4 tiles that carry energy, must spread
    /// by more than a factor 2 within most samples (a sample whose J bands happen to be
    /// neighbours, e.g. 16 and 32 only, is legitimately near-uniform, about 1 in 10).
    func testMultiScaleLocalSpectraDiffer() throws {
        let res = 64, tile = 16
        let samples = 8
        let gen = try MultiScalePoissonGenerator(count: samples, res: res, seed: 9)
        let f = try gen.generate(samples: 0..<samples, threads: 2)[0].data.values
        var spreads: [Double] = []
        for s in 0..<samples {
            func value(_ r: Int, _ c: Int) -> Double { Double(f[s * res * res + ((r + res) % res) * res + (c + res) % res]) }
            var tiles: [(energy: Double, wavenumber: Double)] = []
            for tr in stride(from: 0, to: res, by: tile) {
                for tc in stride(from: 0, to: res, by: tile) {
                    var energy = 0.0, gradient = 0.0
                    for r in tr..<(tr + tile) {
                        for c in tc..<(tc + tile) {
                            let gx = (value(r, c + 1) - value(r, c - 1)) * Double(res) / 2
                            let gy = (value(r + 1, c) - value(r - 1, c)) * Double(res) / 2
                            energy += value(r, c) * value(r, c)
                            gradient += gx * gx + gy * gy
                        }
                    }
                    tiles.append((energy, (gradient / max(energy, 1e-300)).squareRoot() / (2 * .pi)))
                }
            }
            let maxEnergy = tiles.map(\.energy).max()!
            let active = tiles.filter { $0.energy > 0.05 * maxEnergy }.map(\.wavenumber)
            spreads.append(active.max()! / active.min()!)
        }
        XCTAssertGreaterThanOrEqual(spreads.filter { $0 > 2 }.count, samples - 2, "max/min local wavenumber per sample: \(spreads)")
    }

    /// cno-poisson: grid values equal the closed form at random grid points, the boundary is zero.
    func testCNOPoissonMatchesClosedForm() throws {
        let res = 33
        let gen = try CNOPoissonGenerator(count: 2, res: res, seed: 4)
        let out = try gen.generate(samples: 0..<2, threads: 2)
        XCTAssertEqual(out[0].data.shape, [2, res, res])
        var rng = SeededGenerator(seed: 1)
        for s in 0..<2 {
            let a = gen.coefficients(sample: s)
            let f = Array(out[0].data.values[(s * res * res)..<((s + 1) * res * res)])
            let u = Array(out[1].data.values[(s * res * res)..<((s + 1) * res * res)])
            let fScale = Double(f.map { abs($0) }.max()!), uScale = Double(u.map { abs($0) }.max()!)
            XCTAssertGreaterThan(fScale, 0)
            for _ in 0..<20 {
                let (r, c) = (rng.nextInt(below: res), rng.nextInt(below: res))
                let exact = gen.evaluate(a, x: Double(c) / Double(res - 1), y: Double(r) / Double(res - 1))
                XCTAssertEqual(Double(f[r * res + c]), exact.f, accuracy: 1e-6 * fScale)
                XCTAssertEqual(Double(u[r * res + c]), exact.u, accuracy: 1e-6 * uScale)
            }
            for m in 0..<res {
                XCTAssertEqual(u[m], 0, accuracy: 1e-6 * Float(uScale))
                XCTAssertEqual(u[m * res + res - 1], 0, accuracy: 1e-6 * Float(uScale))
            }
        }
    }

    /// cno-poisson: the 5-point Laplacian of u approaches f (second order): the error at
    /// 129 points is under 2% and 4x smaller than at 65.
    func testCNOPoissonMinusLaplacianIsF() throws {
        func error(res: Int) throws -> Double {
            let gen = try CNOPoissonGenerator(count: 1, res: res, seed: 8)
            let a = gen.coefficients(sample: 0)
            let h = 1 / Double(res - 1)
            var diff = 0.0, norm = 0.0
            for r in 1..<(res - 1) {
                for c in 1..<(res - 1) {
                    func u(_ r: Int, _ c: Int) -> Double { gen.evaluate(a, x: Double(c) * h, y: Double(r) * h).u }
                    let lap = (u(r, c + 1) + u(r, c - 1) + u(r + 1, c) + u(r - 1, c) - 4 * u(r, c)) / (h * h)
                    let f = gen.evaluate(a, x: Double(c) * h, y: Double(r) * h).f
                    diff += (lap + f) * (lap + f)
                    norm += f * f
                }
            }
            return (diff / norm).squareRoot()
        }
        let coarse = try error(res: 65), fine = try error(res: 129)
        XCTAssertLessThan(fine, 0.02)
        XCTAssertLessThan(fine, coarse / 3)
    }
}
