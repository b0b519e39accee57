import Foundation

/// Where the routing KL compares p with the prior (`prior_match`).
public enum PriorMatch: String, Codable, Sendable, Hashable {
    case mean, patch
}

/// The prior of the routing KL term (M2M.md section 6).
public enum RouterPrior: Equatable, Sendable, Codable {
    case uniform
    /// Explicit weights per expert (normalised to sum 1).
    case weights([Double])
    /// Per patch, `softmax(-|c_patch - c_e| / tau)` from the patch's spectral centroid.
    case frequency

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let word = try? c.decode(String.self) {
            switch word {
            case "uniform": self = .uniform
            case "frequency": self = .frequency
            default:
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                    debugDescription: "unknown prior '\(word)' (expected \"uniform\", \"frequency\" or a list of weights)"))
            }
            return
        }
        self = .weights(try c.decode([Double].self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .uniform: try c.encode("uniform")
        case .frequency: try c.encode("frequency")
        case .weights(let w): try c.encode(w)
        }
    }
}

/// The M2M model's keys (the `m2m` object of a config; M2M.md sections 3-7). Every
/// key has a default; `layers` and `projection_hidden` are shared with the FNO keys.
public struct M2MConfig: Codable, Equatable, Sendable {
    /// Patches per side: the field is cut into `scale x scale` patches.
    public var scale = 2
    /// Cells of periodic halo around each patch (0 = the paper).
    public var halo = 0
    /// `local` (each patch its own [0,1) grid) or `global` (cells' positions in the whole field, wrapped).
    public var expertCoordinates = "local"
    /// Modes (per axis) and width of each expert; their count is E.
    public var expertModes = [4, 8, 16]
    public var expertWidths = [16, 24, 32]
    /// Experts per patch.
    public var k = 1
    /// Capacity per expert = ceil(c * patches * k / E); nil: every patch of the batch.
    public var capacityFactor: Double?
    /// Divide the selected gates by their sum (an error with k = 1).
    public var renormalizeGates = false
    /// Every expert on every patch, weighted by p: the dense baseline.
    public var dense = false
    /// Router: log band energies (plus mean and std) -> hidden (GELU) -> E logits.
    public var bands = 4
    public var routerHidden = 32
    public var temperature = 1.0
    /// Weight of the mean patch entropy in the router loss.
    public var gamma = 0.1
    public var prior = RouterPrior.uniform
    /// How the KL meets the prior: `mean` (M2M.md: KL(mean p || mean q), load balance only) or
    /// `patch` (the mean over patches of KL(p_patch || q_patch): each patch pulled toward its
    /// own prior; with `prior: frequency` that routes by spectral centroid).
    public var priorMatch = PriorMatch.mean
    public var tau = 0.25
    /// An extra FNO on the whole field, added ungated.
    public var globalExpert = false
    public var globalModes = 4
    public var globalWidth = 16
    public var controller = PIControllerConfig()

    public init() {}

    static let keys = ["scale", "halo", "expert_coordinates", "expert_modes", "expert_widths", "k", "capacity_factor",
                       "renormalize_gates", "dense", "bands", "router_hidden", "temperature", "gamma", "prior", "prior_match", "tau",
                       "global_expert", "global_modes", "global_width", "controller"]

    public var experts: Int { expertModes.count }

    /// The most experts (`expert_modes` entries) and the largest `capacity_factor` a config may name.
    public static let maxExperts = 64
    public static let maxCapacityFactor = 1000.0

    /// The capacity of each expert's buffers for `patches` patches per step.
    public func capacity(patches: Int) -> Int {
        if dense { return patches }
        guard let c = capacityFactor else { return patches }
        // Evaluated left to right in double precision (M2M.md section 5).
        return min(patches, Int((((c * Double(patches)) * Double(k)) / Double(experts)).rounded(.up)))
    }

