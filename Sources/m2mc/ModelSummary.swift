import Foundation
import GraphIR
import M2MModel
import Planner

/// The figures `compile` and `inspect` report about a compiled model.
struct ModelSummary {
    let model: CompiledModel
    init(_ model: CompiledModel) { self.model = model }

    var parameters: Int { Models.make(model.config).parameterCount }

    var json: [String: Any] {
        let train = model.training, infer = model.inference
        return [
            "config": model.config.name,
            "arena_bytes": train.plan.arenaBytes,
            "arena_lower_bound_bytes": train.plan.lowerBoundBytes,
            "arena_strategy": train.plan.layout.strategy,
            "infer_arena_bytes": infer.plan.arenaBytes,
            "infer_arena_lower_bound_bytes": infer.plan.lowerBoundBytes,
            "persistent_bytes": model.persistent.totalBytes,
            "parameters": parameters,
            "flops_per_train_step": train.graph.analyticFLOPs,
            "flops_per_inference": infer.graph.analyticFLOPs,
            "train_nodes": train.graph.nodes.count,
            "infer_nodes": infer.graph.nodes.count,
            "fftw": model.fftRigor.rawValue,
            "fft_transforms": Set(model.programs.flatMap(\.plan.transforms)).count,
            "compile_ms": model.compileMilliseconds,
            "fftw_planning_ms": model.fftPlanningMilliseconds,
            "threads": model.threads,
            "memory_domains": 1,
        ]
    }

    var oneLine: String {
        let t = model.training.plan
        return String(format: "%d parameters, train arena %.1f MiB (lower bound %.1f MiB, ratio %.3f), persistent %.1f MiB",
                      parameters, Double(t.arenaBytes) / 1048576, Double(t.lowerBoundBytes) / 1048576,
                      Double(t.arenaBytes) / Double(max(t.lowerBoundBytes, 1)),
                      Double(model.persistent.totalBytes) / 1048576)
    }
}
