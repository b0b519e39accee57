import ArgumentParser
import Foundation
import GraphIR
import M2MData
import M2MModel
import Executor
import Planner

/// Runs a command body; a user error becomes one line on stderr and exit code 1.
func reportingUserErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as CleanExit {
        throw error
    } catch {
        let line = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
        FileHandle.standardError.write(Data("m2mc: error: \(line)\n".utf8))
        throw ExitCode(1)
    }
}

/// Prints one JSON object on stdout (keys sorted, so output is stable).
func printJSON(_ object: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
    print(String(decoding: data, as: UTF8.self))
}

/// The CPU model name from /proc/cpuinfo.
func cpuModelName() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
    for line in text.split(separator: "\n") where line.hasPrefix("model name") {
        return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
    }
    return "unknown"
}

/// Peak resident set size of this process in bytes.
func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_maxrss * 1024
}

/// Loads a compiled model, or compiles a config on the fly when given a .json.
func loadModel(_ path: String, rigor: FFTRigor, trainingRollout: Int? = nil,
               placement: PlacementOptions? = nil,
               spectralMode: SpectralTransformMode = .auto, portable: Bool = false) throws -> CompiledModel {
    if path.hasSuffix(".json") {
        return try CompiledModel.compile(try ModelConfig.load(path), rigor: rigor, threads: 2,
                                         trainingRollout: trainingRollout, source: path,
                                         numa: placement?.numa ?? .local, topology: try placement?.parsedTopology(),
                                         spectralMode: spectralMode, portable: portable)
    }
    if portable { throw UserError("--portable applies when compiling a config; \(path) was compiled without or with it") }
    if let placement, placement.numa != .local || placement.topology != nil {
        throw UserError("--numa and --topology apply when compiling a config; \(path) was compiled with its placement "
                        + "(m2mc compile --numa)")
    }
    return try CompiledModel.load(path)
}

extension FFTRigor: ExpressibleByArgument {}
extension SpectralTransformMode: ExpressibleByArgument {}

extension PlacementPolicy: ExpressibleByArgument {}

/// `--numa POLICY --topology SPEC`: the NUMA placement a config is compiled with.
struct PlacementOptions: ParsableArguments {
    @Option(help: "NUMA placement: local, interleave, experts or replicate (stored in the plan).")
    var numa: PlacementPolicy = .local
    @Option(help: "Plan for this NUMA topology instead of this machine's: NxC (N nodes of C CPUs, e.g. 2x8) or a JSON file.")
    var topology: String?

    func parsedTopology() throws -> NUMATopology? {
        guard let topology else { return nil }
        do { return try NUMATopology.parse(topology) } catch let e as PlanError { throw UserError("--topology: \(e.message)") }
    }
}

/// `--numa-fallback`: how a plan for more NUMA nodes than this machine has may still run.
struct FallbackOption: ParsableArguments {
    @Flag(name: .customLong("numa-fallback"),
          help: "Run a plan made for more NUMA nodes than this machine has, folding its domains onto the nodes present.")
    var enabled = false
}

/// Prints the runtime's NUMA note (one-node machine, folded plan) on stderr, if any.
func reportPlacement(_ runtime: ModelRuntime) {
    if let note = runtime.nodeMap.note { FileHandle.standardError.write(Data((note + "\n").utf8)) }
    if runtime.pool.unpinnedThreads > 0 {
        FileHandle.standardError.write(Data("note: \(runtime.pool.unpinnedThreads) worker threads could not be pinned to their NUMA node's CPUs\n".utf8))
    }
}

/// Deterministic pseudo-random values in [-1, 1] (bench and verify-placement inputs).
func fillRandom(_ p: UnsafeMutablePointer<Float>, count: Int, seed: UInt64) {
    var state = seed &* 0x9E37_79B9_7F4A_7C15
    for i in 0..<count {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        p[i] = Float(Int64(bitPattern: state >> 11) % 2000 - 1000) / 1000
    }
}

/// Feeds a training program the fixed pseudo-random batch of bench and verify-placement, the
/// config's learning rate and, for M2M, the controller's first lambda; returns the optimizer
/// scalars (`[lr, step]`, step 0: the caller counts steps up).
func prepareTrainingSteps(_ program: ExecutableProgram, _ config: ModelConfig) -> UnsafeMutablePointer<Float> {
    fillRandom(program.buffer(Programs.input)!, count: program.type(of: Programs.input)!.elementCount, seed: 2)
    fillRandom(program.buffer(Programs.target)!, count: program.type(of: Programs.target)!.elementCount, seed: 3)
    let scalars = program.buffer(Programs.optimizerScalars)!
    scalars[0] = Float(config.optimizer.lr)
    scalars[1] = 0
    if let lambda = program.buffer(Programs.routingWeight), let m2m = config.m2m {
        lambda[0] = Float(m2m.controller.effectiveLambdaInit)
    }
    return scalars
}