    /// Checks values against the grid and the shared FNO keys; the first problem is
    /// reported with its key (`m2m.KEY`).
    func validate(grid: [Int], source: String) throws {
        func check(_ ok: Bool, _ key: String, _ why: String) throws {
            if !ok { throw UserError("\(source): key 'm2m.\(key)' \(why)") }
        }
        try check(scale >= 1 && grid.count == 2 && grid[0] % scale == 0 && grid[1] % scale == 0, "scale",
                  "is \(scale): it must be >= 1 and divide the grid \(grid)")
        try check(halo >= 0 && halo <= grid[0] / scale && halo <= grid[1] / scale, "halo",
                  "is \(halo): it must be in 0...patch size (\(grid[0] / scale)x\(grid[1] / scale))")
        let (pe, qe) = (grid[0] / scale + 2 * halo, grid[1] / scale + 2 * halo)
        try check(qe % 2 == 0, "scale", "gives patches \(pe)x\(qe) wide: the extended patch width must be even (real FFT)")
        try check(expertCoordinates == "local" || expertCoordinates == "global", "expert_coordinates",
                  "is '\(expertCoordinates)': expected \"local\" or \"global\"")
        try check(!expertModes.isEmpty, "expert_modes", "must name at least one expert")
        try check(expertModes.count <= Self.maxExperts, "expert_modes",
                  "names \(expertModes.count) experts: at most \(Self.maxExperts)")
        try check(expertWidths.count == expertModes.count, "expert_widths",
                  "has \(expertWidths.count) entries, expert_modes has \(expertModes.count)")
        try check(expertWidths.allSatisfy { $0 >= 1 }, "expert_widths", "must be >= 1")
        try check(expertModes.allSatisfy { $0 >= 1 }, "expert_modes", "must be >= 1")
        if let e = expertModes.firstIndex(where: { $0 > pe / 2 || $0 > qe / 2 }) {
            throw UserError("\(source): key 'm2m.expert_modes' entry \(e) is \(expertModes[e]): above the Nyquist "
                            + "limit \(min(pe / 2, qe / 2)) of a \(pe)x\(qe) patch")
        }
        try check(k >= 1 && k <= experts, "k", "is \(k): it must be in 1...\(experts) (the number of experts)")
        if let c = capacityFactor {
            try check(c > 0 && c.isFinite, "capacity_factor", "must be > 0")
            // Beyond E / k every patch fits anyway; the bound keeps capacity(patches:) in Int range.
            try check(c <= Self.maxCapacityFactor, "capacity_factor", "is \(c): at most \(Self.maxCapacityFactor)")
        }
        try check(capacity(patches: 1) >= 1, "capacity_factor", "gives a capacity of 0")
        try check(!(renormalizeGates && k == 1), "renormalize_gates",
                  "with k = 1 makes every gate 1: the router would get no gradient from the data")
        try check(!(dense && renormalizeGates), "renormalize_gates", "does not apply to the dense model")
        try check(bands >= 1 && bands <= 16, "bands", "must be in 1...16")
        try check(routerHidden >= 1, "router_hidden", "must be >= 1")
        try check(temperature > 0 && temperature.isFinite, "temperature", "must be > 0")
        try check(gamma >= 0 && gamma.isFinite, "gamma", "must be >= 0")
        try check(tau > 0 && tau.isFinite, "tau", "must be > 0")
        if case .weights(let w) = prior {
            try check(w.count == experts, "prior", "has \(w.count) weights for \(experts) experts")
            try check(w.allSatisfy { $0 > 0 && $0.isFinite }, "prior", "weights must be > 0")
        }
        if globalExpert {
            try check(globalWidth >= 1, "global_width", "must be >= 1")
            try check(globalModes >= 1 && globalModes <= grid[0] / 2 && globalModes <= grid[1] / 2, "global_modes",
                      "is \(globalModes): above the Nyquist limit of the \(grid) grid")
        }
        try controller.validate(source: source, keyPrefix: "m2m.controller.")
    }
}

extension M2MConfig {
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        scale = try c.decodeIfPresent(Int.self, forKey: .scale) ?? scale
        halo = try c.decodeIfPresent(Int.self, forKey: .halo) ?? halo
        expertCoordinates = try c.decodeIfPresent(String.self, forKey: .expertCoordinates) ?? expertCoordinates
        expertModes = try c.decodeIfPresent([Int].self, forKey: .expertModes) ?? expertModes
        expertWidths = try c.decodeIfPresent([Int].self, forKey: .expertWidths) ?? expertWidths
        k = try c.decodeIfPresent(Int.self, forKey: .k) ?? k
        capacityFactor = try c.decodeIfPresent(Double.self, forKey: .capacityFactor)
        renormalizeGates = try c.decodeIfPresent(Bool.self, forKey: .renormalizeGates) ?? renormalizeGates
        dense = try c.decodeIfPresent(Bool.self, forKey: .dense) ?? dense
        bands = try c.decodeIfPresent(Int.self, forKey: .bands) ?? bands
        routerHidden = try c.decodeIfPresent(Int.self, forKey: .routerHidden) ?? routerHidden
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature) ?? temperature
        gamma = try c.decodeIfPresent(Double.self, forKey: .gamma) ?? gamma
        prior = try c.decodeIfPresent(RouterPrior.self, forKey: .prior) ?? prior
        priorMatch = try c.decodeIfPresent(PriorMatch.self, forKey: .priorMatch) ?? priorMatch
        tau = try c.decodeIfPresent(Double.self, forKey: .tau) ?? tau
        globalExpert = try c.decodeIfPresent(Bool.self, forKey: .globalExpert) ?? globalExpert
        globalModes = try c.decodeIfPresent(Int.self, forKey: .globalModes) ?? globalModes
        globalWidth = try c.decodeIfPresent(Int.self, forKey: .globalWidth) ?? globalWidth
        controller = try c.decodeIfPresent(PIControllerConfig.self, forKey: .controller) ?? controller
    }
}
