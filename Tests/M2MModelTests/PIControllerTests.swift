import Foundation
@testable import M2MModel
import XCTest

/// The PI controller of M2M.md section 7: formula, closed loop, saturation, anti-windup,
/// the off switch, checkpoint metadata and config validation.
final class PIControllerTests: XCTestCase {
    func config(_ edit: (inout PIControllerConfig) -> Void = { _ in }) -> PIControllerConfig {
        var c = PIControllerConfig()
        edit(&c)
        return c
    }

    /// The first updates against values computed outside Swift (Python floats) and against the
    /// section-7 formula written out step by step; the steps cover every branch: inside the
    /// bounds, outside with the held value inside, outside with the held value clamped.
    func testFirstStepsMatchHandComputedValues() {
        var pi = PIController(config: config { $0.lambdaMax = 0.0075 })
        let measurements = [0.5, 0.9, 3.0, 0.0]
        // Python: e = 0.1 - m; P = 0.01 / (1 + exp(e)); u = P - 0.001 * (I + e); branches by hand.
        let expectedLambda = [0.0063868766011245205, 0.007299744811276125, 0.0075, 0.0050502081252106]
        let expectedIntegral = [-0.4, -0.4, -0.4, -0.30000000000000004]
        for (t, m) in measurements.enumerated() {
            let lambda = pi.update(measurement: m)
            XCTAssertEqual(lambda, expectedLambda[t], accuracy: 1e-17, "step \(t + 1)")
            XCTAssertEqual(pi.integral, expectedIntegral[t], accuracy: 1e-15, "step \(t + 1)")
            XCTAssertEqual(pi.lambda, lambda)
            XCTAssertEqual(pi.steps, t + 1)
            XCTAssertEqual(pi.lastMeasurement, m)
            XCTAssertEqual(pi.lastError, 0.1 - m)
        }

        // The same four steps, bit for bit, with the arithmetic spelled out.
        var again = PIController(config: config { $0.lambdaMax = 0.0075 })
        // Step 1: m = 0.5, u = 0.006386.. is inside [0, 0.0075]: integrate.
        let e1 = 0.1 - 0.5
        let p1 = 0.01 / (1 + exp(e1))
        let u1 = p1 - 0.001 * (0 + e1) + 0
        XCTAssertEqual(again.update(measurement: 0.5).bitPattern, u1.bitPattern)
        let i1 = 0 + e1
        // Step 2: m = 0.9, u = 0.0081 > 0.0075: hold I; P - Ki*I = 0.0073 is inside.
        let e2 = 0.1 - 0.9
        let p2 = 0.01 / (1 + exp(e2))
        XCTAssertGreaterThan(p2 - 0.001 * (i1 + e2), 0.0075)
        XCTAssertEqual(again.update(measurement: 0.9).bitPattern, (p2 - 0.001 * i1 + 0).bitPattern)
        XCTAssertEqual(again.integral.bitPattern, i1.bitPattern)
        // Step 3: m = 3, u = 0.0128 > 0.0075: hold I; P - Ki*I = 0.0099 clamps to 0.0075.
        let e3 = 0.1 - 3.0
        let p3 = 0.01 / (1 + exp(e3))
        XCTAssertGreaterThan(p3 - 0.001 * i1 + 0, 0.0075)
        XCTAssertEqual(again.update(measurement: 3.0), 0.0075)
        // Step 4: m = 0, u = 0.00505 inside: integrate again.
        let e4 = 0.1 - 0.0
        let p4 = 0.01 / (1 + exp(e4))
        XCTAssertEqual(again.update(measurement: 0.0).bitPattern, (p4 - 0.001 * (i1 + e4) + 0).bitPattern)
        XCTAssertEqual(again.integral.bitPattern, (i1 + e4).bitPattern)
        XCTAssertEqual(again, pi)
    }

