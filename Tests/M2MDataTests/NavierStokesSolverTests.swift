import XCTest
@testable import M2MData

/// Physics checks of the vorticity solver. Convention: w(x) = sum_k w_k exp(2 pi i k.x) on the
/// unit torus, so lap has symbol -4 pi^2 |k|^2 with integer k.
final class NavierStokesSolverTests: XCTestCase {
    /// A single mode cos(2 pi (2x + y)) has zero advection (u . grad w = 0) and no forcing, so it
    /// decays as exp(-nu 4 pi^2 |k|^2 t) with |k|^2 = 5; Crank-Nicolson gives exactly
    /// ((1 - a/2) / (1 + a/2))^steps with a = dt nu 4 pi^2 |k|^2.
    func testSingleModeDecaysAtViscousRate() {
        let (n, nu, dt, steps) = (16, 0.01, 1e-3, 1000)
        let solver = NavierStokesSolver(size: n, dt: dt, nu: nu, forcingAmplitude: 0)
        var w0 = [Double](repeating: 0, count: n * n)
        for r in 0..<n { for c in 0..<n { w0[r * n + c] = cos(2 * .pi * (2 * Double(c) + Double(r)) / Double(n)) } }
        solver.setVorticity(w0)
        solver.advance(steps: steps)
        let w = solver.vorticity()
        let lambda = 4 * Double.pi * Double.pi * 5
        let a = dt * nu * lambda
        let cnFactor = pow((1 - a / 2) / (1 + a / 2), Double(steps))
        let exact = exp(-nu * lambda * dt * Double(steps))
        let shapeError = zip(w, w0).map { abs($0 - cnFactor * $1) }.max()!
        XCTAssertLessThan(shapeError, 1e-12, "the mode must keep its shape and decay at the CN rate")
        let ratio = w[0] / w0[0]
        XCTAssertEqual(ratio, exact, accuracy: 1e-6 * exact)
        XCTAssertLessThan(ratio, 0.9, "decay must be visible")
    }

    /// Without forcing and viscosity a band-limited field keeps energy and enstrophy (the 2/3-rule
    /// Galerkin system conserves both); the time-stepping drift shrinks when dt does.
    func testInviscidInvariantsConvergeWithDt() {
        func drift(dt: Double) -> (energy: Double, enstrophy: Double) {
            let solver = NavierStokesSolver(size: 32, dt: dt, nu: 0, forcingAmplitude: 0)
            var rng = SeededGenerator(seed: 7)
            GaussianRandomField.draw(bandLimit: 8, into: solver.state, grid: solver.grid, rng: &rng)
            let (e0, z0) = (solver.energy(), solver.enstrophy())
            solver.advance(steps: Int((2 / dt).rounded()))
            return (abs(solver.energy() / e0 - 1), abs(solver.enstrophy() / z0 - 1))
        }
        let coarse = drift(dt: 0.02)
        let fine = drift(dt: 0.01)
        XCTAssertLessThan(coarse.energy, 1e-3)
        XCTAssertLessThan(coarse.enstrophy, 1e-3)
        XCTAssertLessThan(fine.energy, coarse.energy / 3, "energy drift must shrink with dt: \(coarse) -> \(fine)")
        XCTAssertLessThan(fine.enstrophy, coarse.enstrophy / 3, "enstrophy drift must shrink with dt: \(coarse) -> \(fine)")
    }

    /// Empirical E|c_k|^2 of many initial fields matches 2 sigma^2 (4 pi^2 |k|^2 + 49)^-2.5,
    /// averaged per shell round(|k|); the field is real and has zero mean.
    func testInitialFieldSpectrum() {
        let grid = SpectralGrid(size: 16)
        let coefficients = SpectralGrid.allocate(2 * grid.modes)
        defer { SpectralGrid.free(coefficients) }
        var ratioSum = [Double](repeating: 0, count: 12), modeCount = ratioSum
        let samples = 400
        for s in 0..<samples {
            coefficients.update(repeating: 0, count: 2 * grid.modes)
            var rng = SeededGenerator(seed: 3, stream: UInt64(s))
            GaussianRandomField.draw(bandLimit: 8, into: coefficients, grid: grid, rng: &rng)
            XCTAssertEqual(coefficients[0], 0)
            XCTAssertEqual(coefficients[1], 0)
            for ky in -7...7 {
                for kx in 1...7 {
                    let m = grid.index(kx: kx, ky: ky)
                    let power = coefficients[2 * m] * coefficients[2 * m] + coefficients[2 * m + 1] * coefficients[2 * m + 1]
                    let shell = Int(Double(kx * kx + ky * ky).squareRoot().rounded())
                    ratioSum[shell] += power / GaussianRandomField.variance(kx: kx, ky: ky)
                    modeCount[shell] += 1
                }
            }
        }
        for shell in 1..<10 where modeCount[shell] > 0 {
            XCTAssertEqual(ratioSum[shell] / modeCount[shell], 1, accuracy: 0.15, "shell \(shell)")
        }
        // Absolute scale at |k| = 1: 2 * 7^3 * (4 pi^2 + 49)^-2.5.
        XCTAssertEqual(GaussianRandomField.variance(kx: 1, ky: 0), 2 * 343 * pow(4 * .pi * .pi + 49, -2.5), accuracy: 1e-15)
    }
}
