/// Time stepping and invariants of the vorticity solver.
extension NavierStokesSolver {
    /// Dealiased advection term (u . grad w)_k of the coefficients `w` into `out`:
    /// psi_k = w_k / |2 pi k|^2, u = d psi/dy, v = -d psi/dx, product formed on the grid.
    func advection(of w: UnsafeMutablePointer<Double>, into out: UnsafeMutablePointer<Double>) {
        let (rows, cols) = (size, grid.columns)
        // Each derivative: multiply by i*k, i.e. (re, im) -> (-k im, k re).
        func derivative(_ factor: (Int, Int) -> Double, into phys: UnsafeMutablePointer<Double>) {
            for r in 0..<rows {
                for c in 0..<cols {
                    let m = r * cols + c
                    let f = factor(r, c)
                    spec[2 * m] = -f * w[2 * m + 1]
                    spec[2 * m + 1] = f * w[2 * m]
                }
            }
            grid.synthesize(spec, into: phys)
        }
        derivative({ r, c in self.grid.ky[r] * self.invK2[r * cols + c] }, into: physU)
        derivative({ r, c in -self.grid.kx[c] * self.invK2[r * cols + c] }, into: physV)
        derivative({ _, c in self.grid.kx[c] }, into: physWx)
        derivative({ r, _ in self.grid.ky[r] }, into: physWy)
        for j in 0..<(size * size) {
            physU[j] = physU[j] * physWx[j] + physV[j] * physWy[j]
        }
        grid.transform(physU, into: out)
        for m in 0..<(rows * cols) {
            out[2 * m] *= dealias[m]
            out[2 * m + 1] *= dealias[m]
        }
    }

    /// One step: Heun predictor-corrector on advection and forcing, Crank-Nicolson on viscosity,
    /// w <- ((1 - dt nu k^2/2) w + dt (f - N)) / (1 + dt nu k^2/2).
    func step() {
        let modes = grid.modes
        advection(of: state, into: n1)
        for m in 0..<modes {
            for p in 0..<2 {
                let j = 2 * m + p
                stage[j] = (rhs[m] * state[j] + dt * (forcing[j] - n1[j])) * lhsInv[m]
            }
        }
        advection(of: stage, into: n2)
        for m in 0..<modes {
            for p in 0..<2 {
                let j = 2 * m + p
                state[j] = (rhs[m] * state[j] + dt * (forcing[j] - 0.5 * (n1[j] + n2[j]))) * lhsInv[m]
            }
        }
    }

    /// Advances `steps` time steps.
    func advance(steps: Int) {
        for _ in 0..<steps { step() }
    }

    /// Sum over the full spectrum of weight(k) |w_k|^2 (half spectrum counted twice except
    /// the kx = 0 and Nyquist columns, which have no mirror in the stored half).
    private func spectralSum(_ weight: (Int) -> Double) -> Double {
        var total = 0.0
        for r in 0..<size {
            for c in 0..<grid.columns {
                let m = r * grid.columns + c
                let mult = (c == 0 || c == size / 2) ? 1.0 : 2.0
                total += mult * weight(m) * (state[2 * m] * state[2 * m] + state[2 * m + 1] * state[2 * m + 1])
            }
        }
        return total
    }

    /// Kinetic energy per unit area, (1/2) mean |u|^2 = (1/2) sum |w_k|^2 / |2 pi k|^2.
    func energy() -> Double {
        0.5 * spectralSum { invK2[$0] }
    }

    /// Enstrophy per unit area, (1/2) mean w^2.
    func enstrophy() -> Double {
        0.5 * spectralSum { _ in 1 }
    }
}
