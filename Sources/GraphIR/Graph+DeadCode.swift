extension Graph {
    /// The graph without the nodes whose results reach no output and no in-place
    /// update (dead code), keeping every declaration that is still read and the order of
    /// everything else.
    public func removingUnused() throws -> Graph {
        var live = [Bool](repeating: false, count: values.count)
        for (_, v) in outputs { live[v] = true }
        var keep = [Bool](repeating: false, count: nodes.count)
        for k in nodes.indices.reversed() {
            let node = nodes[k]
            guard node.result.map({ live[$0] }) ?? true else { continue }
            keep[k] = true
            for v in node.inputs { live[v] = true }
        }
        var builder = GraphBuilder(name: name)
        var remap = [ValueID?](repeating: nil, count: values.count)
        var next = 0   // nodes before `next` are emitted (or dropped); calls come with growing `end`
        func emit(upTo end: Int) throws {
            while next < end {
                let j = next
                next += 1
                guard keep[j] else { continue }
                let r = try builder.apply(nodes[j].op, nodes[j].inputs.map { remap[$0]! })
                if let old = nodes[j].result { remap[old] = r }
            }
        }
        for (v, value) in values.enumerated() {
            switch value.kind {
            case .input(let n): if live[v] { remap[v] = builder.input(n, value.type) }
            case .parameter(let n): if live[v] { remap[v] = builder.parameter(n, value.type) }
            case .state(let n): if live[v] { remap[v] = builder.state(n, value.type) }
            case .result(let k): try emit(upTo: k + 1)
            }
        }
        try emit(upTo: nodes.count)
        for (n, v) in outputs { builder.output(n, remap[v]!) }
        return builder.graph
    }
}
