import ArgumentParser
import Foundation
import M2MData
import M2MModel

struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Run inference on user data: [N, H, W, t_in] (or [N, H, W] for steady operators) -> [N, H, W, T].")

    @Argument(help: "Compiled plan file (.m2m).") var model: String
    @Option(help: "Weights (safetensors); default: the config's seeded initialization.") var weights: String?
    @Option(help: "Input array (.npy, float32 or float64).") var input: String
    @Option(name: .short, help: "Output array (.npy).") var output: String
    @Option(help: "Autoregressive steps (time stepping).") var rollout: Int = 1
    @Option(help: "Worker threads (default: the plan's).") var threads: Int?
    @OptionGroup var numaFallback: FallbackOption

    func run() throws {
        try reportingUserErrors {
            // The output must not replace an input: the plan, the weights or the data.
            for (flag, path) in [("the model", model), ("--weights", weights), ("--input", input)] {
                if let path, sameFile(path, output) {
                    throw UserError("-o \(output) is \(flag) file: choose another output path")
                }
            }
            try CommandLimits.require(rollout, in: 1...CommandLimits.maxRollout, "--rollout")
            let compiled = try CompiledModel.load(model)
            let runtime = try ModelRuntime(compiled, threads: threads ?? compiled.threads,
                                           numaFallback: numaFallback.enabled)
            reportPlacement(runtime)
            if let weights { try runtime.load(from: weights, includeOptimizer: false) }
            let array = try Npy.read(input)
            let c = compiled.config
            let steady = c.task == .steady
            let expected = steady ? "[N, \(c.grid[0]), \(c.grid[1])]" : "[N, \(c.grid[0]), \(c.grid[1]), \(c.tIn)]"
            let shapeOK = steady
                ? array.shape.count == 3 && Array(array.shape[1...]) == c.grid
                : array.shape.count == 4 && Array(array.shape[1...]) == c.grid + [c.tIn]
            guard shapeOK, array.shape[0] >= 1 else {
                throw UserError("\(input): shape \(array.shape), the model expects \(expected)")
            }
            let n = array.shape[0]
            // The output array [N, H, W, T] before it is allocated.
            try SystemResources.requireMemory(SystemResources.checkedProduct([n, c.grid[0], c.grid[1], rollout, 4]),
                                              for: "the predictions [\(n), \(c.grid[0]), \(c.grid[1]), \(rollout)]",
                                              subject: "--rollout \(rollout)")
            let predicted = try array.values.withUnsafeBufferPointer {
                try runtime.predict($0, count: n, rollout: rollout)
            }
            if let bad = NonFinitePrediction.first(in: predicted, pixels: c.grid[0] * c.grid[1], rollout: rollout) {
                throw UserError("\(input): the model's prediction is \(bad.value) for sample \(bad.sample) at rollout "
                                + "step \(bad.step + 1) (input outside the range of \(weights ?? "the initial weights")); "
                                + "\(output) not written")
            }
            let shape = steady ? [n] + c.grid : [n] + c.grid + [rollout]
            try Npy.write(predicted, shape: shape, to: output)
            print("wrote \(output) \(shape)")
        }
    }
}

/// Whether two paths name the same existing file (after resolving links and `..`).
func sameFile(_ a: String, _ b: String) -> Bool {
    var sa = stat(), sb = stat()
    guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
}
