import GraphIR

/// What an arena buffer holds.
public enum BufferOwner: Sendable, Hashable, Codable {
    case value(ValueID)
    case workspace(node: Int)
}

/// Where a buffer lives: its memory domain and its offset in that domain's arena.
public struct ArenaLocation: Sendable, Hashable {
    public var domain: Int
    public var offset: Int
}

/// One memory domain's arena in a program plan: its size, the liveness lower bound of
/// its buffers, and which greedy order produced it.
public struct DomainArena: Sendable, Hashable, Codable {
    public var arenaBytes: Int
    public var lowerBoundBytes: Int
    public var strategy: String
}

/// The compile-time decisions for one program (graph): execution order, arena
/// buffers with liveness, their memory domains and offsets (one arena per domain:
/// buffers of different domains never share one), the domain whose workers run
/// each node, and the FFT transforms it uses.
public struct ProgramPlan: Sendable, Hashable, Codable {
    /// Node indices in execution order.
    public var schedule: [Int]
    public var owners: [BufferOwner]
    public var buffers: [BufferRequest]
    /// Memory domain of each buffer (index into the placement's domains).
    public var domains: [Int]
    /// Offset of each buffer in its domain's arena.
    public var offsets: [Int]
    /// One arena per domain of the placement (empty domains have 0 bytes).
    public var arenas: [DomainArena]
    /// The domain whose workers run each graph node (by node index).
    public var nodeDomains: [Int]
    /// Every distinct transform the program executes (planned once each).
    public var transforms: [FFTPlanSpec]
    /// Runs of consecutive nodes (node indices) executed tile by tile (`sampleChains`); nil
    /// in plans written before chains, which the loader refuses as not what the planner derives.
    public var chains: [[Int]]?

    /// Bytes of all domains' arenas together.
    public var arenaBytes: Int { arenas.reduce(0) { $0 + $1.arenaBytes } }
    /// The sum of the domains' liveness lower bounds.
    public var lowerBoundBytes: Int { arenas.reduce(0) { $0 + $1.lowerBoundBytes } }

    /// The requests of one domain and their layout (offsets in request order).
    public func layout(domain: Int) -> (requests: [BufferRequest], layout: ArenaLayout) {
        let members = buffers.indices.filter { domains[$0] == domain }
        return (members.map { buffers[$0] },
                ArenaLayout(offsets: members.map { offsets[$0] }, arenaBytes: arenas[domain].arenaBytes,
                            strategy: arenas[domain].strategy))
    }

    /// Arena location of each value that lives in an arena (nil for persistent ones).
    public func valueLocations(count: Int) -> [ArenaLocation?] {
        var result = [ArenaLocation?](repeating: nil, count: count)
        for (i, owner) in owners.enumerated() {
            if case .value(let v) = owner { result[v] = ArenaLocation(domain: domains[i], offset: offsets[i]) }
        }
        return result
    }

    /// Arena location of each node's workspace (nil when it needs none).
    public func workspaceLocations(nodeCount: Int) -> [ArenaLocation?] {
        var result = [ArenaLocation?](repeating: nil, count: nodeCount)
        for (i, owner) in owners.enumerated() {
            if case .workspace(let n) = owner { result[n] = ArenaLocation(domain: domains[i], offset: offsets[i]) }
        }
        return result
    }
}

/// Derives a `ProgramPlan` from a verified graph, what its kernels declare they need,
/// and the placement that assigns buffers and nodes to memory domains.
public enum ProgramPlanner {
    public static func plan(_ graph: Graph, kernels: KernelRequirements,
                            placement: Placement = .single) throws -> ProgramPlan {
        try graph.verify()
        let schedule = Array(graph.nodes.indices)
        let assigned = try placement.assign(graph)
        let chains = sampleChains(graph, kernels: kernels)
        let (owners, buffers) = bufferRequests(graph, kernels: kernels, chains: chains)
        let domains = owners.map { owner -> Int in
            switch owner {
            case .value(let v): return assigned.values[v]
            case .workspace(let n): return assigned.nodes[n]
            }
        }
        var transforms: [FFTPlanSpec] = []
        for node in graph.nodes {
            for spec in kernels.transforms(node, in: graph) where !transforms.contains(spec) {
                transforms.append(spec)
            }
        }
        // One arena per domain, each planned on its own buffers only.
        var offsets = [Int](repeating: 0, count: buffers.count)
        var arenas: [DomainArena] = []
        for d in placement.domains.indices {
            let members = buffers.indices.filter { domains[$0] == d }
            let requests = members.map { buffers[$0] }
            let layout = ArenaPlanner.plan(requests)
            for (j, i) in members.enumerated() { offsets[i] = layout.offsets[j] }
            arenas.append(DomainArena(arenaBytes: layout.arenaBytes, lowerBoundBytes: ArenaPlanner.lowerBound(requests),
                                      strategy: layout.strategy))
        }
        return ProgramPlan(schedule: schedule, owners: owners, buffers: buffers, domains: domains, offsets: offsets,
                           arenas: arenas, nodeDomains: assigned.nodes, transforms: transforms,
                           chains: chains)
    }