    /// lambda_min is both the offset and the lower clamp.
    func testLambdaMinOffsetsAndClampsFromBelow() {
        var pi = PIController(config: config { $0.lambdaMin = 0.2; $0.lambdaMax = 0.5; $0.target = 2 })
        // m = target: e = 0, P = Kp / 2, u = 0.005 + 0.2 inside the bounds.
        XCTAssertEqual(pi.update(measurement: 2), 0.01 / 2 + 0.2, accuracy: 1e-16)
        // m slightly below target for long (e = 0.1): integration stops once u would pass below
        // lambda_min, so the held value P - Ki*I + lambda_min stays within Ki * e above it.
        for _ in 0..<5000 {
            XCTAssertGreaterThanOrEqual(pi.update(measurement: 1.9), 0.2)
        }
        XCTAssertLessThan(pi.lambda, 0.2 + 0.001 * 0.1 + 1e-12)
        // A larger error shrinks P below Ki*I: the held value falls under lambda_min and clamps to it.
        XCTAssertEqual(pi.update(measurement: 0), 0.2)
    }

    /// Closed loop with a first-order plant m <- m + 0.5 (f(lambda) - m), f decreasing in lambda:
    /// lambda rises while m is above target and m settles at the target.
    func testStepResponseDrivesMeasurementToTarget() {
        let f = { (lambda: Double) in 0.3 * exp(-4 * lambda) }   // f(l*) = 0.1 at l* = ln(3) / 4
        var pi = PIController(config: config { $0.ki = 0.005 })
        var lambda = pi.lambda
        var m = f(0)
        var lambdas: [Double] = []
        for _ in 0..<20_000 {
            m += 0.5 * (f(lambda) - m)
            lambda = pi.update(measurement: m)
            lambdas.append(lambda)
            XCTAssertTrue((0...1).contains(lambda))
        }
        XCTAssertEqual(m, 0.1, accuracy: 1e-4)
        XCTAssertEqual(lambda, log(3.0) / 4, accuracy: 1e-3)
        // While m is well above target, lambda only grows.
        let early = lambdas.prefix(50)
        XCTAssertTrue(zip(early, early.dropFirst()).allSatisfy { $0 <= $1 }, "\(Array(early))")
        XCTAssertGreaterThan(lambdas[999], lambdas[0] + 0.1)
    }

    /// A measurement stuck far above target: lambda never passes lambda_max and settles within
    /// Ki * |e| of it (the held value P - Ki*I lacks the last error term); with Kp above
    /// lambda_max the held value itself is above, so lambda sits exactly on lambda_max.
    func testSaturatesAtLambdaMax() {
        var pi = PIController(config: config { $0.lambdaMax = 0.3 })
        for _ in 0..<10_000 {
            XCTAssertLessThanOrEqual(pi.update(measurement: 5), 0.3)
        }
        XCTAssertGreaterThanOrEqual(pi.lambda, 0.3 - 0.001 * 4.9)

        var strong = PIController(config: config { $0.kp = 0.5; $0.lambdaMax = 0.3 })
        for _ in 0..<100 { _ = strong.update(measurement: 5) }
        XCTAssertEqual(strong.lambda, 0.3)
    }

    /// After a long saturation the integral is where it was when saturation began, far from what
    /// unconditional integration reaches; once the error changes sign lambda leaves lambda_max at
    /// the next step, while the wound-up integrator would still be pinned there.
    func testAntiWindupHoldsIntegralAndRecoversAtOnce() {
        let c = config()
        var pi = PIController(config: c)
        // The same controller without anti-windup, written independently.
        var woundI = 0.0
        func wound(_ m: Double) -> Double {
            let e = c.target - m
            woundI += e
            return min(max(c.kp / (1 + exp(e)) - c.ki * woundI + c.lambdaMin, c.lambdaMin), c.lambdaMax)
        }
        let steps = 10_000
        for _ in 0..<steps {
            _ = pi.update(measurement: 5)
            _ = wound(5)
        }
        XCTAssertEqual(woundI, -4.9 * Double(steps), accuracy: 1e-6)
        // Integration stops once -Ki*I alone reaches about lambda_max: |I| <= (max - min) / Ki + |e|.
        XCTAssertLessThanOrEqual(abs(pi.integral), (c.lambdaMax - c.lambdaMin) / c.ki + 4.9)
        XCTAssertLessThan(abs(pi.integral), abs(woundI) / 20)
        XCTAssertGreaterThan(pi.lambda, c.lambdaMax - c.ki * 4.9)

        // The error turns positive: the anti-windup controller drops below lambda_max at once.
        let integralBefore = pi.integral
        XCTAssertLessThan(pi.update(measurement: 0.05), c.lambdaMax)
        XCTAssertEqual(pi.integral, integralBefore + 0.05, accuracy: 1e-9)
        XCTAssertEqual(wound(0.05), c.lambdaMax)
        var woundSteps = 1
        while woundSteps <= 1000 && wound(0.05) == c.lambdaMax { woundSteps += 1 }
        XCTAssertGreaterThan(woundSteps, 1000, "the wound-up integrator needs many steps to unwind")
    }

