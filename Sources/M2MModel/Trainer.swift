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
    public internal(set) var step = 0
    /// Epochs completed so far.
    public internal(set) var epoch = 0
    /// Routed models: the PI controller of lambda(t) (M2M.md section 7), saved in checkpoints.
    public internal(set) var controller: PIController?

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

    var config: ModelConfig { runtime.config }
    var metricsPath: String { runDirectory + "/metrics.jsonl" }
    public var lastCheckpointPath: String { runDirectory + "/last.safetensors" }

    /// Learning rate of a (0-based) epoch: step decay.
    public func learningRate(epoch: Int) -> Double {
        config.optimizer.lr * pow(config.optimizer.gamma, Double(epoch / config.optimizer.stepSize))
    }

    var store: PersistentStore { runtime.store }

    /// Set by a successful `resume`, and once `run` has checkpointed an epoch: a later `run`
    /// continues this run in its folder instead of starting a fresh one.
    var continuesRun = false
    /// Set by `run` when the folder held metrics of a run that never wrote a checkpoint
    /// (it failed in its first epoch): that run is replaced, since it cannot be resumed.
    public internal(set) var replacedRunWithoutCheckpoint = false

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
        let routeLayout = (runtime.model as? M2MNet)?.routeTable   // decided once, not per step
        let lambda = program.buffer(Programs.routingWeight)
        let dataLoss = program.buffer(Programs.dataLoss), routerLoss = program.buffer(Programs.routerLoss)
        let klLoss = program.buffer(Programs.klLoss)
        let routeTables = (0..<rollout).compactMap { program.indexBuffer(Programs.route($0)) }
        var statistics = RoutingStatistics(experts: routeLayout?.experts ?? 0)
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
                    if let routeLayout, let dataLoss, let routerLoss, let klLoss {
                        let (d, r, k) = (Double(dataLoss[0]), Double(routerLoss[0]), Double(klLoss[0]))
                        dataSum += d; routerSum += r; klSum += k / Double(rollout)
                        let measure = controller?.config.measure == .data ? d : k
                        _ = controller?.update(measurement: measure / Double(rollout))
                        // By index: a debug build's for-in over an array allocates a coroutine frame per element.
                        for i in routeTables.indices { statistics.add(routeTables[i], layout: routeLayout) }
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
            if routeLayout != nil {
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

}

func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}
