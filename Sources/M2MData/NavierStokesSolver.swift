import CFFTW
import Foundation

/// Pseudo-spectral 2-D vorticity solver on the periodic unit square (DATA.md section 1):
/// Crank-Nicolson on viscosity, Heun (RK2) on advection and forcing, 2/3-rule dealiasing.
///
/// It runs in double precision: thousands of steps of float32 round-off would eat into the
/// 1e-3 convergence budget, and double results rounded to the float32 output are, in
/// practice, the same bits on every machine whatever FFTW's SIMD path; at 64 x 64 the cost
/// over float32 is small. One instance per thread: it owns its FFTW plans and buffers.
final class NavierStokesSolver {
    /// Grid points per side.
    let size: Int
    /// Complex columns of the real-to-complex half spectrum, size / 2 + 1.
    let columns: Int
    let dt: Double
    let nu: Double

    /// Spectral state: Fourier coefficients w_k of w(x) = sum_k w_k exp(2 pi i k.x),
    /// row ky (FFT order), column kx >= 0, interleaved re/im.
    let state: UnsafeMutablePointer<Double>
    let forcing: UnsafeMutablePointer<Double>
    let kx: [Double], ky: [Double]  // 2 pi k per column / row
    let invK2: [Double], dealias: [Double], lhsInv: [Double], rhs: [Double]

    // Work arrays (complex: spec*, real: phys*).
    let spec: UnsafeMutablePointer<Double>
    let n1: UnsafeMutablePointer<Double>
    let n2: UnsafeMutablePointer<Double>
    let stage: UnsafeMutablePointer<Double>
    let physU: UnsafeMutablePointer<Double>, physV: UnsafeMutablePointer<Double>
    let physWx: UnsafeMutablePointer<Double>, physWy: UnsafeMutablePointer<Double>
    let forward: fftw_plan, inverse: fftw_plan

    /// A solver on a `size` x `size` grid with time step `dt`, viscosity `nu` and the DATA.md
    /// forcing scaled by `forcingAmplitude` (0.1 in the benchmark, 0 for the tests).
    init(size: Int, dt: Double, nu: Double, forcingAmplitude: Double = 0.1) {
        precondition(size >= 4 && size % 2 == 0, "solver grid must be even")
        self.size = size
        columns = size / 2 + 1
        self.dt = dt
        self.nu = nu
        let modes = size * columns
        func complexArray() -> UnsafeMutablePointer<Double> {
            let p = fftw_alloc_real(2 * modes)!
            p.initialize(repeating: 0, count: 2 * modes)
            return p
        }
        func realArray() -> UnsafeMutablePointer<Double> {
            let p = fftw_alloc_real(size * size)!
            p.initialize(repeating: 0, count: size * size)
            return p
        }
        state = complexArray(); forcing = complexArray(); spec = complexArray()
        n1 = complexArray(); n2 = complexArray(); stage = complexArray()
        physU = realArray(); physV = realArray(); physWx = realArray(); physWy = realArray()

        let twoPi = 2 * Double.pi
        kx = (0..<columns).map { twoPi * Double($0) }
        ky = (0..<size).map { twoPi * Double($0 < size / 2 ? $0 : $0 - size) }
        let cutoff = (2.0 / 3.0) * Double(size / 2) * twoPi
        var invK2 = [Double](repeating: 0, count: modes), dealias = invK2, lhsInv = invK2, rhs = invK2
        for r in 0..<size {
            for c in 0..<columns {
                let m = r * columns + c
                let k2 = kx[c] * kx[c] + ky[r] * ky[r]
                invK2[m] = k2 > 0 ? 1 / k2 : 0
                dealias[m] = abs(kx[c]) <= cutoff && abs(ky[r]) <= cutoff ? 1 : 0
                lhsInv[m] = 1 / (1 + 0.5 * dt * nu * k2)
                rhs[m] = 1 - 0.5 * dt * nu * k2
            }
        }
        self.invK2 = invK2; self.dealias = dealias; self.lhsInv = lhsInv; self.rhs = rhs

        let n = Int32(size)
        let (spec, phys) = (spec, physU)
        (forward, inverse) = FFTWPlanning.locked {
            (fftw_plan_dft_r2c_2d(n, n, phys, NavierStokesSolver.complex(spec), UInt32(FFTW_ESTIMATE))!,
             fftw_plan_dft_c2r_2d(n, n, NavierStokesSolver.complex(spec), phys, UInt32(FFTW_ESTIMATE))!)
        }
        for r in 0..<size {
            for c in 0..<size {
                physU[r * size + c] = forcingAmplitude * NavierStokesSolver.forcingShape(x: Double(c) / Double(size), y: Double(r) / Double(size))
            }
        }
        transform(physU, into: forcing)
    }

    deinit {
        FFTWPlanning.locked {
            fftw_destroy_plan(forward)
            fftw_destroy_plan(inverse)
        }
        for p in [state, forcing, spec, n1, n2, stage, physU, physV, physWx, physWy] { fftw_free(p) }
    }

    /// sin 2 pi (x + y) + cos 2 pi (x + y): the benchmark forcing without its 0.1 factor.
    static func forcingShape(x: Double, y: Double) -> Double {
        sin(2 * Double.pi * (x + y)) + cos(2 * Double.pi * (x + y))
    }

    static func complex(_ p: UnsafeMutablePointer<Double>) -> UnsafeMutablePointer<fftw_complex> {
        UnsafeMutableRawPointer(p).assumingMemoryBound(to: fftw_complex.self)
    }

    /// Normalised Fourier coefficients of the real grid `phys` (out-of-place r2c keeps `phys`).
    func transform(_ phys: UnsafeMutablePointer<Double>, into coefficients: UnsafeMutablePointer<Double>) {
        fftw_execute_dft_r2c(forward, phys, NavierStokesSolver.complex(coefficients))
        let scale = 1 / Double(size * size)
        for j in 0..<(2 * size * columns) { coefficients[j] *= scale }
    }

    /// Grid values of the coefficients in `scratch` (c2r destroys its input, so callers pass a copy).
    func synthesize(_ scratch: UnsafeMutablePointer<Double>, into phys: UnsafeMutablePointer<Double>) {
        fftw_execute_dft_c2r(inverse, NavierStokesSolver.complex(scratch), phys)
    }

    /// Sets the state from grid values of w (row-major, y rows, x columns).
    func setVorticity(_ w: [Double]) {
        precondition(w.count == size * size)
        for j in 0..<w.count { physU[j] = w[j] }
        transform(physU, into: state)
    }

    /// The current vorticity on the grid (row-major).
    func vorticity() -> [Double] {
        var out = [Double](repeating: 0, count: size * size)
        copyVorticity { out[$0] = $1 }
        return out
    }

    /// Calls `emit(flatIndex, value)` for every grid point of the current vorticity.
    func copyVorticity(_ emit: (Int, Double) -> Void) {
        spec.update(from: state, count: 2 * size * columns)
        synthesize(spec, into: physU)
        for j in 0..<(size * size) { emit(j, physU[j]) }
    }
}
