import Foundation

/// The CNO's keys (the `cno` object of a config), with the defaults of the authors'
/// `CNO2d` (camlab-ethz/ConvolutionalNeuralOperator, CNO2d_simplified): `N_res = 4`,
/// `N_res_neck = 4`, `channel_multiplier = 16`, a 64-channel lift/projection latent, 3x3
/// convolutions with zero padding. `N_layers` has no default there; 3 takes a 64x64 grid
/// down to 8x8.
public struct CNOConfig: Codable, Equatable, Sendable {
    /// Down (and up) sampling blocks: the grid is halved this many times.
    public var nLayers = 3
    /// Residual blocks per level of the encoder (not the neck).
    public var nRes = 4
    /// Residual blocks at the coarsest level (the neck).
    public var nResNeck = 4
    /// Level l (1...n_layers) has `2^(l-1) x channel_multiplier` channels; level 0 half of it.
    public var channelMultiplier = 16
    /// Channels inside the lifting and projection blocks (`latent_lift_proj_dim`).
    public var latentDim = 64
    /// Convolution kernel size (odd).
    public var kernel = 3
    /// Wrap the field around at the borders (periodic data) instead of zero padding.
    public var periodicPadding = false

    public init() {}

    static let keys = ["n_layers", "n_res", "n_res_neck", "channel_multiplier", "latent_dim", "kernel", "periodic_padding"]
    /// The most levels and blocks (each bounded so that products of sizes cannot overflow).
    static let maxLevels = 10, maxBlocks = 64, maxChannels = 1 << 16

    /// Checks values against the grid; the first problem is reported with its key (`cno.KEY`).
    func validate(grid: [Int], source: String) throws {
        func check(_ ok: Bool, _ key: String, _ why: String) throws {
            if !ok { throw UserError("\(source): key 'cno.\(key)' \(why)") }
        }
        try check((1...Self.maxLevels).contains(nLayers), "n_layers", "is \(nLayers): it must be in 1...\(Self.maxLevels)")
        let coarsest = grid.map { $0 >> nLayers }
        try check(grid.allSatisfy { $0 % (1 << nLayers) == 0 } && coarsest.allSatisfy { $0 >= max(4, kernel) }, "n_layers",
                  "is \(nLayers): grid \(grid) must be divisible by 2^\(nLayers) with at least max(4, kernel) cells per axis left")
        try check((0...Self.maxBlocks).contains(nRes), "n_res", "is \(nRes): it must be in 0...\(Self.maxBlocks)")
        try check((0...Self.maxBlocks).contains(nResNeck), "n_res_neck", "is \(nResNeck): it must be in 0...\(Self.maxBlocks)")
        try check(channelMultiplier >= 2 && channelMultiplier % 2 == 0 && channelMultiplier <= Self.maxChannels,
                  "channel_multiplier", "is \(channelMultiplier): it must be even, in 2...\(Self.maxChannels)")
        try check((1...Self.maxChannels).contains(latentDim), "latent_dim", "is \(latentDim): it must be in 1...\(Self.maxChannels)")
        try check(kernel >= 1 && kernel % 2 == 1 && kernel <= 15, "kernel", "is \(kernel): it must be odd, in 1...15")
    }

    /// Channels of encoder level l (0...n_layers): `channel_multiplier / 2`, then `2^(l-1) channel_multiplier`.
    func levelChannels(_ l: Int) -> Int { l == 0 ? channelMultiplier / 2 : channelMultiplier << (l - 1) }

    /// Blocks (each a convolution and an activation, or a residual pair) one step runs.
    var blocksPerStep: Int { 2 + nLayers * nRes + nResNeck + nLayers + (nLayers + 1) + nLayers + 2 }
}

extension CNOConfig {
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        nLayers = try c.decodeIfPresent(Int.self, forKey: .nLayers) ?? nLayers
        nRes = try c.decodeIfPresent(Int.self, forKey: .nRes) ?? nRes
        nResNeck = try c.decodeIfPresent(Int.self, forKey: .nResNeck) ?? nResNeck
        channelMultiplier = try c.decodeIfPresent(Int.self, forKey: .channelMultiplier) ?? channelMultiplier
        latentDim = try c.decodeIfPresent(Int.self, forKey: .latentDim) ?? latentDim
        kernel = try c.decodeIfPresent(Int.self, forKey: .kernel) ?? kernel
        periodicPadding = try c.decodeIfPresent(Bool.self, forKey: .periodicPadding) ?? periodicPadding
    }
}
