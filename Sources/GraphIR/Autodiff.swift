/// Reverse-mode automatic differentiation as a graph pass: appends the backward
/// pass of `loss` to the graph as ordinary nodes, so that the planner schedules
/// and arena-plans it like the forward pass (activations live exactly as long as
/// the backward pass reads them).
public enum Autodiff {
    /// Appends nodes computing d loss / d v for each v in `wrt`; returns the
    /// gradient value of each, in `wrt` order. Contributions to a value used more
    /// than once are summed in consumer order (a fixed order: deterministic).
    public static func appendBackward(to builder: inout GraphBuilder, loss: ValueID,
                                      wrt: [ValueID]) throws -> [ValueID] {
        let graph = builder.graph
        guard graph.values[loss].type == TensorType(.f32, []) else {
            throw GraphError("autodiff: the loss must be a scalar f32[], got \(graph.values[loss].type)")
        }
        // Forward sweep: which values depend on a value we differentiate with respect to.
        var needsGradient = [Bool](repeating: false, count: graph.values.count)
        for v in wrt { needsGradient[v] = true }
        for node in graph.nodes where node.op.kind != .constant {
            if let r = node.result, node.inputs.contains(where: { needsGradient[$0] }) { needsGradient[r] = true }
        }
        // Reverse sweep from the loss.
        var gradient = [ValueID?](repeating: nil, count: graph.values.count)
        gradient[loss] = try builder(.fill(value: 1, shape: []))
        for node in graph.nodes.reversed() {
            guard let r = node.result, let dy = gradient[r] else { continue }
            let needs = node.inputs.map { needsGradient[$0] }
            guard needs.contains(true) else { continue }
            guard let rule = GradientRules.rule(for: node.op) else {
                throw GraphError("autodiff: \(node.op.name) is not differentiable")
            }
            let contributions = try rule(&builder, node, dy, needs)
            for (i, input) in node.inputs.enumerated() where needs[i] {
                guard let g = contributions[i] else {
                    throw GraphError("autodiff: \(node.op.name) has no gradient for input \(i)")
                }
                if let previous = gradient[input] {
                    gradient[input] = try builder(.add, previous, g)
                } else {
                    gradient[input] = g
                }
            }
        }
        return try wrt.map { v in
            guard let g = gradient[v] else {
                throw GraphError("autodiff: the loss does not depend on \(graph.values[v].kind.name ?? "%\(v)")")
            }
            return g
        }
    }
}

/// Gradient of one node: given its output gradient `dy` and which inputs need a
/// gradient, appends nodes and returns one gradient per input (nil where not needed).
public typealias GradientRule = (_ builder: inout GraphBuilder, _ node: Node, _ dy: ValueID,
                                 _ needs: [Bool]) throws -> [ValueID?]

