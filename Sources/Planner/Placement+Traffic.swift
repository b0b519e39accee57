import GraphIR

extension Placement {
    /// Where a node's tiles run: one node's workers, or every node's (interleave, replicate).
    enum Executor: Equatable { case node(Int), all }
    /// Where an operand lives: one node, pages over all, or a copy on every node.
    enum Residence: Equatable { case node(Int), interleaved, replicated }

    /// Bytes the nodes of one run of `graph` read from another NUMA node's memory, by the
    /// plan: an operand on node j read by node i's workers counts in full when i != j; pages
    /// interleaved over N nodes, or workers on all N nodes, count (N-1)/N. Bounded operands
    /// count at `routedCounts` (the rows routed in the run) or else at capacity. `replicated`:
    /// the run reads its parameters from per-node copies (placement `replicate`, inference).
    public func crossNodeBytes(_ graph: Graph, plan: ProgramPlan, persistent: PersistentLayout, replicated: Bool,
                               routedCounts: [BoundedExtent: Int]? = nil) throws -> Double {
        let n = Double(topology.nodes.count)
        guard n > 1 else { return 0 }
        let spread = (n - 1) / n
        let locations = plan.valueLocations(count: graph.values.count)
        let extents = try graph.boundedExtents().values
        func residence(_ v: ValueID) -> Residence {
            let domain: Int
            if let at = locations[v] {
                domain = at.domain
            } else {
                let value = graph.values[v]
                if replicated, case .parameter = value.kind { return .replicated }
                domain = value.kind.name.flatMap { persistent.entry(named: $0)?.domain } ?? Self.batchDomain
            }
            switch domains[domain] {
            case .node(let i): return .node(i)
            case .interleaved: return .interleaved
            }
        }
        var total = 0.0
        for (k, node) in graph.nodes.enumerated() {
            let runs: Executor
            if replicated { runs = .all } else {
                switch domains[plan.nodeDomains[k]] {
                case .node(let i): runs = .node(i)
                case .interleaved: runs = .all
                }
            }
            for v in Set(node.inputs) {
                let type = graph.values[v].type
                var bytes = Double(type.byteCount)
                if let axis = type.boundedAxis, let extent = extents[v], let count = routedCounts?[extent] {
                    bytes *= Double(count) / Double(max(type.shape[axis], 1))
                }
                let fraction: Double
                switch (runs, residence(v)) {
                case (_, .replicated): fraction = 0
                case (.node(let i), .node(let j)): fraction = i == j ? 0 : 1
                case (.node, .interleaved), (.all, .node), (.all, .interleaved): fraction = spread
                }
                total += bytes * fraction
            }
        }
        return total
    }

    /// What domain `d` holds, in words: "experts 0, 2" and/or "batch (inputs, router, shared)".
    public func contents(ofDomain d: Int) -> String {
        var parts: [String] = []
        let experts = expertDomains.indices.filter { expertDomains[$0] == d }
        if !experts.isEmpty { parts.append("expert\(experts.count > 1 ? "s" : "") " + experts.map(String.init).joined(separator: ", ")) }
        switch policy {
        case .local, .interleave:
            parts.append("everything")
        case .experts:
            if d == Self.batchDomain { parts.append("batch (inputs, outputs, router, combine, shared layers)") }
        case .replicate:
            parts.append(d == Self.batchDomain ? "everything (weights' master copy)" : "a copy of the weights for inference")
        }
        return parts.isEmpty ? "nothing" : parts.joined(separator: "; ")
    }
}
