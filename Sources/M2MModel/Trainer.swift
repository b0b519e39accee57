import Executor
import Foundation
import M2MData

/// Progress of a training run, reported after every step.
public struct TrainingProgress {
    public var epoch: Int, epochs: Int
    public var batch: Int, batches: Int
    public var loss: Double
    public var elapsedSeconds: Double
    /// Steps still to run in this invocation, for the ETA.
    public var remainingSteps: Int
    public var stepsDone: Int
}

/// The training loop: seeded per-epoch shuffles, batches copied into the training
/// program's input slots, the learning rate fed as a runtime scalar (x gamma every
/// step_size epochs), test evaluation and metrics each epoch, atomic checkpoints.
/// Everything that decides the numbers is a function of (config, seed, epoch), so a
/// run resumed from a checkpoint ends bit-identical to one never interrupted.
public final class Trainer {
    public let runtime: ModelRuntime
    public let data: Dataset
    public let train: Range<Int>, test: Range<Int>
    public let runDirectory: String
    public var checkpointEvery = 10
    public var progress: ((TrainingProgress) -> Void)?
    public var epochFinished: ((EpochRecord) -> Void)?
    /// Things worth a line to the user that are not errors (a replaced run without checkpoints).
    public var notice: ((String) -> Void)?

    /// Optimizer steps taken so far (Adam's bias-correction step count).
    public private(set) var step = 0
    /// Epochs completed so far.
    public private(set) var epoch = 0
    /// Routed models: the PI controller of lambda(t) (M2M.md section 7), saved in checkpoints.
    public private(set) var controller: PIController?

    public init(runtime: ModelRuntime, data: Dataset, ntrain: Int, ntest: Int, runDirectory: String) throws {
        let config = runtime.config
        try data.validateGrid(config.grid)
        try data.validateWindow(tIn: config.tIn, tOut: config.tOut)
        guard ntest >= 1 else { throw UserError("--ntest must be >= 1: every epoch reports the test error") }
        (train, test) = try data.split(ntrain: ntrain, ntest: ntest)
        guard train.count >= config.batch else {
            throw UserError("--ntrain \(ntrain) is smaller than the batch size \(config.batch)")
        }
        // The loss and the test error divide by ||true||: refuse all-zero targets up front
        // (not as "training diverged" or a meaningless error later).
        let training = runtime.compiled.training.graph
        let rollout = training.value(named: Programs.target).map { training.values[$0].type.shape[3] } ?? config.rolloutTrain
        try data.validateNonzeroTargets(samples: train, tIn: config.tIn, tOut: rollout, role: "training")
        try data.validateNonzeroTargets(samples: test, tIn: config.tIn, tOut: config.tOut, role: "test")
        self.runtime = runtime
        self.data = data
        self.runDirectory = runDirectory
        if let m2m = config.m2m { controller = PIController(config: m2m.controller) }
        if config.normalization == .rms { runtime.scales = try DataScales.measure(data, samples: train) }
        dataFingerprint = Self.fingerprint(data, samples: train)
    }

    /// FNV-1a 64 of the training samples' values and the grid: what a checkpoint was
    /// trained on, so that a resume on other data or another --ntrain is refused.
    let dataFingerprint: String

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

    var config: ModelConfig { runtime.config }
    var metricsPath: String { runDirectory + "/metrics.jsonl" }
    public var lastCheckpointPath: String { runDirectory + "/last.safetensors" }

    /// Learning rate of a (0-based) epoch: step decay.
    public func learningRate(epoch: Int) -> Double {
        config.optimizer.lr * pow(config.optimizer.gamma, Double(epoch / config.optimizer.stepSize))
    }

    /// Restores weights, Adam moments and counters from a checkpoint written by this loop.
    /// Every check runs before anything changes: on an error the weights, counters and the
    /// run folder (metrics.jsonl included) are as they were. The metrics of later epochs are
    /// dropped by `run`, once it holds the run folder's lock.
    public func resume(from path: String) throws {
        let measured = runtime.scales
        let block = store.block
        let saved = [UInt8](UnsafeRawBufferPointer(start: block.base, count: block.byteCount))
        do {
            try restore(from: path, measured: measured)
        } catch {
            runtime.scales = measured
            saved.withUnsafeBytes { block.base.copyMemory(from: $0.baseAddress!, byteCount: saved.count) }
            throw error
        }
    }

    private var store: PersistentStore { runtime.store }

