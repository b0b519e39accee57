import ArgumentParser
import Foundation
import M2MData

/// `m2mc datagen`: writes a DATA.md data set (.npy arrays plus meta.json) to a folder.
struct DatagenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datagen",
        abstract: "Generate a data set (ns, mscale or cno-poisson) as .npy files plus meta.json.",
        discussion: """
            ns: FNO Navier-Stokes vorticity, a [N, H, W] and u [N, H, W, T]. Default solver: 64 x 64 \
            (at least --res), dt 0.025 scaled with 64/solver-res; these meet the DATA.md convergence \
            criterion at nu 1e-3; smaller nu needs a finer --solver-res and --dt.
            mscale: multi-scale periodic Poisson, f and u [N, H, W].
            cno-poisson: CNO Dirichlet Poisson, f and u [N, H, W].
            """)

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case ns, mscale
        case cnoPoisson = "cno-poisson"
    }

    @Argument(help: "Data set kind: ns, mscale or cno-poisson.") var kind: Kind
    @Option(name: [.customShort("o"), .long], help: "Output folder (created if missing).") var output: String
    @Option(help: "Number of samples.") var n: Int = 1200
    @Option(help: "Output grid side.") var res: Int = 64
    @Option(help: "Random seed; sample i depends only on (seed, i).") var seed: UInt64 = 0
    @Option(help: "ns: recorded frames; frame j is the state at t = (j + 1) * interval.") var t: Int?
    @Option(help: "ns: time between recorded frames.") var interval: Double?
    @Option(help: "ns: viscosity.") var nu: Double?
    @Option(name: .customLong("solver-res"), help: "ns: solver grid side, a multiple of --res.") var solverRes: Int?
    @Option(help: "ns: solver time step; must divide --interval.") var dt: Double?
    @Option(help: "cno-poisson: modes per direction K (16; 20 for the out-of-distribution set).") var modes: Int?
    @Option(help: "mscale: number of frequency regions J.") var bumps: Int?
    @Option(help: "Worker threads.") var threads: Int = 2
    @Flag(help: "Print one JSON object (paths, settings, seconds per sample) on stdout.") var json = false

    func run() throws {
        try reportingUserErrors {
            guard threads >= 1 else { throw DataError("--threads", "must be >= 1, got \(threads)") }
            try SystemResources.checkThreads(threads)
            let report: GenerationReport
            switch kind {
            case .ns:
                try rejectOptions(["--modes": modes, "--bumps": bumps])
                let gen = try NavierStokesGenerator(count: n, res: res, solverRes: solverRes, dt: dt, nu: nu ?? 1e-3,
                                                    frames: t ?? 50, interval: interval ?? 1.0, seed: seed)
                report = try write(gen)
            case .mscale:
                try rejectOptions(nsOptions.merging(["--modes": modes]) { a, _ in a })
                report = try write(try MultiScalePoissonGenerator(count: n, res: res, bumps: bumps ?? 4, seed: seed))
            case .cnoPoisson:
                try rejectOptions(nsOptions.merging(["--bumps": bumps]) { a, _ in a })
                report = try write(try CNOPoissonGenerator(count: n, res: res, modes: modes ?? 16, seed: seed))
            }
            if json {
                var settings: [String: Any] = [:]
                for (key, value) in report.meta {
                    switch value {
                    case .int(let v): settings[key] = v
                    case .double(let v): settings[key] = v
                    case .string(let v): settings[key] = v
                    }
                }
                printJSON(["kind": kind.rawValue, "output": output, "files": report.files, "settings": settings,
                           "threads": threads, "seconds": report.generateSeconds,
                           "seconds_per_sample": report.secondsPerSample])
            } else {
                let used = report.meta.filter { ["res", "solver_res", "dt", "nu", "t", "modes", "bumps"].contains($0.0) }
                    .map { "\($0.0) \($0.1)" }.joined(separator: ", ")
                print("wrote \(output): \(report.files.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")) "
                      + "(n \(n), \(used)); \(String(format: "%.3f", report.secondsPerSample)) s/sample on \(threads) threads")
            }
        }
    }

    /// The ns-only options, for rejecting them with other kinds.
    private var nsOptions: [String: Any?] {
        ["--t": t, "--interval": interval, "--nu": nu, "--solver-res": solverRes, "--dt": dt]
    }

    /// A given option that the kind does not use is an error, not silently ignored.
    private func rejectOptions(_ options: [String: Any?]) throws {
        for name in options.keys.sorted() where options[name]! != nil {
            throw DataError(name, "does not apply to \(kind.rawValue) data sets")
        }
    }

    private func write<G: SampleGenerator>(_ generator: G) throws -> GenerationReport {
        let progress = ProgressReporter(label: "datagen \(kind.rawValue)", total: generator.count)
        return try generator.write(to: output, threads: threads) { done, _ in progress.update(done) }
    }
}
