import Foundation

/// Settings of the PI controller for the router-loss weight lambda(t) (M2M.md section 7).
///
/// JSON keys are the snake_case forms of the property names (`kp`, `ki`, `lambda_min`,
/// `lambda_max`, `target`, `lambda_init`, `measure`, `enabled`, `lambda_const`); every key has
/// a default. The string `"off"` stands for `{"enabled": false}` and `"pi"` for the defaults,
/// so a config may say `"controller": "off"`.
public struct PIControllerConfig: Codable, Equatable, Sendable {
    /// What the controller measures after every training step.
    public enum Measure: String, Codable, Sendable, CaseIterable {
        /// The step's KL term averaged over its rollout steps.
        case kl
        /// The step's L_data averaged over its rollout steps.
        case data
    }

    /// Proportional gain Kp.
    public var kp = 0.01
    /// Integral gain Ki.
    public var ki = 0.001
    /// Lower bound of lambda, also the offset added to the control signal.
    public var lambdaMin = 0.0
    /// Upper bound of lambda.
    public var lambdaMax = 1.0
    /// The set point of the measured quantity.
    public var target = 0.1
    /// lambda for training step 1; nil means `Kp / 2 + lambda_min` clamped to the bounds.
    public var lambdaInit: Double?
    /// The quantity fed back.
    public var measure = Measure.kl
    /// false (`controller: off`, the ablation) holds lambda at `lambda_const`.
    public var enabled = true
    /// The constant lambda when disabled; nil means the effective `lambda_init`.
    public var lambdaConst: Double?

    public init() {}

    /// The JSON keys of the controller object, for unknown-key checks.
    public static let jsonKeys = ["kp", "ki", "lambda_min", "lambda_max", "target", "lambda_init", "measure",
                                  "enabled", "lambda_const"]

    /// lambda for training step 1: `lambda_init`, or `Kp / 2 + lambda_min` clamped to
    /// `[lambda_min, lambda_max]` when not given.
    public var effectiveLambdaInit: Double {
        lambdaInit ?? Swift.min(Swift.max(kp / 2 + lambdaMin, lambdaMin), lambdaMax)
    }

    /// The lambda of every step when the controller is off: `lambda_const`, or the effective `lambda_init`.
    public var effectiveLambdaConst: Double { lambdaConst ?? effectiveLambdaInit }

    /// Checks values; throws a one-line `UserError` "SOURCE: key 'PREFIXkey' why" for the first
    /// problem. `keyPrefix` is how the enclosing config names this object, e.g. "controller.".
    public func validate(source: String, keyPrefix: String = "") throws {
        func check(_ ok: Bool, _ key: String, _ why: String) throws {
            if !ok { throw UserError("\(source): key '\(keyPrefix)\(key)' \(why)") }
        }
        try check(kp.isFinite && kp >= 0, "kp", "must be finite and >= 0")
        try check(ki.isFinite && ki >= 0, "ki", "must be finite and >= 0")
        try check(lambdaMin.isFinite && lambdaMin >= 0, "lambda_min", "must be finite and >= 0")
        try check(lambdaMax.isFinite, "lambda_max", "must be finite")
        try check(lambdaMin <= lambdaMax, "lambda_max", "must be >= lambda_min")
        try check(target.isFinite, "target", "must be finite")
        if let lambdaInit {
            try check(lambdaInit >= lambdaMin && lambdaInit <= lambdaMax, "lambda_init",
                      "must be in [lambda_min, lambda_max] = [\(lambdaMin), \(lambdaMax)]")
        }
        if let lambdaConst {
            try check(lambdaConst.isFinite && lambdaConst >= 0, "lambda_const", "must be finite and >= 0")
        }
    }
}

extension PIControllerConfig {
    public init(from decoder: Decoder) throws {
        self.init()
        if let single = try? decoder.singleValueContainer(), let word = try? single.decode(String.self) {
            switch word {
            case "off": enabled = false
            case "pi": break
            default:
                throw DecodingError.dataCorrupted(.init(
                    codingPath: decoder.codingPath,
                    debugDescription: "'\(word)' is not a controller: use \"pi\", \"off\" or an object"))
            }
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kp = try c.decodeIfPresent(Double.self, forKey: .kp) ?? kp
        ki = try c.decodeIfPresent(Double.self, forKey: .ki) ?? ki
        lambdaMin = try c.decodeIfPresent(Double.self, forKey: .lambdaMin) ?? lambdaMin
        lambdaMax = try c.decodeIfPresent(Double.self, forKey: .lambdaMax) ?? lambdaMax
        target = try c.decodeIfPresent(Double.self, forKey: .target) ?? target
        lambdaInit = try c.decodeIfPresent(Double.self, forKey: .lambdaInit)
        measure = try c.decodeIfPresent(Measure.self, forKey: .measure) ?? measure
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? enabled
        lambdaConst = try c.decodeIfPresent(Double.self, forKey: .lambdaConst)
    }
}
