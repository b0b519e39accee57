import CFFTW
import Foundation

/// Pseudo-spectral 2-D vorticity solver on the periodic unit square (DATA.md section 1):
/// Crank-Nicolson on viscosity, Heun (RK2) on advection and forcing, 2/3-rule dealiasing.
///
/// It runs in double precision: thousands of steps of float32 round-off would eat into the
/// 1e-3 convergence budget, and double results rounded to the float32 output are, in
/// practice, the same bits on every machine whatever FFTW's SIMD path; at 64 x 64 the cost
/// over float32 is small. One instance per thread: it owns its FFTW plans and buffers.
public final class NavierStokesSolver {
    let grid: SpectralGrid
    let dt: Double
    let nu: Double

    /// Spectral state: coefficients w_k of w(x) = sum_k w_k exp(2 pi i k.x) in the grid's
    /// half-spectrum layout, interleaved re/im.
    let state: UnsafeMutablePointer<Double>
    let forcing: UnsafeMutablePointer<Double>
    let invK2: [Double], dealias: [Double], lhsInv: [Double], rhs: [Double]

    // Work arrays: complex n1, n2, stage, spec; real grids phys*.
    let n1: UnsafeMutablePointer<Double>, n2: UnsafeMutablePointer<Double>
    let stage: UnsafeMutablePointer<Double>, spec: UnsafeMutablePointer<Double>
    let physU: UnsafeMutablePointer<Double>, physV: UnsafeMutablePointer<Double>
    let physWx: UnsafeMutablePointer<Double>, physWy: UnsafeMutablePointer<Double>

    /// A solver on a `size` x `size` grid with time step `dt`, viscosity `nu` and the DATA.md
    /// forcing scaled by `forcingAmplitude` (0.1 in the benchmark, 0 for the tests).
    init(size: Int, dt: Double, nu: Double, forcingAmplitude: Double = 0.1) {
        grid = SpectralGrid(size: size)
        self.dt = dt
        self.nu = nu
        let modes = grid.modes
        state = SpectralGrid.allocate(2 * modes); forcing = SpectralGrid.allocate(2 * modes)
        n1 = SpectralGrid.allocate(2 * modes); n2 = SpectralGrid.allocate(2 * modes)
        stage = SpectralGrid.allocate(2 * modes); spec = SpectralGrid.allocate(2 * modes)
        physU = SpectralGrid.allocate(size * size); physV = SpectralGrid.allocate(size * size)
        physWx = SpectralGrid.allocate(size * size); physWy = SpectralGrid.allocate(size * size)

        let cutoff = (2.0 / 3.0) * Double(size / 2) * 2 * Double.pi
        var invK2 = [Double](repeating: 0, count: modes), dealias = invK2, lhsInv = invK2, rhs = invK2
        for r in 0..<size {
            for c in 0..<grid.columns {
                let m = r * grid.columns + c
                let (kx, ky) = (grid.kx[c], grid.ky[r])
                let k2 = kx * kx + ky * ky
                invK2[m] = k2 > 0 ? 1 / k2 : 0
                dealias[m] = abs(kx) <= cutoff && abs(ky) <= cutoff ? 1 : 0
                lhsInv[m] = 1 / (1 + 0.5 * dt * nu * k2)
                rhs[m] = 1 - 0.5 * dt * nu * k2
            }
        }
        self.invK2 = invK2; self.dealias = dealias; self.lhsInv = lhsInv; self.rhs = rhs

        for r in 0..<size {
            for c in 0..<size {
                let (x, y) = (Double(c) / Double(size), Double(r) / Double(size))
                physU[r * size + c] = forcingAmplitude * NavierStokesSolver.forcingShape(x: x, y: y)
            }
        }
        grid.transform(physU, into: forcing)
    }

    deinit {
        for p in [state, forcing, n1, n2, stage, spec, physU, physV, physWx, physWy] { fftw_free(p) }
    }

    var size: Int { grid.size }

    /// sin 2 pi (x + y) + cos 2 pi (x + y): the benchmark forcing without its 0.1 factor.
    static func forcingShape(x: Double, y: Double) -> Double {
        sin(2 * Double.pi * (x + y)) + cos(2 * Double.pi * (x + y))
    }

    /// Sets the state from grid values of w (row-major, y rows, x columns).
    func setVorticity(_ w: [Double]) {
        precondition(w.count == size * size)
        for j in 0..<w.count { physU[j] = w[j] }
        grid.transform(physU, into: state)
    }

    /// The current vorticity on the grid (row-major, y rows, x columns).
    func vorticity() -> [Double] {
        grid.synthesize(state, into: physU)
        return Array(UnsafeBufferPointer(start: physU, count: size * size))
    }

    /// Writes the vorticity at every `stride`-th grid point (FNO-style subsampling) to
    /// `out[(r * outSize + c) * outStride]`; returns false when a value is not finite.
    func sampleVorticity(stride: Int, into out: UnsafeMutablePointer<Float>, outStride: Int) -> Bool {
        grid.synthesize(state, into: physU)
        let outSize = size / stride
        var finite = true
        for r in 0..<outSize {
            for c in 0..<outSize {
                let v = physU[(r * stride) * size + c * stride]
                finite = finite && v.isFinite
                out[(r * outSize + c) * outStride] = Float(v)
            }
        }
        return finite
    }
}