    /// `enabled: false` (`controller: off`) returns lambda_const forever and keeps I at 0.
    func testDisabledHoldsLambdaConst() {
        var pi = PIController(config: config { $0.enabled = false; $0.lambdaConst = 0.25 })
        XCTAssertEqual(pi.lambda, 0.25)
        for m in [5.0, 0.0, 0.1, 1e9, 0.3] {
            XCTAssertEqual(pi.update(measurement: m), 0.25)
            XCTAssertEqual(pi.integral, 0)
            XCTAssertEqual(pi.lastError, 0.1 - m)
        }
        XCTAssertEqual(pi.steps, 5)
        // Without lambda_const, lambda_init; without that, Kp / 2 + lambda_min.
        var byInit = PIController(config: config { $0.enabled = false; $0.lambdaInit = 0.4 })
        XCTAssertEqual(byInit.update(measurement: 3), 0.4)
        var byDefault = PIController(config: config { $0.enabled = false })
        XCTAssertEqual(byDefault.update(measurement: 3), 0.005)
    }

    /// A non-finite measurement leaves I and lambda as they were.
    func testNonFiniteMeasurementChangesNothing() {
        var pi = PIController(config: config())
        _ = pi.update(measurement: 0.7)
        let (i, lambda) = (pi.integral, pi.lambda)
        XCTAssertEqual(pi.update(measurement: .nan), lambda)
        XCTAssertEqual(pi.update(measurement: .infinity), lambda)
        XCTAssertEqual(pi.integral, i)
        XCTAssertEqual(pi.steps, 3)
    }

