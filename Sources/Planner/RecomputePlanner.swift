import GraphIR

/// A training graph whose arena must fit a budget, and what may be recomputed to get there.
public struct RecomputeProblem {
    /// The training graph after autodiff and before the passes of `finish` (its fusions).
    public var graph: Graph
    /// Nodes `0..<forwardNodes` are the forward pass (up to the loss); the rest read its activations.
    public var forwardNodes: Int
    /// For each rollout step that may be checkpointed, the forward values recomputed when it is:
    /// every value its forward pass computes except its checkpoint (the input window of the next
    /// step) and the program's outputs. The last step is not offered: its backward pass follows
    /// its forward pass at once, so recomputing it saves nothing.
    public var steps: [Set<ValueID>]
    /// The passes that follow recomputation (the training fusions); what is measured is its result.
    public var finish: (Graph) throws -> Graph

    public init(graph: Graph, forwardNodes: Int, steps: [Set<ValueID>], finish: @escaping (Graph) throws -> Graph) {
        (self.graph, self.forwardNodes, self.steps, self.finish) = (graph, forwardNodes, steps, finish)
    }
}

/// What `RecomputePlanner.fit` chose, and what it costs.
public struct RecomputeResult {
    /// The finished (fused) training graph with its recomputed copies.
    public var graph: Graph
    public var recomputation: Recomputation
    /// The cheap values recomputed per backward reader, in value order of the unfused graph.
    public var cheapValues: [ValueID]
    /// The rollout steps whose forward pass is recomputed from their checkpoint, ascending.
    public var checkpointedSteps: [Int]
    /// Arena of the finished graph (one memory domain).
    public var arenaBytes: Int
    /// Analytic FLOPs of one run of the finished graph, and of the graph without recomputation.
    public var flops: Double
    public var baselineFLOPs: Double
    /// The ops of the recomputed cheap values and how many of each (e.g. `gelu`: 8).
    public var cheapOps: [String: Int]
}

/// The budget cannot be met: even with every candidate recomputed the arena is `smallestArenaBytes`.
public struct RecomputeInfeasible: Error, CustomStringConvertible {
    public var budgetBytes: Int
    public var smallestArenaBytes: Int
    public var description: String {
        "an arena of \(budgetBytes) bytes cannot be met by recomputation: the smallest is \(smallestArenaBytes) bytes"
    }
}

/// Fits a training program's arena under a budget by recomputation, greedily:
///
/// 1. Cheap values (`OpCode.isCheapToRecompute`: GELU outputs, coordinate channels, slices),
///    largest first: each is recomputed per backward reader if that lowers the score.
/// 2. If that is not enough, rollout steps are checkpointed one at a time: each round tries every
///    step not yet checkpointed and keeps the one with the lowest score (the earlier step on a
///    tie), as long as it lowers the score; a checkpointed step keeps only its input window
///    across the forward pass and re-runs its forward pass from it just before its backward pass.
///
/// The score of a candidate is the liveness lower bound of the rewritten graph before `finish`
/// (one rebuild instead of one per fusion pass), then, on equal bounds, its total live byte-steps
/// (so that a plateau of equal peaks does not stop the search); an accepted candidate is finished
/// and planned. The search stops as soon as the planned arena of the finished graph fits the budget: cheap
/// values first because they cost one pass over their elements, whole steps (one forward pass
/// each, with its matmuls and FFTs) only when needed, and no more of them than needed. It is
/// deterministic (no timing, no randomness), so compiling and loading derive the same graph.
/// Checkmate's and POET's solvers would find cheaper plans between these two granularities; this
/// greedy keeps the guarantees simple and costs O(steps^2) graph evaluations.
public enum RecomputePlanner {
    struct Score: Comparable {
        var bound: Int
        var area: Int
        static func < (a: Score, b: Score) -> Bool { (a.bound, a.area) < (b.bound, b.area) }
    }

