import ArgumentParser
import Foundation
import M2MData
import M2MModel

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a compiled model; writes RUN/metrics.jsonl, RUN/ckpt-*.safetensors and RUN/last.safetensors.",
        discussion: """
            Each epoch appends one line to metrics.jsonl: train loss, test rel. L2 (per rollout step too) \
            and, for an m2m model, L_data, L_router, KL, lambda (the PI controller's next value), each \
            expert's routed fraction and the overflow (reroutes + drops). Checkpoints hold the weights, the \
            Adam moments, the counters and the controller state, so --resume continues bit-identically. \
            One train at a time per run folder (RUN/.lock); a fresh run refuses a folder holding a \
            checkpoint, and replaces metrics.jsonl of a run that never wrote one.
            """)

    @Argument(help: "Compiled plan file (.m2m).") var model: String
    @Option(help: "Data folder (datagen output) or FNO .mat file.") var data: String
    @Option(name: .short, help: "Run folder.") var output: String
    @Option(help: "Total epochs (default: the config's); a resumed run trains the remaining ones.") var epochs: Int?
    @Option(help: "Training samples: the first N (default: the config's).") var ntrain: Int?
    @Option(help: "Test samples: the last M (default: the config's).") var ntest: Int?
    @Option(help: "Worker threads (default: the plan's).") var threads: Int?
    @OptionGroup var numaFallback: FallbackOption
    @Option(help: "Checkpoint written by an earlier run to continue from.") var resume: String?
    @Option(help: "Write RUN/ckpt-<epoch>.safetensors every K epochs (and at the end).") var checkpointEvery: Int = 10
    @Flag(help: "Print one JSON object with the final figures.") var json = false

    func run() throws {
        try reportingUserErrors {
            guard checkpointEvery >= 1 else { throw UserError("--checkpoint-every must be >= 1") }
            if let epochs, epochs < 1 { throw UserError("--epochs must be >= 1") }
            if let epochs { try CommandLimits.require(epochs, in: 1...ModelConfig.maxEpochs, "--epochs") }
            let compiled = try CompiledModel.load(model)
            let config = compiled.config
            // The checkpoint's counters before anything (the trainer trusts them).
            if let resume { _ = try CommandLimits.requireCheckpointCounters(resume) }
            let runtime = try ModelRuntime(compiled, threads: threads ?? compiled.threads,
                                           numaFallback: numaFallback.enabled)
            reportPlacement(runtime)
            let dataset = try Dataset(path: data)
            try CommandLimits.requireSamples(ntrain ?? config.ntrain, flag: "--ntrain", given: ntrain != nil,
                                             key: "ntrain", model: model, data: dataset)
            try CommandLimits.requireSamples(ntest ?? config.ntest, flag: "--ntest", given: ntest != nil,
                                             key: "ntest", model: model, data: dataset)
            let trainer = try Trainer(runtime: runtime, data: dataset, ntrain: ntrain ?? config.ntrain,
                                      ntest: ntest ?? config.ntest, runDirectory: output)
            trainer.checkpointEvery = checkpointEvery
            trainer.notice = { FileHandle.standardError.write(Data("m2mc: note: \($0)\n".utf8)) }
            if let resume { try trainer.resume(from: resume) }
            let total = epochs ?? config.epochs
            let batches = trainer.train.count / config.batch
            // Every count below is bounded (epochs, samples, the checkpoint's step); checked all the same.
            let (remaining, overflow) = max(0, total - trainer.epoch).multipliedReportingOverflow(by: batches)
            guard !overflow, !trainer.step.addingReportingOverflow(remaining).overflow else {
                throw UserError("--epochs \(total) x \(batches) batches per epoch is too many steps")
            }
            let steps = max(1, remaining)
            let reporter = ProgressReporter(label: "train", total: steps)
            // Formatting allocates: report at most ten times a second so that steps in
            // between allocate nothing.
            var lastReport = DispatchTime.now().uptimeNanoseconds
            trainer.progress = { p in
                let now = DispatchTime.now().uptimeNanoseconds
                guard p.stepsDone == steps || now - lastReport >= 100_000_000 else { return }
                lastReport = now
                reporter.update(p.stepsDone, detail: String(format: " epoch %d/%d loss %.4f", p.epoch, p.epochs, p.loss))
            }
            var last: EpochRecord?
            trainer.epochFinished = { record in
                last = record
                guard !json else { return }
                var line = String(format: "epoch %d: train loss %.5f, test rel. L2 %.5f (%.1f s)", record.epoch,
                                  record.trainLoss, record.testRelL2, record.seconds)
                if let d = record.lossData, let r = record.lossRouter, let lambda = record.lambda, let kl = record.kl,
                   let fractions = record.routedFraction, let overflow = record.overflow {
                    line += String(format: "; L_data %.4f, L_router %.4f, KL %.4f, lambda %.5f, routed ", d, r, kl, lambda)
                        + fractions.map { String(format: "%.2f", $0) }.joined(separator: "/")
                        + ", overflow \(overflow)"
                }
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            try trainer.run(epochs: total)
            if json {
                var figures: [String: Any] = [:]
                if let last, let record = try JSONSerialization.jsonObject(with: last.jsonLine()) as? [String: Any] {
                    figures = record
                }
                figures["run"] = output
                figures["last_checkpoint"] = trainer.lastCheckpointPath
                printJSON(figures)
            } else {
                print("trained \(config.name) to epoch \(trainer.epoch); checkpoint \(trainer.lastCheckpointPath)")
            }
        }
    }
}
