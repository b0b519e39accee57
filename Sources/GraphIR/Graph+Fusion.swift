extension Graph {
    /// Fuses each `linear` whose result is read only by one `gelu` (and is not an
    /// output) into a `linear_gelu`, so the activation is applied while the tile is
    /// in cache instead of in a second pass over memory. Values keep their relative
    /// order; the intermediate pre-activation value disappears. Training graphs are
    /// left as they are: there the backward pass reads the pre-activation too.
    public func fusingLinearGelu() throws -> Graph {
        let users = consumers()
        let outputValues = Set(outputs.map(\.value))
        // gelu node index -> the linear node it absorbs.
        var absorbed: [Int: Int] = [:]
        for (g, node) in nodes.enumerated() where node.op == .gelu {
            let v = node.inputs[0]
            guard case .result(let l) = values[v].kind, nodes[l].op == .linear, users[v] == [g],
                  !outputValues.contains(v) else { continue }
            absorbed[g] = l
        }
        let fusedLinears = Set(absorbed.values)
        var builder = GraphBuilder(name: name)
        var remap = [ValueID?](repeating: nil, count: values.count)
        var nodeEmitted = [Bool](repeating: false, count: nodes.count)
        for (v, value) in values.enumerated() {
            switch value.kind {
            case .input(let n): remap[v] = builder.input(n, value.type)
            case .parameter(let n): remap[v] = builder.parameter(n, value.type)
            case .state(let n): remap[v] = builder.state(n, value.type)
            case .result(let k):
                // Result-less nodes before k keep their place.
                for j in 0..<k where !nodeEmitted[j] && nodes[j].result == nil {
                    try builder.apply(nodes[j].op, nodes[j].inputs.map { remap[$0]! })
                    nodeEmitted[j] = true
                }
                nodeEmitted[k] = true
                if fusedLinears.contains(k) { continue }
                if let l = absorbed[k] {
                    remap[v] = try builder.apply(.linearGelu, nodes[l].inputs.map { remap[$0]! })
                } else {
                    remap[v] = try builder.apply(nodes[k].op, nodes[k].inputs.map { remap[$0]! })
                }
            }
        }
        for j in nodes.indices where !nodeEmitted[j] {
            try builder.apply(nodes[j].op, nodes[j].inputs.map { remap[$0]! })
        }
        for (n, v) in outputs { builder.output(n, remap[v]!) }
        return builder.graph
    }
}