    /// The arena buffers of `graph` run in node order: one per arena value (inputs live
    /// throughout; a result from its node to its last reader, or to the end if it is an output)
    /// and one per kernel workspace (live at its node), each with its owner. A node of a
    /// sample chain counts as running from the chain's first node to its last.
    public static func bufferRequests(_ graph: Graph, kernels: KernelRequirements)
        -> (owners: [BufferOwner], buffers: [BufferRequest]) {
        bufferRequests(graph, kernels: kernels, chains: sampleChains(graph, kernels: kernels))
    }

    /// `bufferRequests` with the graph's sample chains already found.
    static func bufferRequests(_ graph: Graph, kernels: KernelRequirements, chains: [[Int]])
        -> (owners: [BufferOwner], buffers: [BufferRequest]) {
        // The schedule is the node order: step s runs node s.
        let end = max(graph.nodes.count - 1, 0)
        // Liveness of arena values: from definition to last read. Inputs are slots the
        // caller fills before a run and may read or refill after it: live throughout.
        var span = graph.nodes.indices.map { $0...$0 }   // the steps each node occupies
        for chain in chains {
            for n in chain { span[n] = chain.first!...chain.last! }
        }
        var first = [Int?](repeating: nil, count: graph.values.count)
        var last = [Int](repeating: 0, count: graph.values.count)
        for (v, value) in graph.values.enumerated() {
            switch value.kind {
            case .input: first[v] = 0; last[v] = end
            case .result(let node): first[v] = span[node].lowerBound; last[v] = span[node].upperBound
            case .parameter, .state: break
            }
        }
        for (n, node) in graph.nodes.enumerated() {
            for v in node.inputs { last[v] = max(last[v], span[n].upperBound) }
        }
        for (_, v) in graph.outputs { last[v] = end }

        var owners: [BufferOwner] = []
        var buffers: [BufferRequest] = []
        for v in graph.values.indices {
            guard let f = first[v] else { continue }
            owners.append(.value(v))
            buffers.append(BufferRequest(size: graph.values[v].type.byteCount, firstUse: f, lastUse: last[v]))
        }
        for (n, node) in graph.nodes.enumerated() {
            let bytes = kernels.workspaceBytes(node, in: graph)
            if bytes > 0 {
                owners.append(.workspace(node: n))
                buffers.append(BufferRequest(size: bytes, firstUse: span[n].lowerBound, lastUse: span[n].upperBound))
            }
        }
        return (owners, buffers)
    }
}

/// Offsets of parameters and optimizer state in the persistent block, by name;
/// shared by every program of a model so training and inference see one set of weights.
public struct PersistentLayout: Sendable, Hashable, Codable {
    public struct Entry: Sendable, Hashable, Codable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        /// Memory domain (index into the placement's domains) and offset in its block.
        public var domain: Int
        public var offset: Int
        public var isParameter: Bool
        public var type: TensorType { TensorType(dtype, shape) }
        public var byteCount: Int { type.byteCount }
    }
    public var entries: [Entry]
    /// Bytes of each domain's persistent block.
    public var blockBytes: [Int]
    public var totalBytes: Int { blockBytes.reduce(0, +) }

    /// Lays out the union of the graphs' parameters and state in first-seen order, each in
    /// the domain `placement` gives it (the last graph that assigns it an expert's domain
    /// decides; training follows inference, so the training program's view wins).
    public init(_ graphs: [Graph], placement: Placement = .single) throws {
        var entries: [Entry] = []
        var domainOf: [String: Int] = [:]
        for graph in graphs {
            let assigned = try placement.assign(graph)
            for (v, value) in graph.values.enumerated() where value.kind.isPersistent
                && assigned.values[v] != Placement.batchDomain {
                domainOf[value.kind.name!] = assigned.values[v]
            }
        }
        var blockBytes = [Int](repeating: 0, count: placement.domains.count)
        for graph in graphs {
            for v in graph.values where v.kind.isPersistent {
                let name = v.kind.name!
                if let e = entries.first(where: { $0.name == name }) {
                    guard e.type == v.type else {
                        throw PlanError("persistent value '\(name)' has different types in two programs")
                    }
                    continue
                }
                let isParameter: Bool
                if case .parameter = v.kind { isParameter = true } else { isParameter = false }
                let domain = domainOf[name] ?? Placement.batchDomain
                entries.append(Entry(name: name, dtype: v.type.dtype, shape: v.type.shape, domain: domain,
                                     offset: blockBytes[domain], isParameter: isParameter))
                blockBytes[domain] += ArenaPlanner.align(v.type.byteCount)
            }
        }
        self.entries = entries
        self.blockBytes = blockBytes
    }

    public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }
}
