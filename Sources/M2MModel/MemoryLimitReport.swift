import GraphIR
import M2MData
import Planner
import Executor

/// A training program fitted to the config's `memory_limit` (`--memory-limit`): what the
/// planner recomputes (`RecomputePlanner`) and what it costs. The limit bounds the training
/// arena plus the persistent block (weights and Adam moments), the bytes a runtime allocates for
/// training; so the arena budget is the limit less the persistent block.
public struct MemoryLimitReport: Equatable, Sendable {
    public var limitBytes: Int
    public var persistentBytes: Int
    /// The training arena (one memory domain) with the recomputation.
    public var arenaBytes: Int
    /// Analytic FLOPs of a training step with the recomputation, and without it.
    public var flops: Double
    public var flopsWithoutLimit: Double
    /// Cheap values recomputed per backward reader, counted by op (`gelu`: 8, ...).
    public var cheapOps: [String: Int]
    /// Rollout steps whose forward pass is recomputed from their input window.
    public var checkpointedSteps: [Int]

    public var extraFLOPs: Double { flops - flopsWithoutLimit }
    /// Extra FLOPs in percent of the step without the limit.
    public var extraFLOPsPercent: Double { flopsWithoutLimit > 0 ? 100 * extraFLOPs / flopsWithoutLimit : 0 }
    public var recomputes: Bool { !cheapOps.isEmpty || !checkpointedSteps.isEmpty }

    /// Fits `graph` (the training graph after autodiff, before its fusions, its forward pass the
    /// nodes `0..<forwardNodes`, its rollout steps as `losses` records them) to `limit` bytes.
    static func fit(_ graph: Graph, forwardNodes: Int, losses: Programs.RolloutLosses,
                    limit: Int) throws -> (graph: Graph, recompute: MemoryLimitReport?) {
        let persistent = try PersistentLayout([graph]).totalBytes
        let outputs = Set(graph.outputs.map(\.value)), windows = Set(losses.windows)
        // Every step but the last may be checkpointed at its input window.
        let steps = losses.stepNodes.dropLast().map { range -> Set<ValueID> in
            Set(range.compactMap { graph.nodes[$0].result }.filter { !outputs.contains($0) && !windows.contains($0) })
        }
        let problem = RecomputeProblem(graph: graph, forwardNodes: forwardNodes, steps: steps) {
            try $0.fusingForTraining()
        }
        let budget = limit - persistent
        do {
            let fitted = try RecomputePlanner.fit(problem, arenaBudget: max(budget, 0), kernels: KernelTable())
            let report = MemoryLimitReport(limitBytes: limit, persistentBytes: persistent, arenaBytes: fitted.arenaBytes,
                                           flops: fitted.flops,
                                           flopsWithoutLimit: fitted.baselineFLOPs, cheapOps: fitted.cheapOps,
                                           checkpointedSteps: fitted.checkpointedSteps)
            return (fitted.graph, report)
        } catch let infeasible as RecomputeInfeasible {
            throw MemoryLimitError(limitBytes: limit, smallestArenaBytes: infeasible.smallestArenaBytes,
                                   persistentBytes: persistent)
        }
    }
}

/// A memory limit no recomputation meets: the smallest training arena the planner reaches,
/// plus the persistent block, is the smallest limit that can be met.
public struct MemoryLimitError: Error, CustomStringConvertible {
    public var limitBytes: Int
    public var smallestArenaBytes: Int
    public var persistentBytes: Int
    public var smallestLimitBytes: Int { smallestArenaBytes + persistentBytes }

    /// One line; `name` is the flag or key that set the limit.
    public func message(_ name: String) -> String {
        func size(_ b: Int) -> String { SystemResources.describe(bytes: b) }
        return "\(name) \(size(limitBytes)) cannot be met: with all the recomputation the planner can make (cheap "
            + "activations, every rollout step but the last) the training arena is \(size(smallestArenaBytes)), plus "
            + "\(size(persistentBytes)) of weights and optimizer state: the smallest feasible limit is "
            + "\(size(smallestLimitBytes))"
    }

    public var description: String { message("memory limit") }
}