/// The registry: one gradient rule per differentiable op, nowhere else. Composite
/// functions (softmax, entropy, KL, the router's features) have no rules of their own:
/// they are built from these primitives and differentiated through them.
public enum GradientRules {
    public static func rule(for op: Op) -> GradientRule? {
        switch op {
        case .linear:
            return { b, node, dy, needs in
                let (x, w) = (node.inputs[0], node.inputs[1])
                return [needs[0] ? try b(.linearGradInput, dy, w) : nil,
                        needs[1] ? try b(.linearGradWeight, x, dy) : nil,
                        needs[2] ? try b(.sumRows, dy) : nil]
            }
        case .mlp:
            // One mlp_grad for all five gradients (it recomputes the pre-activations), then
            // each needed part of its packed result, which lists them in input order (x's
            // gradient bounded as x is: an expert's routed rows).
            return { b, node, dy, needs in
                let packed = try b(.mlpGrad, dy, node.inputs[0], node.inputs[1], node.inputs[2], node.inputs[3])
                var start = 0
                return try node.inputs.enumerated().map { i, input in
                    let type = b.type(of: input)
                    defer { start += type.shape.reduce(1, *) }
                    return needs[i] ? try b(.sliceFlat(start: start, shape: type.shape, bounded: type.isBounded), packed) : nil
                }
            }
        case .gelu:
            return { b, node, dy, _ in [try b(.geluGrad, node.inputs[0], dy)] }
        case .leakyRelu(let slope):
            return { b, node, dy, _ in [try b(.leakyReluGrad(slope: slope), node.inputs[0], dy)] }
        case .conv2d(let k, let periodic):
            return { b, node, dy, needs in
                let (x, w) = (node.inputs[0], node.inputs[1])
                return [needs[0] ? try b(.conv2dGradInput(kernel: k, periodic: periodic), dy, w) : nil,
                        needs[1] ? try b(.conv2dGradWeight(kernel: k, periodic: periodic), x, dy) : nil,
                        needs[2] ? try b(.sumRows, dy) : nil]
            }
        case .add:
            return { _, _, dy, _ in [dy, dy] }
        case .sub:
            return { b, _, dy, needs in [dy, needs[1] ? try b(.affine(scale: -1, shift: 0), dy) : nil] }
        case .mul:
            return { b, node, dy, needs in
                [needs[0] ? try b(.mul, dy, node.inputs[1]) : nil, needs[1] ? try b(.mul, dy, node.inputs[0]) : nil]
            }
        case .div:
            // y = a / b: da = dy / b, db = -dy y / b.
            return { b, node, dy, needs in
                let divisor = node.inputs[1]
                return [needs[0] ? try b(.div, dy, divisor) : nil,
                        needs[1] ? try b(.affine(scale: -1, shift: 0), try b(.div, try b(.mul, dy, node.result!), divisor)) : nil]
            }
        case .affine(let scale, _):
            return { b, _, dy, _ in [try b(.affine(scale: scale, shift: 0), dy)] }
        case .exp:
            return { b, node, dy, _ in [try b(.mul, dy, node.result!)] }
        case .log:
            return { b, node, dy, _ in [try b(.div, dy, node.inputs[0])] }
        case .sqrt:
            return { b, node, dy, _ in [try b(.div, try b(.affine(scale: 0.5, shift: 0), dy), node.result!)] }
        case .tanh:
            // y = tanh x: dx = dy (1 - y^2), from primitives.
            return { b, node, dy, _ in
                let y = node.result!
                return [try b(.mul, dy, try b(.affine(scale: -1, shift: 1), try b(.mul, y, y)))]
            }
        case .reduceSum(let axis):
            return { b, node, dy, _ in [try b(.broadcast(axis: axis, size: b.type(of: node.inputs[0]).shape[axis]), dy)] }
        case .broadcast(let axis, _):
            return { b, _, dy, _ in [try b(.reduceSum(axis: axis), dy)] }
        case .reshape:
            return { b, node, dy, _ in [try b(.reshape(shape: b.type(of: node.inputs[0]).shape), dy)] }
        case .appendCoordinates:
            return { b, node, dy, _ in
                [try b(.sliceChannels(start: 0, count: b.type(of: node.inputs[0]).shape[3]), dy)]
            }
        case .sliceChannels(let start, _):
            return { b, node, dy, _ in
                [try b(.padChannels(start: start, total: b.type(of: node.inputs[0]).shape.last!), dy)]
            }
        case .padChannels(let start, _):
            return { b, node, dy, _ in
                [try b(.sliceChannels(start: start, count: b.type(of: node.inputs[0]).shape.last!), dy)]
            }
        case .concatChannels:
            return { b, node, dy, needs in
                let ca = b.type(of: node.inputs[0]).shape.last!, cb = b.type(of: node.inputs[1]).shape.last!
                return [needs[0] ? try b(.sliceChannels(start: 0, count: ca), dy) : nil,
                        needs[1] ? try b(.sliceChannels(start: ca, count: cb), dy) : nil]
            }
        case .rfft2(let m1, let m2):
            return { b, node, dy, _ in
                let s = b.type(of: node.inputs[0]).shape
                return [try b(.rfft2Grad(height: s[1], width: s[2], modes1: m1, modes2: m2), dy)]
            }
        case .irfft2(_, _, let m1, let m2):
            return { b, _, dy, _ in [try b(.irfft2Grad(modes1: m1, modes2: m2), dy)] }
        case .spectralMix:
            return { b, node, dy, needs in
                let (x, w) = (node.inputs[0], node.inputs[1])
                return [needs[0] ? try b(.spectralMixGradInput, dy, w) : nil,
                        needs[1] ? try b(.spectralMixGradWeight, x, dy) : nil]
            }
        case .bandEnergies(let bands):
            return { b, node, dy, _ in [try b(.bandEnergiesGrad(bands: bands), node.inputs[0], dy)] }
        case .extractPatches(let s, let h):
            return { b, _, dy, _ in [try b(.extractPatchesGrad(scale: s, halo: h), dy)] }
        case .resample(let kernel, _, _):
            // A fixed linear map: its adjoint, the transposed matrices, back to the input grid.
            return { b, node, dy, _ in
                let x = b.type(of: node.inputs[0]).shape
                return [try b(.resampleGrad(kernel: kernel, height: x[1], width: x[2]), dy)]
            }
        case .mergePatches(let s, let h):
            return { b, _, dy, _ in [try b(.mergePatchesGrad(scale: s, halo: h), dy)] }
        case .dispatch(let expert, let k, let capacity):
            // The route is a constant (an i32 table): only the patches get a gradient.
            return { b, node, dy, _ in
                let patches = b.type(of: node.inputs[0]).shape[0]
                return [try b(.dispatchGrad(expert: expert, k: k, capacity: capacity, patches: patches), dy, node.inputs[1]), nil]
            }
        case .gatherGates(let k, let renormalize):
            return { b, node, dy, _ in
                [try b(.gatherGatesGrad(k: k, renormalize: renormalize), node.inputs[0], node.inputs[1], dy), nil]
            }
        case .combine(let k, let capacity, let halo):
            return { b, node, dy, needs in
                let (gates, route) = (node.inputs[0], node.inputs[1])
                let outputs = Array(node.inputs.dropFirst(2))
                var result: [ValueID?] = [
                    needs[0] ? try b.apply(.combineGradGates(k: k, capacity: capacity, halo: halo), [route, dy] + outputs)
                        : nil,
                    nil,
                ]
                for e in outputs.indices {
                    result.append(needs[2 + e]
                        ? try b(.combineGradExpert(expert: e, k: k, capacity: capacity, halo: halo), gates, route, dy) : nil)
                }
                return result
            }
        case .relativeL2Loss:
            // The target is data: no gradient flows into it.
            return { b, node, dy, _ in [try b(.relativeL2LossGrad, node.inputs[0], node.inputs[1], dy), nil] }
        case .fill, .reduceMax, .stopGradient, .spectralCentroid, .route:
            return { _, node, _, _ in node.inputs.map { _ in nil } }   // constants: never asked (kind .constant)
        case .linearGelu, .linearAdd, .linearAddGelu, .linearGradInput, .linearGradInputGelu,
             .linearGradInputAdd, .linearGradInputAddGelu, .linearGradWeight, .sumRows, .mlpGrad, .sliceFlat, .geluGrad,
             .leakyReluGrad, .conv2dGradInput, .conv2dGradWeight, .rfft2Grad, .irfft2Grad, .spectralMixGradInput, .spectralMixGradWeight, .bandEnergiesGrad,
             .extractPatchesGrad, .mergePatchesGrad, .dispatchGrad, .gatherGatesGrad, .combineGradGates,
             .combineGradExpert, .relativeL2LossGrad, .adam, .resampleGrad:
            return nil   // backward, optimizer and inference-only fused ops are not differentiated
        }
    }
}
