import Foundation

/// The UNO's keys (the `uno` object of a config), named after the arguments of
/// neuraloperator's `UNO` (`uno_out_channels` is `out_channels`, `uno_n_modes` is
/// `n_modes`, `uno_scalings` is `scalings`). Its defaults where neuraloperator has them
/// (`channel_mlp_expansion` 0.5, the default skip map); the widths and lists, which
/// neuraloperator leaves to the user (or sets larger: lifting and projection 256), are the
/// five-layer U of its tests (down by 2 after the first layer, up by 2 in the last) at
/// widths chosen so that a step of uno-ns64 costs about what fno-ns64 costs (1.02x its
/// analytic FLOPs per training step), with the FNO's 12 kept rows of each sign.
public struct UNOConfig: Codable, Equatable, Sendable {
    /// Channels after the lifting (neuraloperator's `hidden_channels`).
    public var hiddenChannels = 16
    /// Hidden width of the lifting MLP (neuraloperator's `lifting_channels`, its default 256).
    public var liftingChannels = 128
    /// Hidden width of the projection MLP (neuraloperator's `projection_channels`, its default 256).
    public var projectionChannels = 128
    /// Output channels of each Fourier layer; its length is the number of layers.
    public var outChannels = [16, 32, 32, 32, 16]
    /// Kept modes of each layer `[n_h, n_w]` as neuraloperator counts them: `n_h` rows
    /// (`n_h / 2` of each sign, so `n_h` even), `n_w / 2 + 1` half-spectrum columns.
    public var nModes = [[24, 24], [24, 24], [24, 24], [24, 24], [24, 24]]
    /// Grid scaling of each layer `[s_h, s_w]`: its output grid is `round(input * s)` (the last
    /// layer's is the model's input grid, so the products over the layers must be 1).
    public var scalings: [[Double]] = [[1, 1], [0.5, 0.5], [1, 1], [1, 1], [2, 2]]
    /// `{"b": a}`: layer b's input is concatenated with layer a's output (after a 1x1
    /// convolution, resampled to b's grid); a < b. Default (absent): neuraloperator's,
    /// `{L-1-i: i}` for `i < L/2`.
    public var horizontalSkipsMap: [String: Int]?
    /// Hidden width of each layer's channel MLP: `round(out_channels * expansion)`.
    public var channelMlpExpansion = 0.5

    public init() {}

    static let keys = ["hidden_channels", "lifting_channels", "projection_channels", "out_channels", "n_modes", "scalings",
                       "horizontal_skips_map", "channel_mlp_expansion"]

    public var layers: Int { outChannels.count }

    /// The most channels of any width key (the tensor-size bounds of `ModelConfig+Sizes` apply too).
    static let maxChannels = 1 << 16
    /// The largest intermediate grid per axis.
    static let maxGrid = 1 << 16

    /// The skip map as `[b: a]`: the given one, or neuraloperator's default.
    public var skips: [Int: Int] {
        guard let map = horizontalSkipsMap else {
            return Dictionary(uniqueKeysWithValues: (0..<(layers / 2)).map { (layers - $0 - 1, $0) })
        }
        return Dictionary(uniqueKeysWithValues: map.map { (Int($0.key)!, $0.value) })
    }

    /// Python's `round` (half to even) of `size * factor`, as neuraloperator sizes a layer's output.
    static func scaled(_ size: Int, _ factor: Double) -> Int { Int((Double(size) * factor).rounded(.toNearestOrEven)) }

    /// Each layer's input and output grid on a `grid` input: layer i maps `grids[i]` to
    /// `grids[i + 1]`; the last output is the input grid (neuraloperator's `output_shape`).
    public func grids(_ grid: [Int]) -> [[Int]] {
        var result = [grid]
        for i in 0..<layers {
            let g = result[i]
            result.append(i == layers - 1 ? grid : [Self.scaled(g[0], scalings[i][0]), Self.scaled(g[1], scalings[i][1])])
        }
        return result
    }

    /// Input channels of each layer (its predecessor's output, plus a skip's channels).
    public var inChannels: [Int] {
        let map = skips
        return (0..<layers).map { i in
            (i == 0 ? hiddenChannels : outChannels[i - 1]) + (map[i].map { outChannels[$0] } ?? 0)
        }
    }

    /// Hidden width of layer i's channel MLP (Python's `round`, half to even).
    public func mlpChannels(_ i: Int) -> Int { Int((Double(outChannels[i]) * channelMlpExpansion).rounded(.toNearestOrEven)) }

    /// Kept modes of layer i in the runtime's layout: `(m1, m2)`, `2 m1 x m2` modes.
    public func modes(_ i: Int) -> (m1: Int, m2: Int) { (nModes[i][0] / 2, nModes[i][1] / 2 + 1) }

