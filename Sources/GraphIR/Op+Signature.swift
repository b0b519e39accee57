/// Type inference: the result type an op produces from its input types.
extension Op {
    /// The result type for these input types, nil for side-effect-only ops;
    /// throws a `GraphError` naming the op and the mismatch.
    public func resultType(_ inputs: [TensorType]) throws -> TensorType? {
        guard arity.accepts(inputs.count) else {
            throw GraphError("\(name): expects \(arity) inputs, got \(inputs.count)")
        }
        func fail(_ why: String) -> GraphError {
            GraphError("\(name): \(why) (inputs \(inputs.map(\.description).joined(separator: ", ")))")
        }
        let rule = boundRule
        let bounded = inputs.indices.filter { inputs[$0].isBounded }
        switch rule {
        case .none, .introduce:
            if let i = bounded.first { throw fail("input \(i) may not have a bounded axis") }
        case .keep:
            if let i = bounded.first(where: { inputs[$0].boundedAxis != inputs[0].boundedAxis }) {
                throw fail("input \(i)'s bounded axis differs from input 0's")
            }
            if isElementwiseBinary && inputs[0].boundedAxis != inputs[1].boundedAxis {
                throw fail("operands must be bounded alike")
            }
        case .move, .consume:
            // mlp_grad reads dy and x row by row: bounded alike, on the row-tile axis 0.
            if case .mlpGrad = self, inputs[0].boundedAxis != inputs[1].boundedAxis || (inputs[0].boundedAxis ?? 0) != 0
                || bounded.contains(where: { $0 > 1 }) || (inputs[1].isBounded && inputs[1].rank < 2) {
                throw fail("only dy and x may be bounded, alike and on axis 0")
            }
        }
        guard let type = try staticResultType(inputs.map { $0.bounded(nil) }, fail) else { return nil }
        switch rule {
        case .none, .consume: return type
        case .keep: return type.bounded(inputs[0].boundedAxis)
        case .move(let from, let to):
            guard inputs[0].boundedAxis == nil || inputs[0].boundedAxis == from else {
                throw fail("input 0 may be bounded only on axis \(from)")
            }
            return type.bounded(inputs[0].isBounded ? to : nil)
        case .introduce: return type.bounded(0)
        }
    }

    /// add, sub, mul, div, gelu_grad, leaky_relu_grad: operands of one type, bounds included.
    var isElementwiseBinary: Bool {
        switch code {
        case .add, .sub, .mul, .div, .gelu_grad, .leaky_relu_grad: return true
        case .linear, .linear_gelu, .mlp, .linear_add, .linear_add_gelu, .gelu, .leaky_relu, .conv2d, .conv2d_grad_input,
             .conv2d_grad_weight, .affine, .exp, .log, .sqrt, .tanh, .reduce_sum, .reduce_max, .broadcast,
             .reshape, .stop_gradient, .fill, .append_coordinates, .slice_channels, .pad_channels, .concat_channels,
             .rfft2, .irfft2, .spectral_mix, .band_energies, .spectral_centroid, .extract_patches, .merge_patches,
             .route, .dispatch, .gather_gates, .combine, .relative_l2_loss, .linear_grad_input,
             .linear_grad_input_gelu, .linear_grad_input_add, .linear_grad_input_add_gelu, .linear_grad_weight,
             .sum_rows, .mlp_grad, .slice_flat, .rfft2_grad, .irfft2_grad,
             .spectral_mix_grad_input, .spectral_mix_grad_weight, .band_energies_grad, .extract_patches_grad,
             .merge_patches_grad, .dispatch_grad, .gather_gates_grad, .combine_grad_gates, .combine_grad_expert,
             .relative_l2_loss_grad, .adam, .resample, .resample_grad:
            return false
        }
    }

    /// How a bounded axis (`TensorType.boundedAxis`) passes through the op.
    public enum BoundRule: Sendable, Hashable {
        /// No operand may be bounded; the result is static.
        case none
        /// The result is bounded where input 0 is (bounded operands agree).
        case keep
        /// Input 0's bounded axis `from` becomes the result's axis `to`.
        case move(from: Int, to: Int)
        /// Bounded operands are reduced (only their valid rows count); the result is static.
        case consume
        /// Static operands; the result's axis 0 is a capacity (`dispatch`, a bounded `slice_flat`).
        case introduce
    }

