import GraphIR

/// The FNO2d of M2M.md section 2 as graph nodes: lift, `layers` Fourier layers
/// `v <- gelu(irfft2(mix(rfft2(v))) + W v + b)` (no activation after the last),
/// then projection width -> hidden (GELU) -> 1. Parameter names are the
/// safetensors names (ARCHITECTURE.md lists them with their layouts).
public struct FNO2d {
    public let config: ModelConfig
    public var parameterNames: [String] { parameterTypes.map(\.name) }

    public init(config: ModelConfig) { self.config = config }

    /// Number of kept modes per spectral weight: both frequency blocks.
    var modeCount: Int { 2 * config.modes[0] * config.modes[1] }

    /// Every parameter with its type, in a fixed order.
    public var parameterTypes: [(name: String, type: TensorType)] {
        let w = config.width, h = config.projectionHidden
        var list: [(String, TensorType)] = [
            ("lift.weight", .f32(config.inputChannels + 2, w)), ("lift.bias", .f32(w)),
        ]
        for l in 0..<config.layers {
            list += [("layers.\(l).spectral.weight", .c64(modeCount, w, w)),
                     ("layers.\(l).pointwise.weight", .f32(w, w)), ("layers.\(l).pointwise.bias", .f32(w))]
        }
        list += [("projection.hidden.weight", .f32(w, h)), ("projection.hidden.bias", .f32(h)),
                 ("projection.out.weight", .f32(h, 1)), ("projection.out.bias", .f32(1))]
        return list
    }

    /// Real scalars in all trainable parameters (complex counts twice).
    public var parameterCount: Int { parameterTypes.reduce(0) { $0 + $1.type.floatCount } }

    /// Declares the parameters in `builder`; returns their values by name.
    public func declareParameters(_ builder: inout GraphBuilder) -> [String: ValueID] {
        var ids: [String: ValueID] = [:]
        for (name, type) in parameterTypes { ids[name] = builder.parameter(name, type) }
        return ids
    }

    /// One forward step: `x[N, H, W, t_in]` -> prediction `[N, H, W, 1]`.
    public func forward(_ b: inout GraphBuilder, _ x: ValueID, _ p: [String: ValueID]) throws -> ValueID {
        let (h, w) = (config.grid[0], config.grid[1])
        let (m1, m2) = (config.modes[0], config.modes[1])
        var v = try b(.linear, try b(.appendCoordinates, x), p["lift.weight"]!, p["lift.bias"]!)
        for l in 0..<config.layers {
            let spectrum = try b(.rfft2(modes1: m1, modes2: m2), v)
            let mixed = try b(.spectralMix, spectrum, p["layers.\(l).spectral.weight"]!)
            let spectral = try b(.irfft2(height: h, width: w, modes1: m1, modes2: m2), mixed)
            let pointwise = try b(.linear, v, p["layers.\(l).pointwise.weight"]!, p["layers.\(l).pointwise.bias"]!)
            v = try b(.add, spectral, pointwise)
            if l < config.layers - 1 { v = try b(.gelu, v) }
        }
        let hidden = try b(.gelu, try b(.linear, v, p["projection.hidden.weight"]!, p["projection.hidden.bias"]!))
        return try b(.linear, hidden, p["projection.out.weight"]!, p["projection.out.bias"]!)
    }
}