    private func restore(from path: String, measured: DataScales) throws {
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

    /// Set by a successful `resume`, and once `run` has checkpointed an epoch: a later `run`
    /// continues this run in its folder instead of starting a fresh one.
    private var continuesRun = false
    /// Set by `run` when the folder held metrics of a run that never wrote a checkpoint
    /// (it failed in its first epoch): that run is replaced, since it cannot be resumed.
    public private(set) var replacedRunWithoutCheckpoint = false

    /// Trains until `epochs` epochs are complete in total.
    public func run(epochs: Int) throws {
        guard epochs >= epoch else { throw UserError("--epochs \(epochs) is before the checkpoint's epoch \(epoch)") }
        try FileSystem.createDirectories(runDirectory)
        // One writer per run folder: a second train into it fails here, before touching a file.
        let lock = try FolderLock(folder: runDirectory, what: "m2mc train")
        defer { lock.release() }
        if continuesRun {
            try trimMetrics(after: epoch)
        } else {
            try prepareFreshRun()
        }
        let program = try runtime.program(CompiledModel.trainingName)
        let input = program.buffer(Programs.input)!, target = program.buffer(Programs.target)!
        let scalars = program.buffer(Programs.optimizerScalars)!, loss = program.buffer(Programs.loss)!
        let rollout = program.type(of: Programs.target)!.shape[3]
        let batch = config.batch, batches = train.count / batch
        // Routed models: lambda in, loss terms and each rollout step's routing table out.
        let routed = runtime.model as? M2MNet
        let lambda = program.buffer(Programs.routingWeight)
        let dataLoss = program.buffer(Programs.dataLoss), routerLoss = program.buffer(Programs.routerLoss)
        let klLoss = program.buffer(Programs.klLoss)
        let routeTables = (0..<rollout).compactMap { program.indexBuffer(Programs.route($0)) }
        var statistics = RoutingStatistics(experts: routed?.m2m.experts ?? 0)
        let inputCount = program.type(of: Programs.input)!.elementCount
        let targetCount = program.type(of: Programs.target)!.elementCount
        var order = Array(train)
        let start = DispatchTime.now()
        let totalSteps = (epochs - epoch) * batches
        var stepsDone = 0
        while epoch < epochs {
            let epochStart = DispatchTime.now()
            for (i, sample) in train.enumerated() { order[i] = sample }
            var rng = SeededGenerator(seed: config.seed, stream: 0x5EED_0000 + UInt64(epoch))
            rng.shuffle(&order)
            let lr = learningRate(epoch: epoch)
            var lossSum = 0.0, dataSum = 0.0, routerSum = 0.0, klSum = 0.0
            statistics.reset()
            try order.withUnsafeBufferPointer { indices in
                for b in 0..<batches {
                    let slice = UnsafeBufferPointer(rebasing: indices[(b * batch)..<((b + 1) * batch)])
                    data.fillBatch(indices: slice, tIn: config.tIn, tOut: rollout, input: input, target: target)
                    DataScales.divide(input, count: inputCount, by: runtime.scales.input)
                    DataScales.divide(target, count: targetCount, by: runtime.scales.target)
                    step += 1
                    scalars[0] = Float(lr)
                    scalars[1] = Float(step)
                    if let lambda, let controller { lambda[0] = Float(controller.lambda) }
                    program.run()
                    let l = Double(loss[0])
                    if let routed, let dataLoss, let routerLoss, let klLoss {
                        let (d, r, k) = (Double(dataLoss[0]), Double(routerLoss[0]), Double(klLoss[0]))
                        dataSum += d; routerSum += r; klSum += k / Double(rollout)
                        let measure = controller?.config.measure == .data ? d : k
                        _ = controller?.update(measurement: measure / Double(rollout))
                        // By index: a debug build's for-in over an array allocates a coroutine frame per element.
                        for i in routeTables.indices { statistics.add(routeTables[i], layout: routed.routeTable) }
                    }
                    guard l.isFinite else {
                        throw UserError("training diverged: loss is \(l) at epoch \(epoch + 1), batch \(b + 1); lower optimizer.lr")
                    }
                    lossSum += l
                    stepsDone += 1
                    progress?(TrainingProgress(epoch: epoch + 1, epochs: epochs, batch: b + 1, batches: batches,
                                               loss: lossSum / Double(b + 1),
                                               elapsedSeconds: seconds(since: start),
                                               remainingSteps: totalSteps - stepsDone, stepsDone: stepsDone))
                }
            }
            epoch += 1
            let evaluation: Evaluation
            do {
                evaluation = try runtime.evaluate(data, samples: test)
            } catch let bad as NonFinitePrediction {
                throw UserError("training diverged: the test prediction is \(bad.value) at epoch \(epoch) (test sample "
                                + "\(bad.sample), rollout step \(bad.step + 1)); lower optimizer.lr")
            }
            var record = EpochRecord(
                epoch: epoch, step: step, lr: lr, trainLoss: lossSum / Double(batches),
                trainLossPerRolloutStep: lossSum / Double(batches * rollout), seconds: seconds(since: epochStart),
                testRelL2: evaluation.overall, testRelL2PerStep: evaluation.perStep, testSamples: evaluation.samples)
            if routed != nil {
                record.lossData = dataSum / Double(batches)
                record.lossRouter = routerSum / Double(batches)
                record.kl = klSum / Double(batches)
                record.lambda = controller?.lambda
                record.controllerIntegral = controller?.integral
                record.routedFraction = statistics.fractions
                record.overflow = statistics.overflow
                record.overflowPerExpert = zip(statistics.reroutes, statistics.drops).map { $0 + $1 }
                record.testRoutedFraction = evaluation.routing?.fractions
            }
            try appendMetrics(record)
            try saveCheckpoint(to: lastCheckpointPath)
            if epoch % checkpointEvery == 0 || epoch == epochs {
                try saveCheckpoint(to: runDirectory + String(format: "/ckpt-%05d.safetensors", epoch))
            }
            continuesRun = true
            epochFinished?(record)
        }
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

    private func appendMetrics(_ record: EpochRecord) throws {
        let line = try record.jsonLine()
        var existing = FileManager.default.contents(atPath: metricsPath) ?? Data()
        existing.append(line)
        existing.append(0x0A)
        try AtomicFile.write(existing, to: metricsPath)
    }

    /// Checkpoint files in the run folder (last.safetensors, ckpt-*.safetensors).
    func checkpointFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: runDirectory)) ?? []
        return names.filter { $0 == "last.safetensors" || ($0.hasPrefix("ckpt-") && $0.hasSuffix(".safetensors")) }.sorted()
    }

    /// A fresh run may not replace a run that can be resumed (any checkpoint, with or without
    /// metrics); metrics of a run that failed before its first checkpoint are replaced.
    private func prepareFreshRun() throws {
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
    private func trimMetrics(after epoch: Int) throws {
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

func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}