    public var boundRule: BoundRule {
        switch self {
        case .linear, .linearGelu, .mlp, .linearAdd, .linearAddGelu, .gelu, .add, .sub, .mul, .div, .affine, .exp,
             .log, .sqrt, .tanh, .stopGradient,
             .appendCoordinates, .sliceChannels, .padChannels, .concatChannels, .linearGradInput,
             .linearGradInputGelu, .linearGradInputAdd, .linearGradInputAddGelu, .geluGrad, .spectralMix,
             .spectralMixGradInput, .leakyRelu, .leakyReluGrad, .conv2d, .conv2dGradInput, .resample, .resampleGrad:
            return .keep
        case .rfft2, .irfft2Grad: return .move(from: 0, to: 1)
        case .irfft2, .rfft2Grad: return .move(from: 1, to: 0)
        case .linearGradWeight, .sumRows, .spectralMixGradWeight, .conv2dGradWeight, .combine, .combineGradGates, .dispatchGrad:
            return .consume
        case .dispatch, .combineGradExpert: return .introduce
        case .reduceSum, .reduceMax, .broadcast, .reshape, .fill, .bandEnergies, .spectralCentroid, .extractPatches,
             .mergePatches, .route, .gatherGates, .relativeL2Loss, .bandEnergiesGrad, .extractPatchesGrad,
             .mergePatchesGrad, .gatherGatesGrad, .relativeL2LossGrad, .adam:
            return .none
        case .mlpGrad: return .consume
        case .sliceFlat(_, _, let bounded): return bounded ? .introduce : .none
        }
    }

