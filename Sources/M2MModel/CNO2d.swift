import GraphIR

/// The convolutional neural operator (Raonic et al. 2023) as the authors' `CNO2d` builds it
/// (camlab-ethz/ConvolutionalNeuralOperator, CNO2d_simplified), without batch norm, as graph
/// nodes. One step on `x[N, H, W, t_in]`, with `L = n_layers`, level sizes `(H, W) / 2^l` and
/// level channels `c_0 = channel_multiplier / 2`, `c_l = 2^(l-1) channel_multiplier`:
///
///     x = lift(x)                         block(t_in -> latent) then conv(latent -> c_0)
///     for l in 0..<L:  skip_l = res_l(x);  x = encoder_l(x)      (D block: level l -> l + 1)
///     x = neck(x)
///     for i in 0..<L:                     level L - i -> L - i - 1
///         x = i == 0 ? expansion_L(x) : concat(x, expansion_{L-i}(skip_{L-i}))
///         x = decoder_i(x)                (U block)
///     x = project(concat(x, expansion_0(skip_0)))   block(c_0 + c_0 -> latent) then conv(latent -> 1)
///
/// A block is `act(conv(x))`; a residual block `x + conv2(act(conv1(x)))`; `res_l` and the
/// neck are `n_res` (`n_res_neck`) residual blocks. The activation `act` from grid `s` to
/// `s'` is the CNO's anti-aliased leaky ReLU: resample to `2 max(s, s')` (windowed sinc),
/// leaky ReLU (slope 0.01), resample to `s'` (windowed sinc, low-pass below the Nyquist
/// frequency of the coarser grid): the only place the grid changes. Parameter names and
/// layouts: ARCHITECTURE.md.
public struct CNO2d: OperatorModel {
    public let config: ModelConfig
    public let cno: CNOConfig
    /// The leaky ReLU's negative slope (PyTorch's `nn.LeakyReLU()` default, as `CNO2d`).
    public static let slope = 0.01

    public init(config: ModelConfig) {
        self.config = config
        cno = config.cno ?? CNOConfig()
    }

    /// One convolution's parameters: `NAME.weight [k, k, ci, co]`, `NAME.bias [co]`, PyTorch's
    /// `Conv2d` initialization `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`, `fan_in = k k ci`.
    func convolution(_ name: String, _ ci: Int, _ co: Int) -> [ParameterSpec] {
        let k = cno.kernel
        return [ParameterSpec(name + ".weight", .f32(k, k, ci, co), .linear(fanIn: k * k * ci)),
                ParameterSpec(name + ".bias", .f32(co), .linear(fanIn: k * k * ci))]
    }

    /// Channels into decoder block i: the level's channels, doubled by the skip concatenated
    /// before every block but the first.
    func decoderInput(_ i: Int) -> Int { cno.levelChannels(cno.nLayers - i) * (i == 0 ? 1 : 2) }

    public var parameters: [ParameterSpec] {
        let (t, latent, levels) = (config.inputChannels, cno.latentDim, cno.nLayers)
        var specs = convolution("lift.block", t, latent) + convolution("lift.conv", latent, cno.levelChannels(0))
        for l in 0..<levels {
            for j in 0..<cno.nRes {
                let c = cno.levelChannels(l)
                specs += convolution("res.\(l).\(j).conv1", c, c) + convolution("res.\(l).\(j).conv2", c, c)
            }
        }
        for j in 0..<cno.nResNeck {
            let c = cno.levelChannels(levels)
            specs += convolution("neck.\(j).conv1", c, c) + convolution("neck.\(j).conv2", c, c)
        }
        for l in 0..<levels { specs += convolution("encoder.\(l)", cno.levelChannels(l), cno.levelChannels(l + 1)) }
        for l in 0...levels { specs += convolution("expansion.\(l)", cno.levelChannels(l), cno.levelChannels(l)) }
        for i in 0..<levels { specs += convolution("decoder.\(i)", decoderInput(i), cno.levelChannels(levels - i - 1)) }
        specs += convolution("project.block", 2 * cno.levelChannels(0), latent) + convolution("project.conv", latent, 1)
        return specs
    }

    public func forward(_ b: inout GraphBuilder, _ x: ValueID, _ p: [String: ValueID]) throws -> ModelStep {
        let levels = cno.nLayers
        let conv = Op.conv2d(kernel: cno.kernel, periodic: cno.periodicPadding)
        func convolve(_ v: ValueID, _ name: String) throws -> ValueID {
            try b(conv, v, p[name + ".weight"]!, p[name + ".bias"]!)
        }
        /// `act(conv(v))` onto the grid of `level`.
        func block(_ v: ValueID, _ name: String, level: Int) throws -> ValueID {
            try Self.activation(&b, try convolve(v, name), to: grid(level))
        }
        func residual(_ v: ValueID, _ name: String) throws -> ValueID {
            let s = b.type(of: v).shape
            let inner = try Self.activation(&b, try convolve(v, name + ".conv1"), to: [s[1], s[2]])
            return try b(.add, v, try convolve(inner, name + ".conv2"))
        }
        var v = try convolve(try block(x, "lift.block", level: 0), "lift.conv")
        var skips: [ValueID] = []
        for l in 0..<levels {
            var y = v
            for j in 0..<cno.nRes { y = try residual(y, "res.\(l).\(j)") }
            skips.append(y)
            v = try block(v, "encoder.\(l)", level: l + 1)
        }
        for j in 0..<cno.nResNeck { v = try residual(v, "neck.\(j)") }
        for i in 0..<levels {
            let level = levels - i
            if i == 0 {
                v = try block(v, "expansion.\(level)", level: level)
            } else {
                v = try b(.concatChannels, v, try block(skips[level], "expansion.\(level)", level: level))
            }
            v = try block(v, "decoder.\(i)", level: level - 1)
        }
        v = try b(.concatChannels, v, try block(skips[0], "expansion.0", level: 0))
        let prediction = try convolve(try block(v, "project.block", level: 0), "project.conv")
        return ModelStep(prediction: prediction, routing: nil)
    }

    /// The grid `[H, W] / 2^level`.
    func grid(_ level: Int) -> [Int] { config.grid.map { $0 >> level } }

    /// The CNO activation of `v[N, h, w, C]` onto the grid `to`: windowed-sinc resampling to
    /// `2 max(h, h') x 2 max(w, w')`, leaky ReLU, windowed-sinc resampling to `to`.
    static func activation(_ b: inout GraphBuilder, _ v: ValueID, to: [Int]) throws -> ValueID {
        let s = b.type(of: v).shape
        let (fine1, fine2) = (2 * max(s[1], to[0]), 2 * max(s[2], to[1]))
        let up = try b(.resample(kernel: .windowedSinc, height: fine1, width: fine2), v)
        let activated = try b(.leakyRelu(slope: slope), up)
        return try b(.resample(kernel: .windowedSinc, height: to[0], width: to[1]), activated)
    }
}
