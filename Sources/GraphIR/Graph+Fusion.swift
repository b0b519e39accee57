extension Graph {
    /// The inference fusions, in order: `linear` -> `gelu` becomes `linear_gelu` (the
    /// activation is applied while the rows are in cache), then `linear_gelu` ->
    /// `linear` becomes `mlp` (the hidden activations never reach memory), then the
    /// residual sums (`fusingResidualAdds`) and `linear_add` -> `gelu` becomes
    /// `linear_add_gelu` (an FNO layer's pointwise path, sum and activation in one pass).
    /// A pair fuses only when the intermediate value has that single reader and is not an
    /// output, so training graphs, whose backward pass reads pre-activations, keep their ops.
    public func fusingForInference() throws -> Graph {
        try fusingPairs(producer: .linear, consumer: .gelu) { linear, _ in (.linearGelu, linear.inputs) }
            .fusingPairs(producer: .linearGelu, consumer: .linear) { first, second in
                (.mlp, first.inputs + second.inputs.dropFirst())
            }
            .fusingResidualAdds()
            .fusingPairs(producer: .linearAdd, consumer: .gelu) { linearAdd, _ in (.linearAddGelu, linearAdd.inputs) }
    }

    /// The training fusions: `linear_grad_input` whose only reader is a `gelu_grad` (as its
    /// output gradient) becomes `linear_grad_input_gelu` (in the FNO, the projection); the
    /// residual sums (`fusingResidualAdds`); `linear_grad_input` whose only reader is an
    /// `add` becomes `linear_grad_input_add` (a layer input's two gradient contributions),
    /// and that, read only by a `gelu_grad`, `linear_grad_input_add_gelu`. Each fused op
    /// rounds as the ops it replaces (a + b is commutative in IEEE arithmetic), so the
    /// fusions change no bit.
    public func fusingForTraining() throws -> Graph {
        var g = try fusingPairs(producer: .linearGradInput, consumer: .geluGrad, at: 1) { gradInput, geluGrad in
            (.linearGradInputGelu, gradInput.inputs + [geluGrad.inputs[0]])
        }
        g = try g.fusingResidualAdds()
        for index in [0, 1] {
            g = try g.fusingPairs(producer: .linearGradInput, consumer: .add, at: index) { gradInput, add in
                (.linearGradInputAdd, gradInput.inputs + [add.inputs[1 - index]])
            }
        }
        return try g.fusingPairs(producer: .linearGradInputAdd, consumer: .geluGrad, at: 1) { gradInputAdd, geluGrad in
            (.linearGradInputAddGelu, gradInputAdd.inputs + [geluGrad.inputs[0]])
        }
    }

    /// `linear` whose only reader is an f32 `add` (either operand) becomes `linear_add`
    /// with the other operand as the addend: the FNO layer's `spectral + pointwise`.
    func fusingResidualAdds() throws -> Graph {
        var g = self
        for index in [0, 1] {
            g = try g.fusingPairs(producer: .linear, consumer: .add, at: index) { linear, add in
                (.linearAdd, linear.inputs + [add.inputs[1 - index]])
            }
        }
        return g
    }

    /// Replaces each `producer` node whose result's only reader is a `consumer` node
    /// (reading it as input `index`, and at no other index) by one node built by `fuse(producer, consumer)`
    /// at the consumer's place. Other values keep their relative order.
    func fusingPairs(producer: Op, consumer: Op, at index: Int = 0,
                     _ fuse: (Node, Node) -> (Op, [ValueID])) throws -> Graph {
        let users = consumers()
        let outputValues = Set(outputs.map(\.value))
        var absorbed: [Int: Int] = [:]   // consumer node -> producer node
        for (c, node) in nodes.enumerated() where node.op == consumer {
            let v = node.inputs[index]
            // The consumer must read the value once only: the fused node cannot take it as input.
            guard case .result(let p) = values[v].kind, nodes[p].op == producer, users[v] == [c],
                  !outputValues.contains(v), node.inputs.filter({ $0 == v }).count == 1 else { continue }
            absorbed[c] = p
        }
        if absorbed.isEmpty { return self }
        let producers = Set(absorbed.values)
        var builder = GraphBuilder(name: name)
        var remap = [ValueID?](repeating: nil, count: values.count)
        var emitted = [Bool](repeating: false, count: nodes.count)
        func emitResultless(upTo k: Int) throws {
            for j in 0..<k where !emitted[j] && nodes[j].result == nil {
                try builder.apply(nodes[j].op, nodes[j].inputs.map { remap[$0]! })
                emitted[j] = true
            }
        }
        for (v, value) in values.enumerated() {
            switch value.kind {
            case .input(let n): remap[v] = builder.input(n, value.type)
            case .parameter(let n): remap[v] = builder.parameter(n, value.type)
            case .state(let n): remap[v] = builder.state(n, value.type)
            case .result(let k):
                try emitResultless(upTo: k)
                emitted[k] = true
                if producers.contains(k) { continue }
                if let p = absorbed[k] {
                    let (op, inputs) = fuse(nodes[p], nodes[k])
                    remap[v] = try builder.apply(op, inputs.map { remap[$0]! })
                } else {
                    remap[v] = try builder.apply(nodes[k].op, nodes[k].inputs.map { remap[$0]! })
                }
            }
        }
        try emitResultless(upTo: nodes.count)
        for (n, v) in outputs { builder.output(n, remap[v]!) }
        return builder.graph
    }
}