    /// The result type with every bound removed from the operands.
    private func staticResultType(_ t: [TensorType], _ fail: (String) -> GraphError) throws -> TensorType? {
        func require(_ ok: Bool, _ why: @autoclosure () -> String) throws {
            if !ok { throw fail(why()) }
        }
        func nhwc(_ t: TensorType, _ what: String) throws {
            try require(t.dtype == .f32 && t.rank == 4, "\(what) must be f32[N,H,W,C]")
        }
        func f32(_ what: String) throws {
            try require(t.allSatisfy { $0.dtype == .f32 }, what)
        }
        /// The route table of `route` for `patches` (and `k`), validated.
        func table(_ route: TensorType, patches: Int, k: Int) throws -> RouteTable {
            guard route.dtype == .i32, route.rank == 1,
                  let table = RouteTable(length: route.shape[0], patches: patches, k: k) else {
                throw fail("the route must be an i32 routing table for \(patches) patches and k = \(k)")
            }
            return table
        }
        switch self {
        case .linear, .linearGelu:
            try f32("all inputs must be f32")
            try require(t[0].rank >= 1 && t[1].rank == 2 && t[2].rank == 1, "want x[...,K], w[K,N], b[N]")
            try require(t[0].shape.last == t[1].shape[0], "x's last dimension must equal w's rows")
            try require(t[2].shape[0] == t[1].shape[1], "b must have w's column count")
            return TensorType(.f32, t[0].shape.dropLast() + [t[1].shape[1]])
        case .linearAdd, .linearAddGelu:
            try f32("all inputs must be f32")
            try require(t[0].rank >= 1 && t[1].rank == 2 && t[2].rank == 1, "want x[...,K], w[K,N], b[N], r[...,N]")
            try require(t[0].shape.last == t[1].shape[0], "x's last dimension must equal w's rows")
            try require(t[2].shape[0] == t[1].shape[1], "b must have w's column count")
            let y = TensorType(.f32, t[0].shape.dropLast() + [t[1].shape[1]])
            try require(t[3] == y, "r must have the result's type \(y)")
            return y
        case .mlp:
            try f32("all inputs must be f32")
            try require(t[0].rank >= 1 && t[1].rank == 2 && t[2].rank == 1 && t[3].rank == 2 && t[4].rank == 1,
                        "want x[...,K], w1[K,H], b1[H], w2[H,N], b2[N]")
            try require(t[0].shape.last == t[1].shape[0] && t[2].shape[0] == t[1].shape[1], "x, w1, b1 disagree")
            try require(t[3].shape[0] == t[1].shape[1] && t[4].shape[0] == t[3].shape[1], "w2, b2 disagree with w1")
            return TensorType(.f32, t[0].shape.dropLast() + [t[3].shape[1]])
        case .gelu, .exp, .log, .sqrt, .tanh, .affine, .leakyRelu:
            try require(t[0].dtype == .f32, "x must be f32")
            return t[0]
        case .conv2d(let k, _):
            try Op.checkConvolution(k, x: t[0], w: t[1], fail)
            try require(t[2] == TensorType(.f32, [t[1].shape[3]]), "b must be f32[Co]")
            return TensorType(.f32, Array(t[0].shape.dropLast()) + [t[1].shape[3]])
        case .conv2dGradInput(let k, _):
            try Op.checkConvolution(k, x: nil, w: t[1], fail)
            try require(t[0].dtype == .f32 && t[0].rank == 4 && t[0].shape[3] == t[1].shape[3], "dy must be f32[N,H,W,Co]")
            return TensorType(.f32, Array(t[0].shape.dropLast()) + [t[1].shape[2]])
        case .conv2dGradWeight(let k, _):
            try require(k >= 1 && k % 2 == 1, "kernel \(k) must be odd")
            try require(t.allSatisfy { $0.dtype == .f32 && $0.rank == 4 } && t[0].shape.dropLast() == t[1].shape.dropLast(),
                        "want x[N,H,W,Ci], dy[N,H,W,Co]")
            try require(k <= t[0].shape[1] && k <= t[0].shape[2], "kernel \(k) larger than the grid")
            return TensorType(.f32, [k, k, t[0].shape[3], t[1].shape[3]])
        case .add:
            try require(t[0] == t[1] && t[0].dtype != .i32, "operands must have the same f32 or c64 type")
            return t[0]
        case .sub, .mul, .div:
            try require(t[0] == t[1] && t[0].dtype == .f32, "operands must have the same f32 type")
            return t[0]
        case .reduceSum(let axis), .reduceMax(let axis):
            // reduce_sum and broadcast also take c64 (real and imaginary parts alike: a weight
            // shared by several mode blocks, and its summed gradient); reduce_max is f32 only.
            let complexOK = self == .reduceSum(axis: axis)
            try require((t[0].dtype == .f32 || (complexOK && t[0].dtype == .c64)) && (0..<t[0].rank).contains(axis),
                        "axis \(axis) out of range for \(complexOK ? "f32 or c64" : "f32") input")
            var s = t[0].shape; s.remove(at: axis)
            return TensorType(t[0].dtype, s)
        case .broadcast(let axis, let size):
            try require((t[0].dtype == .f32 || t[0].dtype == .c64) && (0...t[0].rank).contains(axis) && size >= 1,
                        "axis \(axis) out of range or size \(size) < 1 for f32 or c64 input")
            var s = t[0].shape; s.insert(size, at: axis)
            return TensorType(t[0].dtype, s)
        case .reshape(let shape):
            try require(shape.allSatisfy { $0 >= 1 } && shape.reduce(1, *) == t[0].elementCount,
                        "shape \(shape) must be positive with \(t[0].elementCount) elements")
            return TensorType(t[0].dtype, shape)
        case .stopGradient:
            return t[0]
        case .fill(_, let shape):
            try require(shape.allSatisfy { $0 > 0 }, "shape must be positive")
            return TensorType(.f32, shape)
        case .appendCoordinates:
            try nhwc(t[0], "x")
            var s = t[0].shape; s[3] += 2
            return TensorType(.f32, s)
        case .sliceChannels(let start, let count):
            try require(t[0].dtype == .f32 && t[0].rank >= 1, "x must be f32[..., C]")
            try require(start >= 0 && count > 0 && start + count <= t[0].shape.last!, "channels out of range")
            return TensorType(.f32, t[0].shape.dropLast() + [count])
        case .padChannels(let start, let total):
            try require(t[0].dtype == .f32 && t[0].rank >= 1, "x must be f32[..., C]")
            try require(start >= 0 && start + t[0].shape.last! <= total, "channels out of range")
            return TensorType(.f32, t[0].shape.dropLast() + [total])
        case .concatChannels:
            try f32("a and b must be f32")
            try require(t[0].rank >= 1 && t[0].rank == t[1].rank && t[0].shape.dropLast() == t[1].shape.dropLast(),
                        "all but the last dimension must agree")
            return TensorType(.f32, t[0].shape.dropLast() + [t[0].shape.last! + t[1].shape.last!])
        case .rfft2(let m1, let m2):
            try nhwc(t[0], "x")
            let (h, w) = (t[0].shape[1], t[0].shape[2])
            try Op.checkModes(h: h, w: w, m1: m1, m2: m2, fail)
            return TensorType(.c64, [2 * m1 * m2, t[0].shape[0], t[0].shape[3]])
        case .irfft2(let h, let w, let m1, let m2), .rfft2Grad(let h, let w, let m1, let m2):
            try require(t[0].dtype == .c64 && t[0].rank == 3, "spectrum must be c64[M,N,C]")
            try Op.checkModes(h: h, w: w, m1: m1, m2: m2, fail)
            try require(t[0].shape[0] == 2 * m1 * m2, "spectrum must have 2*modes1*modes2 modes")
            return TensorType(.f32, [t[0].shape[1], h, w, t[0].shape[2]])
        case .irfft2Grad(let m1, let m2):
            try nhwc(t[0], "dy")
            try Op.checkModes(h: t[0].shape[1], w: t[0].shape[2], m1: m1, m2: m2, fail)
            return TensorType(.c64, [2 * m1 * m2, t[0].shape[0], t[0].shape[3]])
        case .resample(_, let height, let width), .resampleGrad(_, let height, let width):
            try nhwc(t[0], self.code == .resample ? "x" : "dy")
            try require(height >= 1 && width >= 1, "height and width must be >= 1")
            let s = t[0].shape
            return TensorType(.f32, [s[0], height, width, s[3]])
        case .spectralMix, .spectralMixGradInput:
            try require(t.allSatisfy { $0.dtype == .c64 && $0.rank == 3 }, "inputs must be c64 rank 3")
            try require(t[0].shape[0] == t[1].shape[0], "mode counts must agree")
            if self == .spectralMix {
                try require(t[0].shape[2] == t[1].shape[1], "x channels must equal w's rows")
                return TensorType(.c64, [t[0].shape[0], t[0].shape[1], t[1].shape[2]])
            }
            try require(t[0].shape[2] == t[1].shape[2], "dY channels must equal w's columns")
            return TensorType(.c64, [t[0].shape[0], t[0].shape[1], t[1].shape[1]])
        case .spectralMixGradWeight:
            try require(t.allSatisfy { $0.dtype == .c64 && $0.rank == 3 }, "inputs must be c64 rank 3")
            try require(t[0].shape.prefix(2) == t[1].shape.prefix(2), "M and N must agree")
            return TensorType(.c64, [t[0].shape[0], t[0].shape[2], t[1].shape[2]])
        case .bandEnergies(let bands):
            try require(t[0].dtype == .f32 && t[0].rank == 4 && t[0].shape[3] == 1, "x must be f32[Np,P,Q,1]")
            try require(bands >= 1, "bands must be >= 1")
            return TensorType(.f32, [t[0].shape[0], bands])
        case .bandEnergiesGrad(let bands):
            try require(t[0].dtype == .f32 && t[0].rank == 4 && t[0].shape[3] == 1, "x must be f32[Np,P,Q,1]")
            try require(t[1] == TensorType(.f32, [t[0].shape[0], bands]), "dE must be f32[Np,\(bands)]")
            return t[0]
        case .spectralCentroid:
            try require(t[0].dtype == .f32 && t[0].rank == 4 && t[0].shape[3] == 1, "x must be f32[Np,P,Q,1]")
            return TensorType(.f32, [t[0].shape[0]])
        case .extractPatches(let s, let h), .mergePatchesGrad(let s, let h):
            try nhwc(t[0], "x")
            let shape = t[0].shape
            try require(s >= 1 && h >= 0 && shape[1] % s == 0 && shape[2] % s == 0,
                        "scale \(s) must divide H and W, halo \(h) must be >= 0")
            return TensorType(.f32, [shape[0] * s * s, shape[1] / s + 2 * h, shape[2] / s + 2 * h, shape[3]])
        case .mergePatches(let s, let h), .extractPatchesGrad(let s, let h):
            try nhwc(t[0], "patches")
            let shape = t[0].shape
            try require(s >= 1 && h >= 0 && shape[0] % (s * s) == 0 && shape[1] > 2 * h && shape[2] > 2 * h,
                        "patch count must be a multiple of scale^2 and patches larger than twice the halo")
            return TensorType(.f32, [shape[0] / (s * s), s * (shape[1] - 2 * h), s * (shape[2] - 2 * h), shape[3]])
        case .route(let k, let capacity):
            try require(t[0].dtype == .f32 && t[0].rank == 2, "p must be f32[Np,E]")
            try require(k >= 1 && k <= t[0].shape[1] && capacity >= 1, "need 1 <= k <= E and capacity >= 1")
            return TensorType(.i32, [RouteTable(patches: t[0].shape[0], k: k, experts: t[0].shape[1]).count])
        case .dispatch(let expert, let k, let capacity):
            try require(t[0].dtype == .f32 && t[0].rank >= 2, "x must be f32[Np, ...]")
            let table = try table(t[1], patches: t[0].shape[0], k: k)
            try require((0..<table.experts).contains(expert) && capacity >= 1, "expert or capacity out of range")
            return TensorType(.f32, [capacity] + t[0].shape.dropFirst())
        case .dispatchGrad(let expert, let k, let capacity, let patches):
            try require(t[0].dtype == .f32 && t[0].rank >= 2 && t[0].shape[0] == capacity, "dy must be f32[capacity, ...]")
            let table = try table(t[1], patches: patches, k: k)
            try require((0..<table.experts).contains(expert), "expert out of range")
            return TensorType(.f32, [patches] + t[0].shape.dropFirst())
        case .gatherGates(let k, _):
            try require(t[0].dtype == .f32 && t[0].rank == 2, "p must be f32[Np,E]")
            let table = try table(t[1], patches: t[0].shape[0], k: k)
            try require(table.experts == t[0].shape[1], "p and the route disagree on E")
            return TensorType(.f32, [t[0].shape[0], k])
        case .gatherGatesGrad(let k, _):
            try require(t[0].dtype == .f32 && t[0].rank == 2, "p must be f32[Np,E]")
            let table = try table(t[1], patches: t[0].shape[0], k: k)
            try require(table.experts == t[0].shape[1], "p and the route disagree on E")
            try require(t[2] == TensorType(.f32, [t[0].shape[0], k]), "dgates must be f32[Np,k]")
            return t[0]
        case .combine(let k, let capacity, let halo):
            try require(t[0].dtype == .f32 && t[0].rank == 2 && t[0].shape[1] == k, "gates must be f32[Np,k]")
            let table = try table(t[1], patches: t[0].shape[0], k: k)
            let outputs = Array(t.dropFirst(2))
            try require(outputs.count == table.experts, "needs one output per expert (\(table.experts))")
            try Op.checkExpertOutputs(outputs, capacity: capacity, halo: halo, fail)
            let y = outputs[0].shape
            return TensorType(.f32, [t[0].shape[0], y[1] - 2 * halo, y[2] - 2 * halo, y[3]])
        case .combineGradGates(let k, let capacity, let halo):
            try require(t[1].dtype == .f32 && t[1].rank == 4, "dy must be f32[Np,P,Q,C]")
            let table = try table(t[0], patches: t[1].shape[0], k: k)
            let outputs = Array(t.dropFirst(2))
            try require(outputs.count == table.experts, "needs one output per expert (\(table.experts))")
            try Op.checkExpertOutputs(outputs, capacity: capacity, halo: halo, fail)
            let y = outputs[0].shape
            try require(t[1].shape == [t[1].shape[0], y[1] - 2 * halo, y[2] - 2 * halo, y[3]], "dy and outputs disagree")
            return TensorType(.f32, [t[1].shape[0], k])
        case .combineGradExpert(let expert, let k, let capacity, let halo):
            try require(t[0].dtype == .f32 && t[0].rank == 2 && t[0].shape[1] == k, "gates must be f32[Np,k]")
            let table = try table(t[1], patches: t[0].shape[0], k: k)
            try require((0..<table.experts).contains(expert) && capacity >= 1 && halo >= 0, "expert, capacity or halo out of range")
            try require(t[2].dtype == .f32 && t[2].rank == 4 && t[2].shape[0] == t[0].shape[0], "dy must be f32[Np,P,Q,C]")
            let d = t[2].shape
            return TensorType(.f32, [capacity, d[1] + 2 * halo, d[2] + 2 * halo, d[3]])
        case .relativeL2Loss:
            try require(t[0] == t[1] && t[0].dtype == .f32 && t[0].rank >= 1, "pred and target must be the same f32 type")
            return TensorType(.f32, [])
        case .relativeL2LossGrad:
            try require(t[0] == t[1] && t[0].dtype == .f32 && t[0].rank >= 1, "pred and target must be the same f32 type")
            try require(t[2] == TensorType(.f32, []), "dL must be f32[]")
            return t[0]
        case .linearGradInput:
            try require(t.allSatisfy { $0.dtype == .f32 } && t[1].rank == 2 && t[0].rank >= 1, "want dy[...,N], w[K,N]")
            try require(t[0].shape.last == t[1].shape[1], "dy's last dimension must equal w's columns")
            return TensorType(.f32, t[0].shape.dropLast() + [t[1].shape[0]])
        case .linearGradInputGelu:
            try require(t.allSatisfy { $0.dtype == .f32 } && t[1].rank == 2 && t[0].rank >= 1, "want dy[...,N], w[K,N], x[...,K]")
            try require(t[0].shape.last == t[1].shape[1], "dy's last dimension must equal w's columns")
            let dx = TensorType(.f32, t[0].shape.dropLast() + [t[1].shape[0]])
            try require(t[2] == dx, "x must have the type of the input gradient \(dx)")
            return dx
        case .linearGradInputAdd, .linearGradInputAddGelu:
            let gelu = self == .linearGradInputAddGelu
            try require(t.allSatisfy { $0.dtype == .f32 } && t[1].rank == 2 && t[0].rank >= 1,
                        gelu ? "want dy[...,N], w[K,N], r[...,K], x[...,K]" : "want dy[...,N], w[K,N], r[...,K]")
            try require(t[0].shape.last == t[1].shape[1], "dy's last dimension must equal w's columns")
            let dx = TensorType(.f32, t[0].shape.dropLast() + [t[1].shape[0]])
            try require(t[2] == dx, "r must have the type of the input gradient \(dx)")
            if gelu { try require(t[3] == dx, "x must have the type of the input gradient \(dx)") }
            return dx
        case .linearGradWeight:
            try require(t.allSatisfy { $0.dtype == .f32 && $0.rank >= 1 }, "want x[...,K], dy[...,N]")
            try require(t[0].shape.dropLast() == t[1].shape.dropLast(), "x and dy must have the same rows")
            return TensorType(.f32, [t[0].shape.last!, t[1].shape.last!])
        case .sumRows:
            try require(t[0].dtype == .f32 && t[0].rank >= 1, "dy must be f32")
            return TensorType(.f32, [t[0].shape.last!])
        case .mlpGrad:
            try f32("all inputs must be f32")
            try require(t[0].rank >= 1 && t[1].rank >= 1 && t[2].rank == 2 && t[3].rank == 1 && t[4].rank == 2,
                        "want dy[...,N], x[...,K], w1[K,H], b1[H], w2[H,N]")
            try require(t[0].shape.dropLast() == t[1].shape.dropLast(), "dy and x must have the same rows")
            try require(t[1].shape.last == t[2].shape[0] && t[3].shape[0] == t[2].shape[1], "x, w1, b1 disagree")
            try require(t[4].shape[0] == t[2].shape[1] && t[0].shape.last == t[4].shape[1], "w2, dy disagree with w1")
            var packed = 0   // the gradients of x, w1, b1, w2 and b2[N]
            for part in [t[1], t[2], t[3], t[4], TensorType(.f32, [t[4].shape[1]])] {
                guard let count = part.checkedElementCount, case (let sum, false) = packed.addingReportingOverflow(count) else {
                    throw fail("the packed gradient's size overflows")
                }
                packed = sum
            }
            return TensorType(.f32, [packed])
        case .sliceFlat(let start, let shape, _):
            try require(t[0].dtype == .f32 && t[0].rank == 1, "x must be flat f32[P]")
            try require(shape.allSatisfy { $0 >= 1 }, "shape \(shape) must be positive")
            let count = TensorType(.f32, shape).checkedElementCount
            try require(start >= 0 && count != nil && start <= t[0].shape[0] - count!,
                        "elements \(start)..<\(start)+\(count ?? 0) out of range of \(t[0].shape[0])")
            return TensorType(.f32, shape)
        case .geluGrad, .leakyReluGrad:
            try require(t[0] == t[1] && t[0].dtype == .f32, "x and dy must be the same f32 type")
            return t[0]
        case .adam:
            try require(t[0] == t[1] && t[0] == t[2] && t[0] == t[3], "param, grad, m, v must have one type")
            try require(t[4] == TensorType(.f32, [2]), "hyper must be f32[2] (lr, step)")
            return nil
        }
    }

