import GraphIR

/// What an arena buffer holds.
public enum BufferOwner: Sendable, Hashable, Codable {
    case value(ValueID)
    case workspace(node: Int)
}

/// The compile-time decisions for one program (graph): execution order, arena
/// buffers with liveness, offsets, memory domains, and the FFT transforms it uses.
public struct ProgramPlan: Sendable, Hashable, Codable {
    /// Node indices in execution order.
    public var schedule: [Int]
    public var owners: [BufferOwner]
    public var buffers: [BufferRequest]
    public var layout: ArenaLayout
    /// Memory domain (NUMA node index into the placement's node list) of each buffer.
    public var domains: [Int]
    public var lowerBoundBytes: Int
    /// Every distinct transform the program executes (planned once each).
    public var transforms: [FFTPlanSpec]

    public var arenaBytes: Int { layout.arenaBytes }

    /// Arena offset of each value that lives in the arena (nil for persistent ones).
    public func valueOffsets(count: Int) -> [Int?] {
        var result = [Int?](repeating: nil, count: count)
        for (i, owner) in owners.enumerated() { if case .value(let v) = owner { result[v] = layout.offsets[i] } }
        return result
    }

    /// Arena offset of each node's workspace (nil when it needs none).
    public func workspaceOffsets(nodeCount: Int) -> [Int?] {
        var result = [Int?](repeating: nil, count: nodeCount)
        for (i, owner) in owners.enumerated() { if case .workspace(let n) = owner { result[n] = layout.offsets[i] } }
        return result
    }
}

/// Derives a `ProgramPlan` from a verified graph and what its kernels declare they need.
public enum ProgramPlanner {
    public static func plan(_ graph: Graph, kernels: KernelRequirements) throws -> ProgramPlan {
        try graph.verify()
        let schedule = Array(graph.nodes.indices)
        var step = [Int](repeating: 0, count: graph.nodes.count)
        for (s, n) in schedule.enumerated() { step[n] = s }
        let end = max(schedule.count - 1, 0)

        // Liveness of arena values: from definition to last read. Inputs are slots the
        // caller fills before a run and may read or refill after it: live throughout.
        var first = [Int?](repeating: nil, count: graph.values.count)
        var last = [Int](repeating: 0, count: graph.values.count)
        for (v, value) in graph.values.enumerated() {
            switch value.kind {
            case .input: first[v] = 0; last[v] = end
            case .result(let node): first[v] = step[node]; last[v] = step[node]
            case .parameter, .state: break
            }
        }
        for (n, node) in graph.nodes.enumerated() {
            for v in node.inputs { last[v] = max(last[v], step[n]) }
        }
        for (_, v) in graph.outputs { last[v] = end }

        var owners: [BufferOwner] = []
        var buffers: [BufferRequest] = []
        for v in graph.values.indices {
            guard let f = first[v] else { continue }
            owners.append(.value(v))
            buffers.append(BufferRequest(size: graph.values[v].type.byteCount, firstUse: f, lastUse: last[v]))
        }
        var transforms: [FFTPlanSpec] = []
        for (n, node) in graph.nodes.enumerated() {
            let bytes = kernels.workspaceBytes(node, in: graph)
            if bytes > 0 {
                owners.append(.workspace(node: n))
                buffers.append(BufferRequest(size: bytes, firstUse: step[n], lastUse: step[n]))
            }
            for spec in kernels.transforms(node, in: graph) where !transforms.contains(spec) {
                transforms.append(spec)
            }
        }
        return ProgramPlan(schedule: schedule, owners: owners, buffers: buffers, layout: ArenaPlanner.plan(buffers),
                           domains: Array(repeating: 0, count: buffers.count),
                           lowerBoundBytes: ArenaPlanner.lowerBound(buffers), transforms: transforms)
    }
}

/// Offsets of parameters and optimizer state in the persistent block, by name;
/// shared by every program of a model so training and inference see one set of weights.
public struct PersistentLayout: Sendable, Hashable, Codable {
    public struct Entry: Sendable, Hashable, Codable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        public var offset: Int
        public var isParameter: Bool
        public var type: TensorType { TensorType(dtype, shape) }
        public var byteCount: Int { type.byteCount }
    }
    public var entries: [Entry]
    public var totalBytes: Int

    /// Lays out the union of the graphs' parameters and state in first-seen order.
    public init(_ graphs: [Graph]) throws {
        var entries: [Entry] = []
        var offset = 0
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
                entries.append(Entry(name: name, dtype: v.type.dtype, shape: v.type.shape, offset: offset,
                                     isParameter: isParameter))
                offset += ArenaPlanner.align(v.type.byteCount)
            }
        }
        self.entries = entries
        self.totalBytes = offset
    }

    public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }
}
