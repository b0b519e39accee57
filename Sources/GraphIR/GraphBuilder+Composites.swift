/// Composite functions built from primitives (tinygrad's style): they have no gradient
/// rules or kernels of their own; autodiff differentiates them through their parts.
extension GraphBuilder {
    /// Mean over `axis` (removes it).
    public mutating func mean(_ x: ValueID, axis: Int) throws -> ValueID {
        let n = type(of: x).shape[axis]
        return try self(.affine(scale: 1 / Double(n), shift: 0), try self(.reduceSum(axis: axis), x))
    }

    /// `x - broadcast(v)` where `v` is `x` reduced over `axis`.
    public mutating func subtractBroadcast(_ x: ValueID, _ v: ValueID, axis: Int) throws -> ValueID {
        try self(.sub, x, try self(.broadcast(axis: axis, size: type(of: x).shape[axis]), v))
    }

    /// Softmax and log-softmax over `axis`, stabilised by the (constant) maximum:
    /// `z - max`, `p = e^(z - max) / sum`, `log p = z - max - log sum`.
    public mutating func softmax(_ z: ValueID, axis: Int) throws -> (p: ValueID, logP: ValueID) {
        let (p, shifted, sum) = try softmaxParts(z, axis: axis)
        let logP = try subtractBroadcast(shifted, try self(.log, sum), axis: axis)
        return (p, logP)
    }

    /// Softmax over `axis` without `log p` (whose nodes would be dead code where only `p` is read).
    public mutating func softmaxProbabilities(_ z: ValueID, axis: Int) throws -> ValueID {
        try softmaxParts(z, axis: axis).p
    }

    private mutating func softmaxParts(_ z: ValueID, axis: Int) throws -> (p: ValueID, shifted: ValueID, sum: ValueID) {
        let shifted = try subtractBroadcast(z, try self(.reduceMax(axis: axis), z), axis: axis)
        let e = try self(.exp, shifted)
        let sum = try self(.reduceSum(axis: axis), e)
        let size = type(of: z).shape[axis]
        let p = try self(.div, e, try self(.broadcast(axis: axis, size: size), sum))
        return (p, shifted, sum)
    }

    /// `sum_axis a * b`.
    public mutating func dot(_ a: ValueID, _ b: ValueID, axis: Int) throws -> ValueID {
        try self(.reduceSum(axis: axis), try self(.mul, a, b))
    }

    /// A constant rank-1 tensor with these values (a concatenation of one-element fills).
    public mutating func constant(_ values: [Double]) throws -> ValueID {
        var result = try self(.fill(value: values[0], shape: [1]))
        for v in values.dropFirst() { result = try self(.concatChannels, result, try self(.fill(value: v, shape: [1]))) }
        return result
    }

    /// Sum of several scalars (or tensors of one type), in order.
    public mutating func sum(_ values: [ValueID]) throws -> ValueID {
        var total = values[0]
        for v in values.dropFirst() { total = try self(.add, total, v) }
        return total
    }
}
