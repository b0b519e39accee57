/// The operations of the IR. Real activations are channels-last `[N, H, W, C]`;
/// truncated spectra are mode-major `[M, N, C]` complex, `M = 2 * modes1 * modes2`
/// (top block rows `0..<m1`, then bottom block rows `H-m1..<H`, each `m2` columns).
///
/// Every op is declared once in `OpCode` (text name, arity, kind); `Op.code` and
/// every other switch over ops is exhaustive, with no `default:`, so adding a case
/// here makes the compiler list each place that must handle it: the signature
/// (`Op+Signature`), attributes (`Op+Attributes`), gradient rule (`GradientRules`),
/// FLOPs, bound propagation and the executor's kernel table (`KernelTable`).
public enum Op: Sendable, Hashable {
    // MARK: Dense and activation ops.
    /// `x[..., K], w[K, N], b[N] -> x w + b`: pointwise linear layer (1x1 convolution).
    case linear
    /// `gelu(x w + b)` in one pass: the fusion of a `linear` whose only reader is a `gelu`
    /// (`Graph.fusingForInference`). Inference only: it keeps no pre-activation for a backward pass.
    case linearGelu
    /// `gelu(x w1 + b1) w2 + b2` per block of rows, the hidden activations kept in a
    /// small workspace: the fusion of a `linear_gelu` whose only reader is a `linear`, and
    /// the FNO's projection as its builder emits it (differentiable: its gradient, `mlp_grad`,
    /// recomputes the pre-activations block by block instead of keeping them).
    case mlp
    /// `(x w + b) + r`: a `linear` whose only reader is an `add` (the FNO's residual sum of
    /// the spectral and pointwise paths), the sum taken while the output rows are in cache.
    case linearAdd
    /// `gelu((x w + b) + r)`: a `linear_add` whose only reader is a `gelu` (inference only).
    case linearAddGelu
    /// GELU, tanh form: `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
    case gelu
    /// Leaky ReLU: `x` where `x > 0`, else `slope * x` (the CNO's activation).
    case leakyRelu(slope: Double)
    /// `x[N, H, W, Ci], w[k, k, Ci, Co], b[Co] -> [N, H, W, Co]`: 2-D cross-correlation with a
    /// `k x k` kernel (k odd), stride 1, the output on the input's grid: `(k - 1) / 2` cells of
    /// padding on each side, zeros or, when `periodic`, the field wrapped around (PyTorch's
    /// `Conv2d(padding=(k-1)/2, padding_mode="zeros" | "circular")` with the weight in `[k, k, Ci, Co]`).
    case conv2d(kernel: Int, periodic: Bool)

    // MARK: Elementwise primitives (any rank; operands of one type).
    /// `a + b`.
    case add
    /// `a - b`.
    case sub
    /// `a * b`.
    case mul
    /// `a / b`.
    case div
    /// `scale * x + shift`.
    case affine(scale: Double, shift: Double)
    /// `e^x`.
    case exp
    /// Natural logarithm.
    case log
    /// Square root.
    case sqrt
    /// Hyperbolic tangent (the KNO's activation).
    case tanh

    // MARK: Shape and reduction primitives.
    /// `[..., A, ...] -> [..., ...]`: sum over `axis` in index order.
    case reduceSum(axis: Int)
    /// `[..., A, ...] -> [..., ...]`: maximum over `axis`. Its result carries no gradient
    /// (it is used as the stabilising shift of softmax, which does not depend on it).
    case reduceMax(axis: Int)
    /// `[..., ...] -> [..., size, ...]`: repeats the input along a new `axis`.
    case broadcast(axis: Int, size: Int)
    /// Same elements, new shape (element counts must agree).
    case reshape(shape: [Int])
    /// Identity whose result carries no gradient (targets, priors).
    case stopGradient
    /// A constant tensor with every element equal to `value`.
    case fill(value: Double, shape: [Int])

    // MARK: Channel ops (last axis).
    /// `[N, H, W, C] -> [N, H, W, C + 2]`: appends x = w/W and y = h/H grid channels.
    case appendCoordinates
    /// `[..., C] -> [..., count]`: channels `start..<start+count`.
    case sliceChannels(start: Int, count: Int)
    /// `[..., C] -> [..., total]`: places the input at channel `start`, zeros elsewhere.
    case padChannels(start: Int, total: Int)
    /// `[..., Ca], [..., Cb] -> [..., Ca + Cb]`.
    case concatChannels

