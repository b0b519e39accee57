import Foundation
import GraphIR
import M2MData
import Planner
import Executor

/// The `.m2m` file: magic, format version, payload length, FNV-1a checksum of
/// the payload, then a JSON payload (config, programs as IR text + plans,
/// persistent layout, FFTW wisdom). Loading re-derives and cross-checks everything.
extension CompiledModel {
    public static let magic = Array("M2MCPLAN".utf8)
    public static let formatVersion: UInt32 = 1
    static let headerBytes = 28

    struct Payload: Codable {
        struct Program: Codable { var name: String; var graph: String; var plan: ProgramPlan }
        var config: String
        var programs: [Program]
        var persistent: PersistentLayout
        var fftRigor: FFTRigor
        var wisdom: String
        var threads: Int
        var compileMilliseconds: Double
        var fftPlanningMilliseconds: Double
    }

    /// Serializes to the file format.
    public func serialized() throws -> Data {
        let payload = Payload(config: String(decoding: config.canonicalJSON(), as: UTF8.self),
                              programs: programs.map { .init(name: $0.name, graph: $0.graph.text, plan: $0.plan) },
                              persistent: persistent, fftRigor: fftRigor, wisdom: wisdom, threads: threads,
                              compileMilliseconds: compileMilliseconds, fftPlanningMilliseconds: fftPlanningMilliseconds)
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
        func fail(_ why: String) -> UserError { UserError("\(source): \(why)") }
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
        let config = try ModelConfig.parse(Data(payload.config.utf8), source: "\(source) (embedded config)")
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
        // Cross-checks: the graphs are the ones the config builds, and the plans the planner derives.
        guard programs.map(\.name) == [inferenceName, trainingName] else { throw fail("expected programs infer and train") }
        guard programs[0].graph == (try Programs.inference(config)) else {
            throw fail("program 'infer' does not match the embedded config")
        }
        let rollout = programs[1].graph.values[programs[1].graph.value(named: Programs.target)!].type.shape[3]
        guard programs[1].graph == (try Programs.training(config, rollout: rollout)) else {
            throw fail("program 'train' does not match the embedded config")
        }
        for p in programs where try ProgramPlanner.plan(p.graph) != p.plan {
            throw fail("program '\(p.name)': the stored arena plan does not match its graph")
        }
        guard try PersistentLayout(programs.map(\.graph)) == payload.persistent else {
            throw fail("the persistent layout does not match the programs")
        }
        guard payload.threads >= 1 else { throw fail("threads must be >= 1") }
        return CompiledModel(config: config, programs: programs, persistent: payload.persistent,
                             fftRigor: payload.fftRigor, wisdom: payload.wisdom, threads: payload.threads,
                             compileMilliseconds: payload.compileMilliseconds,
                             fftPlanningMilliseconds: payload.fftPlanningMilliseconds)
    }
}

/// 64-bit FNV-1a: detects corruption of the payload (not an authenticity check).
func fnv1a(_ data: Data) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in data { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return hash
}
