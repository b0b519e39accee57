import GraphIR

/// How a model's memory and work are placed on NUMA nodes (`m2mc compile --numa`).
public enum PlacementPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Everything on the first node, workers pinned there (numactl --membind=0 --cpunodebind=0).
    case local
    /// Every block's pages spread round-robin over the nodes; workers on every node.
    case interleave
    /// Each expert's weights, optimizer state, activations and workspaces on one node (experts
    /// balanced by FLOPs, then bytes); shared buffers on the batch node (the first); each
    /// kernel runs on the workers of its node.
    case experts
    /// Shared memory as `local`; for inference, every node's workers run every kernel on
    /// their share of its tiles, each reading its own node's copy of the weights.
    case replicate
}

/// Where one block of memory lives.
public enum MemoryDomain: Sendable, Hashable, Codable, CustomStringConvertible {
    /// On the topology's node with this index (not the kernel's node id).
    case node(Int)
    /// Pages interleaved over every node of the topology.
    case interleaved

    public var description: String {
        switch self {
        case .node(let i): return "node \(i)"
        case .interleaved: return "interleaved"
        }
    }
}

/// The placement a model is compiled with: policy, topology, the memory domains every
/// program's buffers and persistent tensors are assigned to, and (policy `experts`)
/// each expert's domain. Stored in the plan file; a value type, thread-safe.
public struct Placement: Sendable, Hashable, Codable {
    public var policy: PlacementPolicy
    public var topology: NUMATopology
    /// Domain 0 is the batch domain: inputs, outputs and shared buffers.
    public var domains: [MemoryDomain]
    /// Domain index of expert e (policy `experts`; empty otherwise).
    public var expertDomains: [Int]

    public static let batchDomain = 0

    /// One node, one domain: what a plan without `--numa` gets.
    public static let single = Placement(policy: .local, topology: try! .uniform(nodes: 1, cpusPerNode: 1),
                                         domains: [.node(0)], expertDomains: [])

    /// The placement of `policy` on `topology`; `experts` balances the experts of
    /// `graph` (its bounded extents name them) over the nodes.
    public static func make(_ policy: PlacementPolicy, topology: NUMATopology, balancing graph: Graph) throws -> Placement {
        let n = topology.nodes.count
        switch policy {
        case .local:
            return Placement(policy: policy, topology: topology, domains: [.node(0)], expertDomains: [])
        case .interleave:
            return Placement(policy: policy, topology: topology, domains: [.interleaved], expertDomains: [])
        case .replicate:
            return Placement(policy: policy, topology: topology, domains: (0..<n).map { .node($0) }, expertDomains: [])
        case .experts:
            let groups = try PlacementGroups(graph)
            var flops = [Double](repeating: 0, count: groups.expertCount)
            var bytes = [Int](repeating: 0, count: groups.expertCount)
            for (k, e) in groups.nodes.enumerated() { if let e { flops[e] += graph.flops(ofNode: k) } }
            for (v, e) in groups.values.enumerated() { if let e { bytes[e] += graph.values[v].type.byteCount } }
            // Longest processing time first: the heaviest expert goes to the least loaded node.
            let order = (0..<groups.expertCount).sorted { (-flops[$0], -bytes[$0], $0) < (-flops[$1], -bytes[$1], $1) }
            var load = [(flops: Double, bytes: Int)](repeating: (0, 0), count: n)
            var assigned = [Int](repeating: 0, count: groups.expertCount)
            for e in order {
                let node = (0..<n).min { (load[$0].flops, load[$0].bytes, $0) < (load[$1].flops, load[$1].bytes, $1) }!
                assigned[e] = node
                load[node].flops += flops[e]
                load[node].bytes += bytes[e]
            }
            return Placement(policy: policy, topology: topology, domains: (0..<n).map { .node($0) }, expertDomains: assigned)
        }
    }

    /// The domain of each node and each value of `graph` (nil for values not in a domain
    /// of their own choosing: shared values go to the batch domain).
    public func assign(_ graph: Graph) throws -> (nodes: [Int], values: [Int]) {
        switch policy {
        case .local, .interleave, .replicate:
            return (Array(repeating: Self.batchDomain, count: graph.nodes.count),
                    Array(repeating: Self.batchDomain, count: graph.values.count))
        case .experts:
            let groups = try PlacementGroups(graph)
            guard groups.expertCount <= expertDomains.count else {
                throw PlanError("the graph routes to \(groups.expertCount) experts, the placement knows \(expertDomains.count)")
            }
            return (groups.nodes.map { $0.map { expertDomains[$0] } ?? Self.batchDomain },
                    groups.values.map { $0.map { expertDomains[$0] } ?? Self.batchDomain })
        }
    }

    /// One line for `inspect` and `bench`.
    public var summary: String {
        var line = "numa policy \(policy.rawValue) on \(topology)"
        if policy == .experts {
            line += "; experts on nodes " + expertDomains.map { domains[$0].description.replacingOccurrences(of: "node ", with: "") }
                .joined(separator: ",")
        }
        return line
    }
}

/// Which expert each node and value of a graph belongs to (nil: shared). A node over an
/// expert's bounded extent belongs to it (dispatch copies routed patches into the expert);
/// a node without one belongs to the one expert all its grouped operands belong to; a
/// persistent tensor to the one expert of all grouped nodes that read it. Iterated to a
/// fixed point (Adam moments follow their weights).
public struct PlacementGroups: Sendable, Hashable {
    public var nodes: [Int?]
    public var values: [Int?]
    public var expertCount: Int

    public init(_ graph: Graph) throws {
        let extents = try graph.boundedExtents().nodes
        var nodes = [Int?](repeating: nil, count: graph.nodes.count)
        var values = [Int?](repeating: nil, count: graph.values.count)
        var seeded = [Bool](repeating: false, count: graph.nodes.count)
        for (k, extent) in extents {
            // combine and combine_grad_gates read every expert: shared, not seeded.
            if case .combine = graph.nodes[k].op { continue }
            if case .combineGradGates = graph.nodes[k].op { continue }
            nodes[k] = extent.expert
            seeded[k] = true
        }
        let readers = graph.consumers()
        func unique(_ groups: [Int?]) -> Int? {
            let set = Set(groups.compactMap { $0 })
            return set.count == 1 ? set.first : nil
        }
        var changed = true
        var rounds = 0
        while changed && rounds < 64 {
            changed = false
            rounds += 1
            for (v, value) in graph.values.enumerated() {
                let g: Int?
                switch value.kind {
                case .result(let node): g = nodes[node]
                case .parameter, .state: g = unique(readers[v].map { nodes[$0] })
                case .input: g = nil
                }
                if g != values[v] { values[v] = g; changed = true }
            }
            for (k, node) in graph.nodes.enumerated() where !seeded[k] {
                let g = unique(node.inputs.map { values[$0] })
                if g != nodes[k] { nodes[k] = g; changed = true }
            }
        }
        self.nodes = nodes
        self.values = values
        expertCount = (extents.values.map(\.expert).max() ?? -1) + 1
    }
}
