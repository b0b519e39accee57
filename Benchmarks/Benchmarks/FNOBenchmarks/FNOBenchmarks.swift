import Benchmark
import Foundation
import M2MModel

/// package-benchmark targets for one inference and one training step of the
/// BENCH.md configurations; the framework reports wall time and mallocs per step (both 0 allocations).
let benchmarks: @Sendable () -> Void = {
    // No peakMemoryResident: its sampling thread allocates while a step runs, which
    // would show up as mallocs of the step (m2mc bench reports peak RSS instead).
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .mallocCountTotal],
                                           warmupIterations: 5, maxDuration: .seconds(10), maxIterations: 30)
    let configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../configs").standardized.path
    for name in ["fno-ns64", "fno-ns128"] {
        let config = try! ModelConfig.load("\(configs)/\(name).json")
        let compiled = try! CompiledModel.compile(config, rigor: .measure, threads: 2, trainingRollout: 1)
        let runtime = try! ModelRuntime(compiled, threads: 2)
        let infer = try! runtime.program(CompiledModel.inferenceName)
        let train = try! runtime.program(CompiledModel.trainingName)
        let scalars = train.buffer(Programs.optimizerScalars)!
        scalars[0] = Float(config.optimizer.lr)
        Benchmark("\(name) inference") { benchmark in
            for _ in benchmark.scaledIterations { infer.run() }
        }
        Benchmark("\(name) train step") { benchmark in
            for _ in benchmark.scaledIterations {
                scalars[1] += 1
                train.run()
            }
        }
    }
}
