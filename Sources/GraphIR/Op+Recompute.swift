extension OpCode {
    /// Whether a forward value this op produces is cheap enough to recompute for each backward
    /// reader instead of keeping it alive across the forward pass (`Graph.recomputing`): pointwise
    /// and channel-copy ops, whose cost is one pass over their elements and whose analytic FLOPs
    /// are zero (GELU and leaky-ReLU outputs, coordinate channels, slices, sums). Matmuls, transforms, routing,
    /// reductions and losses are recomputed only as part of a whole checkpointed rollout step.
    /// Backward and optimizer ops never run in the forward pass, so they are never recomputed.
    public var isCheapToRecompute: Bool {
        switch self {
        case .gelu, .leaky_relu, .add, .sub, .mul, .div, .affine, .exp, .log, .sqrt, .tanh, .broadcast, .reshape, .stop_gradient,
             .fill, .append_coordinates, .slice_channels, .pad_channels, .concat_channels:
            return true
        case .linear, .linear_gelu, .mlp, .linear_add, .linear_add_gelu, .conv2d, .resample, .reduce_sum, .reduce_max, .rfft2, .irfft2,
             .spectral_mix, .band_energies, .spectral_centroid, .extract_patches, .merge_patches, .route, .dispatch,
             .gather_gates, .combine, .relative_l2_loss, .linear_grad_input, .linear_grad_input_gelu,
             .linear_grad_input_add, .linear_grad_input_add_gelu, .linear_grad_weight, .sum_rows, .mlp_grad, .slice_flat, .gelu_grad, .leaky_relu_grad, .conv2d_grad_input,
             .conv2d_grad_weight, .resample_grad,
             .rfft2_grad, .irfft2_grad, .spectral_mix_grad_input, .spectral_mix_grad_weight, .band_energies_grad,
             .extract_patches_grad, .merge_patches_grad, .dispatch_grad, .gather_gates_grad, .combine_grad_gates,
             .combine_grad_expert, .relative_l2_loss_grad, .adam:
            return false
        }
    }
}