    // MARK: Spectral ops.
    /// Real 2-D FFT over (H, W), keeping only the `modes1 x modes2` low modes of both blocks.
    case rfft2(modes1: Int, modes2: Int)
    /// Inverse of `rfft2`: zero-fills the dropped modes, then c2r scaled by `1/(H W)`.
    case irfft2(height: Int, width: Int, modes1: Int, modes2: Int)
    /// Per-mode complex matrix product `x[M, N, Ci], w[M, Ci, Co] -> [M, N, Co]`.
    case spectralMix
    /// `x[Np, P, Q, 1] -> [Np, bands]`: per patch, the energy `sum |F|^2 / (PQ)^2` of its
    /// 2-D DFT in each dyadic radial band (M2M.md section 4; DC excluded).
    case bandEnergies(bands: Int)
    /// `x[Np, P, Q, 1] -> [Np]`: the |F|^2-weighted mean radius of the non-DC modes
    /// (0 for a patch without non-DC energy). Carries no gradient.
    case spectralCentroid

    // MARK: Resampling (a grid change by fixed separable matrices, `ResampleKernel`).
    /// `x[N, H, W, C] -> [N, height, width, C]`: `Y = A_H X A_W^T` per sample and channel,
    /// `A_H = kernel.matrix(from: H, to: height)`, `A_W = kernel.matrix(from: W, to: width)`.
    case resample(kernel: ResampleKernel, height: Int, width: Int)

    // MARK: Multi-scale patches (M2M.md section 3; patch order: sample, patch row, patch column).
    /// `[N, H, W, C] -> [N s^2, H/s + 2h, W/s + 2h, C]`: s x s patches with a periodic halo of h.
    case extractPatches(scale: Int, halo: Int)
    /// `[N s^2, P + 2h, Q + 2h, C] -> [N, sP, sQ, C]`: each patch's core back in place.
    case mergePatches(scale: Int, halo: Int)

    // MARK: Sparse routing (M2M.md section 5).
    /// `p[Np, E] -> i32[RouteTable]`: top-k ranking and greedy capacity assignment in patch
    /// order, with reroutes and drops (`RouteTable` gives the layout). Carries no gradient.
    case route(k: Int, capacity: Int)
    /// `x[Np, ...], route -> [<=capacity, ...]`: the patches routed to `expert`, in patch order.
    case dispatch(expert: Int, k: Int, capacity: Int)
    /// `p[Np, E], route -> gates[Np, k]`: each slot's probability (0 when dropped), divided by
    /// the sum over the patch's kept slots when `renormalize`.
    case gatherGates(k: Int, renormalize: Bool)
    /// `gates[Np, k], route, y_0 ... y_{E-1}[<=capacity, P + 2h, Q + 2h, C] -> [Np, P, Q, C]`:
    /// each patch sums gate x its selected experts' outputs (cores) in expert-index order
    /// (M2M.md section 5): a gather, never a scatter.
    case combine(k: Int, capacity: Int, halo: Int)

    // MARK: Losses.
    /// Mean over the batch of `||pred - target|| / ||target||`; a scalar `f32[]`.
    case relativeL2Loss

