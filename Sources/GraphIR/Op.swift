/// The operations of the IR. Real activations are channels-last `[N, H, W, C]`;
/// truncated spectra are mode-major `[M, N, C]` complex, `M = 2 * modes1 * modes2`
/// (top block rows `0..<m1`, then bottom block rows `H-m1..<H`, each `m2` columns).
public enum Op: Sendable, Hashable {
    // Forward ops.
    /// `x[..., K], w[K, N], b[N] -> x w + b`: pointwise linear layer (1x1 convolution).
    case linear
    /// `gelu(x w + b)` in one pass: the fusion of a `linear` whose only reader is a `gelu`
    /// (`Graph.fusingForInference`). Inference only: it keeps no pre-activation for a backward pass.
    case linearGelu
    /// `gelu(x w1 + b1) w2 + b2` per block of rows, the hidden activations kept in a
    /// small workspace: the fusion of a `linear_gelu` whose only reader is a `linear`.
    case mlp
    /// GELU, tanh form: `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
    case gelu
    /// Elementwise sum of two tensors of the same type.
    case add
    /// `[N, H, W, C] -> [N, H, W, C + 2]`: appends x = w/W and y = h/H grid channels.
    case appendCoordinates
    /// `[N, H, W, C] -> [N, H, W, count]`: channels `start..<start+count`.
    case sliceChannels(start: Int, count: Int)
    /// `[N, H, W, C] -> [N, H, W, total]`: places the input at channel `start`, zeros elsewhere.
    case padChannels(start: Int, total: Int)
    /// `[N, H, W, Ca], [N, H, W, Cb] -> [N, H, W, Ca + Cb]`.
    case concatChannels
    /// Real 2-D FFT over (H, W), keeping only the `modes1 x modes2` low modes of both blocks.
    case rfft2(modes1: Int, modes2: Int)
    /// Inverse of `rfft2`: zero-fills the dropped modes, then c2r scaled by `1/(H W)`.
    case irfft2(height: Int, width: Int, modes1: Int, modes2: Int)
    /// Per-mode complex matrix product `x[M, N, Ci], w[M, Ci, Co] -> [M, N, Co]`.
    case spectralMix
    /// Mean over the batch of `||pred - target|| / ||target||`; a scalar `f32[]`.
    case relativeL2Loss
    /// A constant tensor with every element equal to `value`.
    case fill(value: Double, shape: [Int])

    // Backward ops (emitted by autodiff; ordinary nodes to the planner and executor).
    /// `dy[..., N], w[K, N] -> dy w^T`.
    case linearGradInput
    /// `dy[..., N], w[K, N], x[..., K] -> (dy w^T) * gelu'(x)`: a `linear_grad_input`
    /// fused with the `gelu_grad` that reads it (`Graph.fusingForTraining`).
    case linearGradInputGelu
    /// `x[..., K], dy[..., N] -> x^T dy`, summed over rows in a fixed order.
    case linearGradWeight
    /// `dy[..., N] -> [N]`: column sums in a fixed order (bias gradient).
    case sumRows
    /// `x, dy -> dy * gelu'(x)`.
    case geluGrad
    /// Adjoint of `rfft2`: `dY[M, N, C] -> dx[N, H, W, C]`.
    case rfft2Grad(height: Int, width: Int, modes1: Int, modes2: Int)
    /// Adjoint of `irfft2`: `dy[N, H, W, C] -> dY[M, N, C]`.
    case irfft2Grad(modes1: Int, modes2: Int)
    /// `dY[M, N, Co], w[M, Ci, Co] -> dY w^H`.
    case spectralMixGradInput
    /// `x[M, N, Ci], dY[M, N, Co] -> x^H dY`.
    case spectralMixGradWeight
    /// `pred, target, dL[] -> dL * d(loss)/d(pred)`.
    case relativeL2LossGrad

    // Optimizer.
    /// Adam update in place: inputs `param, grad, m, v, hyper[2]` with `hyper = (lr, step)`.
    /// Mutates `param`, `m`, `v`; has no result. `decoupled` selects AdamW-style decay.
    case adam(beta1: Double, beta2: Double, epsilon: Double, weightDecay: Double, decoupled: Bool)
}

extension Op {
    /// Indices of inputs this op writes in place (persistent buffers only).
    public var mutatedInputs: [Int] {
        if case .adam = self { return [0, 2, 3] }
        return []
    }

    /// Expected number of inputs.
    public var arity: Int {
        switch self {
        case .fill: return 0
        case .gelu, .appendCoordinates, .sliceChannels, .padChannels, .rfft2, .irfft2, .sumRows,
             .rfft2Grad, .irfft2Grad:
            return 1
        case .add, .concatChannels, .spectralMix, .relativeL2Loss, .linearGradInput, .linearGradWeight,
             .geluGrad, .spectralMixGradInput, .spectralMixGradWeight:
            return 2
        case .linear, .linearGelu, .linearGradInputGelu, .relativeL2LossGrad: return 3
        case .adam, .mlp: return 5
        }
    }
}