    /// A `conv2d` weight `f32[k, k, Ci, Co]` with `k` odd and, when `x` is given, `x` an
    /// `f32[N, H, W, Ci]` on a grid at least `k` cells wide in each axis.
    private static func checkConvolution(_ k: Int, x: TensorType?, w: TensorType, _ fail: (String) -> GraphError) throws {
        guard k >= 1, k % 2 == 1, w.dtype == .f32, w.rank == 4, w.shape[0] == k, w.shape[1] == k else {
            throw fail("w must be f32[k,k,Ci,Co] with kernel k = \(k) odd")
        }
        if let x {
            guard x.dtype == .f32, x.rank == 4, x.shape[3] == w.shape[2] else { throw fail("x must be f32[N,H,W,Ci], Ci = w's third axis") }
            guard k <= x.shape[1], k <= x.shape[2] else { throw fail("kernel \(k) larger than the grid") }
        }
    }

    private static func checkModes(h: Int, w: Int, m1: Int, m2: Int, _ fail: (String) -> GraphError) throws {
        guard h > 0, w > 0, w % 2 == 0, m1 > 0, m2 > 0, 2 * m1 <= h, m2 <= w / 2 + 1 else {
            throw fail("modes \(m1)x\(m2) do not fit a \(h)x\(w) grid (need 2*modes1 <= H, modes2 <= W/2+1, W even)")
        }
    }

    /// Expert outputs of `combine`: one f32[capacity, P + 2h, Q + 2h, C] type for all.
    private static func checkExpertOutputs(_ outputs: [TensorType], capacity: Int, halo: Int,
                                           _ fail: (String) -> GraphError) throws {
        guard let first = outputs.first, first.dtype == .f32, first.rank == 4, first.shape[0] == capacity,
              halo >= 0, first.shape[1] > 2 * halo, first.shape[2] > 2 * halo,
              outputs.allSatisfy({ $0 == first }) else {
            throw fail("expert outputs must share one f32[capacity=\(capacity),P+2h,Q+2h,C] type")
        }
    }
}
