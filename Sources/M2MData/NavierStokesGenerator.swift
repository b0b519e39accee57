/// The `ns` data set (DATA.md section 1): FNO-style vorticity trajectories.
public struct NavierStokesGenerator: SampleGenerator {
    public let count: Int
    /// Output grid side (frames are subsampled from the solver grid).
    public let res: Int
    /// Solver grid side, a multiple of `res`.
    public let solverRes: Int
    public let dt: Double
    public let nu: Double
    /// Recorded frames; frame j is the state at t = (j + 1) * interval.
    public let frames: Int
    public let interval: Double
    public let seed: UInt64

    /// Solver steps per unit time at the default time step for a 64-point solver grid (dt 0.025);
    /// the default dt scales with 1/solverRes to keep the same advective (CFL) margin.
    /// Chosen by measurement at nu 1e-3: against 128 points and dt 0.0125 the 50 recorded frames
    /// differ by at most 7.2e-5 relative L2 (DATA.md allows 1e-3); dt 0.05 would also pass, but
    /// dt 0.0625 already blows up on some samples, so 0.025 keeps a 2.5x stability margin.
    static let defaultStepsPerUnitAt64 = 40.0

    public let kind = "ns"

    /// The most solver steps between two recorded frames (`--interval / --dt`).
    public static let maxStepsPerFrame = 1_000_000

    /// Checks and completes the settings: `solverRes` defaults to max(res, 64) rounded up to a
    /// multiple of res, `dt` to interval / ceil(interval * 40 * solverRes / 64) (0.025 at 64).
    public init(count: Int, res: Int = 64, solverRes: Int? = nil, dt: Double? = nil, nu: Double = 1e-3,
                frames: Int = 50, interval: Double = 1.0, seed: UInt64 = 0) throws {
        guard count >= 1 else { throw DataError("--n", "need at least 1 sample, got \(count)") }
        guard res >= 4 && res % 2 == 0 else { throw DataError("--res", "must be even and >= 4, got \(res)") }
        guard frames >= 1 else { throw DataError("--t", "need at least 1 frame, got \(frames)") }
        guard interval > 0 && interval.isFinite else { throw DataError("--interval", "must be positive, got \(interval)") }
        guard nu >= 0 && nu.isFinite else { throw DataError("--nu", "must be >= 0, got \(nu)") }
        // Sizes before any arithmetic on them: the arrays a [n, res, res] and u [n, res, res, t].
        let perSample = SystemResources.checkedProduct([res, res]).flatMap { pixels in
            SystemResources.checkedProduct([pixels, frames]).flatMap { SystemResources.checkedSum([pixels, $0]) }
        }
        try SystemResources.requireMemory(perSample.flatMap { SystemResources.checkedProduct([count, $0, 4]) },
                                          for: "the arrays a [\(count), \(res), \(res)] and u [\(count), \(res), \(res), \(frames)]",
                                          subject: "--n/--res/--t")
        let solver = solverRes ?? ((max(res, 64) + res - 1) / res) * res
        guard solver >= res && solver % res == 0 else {
            throw DataError("--solver-res", "must be a multiple of --res \(res), got \(solver)")
        }
        // The solver's workspace: 8 spectral and 8 physical float64 grids (at most 16 bytes a point).
        try SystemResources.requireMemory(SystemResources.checkedProduct([solver, solver, 16 * 16]),
                                          for: "a \(solver) x \(solver) solver grid's workspaces",
                                          subject: solverRes == nil ? "--res" : "--solver-res")
        let step = dt ?? interval / (interval * NavierStokesGenerator.defaultStepsPerUnitAt64 * Double(solver) / 64).rounded(.up)
        guard step > 0 && step.isFinite else { throw DataError("--dt", "must be positive, got \(step)") }
        let steps = (interval / step).rounded()
        // A frame must be a bounded amount of work (the count also becomes an Int).
        guard steps <= Double(NavierStokesGenerator.maxStepsPerFrame) else {
            throw DataError(dt == nil ? "--interval" : "--dt",
                            "--interval \(interval) / --dt \(step) is \(steps) solver steps per frame; at most "
                            + "\(NavierStokesGenerator.maxStepsPerFrame) are allowed")
        }
        guard steps >= 1 && abs(steps * step - interval) <= 1e-9 * interval else {
            throw DataError("--dt", "\(step) does not divide --interval \(interval) into whole steps")
        }
        self.count = count
        self.res = res
        self.solverRes = solver
        self.dt = step
        self.nu = nu
        self.frames = frames
        self.interval = interval
        self.seed = seed
    }

    /// Solver steps between recorded frames.
    public var stepsPerFrame: Int { Int((interval / dt).rounded()) }

    public var arrays: [(name: String, sampleShape: [Int])] {
        [("a", [res, res]), ("u", [res, res, frames])]
    }

    public var meta: [(String, MetaValue)] {
        [("kind", .string(kind)), ("n", .int(count)), ("res", .int(res)), ("t", .int(frames)),
         ("nu", .double(nu)), ("interval", .double(interval)), ("dt", .double(dt)),
         ("solver_res", .int(solverRes)), ("seed", .int(Int(truncatingIfNeeded: seed))),
         ("forcing", .string("0.1*(sin(2*pi*(x+y)) + cos(2*pi*(x+y)))")),
         ("initial", .string("GRF N(0, 7^1.5 (-lap + 49 I)^-2.5), modes |kx|,|ky| < res/2")),
         ("scheme", .string("pseudo-spectral, Crank-Nicolson viscosity, Heun advection+forcing, 2/3 dealiasing, float64")),
         ("downsample", .string("subsampling every solver_res/res-th point")),
         ("layout", .string("a [n, y, x]; u [n, y, x, t], frame j at t = (j+1)*interval"))]
    }

    public func makeWorkspace() -> NavierStokesSolver {
        NavierStokesSolver(size: solverRes, dt: dt, nu: nu)
    }

    /// Draws the initial field from stream (seed, index), records `a` and the frames of `u`.
    public func generate(sample index: Int, into outputs: [UnsafeMutablePointer<Float>],
                         workspace solver: NavierStokesSolver) throws {
        var rng = SeededGenerator(seed: seed, stream: UInt64(index))
        solver.state.update(repeating: 0, count: 2 * solver.grid.modes)
        GaussianRandomField.draw(bandLimit: res / 2, into: solver.state, grid: solver.grid, rng: &rng)
        let stride = solverRes / res
        _ = solver.sampleVorticity(stride: stride, into: outputs[0], outStride: 1)
        for frame in 0..<frames {
            solver.advance(steps: stepsPerFrame)
            guard solver.sampleVorticity(stride: stride, into: outputs[1] + frame, outStride: frames) else {
                throw DataError("ns sample \(index)",
                                "vorticity became non-finite by t = \(Double(frame + 1) * interval): the solver is unstable at dt \(dt), solver_res \(solverRes), nu \(nu); pass a smaller --dt and a finer --solver-res")
            }
        }
    }
}
