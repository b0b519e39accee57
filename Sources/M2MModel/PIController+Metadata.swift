import Foundation

/// The controller as checkpoint metadata (string to string): settings and state under
/// `controller.*` keys, each Double written with `description` (the shortest text that reads
/// back to the same bits), so a restored controller continues bit-exactly.
extension PIController {
    /// The prefix of every key this controller writes.
    public static let metadataPrefix = "controller."

    /// The text of an absent optional value.
    static let absent = "none"

    /// The settings and state as metadata entries (keys `controller.*`).
    public var metadata: [String: String] {
        func text(_ x: Double?) -> String { x.map { $0.description } ?? Self.absent }
        let entries: [String: String] = [
            "kp": text(config.kp), "ki": text(config.ki),
            "lambda_min": text(config.lambdaMin), "lambda_max": text(config.lambdaMax),
            "target": text(config.target), "lambda_init": text(config.lambdaInit),
            "measure": config.measure.rawValue, "enabled": String(config.enabled),
            "lambda_const": text(config.lambdaConst),
            "integral": text(integral), "lambda": text(lambda), "steps": String(steps),
            "last_measurement": text(lastMeasurement), "last_error": text(lastError),
        ]
        return Dictionary(uniqueKeysWithValues: entries.map { (Self.metadataPrefix + $0.key, $0.value) })
    }

    /// Restores a controller from `metadata` (other keys are ignored). A missing or unreadable
    /// key, or restored settings that do not validate, throw a one-line `UserError`
    /// "SOURCE: key 'controller.KEY' ...".
    public init(metadata: [String: String], source: String = "checkpoint metadata") throws {
        func raw(_ key: String) throws -> String {
            guard let value = metadata[Self.metadataPrefix + key] else {
                throw UserError("\(source): key '\(Self.metadataPrefix)\(key)' is missing")
            }
            return value
        }
        func garbled(_ key: String, _ value: String, _ want: String) -> UserError {
            UserError("\(source): key '\(Self.metadataPrefix)\(key)' is '\(value)', not \(want)")
        }
        func number(_ key: String) throws -> Double {
            let value = try raw(key)
            guard let x = Double(value) else { throw garbled(key, value, "a number") }
            return x
        }
        func finite(_ key: String) throws -> Double {
            let x = try number(key)
            guard x.isFinite else { throw garbled(key, x.description, "a finite number") }
            return x
        }
        func optional(_ key: String) throws -> Double? {
            try raw(key) == Self.absent ? nil : number(key)
        }
        var config = PIControllerConfig()
        config.kp = try number("kp")
        config.ki = try number("ki")
        config.lambdaMin = try number("lambda_min")
        config.lambdaMax = try number("lambda_max")
        config.target = try number("target")
        config.lambdaInit = try optional("lambda_init")
        let measure = try raw("measure")
        guard let m = PIControllerConfig.Measure(rawValue: measure) else {
            throw garbled("measure", measure, "one of \(PIControllerConfig.Measure.allCases.map(\.rawValue))")
        }
        config.measure = m
        let enabled = try raw("enabled")
        guard let on = Bool(enabled) else { throw garbled("enabled", enabled, "true or false") }
        config.enabled = on
        config.lambdaConst = try optional("lambda_const")
        try config.validate(source: source, keyPrefix: Self.metadataPrefix)
        let stepsText = try raw("steps")
        guard let steps = Int(stepsText), steps >= 0 else { throw garbled("steps", stepsText, "a count >= 0") }
        self.init(config: config, integral: try finite("integral"), lambda: try finite("lambda"), steps: steps,
                  lastMeasurement: try optional("last_measurement"), lastError: try optional("last_error"))
    }
}