    // MARK: Backward ops (emitted by autodiff; ordinary nodes to the planner and executor).
    /// `dy[..., N], w[K, N] -> dy w^T`.
    case linearGradInput
    /// `dy[..., N], w[K, N], x[..., K] -> (dy w^T) * gelu'(x)`: a `linear_grad_input`
    /// fused with the `gelu_grad` that reads it (`Graph.fusingForTraining`).
    case linearGradInputGelu
    /// `dy[..., N], w[K, N], r[..., K] -> dy w^T + r`: a `linear_grad_input` whose only
    /// reader is an `add` (the accumulation of two gradient contributions).
    case linearGradInputAdd
    /// `dy, w, r, x -> (dy w^T + r) * gelu'(x)`: a `linear_grad_input_add` whose only reader
    /// is a `gelu_grad` (as its output gradient).
    case linearGradInputAddGelu
    /// `x[..., K], dy[..., N] -> x^T dy`, summed over rows in a fixed order.
    case linearGradWeight
    /// `dy[..., N] -> [N]`: column sums in a fixed order (bias gradient).
    case sumRows
    /// `dy[..., N], x[..., K], w1[K, H], b1[H], w2[H, N] -> f32[R K + K H + H + H N + N]` (R rows;
    /// dy and x may be bounded alike on axis 0, and then only their valid rows are read and
    /// only the valid rows of the `dx` part are written):
    /// the gradients of `mlp`'s five inputs, in input order and each in its own layout, packed
    /// into one flat result (a node has one result; `slice_flat` takes them apart). One pass over
    /// blocks of rows recomputes `z = x w1 + b1` in cache as the forward pass computed it, then
    /// `dz = (dy w2^T) * gelu'(z)`, `dx = dz w1^T`, and per-sample partials of `x^T dz`,
    /// `gelu(z)^T dy` and the column sums, summed over samples in a fixed order.
    case mlpGrad
    /// `x[P] -> [shape]`: elements `start ..< start + prod(shape)` of a flat tensor (a part of
    /// `mlp_grad`'s packed result). `bounded`: the result's axis 0 is bounded by the extent of
    /// the node that produced `x` (the input gradient of an `mlp` over an expert's routed rows),
    /// and only its valid rows are copied.
    case sliceFlat(start: Int, shape: [Int], bounded: Bool)
    /// `x, dy -> dy * gelu'(x)`.
    case geluGrad
    /// `x, dy -> dy` where `x > 0`, else `slope * dy`.
    case leakyReluGrad(slope: Double)
    /// `dy[N, H, W, Co], w[k, k, Ci, Co] -> dx[N, H, W, Ci]`: the adjoint of `conv2d` in its input,
    /// a `conv2d` of `dy` with the kernel flipped in both axes and its channel axes swapped.
    case conv2dGradInput(kernel: Int, periodic: Bool)
    /// `x[N, H, W, Ci], dy[N, H, W, Co] -> dw[k, k, Ci, Co]`: per sample `cols(x)^T dy`, summed over
    /// samples in index order.
    case conv2dGradWeight(kernel: Int, periodic: Bool)
    /// Adjoint of `rfft2`: `dY[M, N, C] -> dx[N, H, W, C]`.
    case rfft2Grad(height: Int, width: Int, modes1: Int, modes2: Int)
    /// Adjoint of `irfft2`: `dy[N, H, W, C] -> dY[M, N, C]`.
    case irfft2Grad(modes1: Int, modes2: Int)
    /// Adjoint of `resample`: `dy[N, H2, W2, C] -> dx[N, height, width, C]`, `A_H^T dY A_W`
    /// with the forward matrices `kernel.matrix(from: height, to: H2)` (and along W).
    case resampleGrad(kernel: ResampleKernel, height: Int, width: Int)
    /// `dY[M, N, Co], w[M, Ci, Co] -> dY w^H`.
    case spectralMixGradInput
    /// `x[M, N, Ci], dY[M, N, Co] -> x^H dY`.
    case spectralMixGradWeight
    /// `x[Np, P, Q, 1], dE[Np, bands] -> dx[Np, P, Q, 1]`.
    case bandEnergiesGrad(bands: Int)
    /// Adjoint of `extract_patches`: `[N s^2, Pe, Qe, C] -> [N, H, W, C]`, each cell the sum,
    /// in patch order, of every patch cell that copied it.
    case extractPatchesGrad(scale: Int, halo: Int)
    /// Adjoint of `merge_patches`: `[N, H, W, C] -> [N s^2, Pe, Qe, C]`, halos zero.
    case mergePatchesGrad(scale: Int, halo: Int)
    /// Adjoint of `dispatch`: `dy[<=capacity, ...], route -> [patches, ...]`, zero for
    /// patches not routed to `expert`.
    case dispatchGrad(expert: Int, k: Int, capacity: Int, patches: Int)
    /// `p[Np, E], route, dgates[Np, k] -> dp[Np, E]`.
    case gatherGatesGrad(k: Int, renormalize: Bool)
    /// `route, dy[Np, P, Q, C], y_0 ... y_{E-1} -> dgates[Np, k]`: core dot products.
    case combineGradGates(k: Int, capacity: Int, halo: Int)
    /// `gates[Np, k], route, dy[Np, P, Q, C] -> dy_e[<=capacity, P + 2h, Q + 2h, C]` (halo zero).
    case combineGradExpert(expert: Int, k: Int, capacity: Int, halo: Int)
    /// `pred, target, dL[] -> dL * d(loss)/d(pred)`.
    case relativeL2LossGrad

