/// Structural rules every pass may rely on: references, single assignment,
/// schedule order, types, in-place updates, names and liveness.
extension Graph {
    /// Throws a `GraphError` with a one-line description of the first rule this graph breaks.
    public func verify() throws {
        if let defect = firstDefect() { throw GraphError(defect.message) }
        _ = try boundedExtents()
    }

    /// The first broken rule, or nil; the parser turns its site into a line and column.
    func firstDefect() -> GraphDefect? {
        if let defect = checkDeclarations() ?? checkNodes() ?? checkOutputs() { return defect }
        let readers = consumers()
        return checkUpdates(readers) ?? checkUses(readers)
    }

    /// Declared names are non-empty and unique; each result value names the node that produces it.
    private func checkDeclarations() -> GraphDefect? {
        var owners: [String: ValueID] = [:]
        for (v, value) in values.enumerated() {
            guard let name = value.kind.name else {
                if case .result(let k) = value.kind, !(nodes.indices.contains(k) && nodes[k].result == v) {
                    return GraphDefect("%\(v) claims to be the result of node \(k), which does not produce it", at: .value(v))
                }
                continue
            }
            if name.isEmpty {
                return GraphDefect("%\(v): \(value.kind.keyword) has an empty name", at: .value(v))
            }
            if let first = owners[name] {
                return GraphDefect("%\(v): name \(quoted(name)) is already used by %\(first)", at: .value(v))
            }
            owners[name] = v
        }
        return nil
    }

    /// Results are numbered in node order, operands are defined earlier, and types match inference.
    private func checkNodes() -> GraphDefect? {
        var lastResult = -1
        for (k, node) in nodes.enumerated() {
            let label = nodeLabel(k)
            if let r = node.result {
                guard values.indices.contains(r) else {
                    return GraphDefect("\(label): result %\(r) does not exist", at: .node(k))
                }
                if case .result(let owner) = values[r].kind, owner != k {
                    return GraphDefect("\(label): %\(r) is already the result of node \(owner)", at: .node(k))
                }
                if values[r].kind != .result(node: k) {
                    return GraphDefect("\(label): result %\(r) is declared as \(describe(r))", at: .node(k))
                }
                guard r > lastResult else {
                    return GraphDefect("\(label): result %\(r) is numbered before %\(lastResult) of an earlier node", at: .node(k))
                }
                lastResult = r
            }
            for (i, v) in node.inputs.enumerated() {
                guard values.indices.contains(v) else {
                    return GraphDefect("\(label): unknown value %\(v)", at: .nodeInput(node: k, position: i))
                }
                if case .result(let j) = values[v].kind, j >= k {
                    return GraphDefect("\(label): reads %\(v) before node \(j) defines it", at: .nodeInput(node: k, position: i))
                }
            }
            let inferred: TensorType?
            do { inferred = try node.op.resultType(node.inputs.map { values[$0].type }) } catch {
                return GraphDefect("\(label): \(error)", at: .node(k))
            }
            switch (inferred, node.result) {
            case (let type?, nil):
                return GraphDefect("\(label): \(node.op.name) produces \(type) but the node has no result", at: .node(k))
            case (nil, _?):
                return GraphDefect("\(label): \(node.op.name) has no result", at: .node(k))
            case (let type?, let r?) where values[r].type != type:
                return GraphDefect("\(label): type mismatch: result is declared \(values[r].type) but \(node.op.name) gives \(type)",
                                   at: .nodeType(k))
            case (nil, nil), (_?, _?):
                continue
            }
        }
        return nil
    }

    /// Output names are non-empty and unique and refer to existing values.
    private func checkOutputs() -> GraphDefect? {
        var names = Set<String>()
        for (i, output) in outputs.enumerated() {
            if output.name.isEmpty { return GraphDefect("output \(i) has an empty name", at: .output(i)) }
            guard names.insert(output.name).inserted else {
                return GraphDefect("output \(quoted(output.name)) is declared twice", at: .output(i))
            }
            guard values.indices.contains(output.value) else {
                return GraphDefect("output \(quoted(output.name)): unknown value %\(output.value)", at: .outputValue(i))
            }
        }
        return nil
    }

    /// In-place updates touch only parameters and state, alias no other operand,
    /// and run after every other reader of the updated value.
    private func checkUpdates(_ readers: [[Int]]) -> GraphDefect? {
        for (k, node) in nodes.enumerated() {
            for i in node.op.mutatedInputs {
                let v = node.inputs[i]
                guard values[v].kind.isPersistent else {
                    return GraphDefect("\(nodeLabel(k)): updates %\(v) (\(describe(v))) in place; only parameters and state may be updated",
                                       at: .nodeInput(node: k, position: i))
                }
                if let j = node.inputs.indices.first(where: { $0 != i && node.inputs[$0] == v }) {
                    return GraphDefect("\(nodeLabel(k)): updates %\(v) in place but also reads it as operand \(j)",
                                       at: .nodeInput(node: k, position: j))
                }
                if let later = readers[v].first(where: { $0 > k }) {
                    return GraphDefect("\(nodeLabel(k)): updates %\(v) in place before \(nodeLabel(later)) reads it", at: .node(k))
                }
            }
        }
        return nil
    }

    /// Every value, declared or computed, is read by a node or is an output.
    private func checkUses(_ readers: [[Int]]) -> GraphDefect? {
        let outputValues = Set(outputs.map(\.value))
        guard let v = values.indices.first(where: { readers[$0].isEmpty && !outputValues.contains($0) }) else { return nil }
        return GraphDefect("%\(v) (\(describe(v))) is never used", at: .value(v))
    }

    /// A node as messages name it: index, result and op, e.g. `node 3 (%7 = gelu)`.
    private func nodeLabel(_ k: Int) -> String {
        let node = nodes[k]
        return "node \(k) (" + (node.result.map { "%\($0) = " } ?? "") + node.op.name + ")"
    }

    /// A value's origin as messages name it, e.g. `input "x"` or `result of node 3`.
    private func describe(_ v: ValueID) -> String {
        if case .result(let k) = values[v].kind { return "result of node \(k)" }
        return "\(values[v].kind.keyword) \(quoted(values[v].kind.name ?? ""))"
    }
}