    /// lambda_init: Kp / 2 + lambda_min clamped into the bounds when not given.
    func testDefaultLambdaInit() throws {
        XCTAssertEqual(PIController(config: config()).lambda, 0.005)
        XCTAssertEqual(config { $0.lambdaMin = 0.1 }.effectiveLambdaInit, 0.105, accuracy: 1e-16)
        XCTAssertEqual(config { $0.kp = 3 }.effectiveLambdaInit, 1)           // 1.5 clamped to lambda_max
        XCTAssertEqual(config { $0.kp = 0.4; $0.lambdaMax = 0.1 }.effectiveLambdaInit, 0.1)
        XCTAssertEqual(PIController(config: config { $0.lambdaInit = 0.7 }).lambda, 0.7)
        // JSON defaults, the "off" shorthand and snake_case keys.
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        XCTAssertEqual(try decoder.decode(PIControllerConfig.self, from: Data("{}".utf8)), PIControllerConfig())
        let off = try decoder.decode([String: PIControllerConfig].self, from: Data(#"{"c": "off"}"#.utf8))["c"]!
        XCTAssertFalse(off.enabled)
        let c = try decoder.decode(PIControllerConfig.self, from: Data(
            #"{"lambda_min": 0.01, "lambda_init": 0.02, "measure": "data", "lambda_const": 0.3, "enabled": false}"#.utf8))
        XCTAssertEqual(c.lambdaMin, 0.01)
        XCTAssertEqual(c.lambdaInit, 0.02)
        XCTAssertEqual(c.measure, .data)
        XCTAssertEqual(c.lambdaConst, 0.3)
        XCTAssertEqual(c.kp, 0.01)
        XCTAssertThrowsError(try decoder.decode(PIControllerConfig.self, from: Data(#""sometimes""#.utf8)))
        XCTAssertThrowsError(try decoder.decode(PIControllerConfig.self, from: Data(#"{"measure": "loss"}"#.utf8)))
        XCTAssertEqual(Set(PIControllerConfig.jsonKeys), ["kp", "ki", "lambda_min", "lambda_max", "target",
                                                          "lambda_init", "measure", "enabled", "lambda_const"])
    }

    /// Invalid values name their key, with the caller's prefix, on one line.
    func testInvalidConfigNamesTheKey() {
        let cases: [(String, (inout PIControllerConfig) -> Void)] = [
            ("controller.lambda_init", { $0.lambdaInit = 1.5 }),
            ("controller.lambda_init", { $0.lambdaMin = 0.2; $0.lambdaInit = 0.1 }),
            ("controller.kp", { $0.kp = -1 }),
            ("controller.ki", { $0.ki = .nan }),
            ("controller.lambda_min", { $0.lambdaMin = -0.1 }),
            ("controller.lambda_max", { $0.lambdaMin = 0.5; $0.lambdaMax = 0.4 }),
            ("controller.lambda_max", { $0.lambdaMax = .infinity }),
            ("controller.target", { $0.target = .nan }),
            ("controller.lambda_const", { $0.lambdaConst = -1 }),
        ]
        for (key, edit) in cases {
            do {
                try config(edit).validate(source: "config.json", keyPrefix: "controller.")
                XCTFail("\(key) accepted")
            } catch {
                let message = "\(error)"
                XCTAssertTrue(error is UserError)
                XCTAssertTrue(message.hasPrefix("config.json: key '\(key)' "), message)
                XCTAssertFalse(message.contains("\n"))
            }
        }
        XCTAssertNoThrow(try config().validate(source: "config.json"))
        XCTAssertNoThrow(try config { $0.lambdaInit = 1; $0.lambdaConst = 2 }.validate(source: "config.json"))
    }

    /// The metadata restores every bit, mid-run, and the restored controller continues identically.
    func testMetadataRoundTripIsBitExact() throws {
        var pi = PIController(config: config { $0.kp = 0.013; $0.target = 1.0 / 3; $0.lambdaInit = 0.1 / 3; $0.measure = .data })
        let fresh = try PIController(metadata: pi.metadata)
        XCTAssertEqual(fresh, pi)
        XCTAssertNil(fresh.lastMeasurement)
        var m = 0.7
        for _ in 0..<37 {
            _ = pi.update(measurement: m)
            m = m * 0.93 + 0.011
        }
        var other = pi.metadata
        other["epoch"] = "3"    // unrelated keys are ignored
        var restored = try PIController(metadata: other, source: "ck.safetensors")
        XCTAssertEqual(restored, pi)
        XCTAssertEqual(restored.integral.bitPattern, pi.integral.bitPattern)
        XCTAssertEqual(restored.lambda.bitPattern, pi.lambda.bitPattern)
        XCTAssertEqual(restored.lastError?.bitPattern, pi.lastError?.bitPattern)
        for _ in 0..<20 {
            XCTAssertEqual(restored.update(measurement: m).bitPattern, pi.update(measurement: m).bitPattern)
            m *= 1.01
        }
        // The disabled form round-trips too.
        var off = PIController(config: config { $0.enabled = false })
        _ = off.update(measurement: 2)
        XCTAssertEqual(try PIController(metadata: off.metadata), off)
        XCTAssertTrue(pi.metadata.keys.allSatisfy { $0.hasPrefix("controller.") })
    }

    /// Missing or garbled metadata names the key on one line.
    func testGarbledMetadataNamesTheKey() {
        var pi = PIController(config: config())
        _ = pi.update(measurement: 0.4)
        let good = pi.metadata
        let cases: [(String, String?)] = [
            ("controller.integral", nil), ("controller.integral", "zero"), ("controller.lambda", "inf"),
            ("controller.kp", "0.0.1"), ("controller.steps", "-3"), ("controller.steps", "1.5"),
            ("controller.measure", "loss"), ("controller.enabled", "yes"), ("controller.last_error", nil),
            ("controller.lambda_init", "7"),
        ]
        for (key, value) in cases {
            var bad = good
            bad[key] = value
            do {
                _ = try PIController(metadata: bad, source: "ck.safetensors")
                XCTFail("\(key) = \(value ?? "missing") accepted")
            } catch {
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix("ck.safetensors: key '\(key)' "), message)
                XCTAssertFalse(message.contains("\n"))
            }
        }
    }
}
