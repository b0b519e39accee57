import GraphIR

/// The U-shaped neural operator (Rahman et al. 2022) as neuraloperator's `UNO` builds it
/// (grid positional embedding, no domain padding, no norm, `fno_skip` and
/// `horizontal_skip` linear, `channel_mlp_skip` linear), as graph nodes. One step on
/// `x[N, H, W, t_in]`:
///
///     v = lifting(x, x-coordinate, y-coordinate)          MLP t_in+2 -> lifting -> hidden, GELU inside
///     for each layer i (input grid g_i, output grid g_{i+1}, the last one the input grid):
///         if i has a horizontal skip from a: v = concat(v, resample(s_a, g_i))
///         u = irfft2_{g_{i+1}}(mix(rfft2_{g_i}(v), K_i)) + R(v W_skip + b_spectral)
///         v = mlp_i(u) + R(v W_mlpskip)                    MLP out -> round(out * expansion) -> out
///         if i is a skip source: s_i = v W_h
///     prediction = projection(v)                           MLP -> projection -> 1, GELU inside
///
/// The spectral convolution evaluates the kept modes (rows `0..<m1` and `H-m1..<H`,
/// columns `0..<m2` on the input grid) on the output grid, so a mode keeps its frequency
/// (ARCHITECTURE.md states where this departs from neuraloperator 2.0.0). `R` resamples
/// to the output grid (bicubic, `resample`; nothing when the grid stays). neuraloperator
/// applies the two skip convolutions on the input grid and resamples each result; the
/// maps commute (a 1x1 convolution acts on channels, a resample on the grid, and a
/// resample's rows sum to 1 so the bias passes through), so where it takes fewer FLOPs
/// (a layer that shrinks the grid) the block resamples its input once and applies both
/// convolutions on the output grid: only rounding differs. Parameter names and layouts:
/// ARCHITECTURE.md.
public struct UNO2d: OperatorModel {
    public let config: ModelConfig
    public let uno: UNOConfig

    public init(config: ModelConfig) {
        self.config = config
        uno = config.uno ?? UNOConfig()
    }

    /// Layers whose output feeds a horizontal skip, ascending.
    var skipSources: [Int] { Array(Set(uno.skips.values)).sorted() }

    public var parameters: [ParameterSpec] {
        func linear(_ name: String, _ fanIn: Int, _ shape: Int...) -> ParameterSpec {
            ParameterSpec(name, TensorType(.f32, shape), .linear(fanIn: fanIn))
        }
        let (t, lift, hidden, proj) = (config.inputChannels + 2, uno.liftingChannels, uno.hiddenChannels, uno.projectionChannels)
        var list = [linear("lifting.hidden.weight", t, t, lift), linear("lifting.hidden.bias", t, lift),
                    linear("lifting.out.weight", lift, lift, hidden), linear("lifting.out.bias", lift, hidden)]
        let sources = Set(skipSources)
        for i in 0..<uno.layers {
            let (cin, cout, ch) = (uno.inChannels[i], uno.outChannels[i], uno.mlpChannels(i))
            let (m1, m2) = uno.modes(i)
            let p = "blocks.\(i)."
            list += [ParameterSpec(p + "spectral.weight", .c64(2 * m1 * m2, cin, cout), .spectral(scale: 1 / Double(cin * cout))),
                     linear(p + "spectral.bias", cin, cout),
                     linear(p + "fno_skip.weight", cin, cin, cout),
                     linear(p + "channel_mlp.hidden.weight", cout, cout, ch), linear(p + "channel_mlp.hidden.bias", cout, ch),
                     linear(p + "channel_mlp.out.weight", ch, ch, cout), linear(p + "channel_mlp.out.bias", ch, cout),
                     linear(p + "channel_mlp_skip.weight", cin, cin, cout)]
            if sources.contains(i) { list.append(linear("horizontal_skips.\(i).weight", cout, cout, cout)) }
        }
        let last = uno.outChannels[uno.layers - 1]
        list += [linear("projection.hidden.weight", last, last, proj), linear("projection.hidden.bias", last, proj),
                 linear("projection.out.weight", proj, proj, 1), linear("projection.out.bias", proj, 1)]
        return list
    }

