import ArgumentParser
import Foundation
import GraphIR
import M2MData
import M2MModel
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
               spectralMode: SpectralTransformMode = .auto) throws -> CompiledModel {
    if path.hasSuffix(".json") {
        return try CompiledModel.compile(try ModelConfig.load(path), rigor: rigor, threads: 2,
                                         trainingRollout: trainingRollout, source: path, spectralMode: spectralMode)
    }
    return try CompiledModel.load(path)
}

extension FFTRigor: ExpressibleByArgument {}
extension SpectralTransformMode: ExpressibleByArgument {}
