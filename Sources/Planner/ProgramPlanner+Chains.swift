import GraphIR

/// Sample chains: runs of consecutive nodes executed tile by tile instead of node by node.
/// In a chain each thread runs, for each sample it claims, every member's tile in order,
/// so a member reads the sample an earlier member just wrote while it is still in cache
/// (an FNO layer's `irfft2 -> linear_add_gelu -> rfft2`: about 0.5 MB a sample at fno-ns64,
/// in L2) instead of from memory after the whole batch. Every tile computes what it computes
/// node by node, so no bit changes; only the order of independent tiles does.
///
/// A node joins the chain before it when its kernel runs one tile per sample over the
/// chain's samples (`KernelRequirements.sampleTiles`), it has the chain's bounded extent
/// (or none, like the chain), and it reads a result of a member; every result of a member it
/// reads must be an f32 field whose axis 0 is the samples (tile i of the writer wrote exactly
/// sample i of it). A kernel whose first phase runs one tile per sample into per-sample
/// partials and whose later phases reduce them (`sampleReductionTiles`: a weight or bias
/// gradient) joins the same way for its first phase; the pool runs its later phases after
/// the chain's tiles, so no later member may read its result. Liveness covers whole chains
/// (`bufferRequests`): what a member reads lives to the chain's end and what it writes (its
/// partials included) from the chain's start, so no buffer of a chain shares memory with
/// another of the same chain.
extension ProgramPlanner {
    public static func sampleChains(_ graph: Graph, kernels: KernelRequirements) -> [[Int]] {
        guard let extents = try? graph.boundedExtents().nodes else { return [] }
        var chains: [[Int]] = []
        var current: [Int] = []
        var reducing: Set<Int> = []   // members whose result is complete only after the chain
        var samples = 0
        func close() {
            if current.count > 1 { chains.append(current) }
            (current, reducing) = ([], [])
        }
        for (n, node) in graph.nodes.enumerated() {
            let perSample = kernels.sampleTiles(node, in: graph)
            guard let tiles = perSample ?? kernels.sampleReductionTiles(node, in: graph) else {
                close()
                continue
            }
            if let first = current.first, tiles == samples, extents[n] == extents[first],
               joins(node, after: current, reducing: reducing, samples: samples, graph) {
                current.append(n)
            } else {
                close()
                (current, samples) = ([n], tiles)
            }
            if perSample == nil { reducing.insert(n) }
        }
        close()
        return chains
    }

    /// Whether `node` reads a result of `members`, each such operand an f32 field of `samples`
    /// and none the result of a `reducing` member.
    private static func joins(_ node: Node, after members: [Int], reducing: Set<Int>, samples: Int,
                              _ graph: Graph) -> Bool {
        var readsMember = false
        for v in node.inputs {
            guard case .result(let producer) = graph.values[v].kind, members.contains(producer) else { continue }
            let type = graph.values[v].type
            guard !reducing.contains(producer), type.dtype == .f32, type.rank >= 2, type.shape[0] == samples else {
                return false
            }
            readsMember = true
        }
        return readsMember
    }
}
