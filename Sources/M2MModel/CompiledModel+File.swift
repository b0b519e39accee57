import Foundation
import GraphIR
import M2MData
import Planner
import Executor

/// The `.m2m` file: magic, format version, payload length, FNV-1a checksum of
/// the payload, then a JSON payload (config, programs as IR text + plans,
/// persistent layout, FFTW wisdom, each spectral transform's form). Loading re-derives and cross-checks everything.
extension CompiledModel {
    public static let magic = Array("M2MCPLAN".utf8)
    public static let formatVersion: UInt32 = 2
    static let headerBytes = 28

    struct Payload: Codable {
        struct Program: Codable { var name: String; var graph: String; var plan: ProgramPlan }
        var config: String
        var programs: [Program]
        var persistent: PersistentLayout
        var placement: Placement
        var fftRigor: FFTRigor
        var wisdom: String
        var threads: Int
        var compileMilliseconds: Double
        var fftPlanningMilliseconds: Double
        /// Each spectral transform's form; absent in files written before the GEMM form
        /// existed, which load with the FFTW form everywhere (what they ran).
        var spectralTransform: SpectralForms?
        var portable: Bool?
    }

    /// Serializes to the file format.
    public func serialized() throws -> Data {
        let payload = Payload(config: String(decoding: config.canonicalJSON(), as: UTF8.self),
                              programs: programs.map { .init(name: $0.name, graph: $0.graph.text, plan: $0.plan) },
                              persistent: persistent, placement: placement, fftRigor: fftRigor, wisdom: wisdom, threads: threads,
                              compileMilliseconds: compileMilliseconds, fftPlanningMilliseconds: fftPlanningMilliseconds,
                              spectralTransform: spectral, portable: portable)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = try encoder.encode(payload)
        var data = Data(Self.magic)
        withUnsafeBytes(of: Self.formatVersion.littleEndian) { data.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt64(body.count).littleEndian) { data.append(contentsOf: $0) }
        withUnsafeBytes(of: fnv1a(body).littleEndian) { data.append(contentsOf: $0) }
        data.append(body)
        return data
    }

    /// Writes the plan file atomically.
    public func write(to path: String) throws {
        try AtomicFile.write(try serialized(), to: path)
    }