    // MARK: Optimizer.
    /// Adam update in place: inputs `param, grad, m, v, hyper[2]` with `hyper = (lr, step)`.
    /// Mutates `param`, `m`, `v`; has no result. `decoupled` selects AdamW-style decay.
    case adam(beta1: Double, beta2: Double, epsilon: Double, weightDecay: Double, decoupled: Bool)
}

/// How many inputs an op takes.
public enum Arity: Sendable, Hashable {
    case exactly(Int)
    /// At least this many (`combine` takes one output per expert).
    case atLeast(Int)

    public func accepts(_ count: Int) -> Bool {
        switch self {
        case .exactly(let n): return count == n
        case .atLeast(let n): return count >= n
        }
    }
}

/// What role an op plays, which decides how autodiff and fusion treat it.
public enum OpKind: Sendable, Hashable {
    /// Differentiable: has a gradient rule.
    case differentiable
    /// Its result carries no gradient (constant for differentiation).
    case constant
    /// Emitted by autodiff; never differentiated again.
    case backward
    /// A fusion produced by a rewrite pass; its unfused parts carry the gradients.
    case fused
    /// Updates parameters and state in place.
    case optimizer
}

/// The op table: every op's text name, arity and kind, declared once.
public enum OpCode: String, CaseIterable, Sendable {
    case linear, linear_gelu, mlp, linear_add, linear_add_gelu, gelu, leaky_relu, conv2d
    case add, sub, mul, div, affine, exp, log, sqrt, tanh
    case reduce_sum, reduce_max, broadcast, reshape, stop_gradient, fill
    case append_coordinates, slice_channels, pad_channels, concat_channels
    case rfft2, irfft2, spectral_mix, band_energies, spectral_centroid
    case resample
    case extract_patches, merge_patches
    case route, dispatch, gather_gates, combine
    case relative_l2_loss
    case linear_grad_input, linear_grad_input_gelu, linear_grad_input_add, linear_grad_input_add_gelu
    case linear_grad_weight, sum_rows, mlp_grad, slice_flat, gelu_grad, leaky_relu_grad, conv2d_grad_input, conv2d_grad_weight
    case rfft2_grad, irfft2_grad, spectral_mix_grad_input, spectral_mix_grad_weight, band_energies_grad
    case resample_grad
    case extract_patches_grad, merge_patches_grad, dispatch_grad, gather_gates_grad
    case combine_grad_gates, combine_grad_expert, relative_l2_loss_grad
    case adam

    /// The op's name in the text form.
    public var name: String { rawValue }

    /// (arity, kind) of each op.
    public var signature: (arity: Arity, kind: OpKind) {
        switch self {
        case .fill: return (.exactly(0), .constant)
        case .gelu, .leaky_relu, .exp, .log, .sqrt, .tanh, .affine, .reduce_sum, .broadcast, .reshape, .append_coordinates,
             .slice_channels, .pad_channels, .rfft2, .irfft2, .band_energies, .extract_patches, .merge_patches, .resample:
            return (.exactly(1), .differentiable)
        case .reduce_max, .stop_gradient, .spectral_centroid, .route: return (.exactly(1), .constant)
        case .add, .sub, .mul, .div, .concat_channels, .spectral_mix, .relative_l2_loss, .dispatch, .gather_gates:
            return (.exactly(2), .differentiable)
        case .linear, .conv2d: return (.exactly(3), .differentiable)
        case .combine: return (.atLeast(3), .differentiable)
        case .linear_gelu: return (.exactly(3), .fused)
        case .mlp: return (.exactly(5), .differentiable)
        case .mlp_grad: return (.exactly(5), .backward)
        case .linear_grad_input_gelu, .linear_grad_input_add: return (.exactly(3), .fused)
        case .linear_add, .linear_add_gelu, .linear_grad_input_add_gelu: return (.exactly(4), .fused)
        case .sum_rows, .slice_flat, .rfft2_grad, .irfft2_grad, .extract_patches_grad, .merge_patches_grad, .resample_grad:
            return (.exactly(1), .backward)
        case .linear_grad_input, .linear_grad_weight, .gelu_grad, .leaky_relu_grad, .conv2d_grad_input, .conv2d_grad_weight,
             .spectral_mix_grad_input, .spectral_mix_grad_weight,
             .band_energies_grad, .dispatch_grad:
            return (.exactly(2), .backward)
        case .gather_gates_grad, .combine_grad_expert, .relative_l2_loss_grad: return (.exactly(3), .backward)
        case .combine_grad_gates: return (.atLeast(3), .backward)
        case .adam: return (.exactly(5), .optimizer)
        }
    }
}

