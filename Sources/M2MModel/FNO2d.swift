import GraphIR

/// The FNO2d of M2M.md section 2 as graph nodes: lift, `layers` Fourier layers
/// `v <- gelu(irfft2(mix(rfft2(v))) + W v + b)` (no activation after the last),
/// then projection width -> hidden (GELU) -> 1. Parameter names are the
/// safetensors names (ARCHITECTURE.md lists them with their layouts); an M2M expert
/// is the same network under a name prefix (`experts.E.`), on its patch grid.
public struct FNO2d: OperatorModel {
    /// The hyperparameters of one FNO2d, independent of where it is used.
    public struct Shape: Sendable, Hashable {
        public var inputChannels: Int
        public var width: Int
        public var modes1: Int
        public var modes2: Int
        public var layers: Int
        public var projectionHidden: Int
        /// The input already ends with the (x, y) coordinate channels (an M2M expert with
        /// `expert_coordinates: global`): the lift reads them instead of appending its own grid.
        public var coordinatesSupplied: Bool
        public init(inputChannels: Int, width: Int, modes1: Int, modes2: Int, layers: Int, projectionHidden: Int,
                    coordinatesSupplied: Bool = false) {
            (self.inputChannels, self.width, self.modes1, self.modes2) = (inputChannels, width, modes1, modes2)
            (self.layers, self.projectionHidden, self.coordinatesSupplied) = (layers, projectionHidden, coordinatesSupplied)
        }
    }

    public let config: ModelConfig
    public let shape: Shape
    /// Prepended to every parameter name.
    public let prefix: String
    /// The expert index the parameters belong to, if any.
    public let expert: Int?

    /// The FNO baseline of a config.
    public init(config: ModelConfig) {
        self.init(config: config, shape: Shape(inputChannels: config.inputChannels, width: config.width,
                                               modes1: config.modes[0], modes2: config.modes[1], layers: config.layers,
                                               projectionHidden: config.projectionHidden), prefix: "", expert: nil)
    }

    public init(config: ModelConfig, shape: Shape, prefix: String, expert: Int?) {
        self.config = config
        self.shape = shape
        self.prefix = prefix
        self.expert = expert
    }

    /// Number of kept modes per spectral weight: both frequency blocks.
    var modeCount: Int { 2 * shape.modes1 * shape.modes2 }

    public var parameters: [ParameterSpec] {
        let (w, h, p) = (shape.width, shape.projectionHidden, prefix)
        func linear(_ name: String, _ fanIn: Int, _ type: TensorType) -> ParameterSpec {
            ParameterSpec(p + name, type, .linear(fanIn: fanIn), expert: expert)
        }
        var list = [linear("lift.weight", shape.inputChannels + 2, .f32(shape.inputChannels + 2, w)),
                    linear("lift.bias", shape.inputChannels + 2, .f32(w))]
        for l in 0..<shape.layers {
            list += [ParameterSpec(p + "layers.\(l).spectral.weight", .c64(modeCount, w, w),
                                   .spectral(scale: 1 / Double(w * w)), expert: expert),
                     linear("layers.\(l).pointwise.weight", w, .f32(w, w)), linear("layers.\(l).pointwise.bias", w, .f32(w))]
        }
        list += [linear("projection.hidden.weight", w, .f32(w, h)), linear("projection.hidden.bias", w, .f32(h)),
                 linear("projection.out.weight", h, .f32(h, 1)), linear("projection.out.bias", h, .f32(1))]
        return list
    }

    public func forward(_ b: inout GraphBuilder, _ x: ValueID, _ p: [String: ValueID]) throws -> ModelStep {
        ModelStep(prediction: try predict(&b, x, p), routing: nil)
    }

    /// `x[N, H, W, C]` (N possibly bounded; C includes x, y last when `coordinatesSupplied`)
    /// -> `[N, H, W, 1]` on x's own grid.
    public func predict(_ b: inout GraphBuilder, _ x: ValueID, _ p: [String: ValueID]) throws -> ValueID {
        let s = b.type(of: x).shape
        let (h, w) = (s[1], s[2])
        let (m1, m2) = (shape.modes1, shape.modes2)
        let pre = prefix
        let lifted = shape.coordinatesSupplied ? x : try b(.appendCoordinates, x)
        var v = try b(.linear, lifted, p[pre + "lift.weight"]!, p[pre + "lift.bias"]!)
        for l in 0..<shape.layers {
            let spectrum = try b(.rfft2(modes1: m1, modes2: m2), v)
            let mixed = try b(.spectralMix, spectrum, p[pre + "layers.\(l).spectral.weight"]!)
            let spectral = try b(.irfft2(height: h, width: w, modes1: m1, modes2: m2), mixed)
            let pointwise = try b(.linear, v, p[pre + "layers.\(l).pointwise.weight"]!, p[pre + "layers.\(l).pointwise.bias"]!)
            v = try b(.add, spectral, pointwise)
            if l < shape.layers - 1 { v = try b(.gelu, v) }
        }
        let (w1, b1) = (p[pre + "projection.hidden.weight"]!, p[pre + "projection.hidden.bias"]!)
        let (w2, b2) = (p[pre + "projection.out.weight"]!, p[pre + "projection.out.bias"]!)
        // The projection as one `mlp`: its hidden activations (4x the width) never reach memory,
        // in training too (`mlp_grad` recomputes them), also over an expert's routed rows.
        return try b(.mlp, v, w1, b1, w2, b2)
    }
}
