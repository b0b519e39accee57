/// Builds a graph in program order, inferring every result type as it goes;
/// a type error surfaces at the call that caused it.
public struct GraphBuilder {
    public private(set) var graph: Graph

    public init(name: String) { graph = Graph(name: name) }

    private mutating func declare(_ kind: ValueKind, _ type: TensorType) -> ValueID {
        graph.values.append(Value(kind: kind, type: type))
        return graph.values.count - 1
    }

    public mutating func input(_ name: String, _ type: TensorType) -> ValueID { declare(.input(name: name), type) }
    public mutating func parameter(_ name: String, _ type: TensorType) -> ValueID { declare(.parameter(name: name), type) }
    public mutating func state(_ name: String, _ type: TensorType) -> ValueID { declare(.state(name: name), type) }

    /// Appends a node and returns its result; throws on a type error.
    @discardableResult
    public mutating func apply(_ op: Op, _ inputs: [ValueID]) throws -> ValueID? {
        for v in inputs where !graph.values.indices.contains(v) {
            throw GraphError("\(op.name): unknown value %\(v)")
        }
        let type = try op.resultType(inputs.map { graph.values[$0].type })
        let nodeIndex = graph.nodes.count
        var result: ValueID?
        if let type { result = declare(.result(node: nodeIndex), type) }
        graph.nodes.append(Node(op: op, inputs: inputs, result: result))
        return result
    }

    /// Appends a node that must produce a value.
    public mutating func callAsFunction(_ op: Op, _ inputs: ValueID...) throws -> ValueID {
        guard let v = try apply(op, inputs) else { throw GraphError("\(op.name) has no result") }
        return v
    }

    public mutating func output(_ name: String, _ value: ValueID) {
        graph.outputs.append((name, value))
    }

    public func type(of v: ValueID) -> TensorType { graph.values[v].type }
}
