import ArgumentParser
import Foundation
import M2MData
import M2MModel

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Relative L2 error per rollout step and overall on the test samples.",
        discussion: """
            Writes eval.json and, for the first test sample, one PNG per rollout step into the output \
            folder: truth, prediction, error and, for an m2m model, the routing map (each patch in its \
            expert's colour, black where dropped). An m2m model also reports each expert's routed fraction.
            """)

    @Argument(help: "Compiled plan file (.m2m).") var model: String
    @Option(help: "Weights or checkpoint (safetensors); default: the config's seeded initialization.") var weights: String?
    @Option(help: "Data folder (datagen output) or FNO .mat file.") var data: String
    @Option(help: "Test samples: the last M (default: the config's).") var ntest: Int?
    @Option(help: "Worker threads (default: the plan's).") var threads: Int?
    @OptionGroup var numaFallback: FallbackOption
    @Option(name: .short, help: "Output folder for evaluation files (eval.json, PNG images).") var output: String = "eval"
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        try reportingUserErrors {
            let compiled = try CompiledModel.load(model)
            let runtime = try ModelRuntime(compiled, threads: threads ?? compiled.threads,
                                           numaFallback: numaFallback.enabled)
            reportPlacement(runtime)
            if let weights { try runtime.load(from: weights, includeOptimizer: false) }
            let dataset = try Dataset(path: data)
            let count = ntest ?? compiled.config.ntest
            guard count >= 1 else { throw UserError("--ntest must be >= 1") }
            try CommandLimits.requireSamples(count, flag: "--ntest", given: ntest != nil, key: "ntest", model: model,
                                             data: dataset)
            let test = try dataset.split(ntrain: 0, ntest: count).test
            let result: Evaluation
            do {
                result = try runtime.evaluate(dataset, samples: test)
            } catch let bad as NonFinitePrediction {
                throw UserError("\(weights ?? model): the model's prediction is \(bad.value) for test sample \(bad.sample) "
                                + "of \(data) at rollout step \(bad.step + 1) (weights diverged or data outside their range); "
                                + "nothing written")
            }
            var figures = result.json
            figures["config"] = compiled.config.name
            figures["weights"] = weights ?? "seeded initialization"
            try FileSystem.createDirectories(output)
            let config = compiled.config
            let images = try result.writeImages(to: output, height: config.grid[0], width: config.grid[1],
                                                scale: config.m2m?.scale)
            figures["images"] = images
            let path = output + "/eval.json"
            try AtomicFile.write(try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys, .prettyPrinted]),
                                 to: path)
            if json {
                printJSON(figures.merging(["eval_file": path]) { a, _ in a })
            } else {
                for (k, e) in result.perStep.enumerated() { print(String(format: "step %2d: rel. L2 %.5f", k + 1, e)) }
                print(String(format: "test rel. L2 %.5f over %d samples", result.overall, result.samples))
                if let routing = result.routing {
                    print("routed fraction per expert: "
                          + routing.fractions.enumerated().map { String(format: "%d: %.3f", $0, $1) }.joined(separator: ", ")
                          + ", overflow \(routing.overflow)")
                }
                print("images: \(output)/sample0-step*.png")
            }
        }
    }
}
