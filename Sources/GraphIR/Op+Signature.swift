/// Type inference: the result type an op produces from its input types.
extension Op {
    /// The result type for these input types, nil for side-effect-only ops;
    /// throws a `GraphError` naming the op and the mismatch.
    public func resultType(_ inputs: [TensorType]) throws -> TensorType? {
        guard inputs.count == arity else {
            throw GraphError("\(name): expects \(arity) inputs, got \(inputs.count)")
        }
        func fail(_ why: String) -> GraphError {
            GraphError("\(name): \(why) (inputs \(inputs.map(\.description).joined(separator: ", ")))")
        }
        func require(_ ok: Bool, _ why: @autoclosure () -> String) throws {
            if !ok { throw fail(why()) }
        }
        func nhwc(_ t: TensorType, _ what: String) throws {
            try require(t.dtype == .f32 && t.rank == 4, "\(what) must be f32[N,H,W,C]")
        }
        let t = inputs
        switch self {
        case .linear, .linearGelu:
            try require(t.allSatisfy { $0.dtype == .f32 }, "all inputs must be f32")
            try require(t[0].rank >= 1 && t[1].rank == 2 && t[2].rank == 1, "want x[...,K], w[K,N], b[N]")
            try require(t[0].shape.last == t[1].shape[0], "x's last dimension must equal w's rows")
            try require(t[2].shape[0] == t[1].shape[1], "b must have w's column count")
            return TensorType(.f32, t[0].shape.dropLast() + [t[1].shape[1]])
        case .mlp:
            try require(t.allSatisfy { $0.dtype == .f32 }, "all inputs must be f32")
            try require(t[0].rank >= 1 && t[1].rank == 2 && t[2].rank == 1 && t[3].rank == 2 && t[4].rank == 1,
                        "want x[...,K], w1[K,H], b1[H], w2[H,N], b2[N]")
            try require(t[0].shape.last == t[1].shape[0] && t[2].shape[0] == t[1].shape[1], "x, w1, b1 disagree")
            try require(t[3].shape[0] == t[1].shape[1] && t[4].shape[0] == t[3].shape[1], "w2, b2 disagree with w1")
            return TensorType(.f32, t[0].shape.dropLast() + [t[3].shape[1]])
        case .gelu:
            try require(t[0].dtype == .f32, "x must be f32")
            return t[0]
        case .add:
            try require(t[0] == t[1], "operands must have the same type")
            return t[0]
        case .appendCoordinates:
            try nhwc(t[0], "x")
            var s = t[0].shape; s[3] += 2
            return TensorType(.f32, s)
        case .sliceChannels(let start, let count):
            try nhwc(t[0], "x")
            try require(start >= 0 && count > 0 && start + count <= t[0].shape[3], "channels out of range")
            var s = t[0].shape; s[3] = count
            return TensorType(.f32, s)
        case .padChannels(let start, let total):
            try nhwc(t[0], "x")
            try require(start >= 0 && start + t[0].shape[3] <= total, "channels out of range")
            var s = t[0].shape; s[3] = total
            return TensorType(.f32, s)
        case .concatChannels:
            try nhwc(t[0], "a"); try nhwc(t[1], "b")
            try require(t[0].shape.prefix(3) == t[1].shape.prefix(3), "N, H, W must agree")
            var s = t[0].shape; s[3] += t[1].shape[3]
            return TensorType(.f32, s)
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
        case .relativeL2Loss:
            try require(t[0] == t[1] && t[0].dtype == .f32 && t[0].rank >= 1, "pred and target must be the same f32 type")
            return TensorType(.f32, [])
        case .relativeL2LossGrad:
            try require(t[0] == t[1] && t[0].dtype == .f32 && t[0].rank >= 1, "pred and target must be the same f32 type")
            try require(t[2] == TensorType(.f32, []), "dL must be f32[]")
            return t[0]
        case .fill(_, let shape):
            try require(shape.allSatisfy { $0 > 0 }, "shape must be positive")
            return TensorType(.f32, shape)
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
        case .linearGradWeight:
            try require(t.allSatisfy { $0.dtype == .f32 && $0.rank >= 1 }, "want x[...,K], dy[...,N]")
            try require(t[0].shape.dropLast() == t[1].shape.dropLast(), "x and dy must have the same rows")
            return TensorType(.f32, [t[0].shape.last!, t[1].shape.last!])
        case .sumRows:
            try require(t[0].dtype == .f32 && t[0].rank >= 1, "dy must be f32")
            return TensorType(.f32, [t[0].shape.last!])
        case .geluGrad:
            try require(t[0] == t[1] && t[0].dtype == .f32, "x and dy must be the same f32 type")
            return t[0]
        case .adam:
            try require(t[0] == t[1] && t[0] == t[2] && t[0] == t[3], "param, grad, m, v must have one type")
            try require(t[4] == TensorType(.f32, [2]), "hyper must be f32[2] (lr, step)")
            return nil
        }
    }

    private static func checkModes(h: Int, w: Int, m1: Int, m2: Int, _ fail: (String) -> GraphError) throws {
        guard h > 0, w > 0, w % 2 == 0, m1 > 0, m2 > 0, 2 * m1 <= h, m2 <= w / 2 + 1 else {
            throw fail("modes \(m1)x\(m2) do not fit a \(h)x\(w) grid (need 2*modes1 <= H, modes2 <= W/2+1, W even)")
        }
    }
}
