/// Where the run-time extent of a bounded axis is read: element `index` of the `i32`
/// routing table `table` (the routed count of one expert, `RouteTable.countIndex`).
public struct BoundedExtent: Sendable, Hashable {
    public var table: ValueID
    public var index: Int
    /// The expert whose routed count this is (what NUMA placement groups by).
    public var expert: Int
}

extension Graph {
    /// The extent source of every bounded value, and of every node that reads or writes
    /// one (by node index). A `dispatch` or `combine_grad_expert` node starts a bounded
    /// value whose count is its expert's entry in the route table; a bounded `slice_flat`
    /// takes the source of the node whose packed result it slices; other nodes pass the
    /// source of their first bounded operand on. Throws when a node mixes two sources.
    public func boundedExtents() throws -> (values: [ValueID: BoundedExtent], nodes: [Int: BoundedExtent]) {
        var values: [ValueID: BoundedExtent] = [:]
        var nodeExtents: [Int: BoundedExtent] = [:]
        for (k, node) in nodes.enumerated() {
            var source: BoundedExtent?
            switch node.op {
            case .dispatch(let expert, let k, _):
                let table = RouteTable(length: self.values[node.inputs[1]].type.shape[0],
                                       patches: self.values[node.inputs[0]].type.shape[0], k: k)!
                source = BoundedExtent(table: node.inputs[1], index: table.countIndex(expert), expert: expert)
            case .combineGradExpert(let expert, let k, _, _):
                let table = RouteTable(length: self.values[node.inputs[1]].type.shape[0],
                                       patches: self.values[node.inputs[0]].type.shape[0], k: k)!
                source = BoundedExtent(table: node.inputs[1], index: table.countIndex(expert), expert: expert)
            case .sliceFlat(_, _, true):
                // A bounded part of a packed result: the extent of the node that packed it.
                guard case .result(let producer) = self.values[node.inputs[0]].kind, let s = nodeExtents[producer] else {
                    throw GraphError("node \(k) (\(node.op.name)): a bounded slice of %\(node.inputs[0]), which no bounded node produced")
                }
                source = s
            case .linear, .linearGelu, .mlp, .linearAdd, .linearAddGelu, .gelu, .leakyRelu, .leakyReluGrad, .conv2d,
                 .conv2dGradInput, .conv2dGradWeight, .add, .sub, .mul, .div, .affine, .exp, .log, .sqrt, .tanh, .reduceSum,
                 .reduceMax, .broadcast, .reshape, .stopGradient, .fill, .appendCoordinates, .sliceChannels,
                 .padChannels, .concatChannels, .rfft2, .irfft2, .spectralMix, .bandEnergies, .spectralCentroid,
                 .extractPatches, .mergePatches, .route, .gatherGates, .combine, .relativeL2Loss, .linearGradInput,
                 .linearGradInputGelu, .linearGradInputAdd, .linearGradInputAddGelu, .linearGradWeight, .sumRows, .mlpGrad, .sliceFlat, .geluGrad, .rfft2Grad, .irfft2Grad,
                 .spectralMixGradInput, .spectralMixGradWeight, .bandEnergiesGrad, .extractPatchesGrad,
                 .mergePatchesGrad, .dispatchGrad, .gatherGatesGrad, .combineGradGates, .relativeL2LossGrad, .adam,
                 .resample, .resampleGrad:
                for v in node.inputs where self.values[v].type.isBounded {
                    guard let s = values[v] else {
                        throw GraphError("node \(k) (\(node.op.name)): bounded input %\(v) has no extent source")
                    }
                    // combine and combine_grad_gates read one bounded output per expert, each its own extent.
                    if case .combine = node.op { continue }
                    if case .combineGradGates = node.op { continue }
                    if let source, source != s {
                        throw GraphError("node \(k) (\(node.op.name)): bounded operands have different extents")
                    }
                    source = s
                }
            }
            if let source { nodeExtents[k] = source }
            if let r = node.result, self.values[r].type.isBounded {
                guard let source else { throw GraphError("node \(k) (\(node.op.name)): bounded result without a source") }
                values[r] = source
            }
        }
        return (values, nodeExtents)
    }
}
