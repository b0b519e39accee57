import Executor
import Foundation
import M2MData

/// The run folder: metrics.jsonl, and which earlier runs a fresh run may replace.
extension Trainer {
    func appendMetrics(_ record: EpochRecord) throws {
        let line = try record.jsonLine()
        var existing = FileManager.default.contents(atPath: metricsPath) ?? Data()
        existing.append(line)
        existing.append(0x0A)
        try AtomicFile.write(existing, to: metricsPath)
    }

    /// A fresh run may not replace a run that can be resumed (any checkpoint, with or without
    /// metrics); metrics of a run that failed before its first checkpoint are replaced.
    func prepareFreshRun() throws {
        let checkpoints = checkpointFiles()
        let hasMetrics = FileManager.default.fileExists(atPath: metricsPath)
        if let first = checkpoints.first(where: { $0 == "last.safetensors" }) ?? checkpoints.first {
            throw UserError("\(runDirectory) already holds a run (\(hasMetrics ? "metrics.jsonl, " : "")\(first)): "
                            + "resume it with --resume \(runDirectory)/\(first) or write to another folder")
        }
        if hasMetrics {
            guard unlink(metricsPath) == 0 || errno == ENOENT else {
                throw UserError("\(metricsPath): cannot remove the metrics of the earlier run without checkpoints: "
                                + String(cString: strerror(errno)))
            }
            replacedRunWithoutCheckpoint = true
            notice?("\(runDirectory) held metrics.jsonl of a run that wrote no checkpoint: starting it over")
        }
    }

    /// Keeps only the metrics of epochs up to `epoch` (a resumed run rewrites later ones).
    /// A line that is not a metrics record is an error, not silently dropped; the file is
    /// rewritten only when something is dropped.
    func trimMetrics(after epoch: Int) throws {
        guard let data = FileManager.default.contents(atPath: metricsPath) else { return }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        var kept: [Substring] = []
        for (i, line) in lines.enumerated() {
            let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            guard let recorded = record?["epoch"] as? Int else {
                throw UserError("\(metricsPath): line \(i + 1) is not a metrics record with an 'epoch': "
                                + "fix or remove the file to resume")
            }
            if recorded <= epoch { kept.append(line) }
        }
        guard kept.count < lines.count else { return }
        try AtomicFile.write(Data((kept.map { $0 + "\n" }.joined()).utf8), to: metricsPath)
    }
}
