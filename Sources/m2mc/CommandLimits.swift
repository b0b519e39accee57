import Foundation
import M2MData
import M2MModel

/// Range checks of the commands' counts, before anything is computed from them: a value out of
/// range is one line naming the flag (or the config key it defaults to).
enum CommandLimits {
    /// The most timed or warm-up steps of `bench`.
    static let maxBenchSteps = 1_000_000
    /// The most autoregressive steps of `infer --rollout`.
    static let maxRollout = 100_000
    /// The largest counter a resumed checkpoint may carry (Adam's step count stays exact in a Double).
    static let maxCheckpointStep = 1 << 53

    /// Throws unless `value` is in `range`; `name` is the flag or key.
    static func require(_ value: Int, in range: ClosedRange<Int>, _ name: String) throws {
        guard range.contains(value) else {
            throw UserError("\(name) is \(value): it must be in \(range.lowerBound)...\(range.upperBound)")
        }
    }

    /// `--ntrain`/`--ntest` (or the config's `ntrain`/`ntest` they default to) against the data set's
    /// samples, before the split adds them.
    static func requireSamples(_ value: Int, flag: String, given: Bool, key: String, model: String, data: Dataset) throws {
        guard value >= 1 && value <= data.count else {
            let name = given ? flag : "\(model) (embedded config): key '\(key)'"
            throw UserError("\(name) is \(value): it must be in 1...\(data.count), the samples in \(data.path)")
        }
    }

    /// The epoch and step counters of a checkpoint to resume from, read from its header only:
    /// negative or absurd counters are refused before the trainer uses them. Missing or
    /// non-numeric counters are left to the trainer's own check.
    static func requireCheckpointCounters(_ path: String) throws -> (epoch: Int, step: Int)? {
        let metadata = try SafeTensors.metadata(path)
        guard let e = metadata["epoch"].flatMap(Int.init), let s = metadata["step"].flatMap(Int.init) else { return nil }
        guard (0...ModelConfig.maxEpochs).contains(e) else {
            throw UserError("\(path): checkpoint metadata 'epoch' is \(e): it must be in 0...\(ModelConfig.maxEpochs)")
        }
        guard (0...maxCheckpointStep).contains(s) else {
            throw UserError("\(path): checkpoint metadata 'step' is \(s): it must be in 0...\(maxCheckpointStep)")
        }
        return (e, s)
    }
}