extension Op {
    /// The op's entry in the op table.
    public var code: OpCode {
        switch self {
        case .linear: return .linear
        case .linearGelu: return .linear_gelu
        case .mlp: return .mlp
        case .linearAdd: return .linear_add
        case .linearAddGelu: return .linear_add_gelu
        case .gelu: return .gelu
        case .leakyRelu: return .leaky_relu
        case .conv2d: return .conv2d
        case .add: return .add
        case .sub: return .sub
        case .mul: return .mul
        case .div: return .div
        case .affine: return .affine
        case .exp: return .exp
        case .log: return .log
        case .sqrt: return .sqrt
        case .tanh: return .tanh
        case .reduceSum: return .reduce_sum
        case .reduceMax: return .reduce_max
        case .broadcast: return .broadcast
        case .reshape: return .reshape
        case .stopGradient: return .stop_gradient
        case .fill: return .fill
        case .appendCoordinates: return .append_coordinates
        case .sliceChannels: return .slice_channels
        case .padChannels: return .pad_channels
        case .concatChannels: return .concat_channels
        case .rfft2: return .rfft2
        case .irfft2: return .irfft2
        case .spectralMix: return .spectral_mix
        case .bandEnergies: return .band_energies
        case .spectralCentroid: return .spectral_centroid
        case .resample: return .resample
        case .resampleGrad: return .resample_grad
        case .extractPatches: return .extract_patches
        case .mergePatches: return .merge_patches
        case .route: return .route
        case .dispatch: return .dispatch
        case .gatherGates: return .gather_gates
        case .combine: return .combine
        case .relativeL2Loss: return .relative_l2_loss
        case .linearGradInput: return .linear_grad_input
        case .linearGradInputGelu: return .linear_grad_input_gelu
        case .linearGradInputAdd: return .linear_grad_input_add
        case .linearGradInputAddGelu: return .linear_grad_input_add_gelu
        case .linearGradWeight: return .linear_grad_weight
        case .sumRows: return .sum_rows
        case .mlpGrad: return .mlp_grad
        case .sliceFlat: return .slice_flat
        case .geluGrad: return .gelu_grad
        case .leakyReluGrad: return .leaky_relu_grad
        case .conv2dGradInput: return .conv2d_grad_input
        case .conv2dGradWeight: return .conv2d_grad_weight
        case .rfft2Grad: return .rfft2_grad
        case .irfft2Grad: return .irfft2_grad
        case .spectralMixGradInput: return .spectral_mix_grad_input
        case .spectralMixGradWeight: return .spectral_mix_grad_weight
        case .bandEnergiesGrad: return .band_energies_grad
        case .extractPatchesGrad: return .extract_patches_grad
        case .mergePatchesGrad: return .merge_patches_grad
        case .dispatchGrad: return .dispatch_grad
        case .gatherGatesGrad: return .gather_gates_grad
        case .combineGradGates: return .combine_grad_gates
        case .combineGradExpert: return .combine_grad_expert
        case .relativeL2LossGrad: return .relative_l2_loss_grad
        case .adam: return .adam
        }
    }

    /// The op's name in the text form.
    public var name: String { code.name }
    public var arity: Arity { code.signature.arity }
    public var kind: OpKind { code.signature.kind }

    /// Indices of inputs this op writes in place (persistent buffers only).
    public var mutatedInputs: [Int] {
        if case .adam = self { return [0, 2, 3] }
        return []
    }
}
