/// Index of a value in its graph's value table.
public typealias ValueID = Int

/// Where a value comes from, which also decides where it is stored.
public enum ValueKind: Sendable, Hashable {
    /// Fed by the caller before each run (data batch, targets, runtime scalars).
    case input(name: String)
    /// A trainable weight; persistent across runs.
    case parameter(name: String)
    /// Persistent non-trainable state, e.g. Adam moments; persistent across runs.
    case state(name: String)
    /// Produced by the node with this index; lives in the arena.
    case result(node: Int)

    /// Parameters and state outlive a run and are stored outside the arena.
    public var isPersistent: Bool {
        switch self {
        case .parameter, .state: return true
        case .input, .result: return false
        }
    }

    /// The user-visible name of inputs, parameters and state.
    public var name: String? {
        switch self {
        case .input(let n), .parameter(let n), .state(let n): return n
        case .result: return nil
        }
    }
}

/// One SSA value: defined once, by an input declaration or by exactly one node.
public struct Value: Sendable, Hashable {
    public var kind: ValueKind
    public var type: TensorType
}

/// One operation; its result (if any) is a fresh value.
public struct Node: Sendable, Hashable {
    public var op: Op
    public var inputs: [ValueID]
    /// Nil for side-effect-only ops (optimizer updates).
    public var result: ValueID?
}

/// A static dataflow graph. Node order is a valid schedule (topological order);
/// planners may reorder, the executor runs the planned order.
public struct Graph: Sendable, Hashable {
    public var name: String
    public var values: [Value] = []
    public var nodes: [Node] = []
    /// Named outputs, in declaration order.
    public var outputs: [(name: String, value: ValueID)] = []

    public init(name: String) { self.name = name }

    public static func == (a: Graph, b: Graph) -> Bool {
        a.name == b.name && a.values == b.values && a.nodes == b.nodes
            && a.outputs.elementsEqual(b.outputs, by: { $0.name == $1.name && $0.value == $1.value })
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name); hasher.combine(values); hasher.combine(nodes)
        for o in outputs { hasher.combine(o.name); hasher.combine(o.value) }
    }

    /// The value declared with this kind-name (input, parameter or state), if any.
    public func value(named name: String) -> ValueID? {
        values.firstIndex { $0.kind.name == name }
    }

    /// The output value with this name, if any.
    public func output(named name: String) -> ValueID? {
        outputs.first { $0.name == name }?.value
    }

    /// For each value, the indices of the nodes that read it, in node order.
    public func consumers() -> [[Int]] {
        var users = Array(repeating: [Int](), count: values.count)
        for (i, node) in nodes.enumerated() {
            for v in node.inputs where users[v].last != i { users[v].append(i) }
        }
        return users
    }
}