    /// Checks values against the grid; the first problem is reported with its key (`uno.KEY`).
    func validate(grid: [Int], source: String) throws {
        func check(_ ok: Bool, _ key: String, _ why: @autoclosure () -> String) throws {
            if !ok { throw UserError("\(source): key 'uno.\(key)' \(why())") }
        }
        let limit = Self.maxChannels
        for (key, value) in [("hidden_channels", hiddenChannels), ("lifting_channels", liftingChannels),
                             ("projection_channels", projectionChannels)] {
            try check((1...limit).contains(value), key, "is \(value): it must be in 1...\(limit)")
        }
        try check((1...ModelConfig.maxLayers).contains(layers), "out_channels",
                  "must list 1...\(ModelConfig.maxLayers) layers' channels")
        try check(outChannels.allSatisfy { (1...limit).contains($0) }, "out_channels", "entries must be in 1...\(limit)")
        try check(nModes.count == layers, "n_modes", "must have one [n_h, n_w] per layer (\(layers), as out_channels)")
        try check(scalings.count == layers, "scalings", "must have one [s_h, s_w] per layer (\(layers), as out_channels)")
        try check(channelMlpExpansion > 0 && channelMlpExpansion <= 16, "channel_mlp_expansion",
                  "is \(channelMlpExpansion): it must be in (0, 16]")
        try check((0..<layers).allSatisfy { mlpChannels($0) >= 1 }, "channel_mlp_expansion",
                  "is \(channelMlpExpansion): round(out_channels * expansion) must be >= 1 for every layer")
        if let map = horizontalSkipsMap {
            for (key, value) in map.sorted(by: { $0.key < $1.key }) {
                guard let b = Int(key), String(b) == key else {
                    throw UserError("\(source): key 'uno.horizontal_skips_map' has the key \"\(key)\": it must be a layer index")
                }
                try check((1..<layers).contains(b) && (0..<b).contains(value), "horizontal_skips_map",
                          "has \"\(key)\": \(value): a skip goes from an earlier layer a to a later layer b < \(layers)")
            }
        }
        for i in 0..<layers {
            try check(nModes[i].count == 2 && nModes[i][0] >= 2 && nModes[i][0] % 2 == 0 && nModes[i][1] >= 1, "n_modes",
                      "entry \(i) is \(nModes[i]): it must be [n_h, n_w] with n_h even and >= 2, n_w >= 1")
            try check(scalings[i].count == 2 && scalings[i].allSatisfy { $0 > 0 && $0 <= 64 && $0.isFinite }, "scalings",
                      "entry \(i) is \(scalings[i]): it must be [s_h, s_w] with factors in (0, 64]")
        }
        for axis in 0..<2 {
            let product = scalings.reduce(1.0) { $0 * $1[axis] }
            try check((Double(grid[axis]) * product).rounded(.toNearestOrEven) == Double(grid[axis]), "scalings",
                      "multiply to \(product) along \(axis == 0 ? "H" : "W"): the prediction must be on the input grid (1)")
        }
        // Each intermediate grid is bounded before the next is computed (no overflow).
        var current = grid
        for i in 0..<(layers - 1) {
            current = [Self.scaled(current[0], scalings[i][0]), Self.scaled(current[1], scalings[i][1])]
            try check(current.allSatisfy { $0 <= Self.maxGrid }, "scalings",
                      "give layer \(i) the grid \(current[0])x\(current[1]): at most \(Self.maxGrid) per axis")
        }
        let g = grids(grid)
        for i in 0..<layers {
            let (input, output) = (g[i], g[i + 1])
            try check(output.allSatisfy { $0 >= 2 } && output[1] % 2 == 0, "scalings",
                      "give layer \(i) the grid \(output[0])x\(output[1]): it must be at least 2x2 with an even W (real FFT)")
            let (m1, m2) = modes(i)
            try check(2 * m1 <= min(input[0], output[0]) && m2 <= min(input[1], output[1]) / 2 + 1, "n_modes",
                      "entry \(i) \(nModes[i]) does not fit layer \(i)'s grids \(input[0])x\(input[1]) -> \(output[0])x\(output[1]): "
                      + "need n_h <= H and n_w / 2 + 1 <= W / 2 + 1 on both")
        }
    }
}

extension UNOConfig {
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hiddenChannels = try c.decodeIfPresent(Int.self, forKey: .hiddenChannels) ?? hiddenChannels
        liftingChannels = try c.decodeIfPresent(Int.self, forKey: .liftingChannels) ?? liftingChannels
        projectionChannels = try c.decodeIfPresent(Int.self, forKey: .projectionChannels) ?? projectionChannels
        outChannels = try c.decodeIfPresent([Int].self, forKey: .outChannels) ?? outChannels
        nModes = try c.decodeIfPresent([[Int]].self, forKey: .nModes) ?? nModes
        scalings = try c.decodeIfPresent([[Double]].self, forKey: .scalings) ?? scalings
        horizontalSkipsMap = try c.decodeIfPresent([String: Int].self, forKey: .horizontalSkipsMap)
        channelMlpExpansion = try c.decodeIfPresent(Double.self, forKey: .channelMlpExpansion) ?? channelMlpExpansion
    }
}
