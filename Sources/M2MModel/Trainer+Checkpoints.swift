import Executor
import Foundation
import M2MData

/// Checkpoints: what a run saves, and a resume that validates everything before it
/// changes anything.
extension Trainer {
    static func fingerprint(_ data: Dataset, samples: Range<Int>) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ v: UInt64) {
            for byte in 0..<8 { hash = (hash ^ ((v >> (8 * byte)) & 0xFF)) &* 0x100_0000_01b3 }
        }
        for v in [data.count, data.height, data.width, data.frames, samples.lowerBound, samples.upperBound] { mix(UInt64(v)) }
        let pixels = data.height * data.width
        let perSample = data.isSteady ? pixels : pixels * data.frames
        for i in (samples.lowerBound * perSample)..<(samples.upperBound * perSample) { mix(UInt64(data.fields[i].bitPattern)) }
        if data.isSteady {
            for i in (samples.lowerBound * pixels)..<(samples.upperBound * pixels) { mix(UInt64(data.sources[i].bitPattern)) }
        }
        return String(hash, radix: 16)
    }

    /// Restores weights, Adam moments and counters from a checkpoint written by this loop.
    /// Every check runs before anything changes: on an error the weights, counters and the
    /// run folder (metrics.jsonl included) are as they were. The metrics of later epochs are
    /// dropped by `run`, once it holds the run folder's lock.
    public func resume(from path: String) throws {
        let measured = runtime.scales
        let saved = store.snapshot()
        do {
            try restore(from: path, measured: measured)
        } catch {
            runtime.scales = measured
            store.restore(saved)
            throw error
        }
    }

    func restore(from path: String, measured: DataScales) throws {
        let metadata = try runtime.load(from: path, includeOptimizer: true)
        guard runtime.scales == measured else {
            throw UserError("\(path): the checkpoint's data scales differ from this data's training samples: "
                            + "it was trained on other data or another --ntrain")
        }
        guard let e = metadata["epoch"].flatMap(Int.init), let s = metadata["step"].flatMap(Int.init),
              metadata["config"] == config.name else {
            throw UserError("\(path): not a training checkpoint of model '\(config.name)' (metadata epoch/step/config missing)")
        }
        guard metadata["seed"] == String(config.seed) else {
            throw UserError("\(path): checkpoint was trained with seed \(metadata["seed"] ?? "?"), the model has seed \(config.seed)")
        }
        if let trained = metadata["data_fingerprint"], trained != dataFingerprint {
            throw UserError("\(path): the checkpoint was trained on other samples (--data or --ntrain differ: it recorded "
                            + "ntrain \(metadata["ntrain"] ?? "?"), this run has \(train.count))")
        }
        // A checkpoint is written at the end of an epoch: epoch >= 0 and step = epoch x batches.
        let batches = train.count / config.batch
        guard e >= 0 else { throw UserError("\(path): metadata 'epoch' is \(e), must be >= 0") }
        let (expected, overflow) = e.multipliedReportingOverflow(by: batches)
        guard !overflow, s == expected else {
            throw UserError("\(path): metadata 'step' \(s) does not match 'epoch' \(e) x \(batches) batches per epoch: "
                            + "not a checkpoint of this run (or another --ntrain)")
        }
        var restored: PIController?
        if let current = controller {
            let c = try PIController(metadata: metadata, source: path)
            guard c.config == current.config else {
                throw UserError("\(path): the checkpoint's controller settings differ from the model's m2m.controller")
            }
            restored = c
        }
        if let restored { controller = restored }
        (epoch, step) = (e, s)
        continuesRun = true
    }

    /// Weights, Adam moments, counters and the RNG scheme, atomically.
    public func saveCheckpoint(to path: String) throws {
        var metadata = [
            "format": "m2m-checkpoint-1", "config": config.name, "epoch": String(epoch), "step": String(step),
            "seed": String(config.seed), "lr": String(learningRate(epoch: epoch)),
            "rng": "splitmix64(seed, stream 0x5EED0000 + epoch) shuffles each epoch",
            "ntrain": String(train.count), "data": data.path, "data_fingerprint": dataFingerprint,
        ]
        if let controller { metadata.merge(controller.metadata) { a, _ in a } }
        if config.normalization == .rms { metadata.merge(runtime.scales.metadata) { a, _ in a } }
        try runtime.save(to: path, includeOptimizer: true, metadata: metadata)
    }

    /// Checkpoint files in the run folder (last.safetensors, ckpt-*.safetensors).
    func checkpointFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: runDirectory)) ?? []
        return names.filter { $0 == "last.safetensors" || ($0.hasPrefix("ckpt-") && $0.hasSuffix(".safetensors")) }.sorted()
    }
}