    /// Reads and validates a plan file; every problem is one `UserError` line naming the file.
    public static func load(_ path: String) throws -> CompiledModel {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UserError("\(path): cannot read the compiled model")
        }
        return try decode(data, source: path)
    }

    public static func decode(_ data: Data, source: String) throws -> CompiledModel {
        func fail(_ why: String) -> UserError {
            UserError("\(source): " + why.split(whereSeparator: \.isNewline).joined(separator: " "))
        }
        let bytes = [UInt8](data)
        guard bytes.count >= magic.count, Array(bytes.prefix(magic.count)) == magic else {
            throw fail("not an m2m compiled model (bad magic)")
        }
        guard bytes.count >= headerBytes else { throw fail("truncated (incomplete header)") }
        let version = bytes[8..<12].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard version == formatVersion else {
            throw fail("format version \(version); this m2mc reads version \(formatVersion): recompile the model")
        }
        let length = bytes[12..<20].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let checksum = bytes[20..<28].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard UInt64(bytes.count - headerBytes) >= length else {
            throw fail("truncated (payload has \(bytes.count - headerBytes) of \(length) bytes)")
        }
        guard UInt64(bytes.count - headerBytes) == length else { throw fail("corrupt (trailing bytes after the payload)") }
        let body = data.subdata(in: headerBytes..<bytes.count)
        guard fnv1a(body) == checksum else { throw fail("corrupt (checksum mismatch)") }
        guard let payload = try? JSONDecoder().decode(Payload.self, from: body) else {
            throw fail("corrupt (payload is not a valid plan)")
        }
        // Cheap facts first (FNV-1a is no authentication: a payload with a valid checksum may
        // still be hostile): names, counts and sizes are checked against the embedded config
        // before any graph is rebuilt, so a tampered size cannot make the loader build a huge graph.
        let names = payload.programs.map(\.name)
        guard names == [inferenceName, trainingName] else {
            throw fail("expected programs infer and train, found \(names.isEmpty ? "none" : names.joined(separator: ", "))")
        }
        guard payload.threads >= 1 else { throw fail("threads must be >= 1, got \(payload.threads)") }
        guard payload.threads <= maxStoredThreads else {
            throw fail("threads \(payload.threads) exceeds \(maxStoredThreads)")
        }
        for (key, value) in [("compileMilliseconds", payload.compileMilliseconds),
                             ("fftPlanningMilliseconds", payload.fftPlanningMilliseconds)]
        where !(value.isFinite && value >= 0) {
            throw fail("\(key) \(value) is not a duration")
        }
        guard payload.fftRigor.needsWisdom || payload.wisdom.isEmpty else {
            throw fail("FFTW wisdom stored with rigor '\(payload.fftRigor.rawValue)', which plans without wisdom")
        }
        let config = try ModelConfig.parse(Data(payload.config.utf8), source: "\(source) (embedded config)")
        // Sizes are summed below: each must be a sane byte count first (no overflow on tampered values).
        let domainCount = payload.placement.domains.count
        guard domainCount >= 1 && domainCount <= NUMATopology.maxNodes else {
            throw fail("the placement has \(domainCount) memory domains (1...\(NUMATopology.maxNodes) allowed)")
        }
        let sizes = payload.persistent.blockBytes + payload.programs.flatMap { $0.plan.arenas.map(\.arenaBytes) }
        guard payload.persistent.blockBytes.count == domainCount,
              payload.programs.allSatisfy({ $0.plan.arenas.count == domainCount }),
              sizes.allSatisfy({ $0 >= 0 && $0 <= 1 << 50 }) else {
            throw fail("the stored arena or block sizes do not match the \(domainCount) memory domains of the placement")
        }
        // The cheap facts first: a plan this machine cannot hold is refused before anything is rebuilt.
        try requireMemory(programs: payload.programs.map { ($0.name, $0.plan.arenaBytes) },
                          persistent: payload.persistent.totalBytes, source: source)
        guard payload.threads >= 1 && payload.threads <= 1024 else {
            throw fail("threads must be >= 1 and at most 1024, got \(payload.threads)")
        }
        var programs: [CompiledProgram] = []
        for p in payload.programs {
            let graph: Graph
            do { graph = try Graph(parsing: p.graph) } catch { throw fail("program '\(p.name)': \(error)") }
            programs.append(CompiledProgram(name: p.name, graph: graph, plan: p.plan))
        }
        let rollout = try storedRollout(programs[1].graph, config: config, fail: fail)
        // Cross-checks: the graphs are the ones the config builds, and the plans the planner derives.
        var memoryLimit: MemoryLimitReport?
        do {
            guard programs[0].graph == (try Programs.inference(config)) else {
                throw fail("program 'infer' does not match the embedded config")
            }
            let training = try Programs.trainingProgram(config, rollout: rollout)
            guard programs[1].graph == training.graph else {
                throw fail("program 'train' does not match the embedded config")
            }
            memoryLimit = training.recompute
            let placement = payload.placement
            guard try Placement.make(placement.policy, topology: placement.topology, balancing: programs[1].graph)
                    == placement else {
                throw fail("the stored NUMA placement does not match its policy and topology")
            }
            for p in programs {
                var derived = try ProgramPlanner.plan(p.graph, placement: placement)
                guard derived != p.plan else { continue }
                // Files without spectral forms predate the GEMM form, whose workspace is larger
                // on some geometries (half the rows kept), files without sample chains predate
                // them (chains extend liveness), and files whose buffers alone sit elsewhere
                // predate the skyline dives: those plans changed, recompiling fixes them.
                // Otherwise the likely cause is an m2mc whose kernels declared other workspaces.
                (derived.offsets, derived.arenas) = (p.plan.offsets, p.plan.arenas)
                let old = payload.spectralTransform == nil ? " (written before the GEMM spectral form: recompile the model)"
                    : p.plan.chains == nil ? " (written before sample chains: recompile the model)"
                    : derived == p.plan ? " (its buffers were placed by an older arena planner: recompile the model)"
                    : " (written by an m2mc whose kernels needed other workspaces? recompile the model)"
                throw fail("program '\(p.name)': the stored arena plan does not match its graph" + old)
            }
            guard try PersistentLayout(programs.map(\.graph), placement: placement) == payload.persistent else {
                throw fail("the persistent layout does not match the programs")
            }
        } catch let error as UserError {
            throw error
        } catch {
            throw fail("cannot rebuild the programs of the embedded config: \(error)")
        }
        let transforms = spectralTransforms(of: programs)
        let spectral = payload.spectralTransform ?? SpectralFormPlanner.choose(transforms, mode: .fftw) { _, _ in 0 }
        if let problem = SpectralFormPlanner.problem(spectral, transforms: transforms) { throw fail(problem) }
        let portable = payload.portable ?? false
        if portable && spectral.mode != .gemm {
            throw fail("a portable plan must use the GEMM spectral form everywhere, found mode '\(spectral.mode.rawValue)'")
        }
        return CompiledModel(config: config, programs: programs, persistent: payload.persistent,
                             placement: payload.placement, fftRigor: payload.fftRigor, wisdom: payload.wisdom, threads: payload.threads,
                             compileMilliseconds: payload.compileMilliseconds,
                             fftPlanningMilliseconds: payload.fftPlanningMilliseconds, spectral: spectral,
                             portable: portable, memoryLimit: memoryLimit)
    }
}

extension CompiledModel {
    /// The most worker threads a plan file may store (a tampered count must not reach pthread_create).
    static let maxStoredThreads = 1024

    /// The training rollout of a stored training program: its target input `y` must be
    /// `f32[batch, H, W, R]` with R in 1...t_out (`rollout_train`'s range), checked before
    /// the program is rebuilt with R steps.
    static func storedRollout(_ train: Graph, config: ModelConfig, fail: (String) -> UserError) throws -> Int {
        guard let y = train.value(named: Programs.target), case .input = train.values[y].kind else {
            throw fail("program 'train' has no input '\(Programs.target)' (the training target)")
        }
        let type = train.values[y].type
        let expected = "f32[\(config.batch),\(config.grid[0]),\(config.grid[1]),R]"
        guard type.dtype == .f32, type.boundedAxis == nil, type.shape.count == 4,
              Array(type.shape.prefix(3)) == [config.batch, config.grid[0], config.grid[1]] else {
            throw fail("program 'train': input '\(Programs.target)' is \(type), the embedded config gives \(expected)")
        }
        let rollout = type.shape[3]
        guard rollout >= 1 && rollout <= config.tOut else {
            throw fail("program 'train': training rollout \(rollout) (input '\(Programs.target)') is outside "
                       + "1...t_out = 1...\(config.tOut) of the embedded config")
        }
        return rollout
    }
}

/// 64-bit FNV-1a: detects corruption of the payload (not an authenticity check).
func fnv1a(_ data: Data) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in data { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return hash
}