    public static func fit(_ problem: RecomputeProblem, arenaBudget: Int,
                           kernels: KernelRequirements) throws -> RecomputeResult {
        let baseline = try problem.finish(problem.graph)
        var current = Recomputation()
        var currentScore = score(problem.graph, kernels)
        var finished = baseline   // `current`'s graph after `finish`
        var cheap: [ValueID] = [], steps: [Int] = []

        /// Candidates are scored before `finish` (one graph rebuild instead of one per fusion);
        /// an accepted one is finished and planned.
        func evaluate(_ r: Recomputation) throws -> Score {
            score(try problem.graph.recomputing(r, forwardNodes: problem.forwardNodes), kernels)
        }
        /// Accepts `r` and returns the finished graph's planned arena when it fits the budget.
        func accept(_ r: Recomputation, _ s: Score) throws -> Int? {
            (current, currentScore) = (r, s)
            finished = try problem.finish(try problem.graph.recomputing(r, forwardNodes: problem.forwardNodes))
            guard ArenaPlanner.lowerBound(ProgramPlanner.bufferRequests(finished, kernels: kernels).buffers)
                    <= arenaBudget else { return nil }
            let arena = try ProgramPlanner.plan(finished, kernels: kernels).arenaBytes
            return arena <= arenaBudget ? arena : nil
        }
        func result(_ arena: Int) -> RecomputeResult {
            var ops: [String: Int] = [:]
            for v in cheap {
                if case .result(let k) = problem.graph.values[v].kind { ops[problem.graph.nodes[k].op.name, default: 0] += 1 }
            }
            return RecomputeResult(graph: finished, recomputation: current, cheapValues: cheap.sorted(),
                                   checkpointedSteps: steps.sorted(), arenaBytes: arena,
                                   flops: finished.analyticFLOPs, baselineFLOPs: baseline.analyticFLOPs, cheapOps: ops)
        }
        // The graph as it is, when it fits (its plan is made only if its bound allows it).
        if ArenaPlanner.lowerBound(ProgramPlanner.bufferRequests(baseline, kernels: kernels).buffers) <= arenaBudget {
            let arena = try ProgramPlanner.plan(baseline, kernels: kernels).arenaBytes
            if arena <= arenaBudget { return result(arena) }
        }

        // 1. Cheap values, largest first (then in value order).
        let g = problem.graph
        let candidates = g.savedActivations(forwardNodes: problem.forwardNodes).filter { v in
            guard case .result(let k) = g.values[v].kind else { return false }
            return g.nodes[k].op.code.isCheapToRecompute
        }.sorted { (g.values[$0].type.byteCount, -$0) > (g.values[$1].type.byteCount, -$1) }
        for v in candidates {
            var trial = current
            trial.perReader.insert(v)
            let s = try evaluate(trial)
            guard s < currentScore else { continue }
            cheap.append(v)
            if let arena = try accept(trial, s) { return result(arena) }
        }

        // 2. Whole rollout steps, the one that lowers the score most first.
        var remaining = Array(problem.steps.indices)
        while !remaining.isEmpty {
            var best: (index: Int, r: Recomputation, score: Score)?
            for (i, s) in remaining.enumerated() {
                var trial = current
                trial.shared.formUnion(problem.steps[s])
                let score = try evaluate(trial)
                if best == nil || score < best!.score { best = (i, trial, score) }
            }
            guard let chosen = best, chosen.score < currentScore else { break }
            steps.append(remaining.remove(at: chosen.index))
            if let arena = try accept(chosen.r, chosen.score) { return result(arena) }
        }
        throw RecomputeInfeasible(budgetBytes: arenaBudget,
                                  smallestArenaBytes: try ProgramPlanner.plan(finished, kernels: kernels).arenaBytes)
    }

    /// The liveness lower bound of `graph`'s buffers and their total aligned bytes x steps live.
    static func score(_ graph: Graph, _ kernels: KernelRequirements) -> Score {
        let buffers = ProgramPlanner.bufferRequests(graph, kernels: kernels).buffers
        let area = buffers.reduce(0) { $0 + ArenaPlanner.align($1.size) * ($1.lastUse - $1.firstUse + 1) }
        return Score(bound: ArenaPlanner.lowerBound(buffers), area: area)
    }
}
