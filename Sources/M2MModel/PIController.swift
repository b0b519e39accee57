import Foundation

/// The PI controller for the router-loss weight lambda(t) (M2M.md section 7, after
/// ControlVAE): after every training step it takes the measurement m(t) and returns the
/// lambda of the next step.
///
/// With e = target - m, P = Kp / (1 + exp(e)) and u = P - Ki * (I + e) + lambda_min:
/// when lambda_min <= u <= lambda_max the integral takes the error (I += e) and lambda = u;
/// otherwise the integral is held (anti-windup by conditional integration) and
/// lambda = clamp(P - Ki * I + lambda_min, lambda_min, lambda_max).
public struct PIController: Codable, Equatable, Sendable {
    /// The settings.
    public let config: PIControllerConfig
    /// The integral of the error I(t) (0 before the first step, and always 0 when disabled).
    public private(set) var integral = 0.0
    /// lambda for the next training step (lambda_init, or lambda_const when disabled, before the first update).
    public private(set) var lambda: Double
    /// Updates taken so far.
    public private(set) var steps = 0
    /// The last measurement m(t) (nil before the first update).
    public private(set) var lastMeasurement: Double?
    /// The last error e(t) = target - m(t) (nil before the first update).
    public private(set) var lastError: Double?

    /// A controller at step 0: I = 0, lambda = the effective lambda_init (lambda_const when disabled).
    /// The config should be validated first.
    public init(config: PIControllerConfig) {
        self.config = config
        lambda = config.enabled ? config.effectiveLambdaInit : config.effectiveLambdaConst
    }

    /// Takes the measurement m(t) of the step just finished and returns lambda(t + 1).
    ///
    /// Disabled, it returns lambda_const and keeps I at 0. A non-finite measurement carries no
    /// information: it is recorded but leaves I and lambda as they were.
    public mutating func update(measurement m: Double) -> Double {
        let e = config.target - m
        steps += 1
        lastMeasurement = m
        lastError = e
        guard config.enabled else {
            lambda = config.effectiveLambdaConst
            return lambda
        }
        guard m.isFinite else { return lambda }
        let p = config.kp / (1 + exp(e))
        let u = p - config.ki * (integral + e) + config.lambdaMin
        if config.lambdaMin <= u && u <= config.lambdaMax {
            integral += e
            lambda = u
        } else {
            let held = p - config.ki * integral + config.lambdaMin
            lambda = Swift.min(Swift.max(held, config.lambdaMin), config.lambdaMax)
        }
        return lambda
    }

    /// The state as it is restored from a checkpoint (memberwise; used by `init(metadata:)`).
    init(config: PIControllerConfig, integral: Double, lambda: Double, steps: Int,
         lastMeasurement: Double?, lastError: Double?) {
        self.config = config
        self.integral = integral
        self.lambda = lambda
        self.steps = steps
        self.lastMeasurement = lastMeasurement
        self.lastError = lastError
    }
}
