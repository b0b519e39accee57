import Foundation

/// The KNO's keys (the `kno` object of a config), with koopmanlab's defaults: its
/// `KNO2d` with the MLP autoencoder as its Navier-Stokes demo builds it (operator size
/// `o = 32`, modes `m = 16`, Koopman power `r = 8`, linear type), and its training loss
/// `5 l_pred + 0.5 l_recons`, whose ratio is `reconstruction_weight`.
public struct KNOConfig: Codable, Equatable, Sendable {
    /// Channels of the latent (Koopman) space: the encoder's output width.
    public var opSize = 32
    /// Kept Fourier modes per axis `[modes_x, modes_y]` (rows of H, columns of W).
    public var modes = [16, 16]
    /// How many times the Koopman operator is applied (the power r).
    public var decompose = 8
    /// true: `x <- x + K(x)`; false: `x <- tanh(x + K(x))`.
    public var linearType = true
    /// Weight of the reconstruction loss `rel_l2(dec(tanh(enc(x))), x)` beside the prediction loss.
    public var reconstructionWeight = 0.1

    public init() {}

    static let keys = ["op_size", "modes", "decompose", "linear_type", "reconstruction_weight"]

    /// Checks values against the grid; the first problem is reported with its key (`kno.KEY`).
    func validate(grid: [Int], source: String) throws {
        func check(_ ok: Bool, _ key: String, _ why: String) throws {
            if !ok { throw UserError("\(source): key 'kno.\(key)' \(why)") }
        }
        try check(opSize >= 1, "op_size", "is \(opSize): it must be >= 1")
        try check(modes.count == 2 && modes.allSatisfy { $0 >= 1 }, "modes", "must be [modes_x, modes_y] >= 1")
        try check(grid.count == 2 && modes[0] <= grid[0] / 2 && modes[1] <= grid[1] / 2 + 1, "modes",
                  "\(modes) do not fit grid \(grid): need 2*modes_x <= H and modes_y <= W/2+1")
        try check(decompose >= 1 && decompose <= ModelConfig.maxLayers, "decompose",
                  "is \(decompose): it must be in 1...\(ModelConfig.maxLayers)")
        try check(reconstructionWeight >= 0 && reconstructionWeight.isFinite, "reconstruction_weight",
                  "is \(reconstructionWeight): it must be a finite number >= 0")
    }
}

extension KNOConfig {
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        opSize = try c.decodeIfPresent(Int.self, forKey: .opSize) ?? opSize
        modes = try c.decodeIfPresent([Int].self, forKey: .modes) ?? modes
        decompose = try c.decodeIfPresent(Int.self, forKey: .decompose) ?? decompose
        linearType = try c.decodeIfPresent(Bool.self, forKey: .linearType) ?? linearType
        reconstructionWeight = try c.decodeIfPresent(Double.self, forKey: .reconstructionWeight) ?? reconstructionWeight
    }
}
