/// Which forward values of a training graph its backward pass reads as recomputed copies
/// instead of the originals (`Graph.recomputing`). A recomputed value's original then dies
/// with its last forward reader, and its copy lives only from just before its first backward
/// reader: memory traded for recomputation (rematerialization, as Checkmate and POET).
public struct Recomputation: Sendable, Hashable {
    /// Recomputed once, just before the first backward node that needs it, and shared by the
    /// later ones: the activations of a checkpointed rollout step, recomputed as one forward burst.
    public var shared: Set<ValueID>
    /// Recomputed anew right before each backward node that reads it: cheap values
    /// (`OpCode.isCheapToRecompute`), whose copy lives for one node only.
    public var perReader: Set<ValueID>

    public init(shared: Set<ValueID> = [], perReader: Set<ValueID> = []) {
        (self.shared, self.perReader) = (shared, perReader)
    }

    public var isEmpty: Bool { shared.isEmpty && perReader.isEmpty }
}

extension Graph {
    /// The forward values (results of nodes `0..<forwardNodes`) that a backward node (at or after
    /// `forwardNodes`) reads and that are not program outputs, in value order: the activations a
    /// training graph keeps alive across its forward pass, the candidates for recomputation.
    public func savedActivations(forwardNodes: Int) -> [ValueID] {
        let outputValues = Set(outputs.map(\.value))
        var saved = Set<ValueID>()
        for node in nodes[min(forwardNodes, nodes.count)...] {
            for v in node.inputs where !outputValues.contains(v) {
                if case .result(let p) = values[v].kind, p < forwardNodes { saved.insert(v) }
            }
        }
        return saved.sorted()
    }

    /// The graph in which every backward node (index >= `forwardNodes`) that reads a value of
    /// `recomputation` reads a copy instead: a duplicate of the value's producer, with the same op
    /// and attributes, placed just before that backward node, whose operands are the originals or,
    /// where they are recomputed too, their copies (recursively: a checkpointed step's whole forward
    /// chain is re-run from its checkpoint). Forward nodes and every other node keep their order;
    /// nothing else changes. A copy runs the same kernel on bit-identical operands, so every value
    /// of the rewritten graph has the bits of the original (the executor's kernels are functions of
    /// their operands, with tiles fixed by shapes). The executor needs no change: the copies are
    /// ordinary nodes, and the planner gives them buffers by their own liveness.
    ///
    /// Recomputed values must be results of forward nodes and not outputs. A forward node whose
    /// result only backward nodes read is dropped (its copies compute it).
    public func recomputing(_ recomputation: Recomputation, forwardNodes: Int) throws -> Graph {
        let outputValues = Set(outputs.map(\.value))
        var producer: [ValueID: Int] = [:]
        for v in recomputation.shared.union(recomputation.perReader) {
            guard values.indices.contains(v), case .result(let k) = values[v].kind, k < forwardNodes else {
                throw GraphError("recompute: %\(v) is not the result of a forward node")
            }
            guard !outputValues.contains(v) else { throw GraphError("recompute: %\(v) is an output") }
            producer[v] = k
        }
        if recomputation.isEmpty { return self }

        // Built directly, without the builder's type inference: a copy has its original's type.
        var out = Graph(name: name)
        out.values.reserveCapacity(values.count + producer.count)
        out.nodes.reserveCapacity(nodes.count + producer.count)
        func declare(_ kind: ValueKind, _ type: TensorType) -> ValueID {
            out.values.append(Value(kind: kind, type: type))
            return out.values.count - 1
        }
        /// Appends a node whose result (if any) has the type of `k`'s result.
        func append(_ k: Int, _ inputs: [ValueID]) -> ValueID? {
            let result = nodes[k].result.map { declare(.result(node: out.nodes.count), values[$0].type) }
            out.nodes.append(Node(op: nodes[k].op, inputs: inputs, result: result))
            return result
        }
        var remap = [ValueID?](repeating: nil, count: values.count)
        var copies: [ValueID: ValueID] = [:]

        /// `v` as a recomputed node reads it: its shared copy if it is recomputed (made now, once),
        /// else the original.
        func forwardOperand(_ v: ValueID) throws -> ValueID {
            guard let k = producer[v] else { return remap[v]! }
            if let c = copies[v] { return c }
            let c = try duplicate(k)
            copies[v] = c
            return c
        }
        func duplicate(_ k: Int) throws -> ValueID {
            let inputs = try nodes[k].inputs.map(forwardOperand)   // may emit the operands' copies first
            guard let c = append(k, inputs) else {
                throw GraphError("recompute: node \(k) (\(nodes[k].op.name)) has no result")
            }
            return c
        }
        func emit(_ k: Int) throws {
            let node = nodes[k]
            var inputs: [ValueID]
            if k < forwardNodes {
                inputs = node.inputs.map { remap[$0]! }
            } else {
                var fresh: [ValueID: ValueID] = [:]   // one per-reader copy per node, even if read twice
                inputs = []
                for v in node.inputs {
                    if recomputation.perReader.contains(v) {
                        if fresh[v] == nil { fresh[v] = try duplicate(producer[v]!) }
                        inputs.append(fresh[v]!)
                    } else {
                        inputs.append(try forwardOperand(v))
                    }
                }
            }
            let result = append(k, inputs)
            if let old = node.result { remap[old] = result }
        }

        var next = 0   // nodes before `next` are emitted
        func emitResultless(upTo k: Int) throws {
            while next < k {
                if nodes[next].result == nil { try emit(next) }
                next += 1
            }
        }
        for (v, value) in values.enumerated() {
            switch value.kind {
            case .input, .parameter, .state: remap[v] = declare(value.kind, value.type)
            case .result(let k):
                try emitResultless(upTo: k)
                try emit(k)
                next = k + 1
            }
        }
        try emitResultless(upTo: nodes.count)
        out.outputs = outputs.map { ($0.name, remap[$0.value]!) }
        // A forward node whose value only the backward pass read is now read by nobody: drop it.
        let rewritten = out
        let readers = rewritten.consumers(), liveOutputs = Set(rewritten.outputs.map(\.value))
        let dead = rewritten.values.indices.contains { v in
            if case .result = rewritten.values[v].kind { return readers[v].isEmpty && !liveOutputs.contains(v) }
            return false
        }
        return dead ? try rewritten.removingUnused() : rewritten
    }
}