    public func forward(_ b: inout GraphBuilder, _ x: ValueID, _ p: [String: ValueID]) throws -> ModelStep {
        let s = b.type(of: x).shape
        let grids = uno.grids([s[1], s[2]])
        let skips = uno.skips
        let sources = Set(skipSources)
        func resampled(_ v: ValueID, to grid: [Int]) throws -> ValueID {
            let shape = b.type(of: v).shape
            if shape[1] == grid[0] && shape[2] == grid[1] { return v }
            return try b(.resample(kernel: .bicubic, height: grid[0], width: grid[1]), v)
        }
        func zeros(_ count: Int) throws -> ValueID { try b(.fill(value: 0, shape: [count])) }

        let lifted = try b(.gelu, try b(.linear, try b(.appendCoordinates, x), p["lifting.hidden.weight"]!, p["lifting.hidden.bias"]!))
        var v = try b(.linear, lifted, p["lifting.out.weight"]!, p["lifting.out.bias"]!)
        var skipOutputs: [Int: ValueID] = [:]
        for i in 0..<uno.layers {
            if let a = skips[i] { v = try b(.concatChannels, v, try resampled(skipOutputs[a]!, to: grids[i])) }
            let (output, cout) = (grids[i + 1], uno.outChannels[i])
            let (m1, m2) = uno.modes(i)
            let q = "blocks.\(i)."
            let spectrum = try b(.rfft2(modes1: m1, modes2: m2), v)
            let mixed = try b(.spectralMix, spectrum, p[q + "spectral.weight"]!)
            let spectral = try b(.irfft2(height: output[0], width: output[1], modes1: m1, modes2: m2), mixed)
            // Both skip paths: resample the input once, or convolve on the input grid and resample each.
            let input = grids[i]
            let resampleFirst = Self.resampleFirstIsCheaper(from: input, to: output, in: uno.inChannels[i], out: cout)
            let r = try resampleFirst ? resampled(v, to: output) : v
            func skipPath(_ weight: String, _ bias: ValueID) throws -> ValueID {
                try resampled(try b(.linear, r, p[q + weight]!, bias), to: output)
            }
            let u = try b(.add, spectral, try skipPath("fno_skip.weight", p[q + "spectral.bias"]!))
            let hidden = try b(.gelu, try b(.linear, u, p[q + "channel_mlp.hidden.weight"]!, p[q + "channel_mlp.hidden.bias"]!))
            let mlp = try b(.linear, hidden, p[q + "channel_mlp.out.weight"]!, p[q + "channel_mlp.out.bias"]!)
            v = try b(.add, mlp, try skipPath("channel_mlp_skip.weight", try zeros(cout)))
            if sources.contains(i) {
                skipOutputs[i] = try b(.linear, v, p["horizontal_skips.\(i).weight"]!, try zeros(cout))
            }
        }
        let hidden = try b(.gelu, try b(.linear, v, p["projection.hidden.weight"]!, p["projection.hidden.bias"]!))
        let prediction = try b(.linear, hidden, p["projection.out.weight"]!, p["projection.out.bias"]!)
        return ModelStep(prediction: prediction, routing: nil)
    }

    /// Whether a grid-changing block takes fewer FLOPs resampling its `cin`-channel input once
    /// (then both 1x1 convolutions on the output grid) than convolving on the input grid and
    /// resampling both `cout`-channel results (`resample`'s two passes, 4 bicubic taps each,
    /// per sample).
    static func resampleFirstIsCheaper(from a: [Int], to b: [Int], in cin: Int, out cout: Int) -> Bool {
        guard a != b else { return true }
        func resample(_ c: Int) -> Int { 2 * 4 * c * (b[0] * a[1] + b[0] * b[1]) }
        let first = resample(cin) + 2 * 2 * b[0] * b[1] * cin * cout
        let last = 2 * 2 * a[0] * a[1] * cin * cout + 2 * resample(cout)
        return first <= last
    }
}
