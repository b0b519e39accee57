import GraphIR

/// The Koopman neural operator (Xiong et al. 2023) as koopmanlab's `KNO2d` builds it,
/// with the MLP autoencoder, as graph nodes. One step on `x[N, H, W, t_in]`:
///
///     e = tanh(x We + be)                                    encoder, op_size channels
///     v = e;  repeat decompose times: v = v + K(v)           (or tanh(v + K(v)) without linear_type)
///     v = tanh(e W0 + b0 + v)                                high-frequency path (1x1 conv)
///     out = v Wd + bd                                        decoder, t_in channels
///     prediction = out[..., t_in - 1]                        koopmanlab's im[..., -1:]
///
/// with `K(v) = irfft2(mix(rfft2(v)))` on the kept modes, both corner blocks (rows
/// `0..<mx` and `H-mx..<H`, columns `0..<my`) multiplied by the same complex matrix per
/// mode (koopmanlab's `einsum("btxy,tfxy->bfxy")` on `x_ft[:, :, :mx, :my]` and
/// `x_ft[:, :, -mx:, :my]` with one `koopman_matrix`): the parameter holds one block and
/// `broadcast` + `reshape` lay it out for both. The reconstruction `dec(e)` (koopmanlab's
/// `x_reconstruct`) gives the auxiliary loss `reconstruction_weight * rel_l2(dec(e), x)`.
/// Parameter names and layouts: ARCHITECTURE.md.
public struct KNO2d: OperatorModel {
    public let config: ModelConfig
    public let kno: KNOConfig

    public init(config: ModelConfig) {
        self.config = config
        kno = config.kno ?? KNOConfig()
    }

    /// Modes of one corner block.
    var blockModes: Int { kno.modes[0] * kno.modes[1] }

    public var parameters: [ParameterSpec] {
        let (t, o) = (config.inputChannels, kno.opSize)
        return [ParameterSpec("encoder.weight", .f32(t, o), .linear(fanIn: t)),
                ParameterSpec("encoder.bias", .f32(o), .linear(fanIn: t)),
                ParameterSpec("koopman.weight", .c64(blockModes, o, o), .spectral(scale: 1 / Double(o * o))),
                ParameterSpec("w0.weight", .f32(o, o), .linear(fanIn: o)),
                ParameterSpec("w0.bias", .f32(o), .linear(fanIn: o)),
                ParameterSpec("decoder.weight", .f32(o, t), .linear(fanIn: o)),
                ParameterSpec("decoder.bias", .f32(t), .linear(fanIn: o))]
    }

    public func forward(_ b: inout GraphBuilder, _ x: ValueID, _ p: [String: ValueID]) throws -> ModelStep {
        let s = b.type(of: x).shape
        let (h, w, t, o) = (s[1], s[2], s[3], kno.opSize)
        let (m1, m2) = (kno.modes[0], kno.modes[1])
        // One complex matrix per mode, shared by both corner blocks.
        let shared = try b(.reshape(shape: [2 * blockModes, o, o]), try b(.broadcast(axis: 0, size: 2), p["koopman.weight"]!))
        let encoded = try b(.tanh, try b(.linear, x, p["encoder.weight"]!, p["encoder.bias"]!))
        // koopmanlab's x_reconstruct = dec(tanh(enc(x))), first as there.
        var reconstruction: ValueID?
        if kno.reconstructionWeight > 0 {
            let rebuilt = try b(.linear, encoded, p["decoder.weight"]!, p["decoder.bias"]!)
            // The window is the target: data, not differentiated (in a rollout it holds predictions).
            let target = try b(.stopGradient, x)
            reconstruction = try b(.affine(scale: kno.reconstructionWeight, shift: 0), try b(.relativeL2Loss, rebuilt, target))
        }
        var v = encoded
        for _ in 0..<kno.decompose {
            let spectrum = try b(.rfft2(modes1: m1, modes2: m2), v)
            let koopman = try b(.irfft2(height: h, width: w, modes1: m1, modes2: m2), try b(.spectralMix, spectrum, shared))
            v = try b(.add, v, koopman)
            if !kno.linearType { v = try b(.tanh, v) }
        }
        let highFrequency = try b(.linear, encoded, p["w0.weight"]!, p["w0.bias"]!)
        v = try b(.tanh, try b(.add, highFrequency, v))
        let decoded = try b(.linear, v, p["decoder.weight"]!, p["decoder.bias"]!)
        let prediction = t == 1 ? decoded : try b(.sliceChannels(start: t - 1, count: 1), decoded)
        return ModelStep(prediction: prediction, routing: nil, auxiliaryLoss: reconstruction)
    }
}
