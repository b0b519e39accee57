import Foundation
import GraphIR
import M2MData
import M2MModel
import Planner

/// The figures `compile` and `inspect` report about a compiled model.
struct ModelSummary {
    let model: CompiledModel
    /// Under a memory limit, the training arena without it (planned once, here).
    let arenaWithoutLimit: Int?
    init(_ model: CompiledModel) {
        self.model = model
        arenaWithoutLimit = try? model.arenaBytesWithoutLimit()
    }

    var parameters: Int { Models.make(model.config).parameterCount }

    var json: [String: Any] {
        let train = model.training, infer = model.inference
        return [
            "config": model.config.name,
            "arena_bytes": train.plan.arenaBytes,
            "arena_lower_bound_bytes": train.plan.lowerBoundBytes,
            "arena_strategy": train.plan.arenas.map(\.strategy).joined(separator: ","),
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
            "spectral_transform": model.spectral.mode.rawValue,
            "spectral_forms": model.spectral.choices.map { c -> [String: Any] in
                ["transform": c.transform.description, "form": c.form.rawValue,
                 "fftw_us_per_sample": c.fftwSeconds.map { $0 * 1e6 } ?? NSNull(),
                 "gemm_us_per_sample": c.gemmSeconds.map { $0 * 1e6 } ?? NSNull()]
            },
            "compile_ms": model.compileMilliseconds,
            "fftw_planning_ms": model.fftPlanningMilliseconds,
            "threads": model.threads,
            "memory_domains": model.placement.domains.count,
            "numa_policy": model.placement.policy.rawValue,
            "portable": model.portable,
            "topology": model.placement.topology.description,
            "domains": domains,
            "cross_node_bytes_per_train_step_at_capacity": (try? crossNodeBytes(train)) ?? 0,
            "cross_node_bytes_per_inference_at_capacity": (try? crossNodeBytes(infer)) ?? 0,
        ].merging(experts.map { ["model": model.config.model, "experts": $0] } ?? ["model": model.config.model]) { a, _ in a }
            .merging(memoryLimitFigures) { a, _ in a }
    }

    /// Under a memory limit: the limit, the training arena without it, and the recomputation's cost.
    var memoryLimitFigures: [String: Any] {
        guard let m = model.memoryLimit else { return ["memory_limit_bytes": NSNull()] }
        return ["memory_limit_bytes": m.limitBytes, "arena_bytes_without_limit": arenaWithoutLimit ?? NSNull(),
                "recompute_extra_flops": m.extraFLOPs, "recompute_extra_flops_percent": m.extraFLOPsPercent,
                "recomputed_cheap_values": m.cheapOps, "checkpointed_rollout_steps": m.checkpointedSteps]
    }

    /// One line on the memory limit and what fitting it costs; nil without a limit.
    var memoryLimitLine: String? {
        guard let m = model.memoryLimit else { return nil }
        func size(_ b: Int) -> String {
            b >= 1_000_000_000 ? String(format: "%.2f GB", Double(b) / 1e9) : SystemResources.describe(bytes: b, exact: false)
        }
        var line = "memory limit \(SystemResources.describe(bytes: m.limitBytes)): train arena "
            + "\(size(model.training.plan.arenaBytes)) (\(arenaWithoutLimit.map(size) ?? "?") without the limit) + "
            + "\(size(m.persistentBytes)) weights and optimizer state"
        guard m.recomputes else { return line + "; fits without recomputation" }
        var what: [String] = []
        if !m.cheapOps.isEmpty {
            what.append(m.cheapOps.keys.sorted().map { "\($0) x\(m.cheapOps[$0]!)" }.joined(separator: ", ")
                        + " per backward reader")
        }
        if !m.checkpointedSteps.isEmpty {
            let one = m.checkpointedSteps.count == 1
            what.append("rollout step\(one ? "" : "s") " + m.checkpointedSteps.map(String.init).joined(separator: ", ")
                        + " re-run from \(one ? "its" : "their") input window")
        }
        line += "; recomputes " + what.joined(separator: "; ")
        line += String(format: ": +%.3f GFLOP per train step (+%.1f%%)", m.extraFLOPs / 1e9, m.extraFLOPsPercent)
        return line
    }

    /// Each memory domain: where it lives, what it holds and its bytes.
    var domains: [[String: Any]] {
        let placement = model.placement
        return placement.domains.indices.map { d in
            ["domain": d, "memory": placement.domains[d].description, "holds": placement.contents(ofDomain: d),
             "persistent_bytes": model.persistent.blockBytes[d],
             "train_arena_bytes": model.training.plan.arenas[d].arenaBytes,
             "infer_arena_bytes": model.inference.plan.arenas[d].arenaBytes] as [String: Any]
        }
    }

    /// Cross-node bytes of one run of `program` at full capacity (plan-derived).
    func crossNodeBytes(_ program: CompiledProgram) throws -> Double {
        try model.placement.crossNodeBytes(program.graph, plan: program.plan, persistent: model.persistent,
                                           replicated: model.readsWeightCopies(program.name))
    }

    /// Routed models: each expert's modes, width, capacity, parameters (bytes with Adam
    /// moments) and training FLOPs per step at full capacity (its share scales with the
    /// patches routed to it).
    var experts: [[String: Any]]? {
        guard let m2m = Models.make(model.config) as? M2MNet else { return nil }
        let train = model.training.graph
        let perExpert = (try? expertFLOPs(train, experts: m2m.m2m.experts)) ?? []
        return (0..<m2m.m2m.experts).map { e in
            let parameters = m2m.expert(e).parameters
            let bytes = parameters.reduce(0) { $0 + $1.type.byteCount }
            return ["expert": e, "modes": m2m.m2m.expertModes[e], "width": m2m.m2m.expertWidths[e],
                    "capacity": m2m.capacity, "patch": [m2m.extendedSize.rows, m2m.extendedSize.cols],
                    "parameters": parameters.reduce(0) { $0 + $1.type.floatCount },
                    "parameter_bytes_with_adam": 3 * bytes,
                    "flops_per_train_step_at_capacity": e < perExpert.count ? perExpert[e] : 0]
        }
    }

    /// FLOPs of the nodes over each expert's bounded extent (at capacity).
    func expertFLOPs(_ graph: Graph, experts: Int) throws -> [Double] {
        let full = graph.analyticFLOPs
        var result: [Double] = []
        let extents = try graph.boundedExtents().nodes
        let byIndex = Dictionary(grouping: Set(extents.values), by: \.index)
        for index in byIndex.keys.sorted() {
            var zero: [BoundedExtent: Int] = [:]
            for extent in byIndex[index]! { zero[extent] = 0 }
            result.append(full - (try graph.analyticFLOPs(routedCounts: zero)))
        }
        return result.count == experts ? result : []
    }

    var oneLine: String {
        let t = model.training.plan
        return String(format: "%d parameters, train arena %.1f MiB (lower bound %.1f MiB, ratio %.3f), persistent %.1f MiB",
                      parameters, Double(t.arenaBytes) / 1048576, Double(t.lowerBoundBytes) / 1048576,
                      Double(t.arenaBytes) / Double(max(t.lowerBoundBytes, 1)),
                      Double(model.persistent.totalBytes) / 1048576)
    }
}
