import Foundation
import M2MModel
import XCTest

/// Model configs: strict keys, typed values, validated values, defaults.
final class ConfigTests: XCTestCase {
    func parse(_ json: String) throws -> ModelConfig {
        try ModelConfig.parse(Data(json.utf8), source: "c.json")
    }

    /// The single-line error of parsing `json`.
    func error(_ json: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try parse(json)
            XCTFail("parsed: \(json)", file: file, line: line)
            return ""
        } catch {
            let message = "\(error)"
            XCTAssertTrue(error is UserError, "\(type(of: error))", file: file, line: line)
            XCTAssertTrue(message.hasPrefix("c.json: "), message, file: file, line: line)
            XCTAssertFalse(message.contains("\n"), message, file: file, line: line)
            return message
        }
    }

    func testDefaultsFilledIn() throws {
        let config = try parse("{}")
        XCTAssertEqual(config, ModelConfig())
        XCTAssertEqual(config.grid, [64, 64])
        XCTAssertEqual(config.tIn, 10)
        XCTAssertEqual(config.modes, [12, 12])
        XCTAssertEqual(config.projectionHidden, 128)
        XCTAssertEqual(config.optimizer.lr, 1e-3)
        XCTAssertEqual(config.optimizer.weightDecay, 1e-4)
        XCTAssertEqual(config.optimizer.stepSize, 100)
        XCTAssertEqual(config.optimizer.gamma, 0.5)
        XCTAssertFalse(config.optimizer.decoupledWeightDecay)
        // A partial optimizer object keeps the other optimizer defaults.
        let partial = try parse(#"{"optimizer": {"lr": 0.01}}"#)
        XCTAssertEqual(partial.optimizer.lr, 0.01)
        XCTAssertEqual(partial.optimizer.beta2, 0.999)
        XCTAssertEqual(partial.optimizer.weightDecay, 1e-4)
        // rollout_train defaults to t_out when t_out is below its default.
        XCTAssertEqual(try parse(#"{"t_out": 3}"#).rolloutTrain, 3)
        XCTAssertEqual(try parse(#"{"t_out": 3, "rollout_train": 1}"#).rolloutTrain, 1)
    }

    func testTinyConfigValues() throws {
        let c = try TestSupport.tinyConfig()
        XCTAssertEqual(c.name, "tiny-fno")
        XCTAssertEqual(c.grid, [8, 8])
        XCTAssertEqual(c.tIn, 3)
        XCTAssertEqual(c.tOut, 3)
        XCTAssertEqual(c.rolloutTrain, 2)
        XCTAssertEqual(c.width, 4)
        XCTAssertEqual(c.modes, [2, 3])
        XCTAssertEqual(c.layers, 2)
        XCTAssertEqual(c.projectionHidden, 8)
        XCTAssertEqual(c.batch, 2)
        XCTAssertEqual(c.task, .timeStepping)
    }

    /// Every shipped config parses, and its canonical JSON parses back to the same config.
    func testShippedConfigsParseAndRoundTrip() throws {
        let dir = TestSupport.repoRoot.appendingPathComponent("configs")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }
        XCTAssertTrue(files.contains("fno-ns64.json"))
        XCTAssertTrue(files.contains("tiny-fno.json"))
        for name in files where try ModelConfig.parse(Data(contentsOf: dir.appendingPathComponent(name)),
                                                      source: name).model == "fno" {
            let config = try ModelConfig.load(dir.appendingPathComponent(name).path)
            XCTAssertEqual(try ModelConfig.parse(config.canonicalJSON(), source: "canonical"), config, name)
        }
        let ns64 = try ModelConfig.load(dir.appendingPathComponent("fno-ns64.json").path)
        XCTAssertEqual(ns64.grid, [64, 64])
        XCTAssertEqual(ns64.modes, [12, 12])
        XCTAssertEqual(ns64.width, 32)
    }

    func testCanonicalJSONUsesSnakeCaseKeys() throws {
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: ModelConfig().canonicalJSON()) as? [String: Any])
        for key in ["t_in", "t_out", "rollout_train", "projection_hidden", "optimizer"] {
            XCTAssertNotNil(object[key], key)
        }
        let optimizer = try XCTUnwrap(object["optimizer"] as? [String: Any])
        XCTAssertNotNil(optimizer["weight_decay"])
        XCTAssertNotNil(optimizer["decoupled_weight_decay"])
        XCTAssertNotNil(optimizer["step_size"])
    }

    func testUnknownKeyIsNamed() {
        XCTAssertEqual(error(#"{"widht": 32}"#), "c.json: unknown key 'widht'")
        // camelCase spellings of snake_case keys are unknown too.
        XCTAssertEqual(error(#"{"tIn": 3}"#), "c.json: unknown key 'tIn'")
    }

    func testNestedUnknownOptimizerKeyIsNamed() {
        XCTAssertEqual(error(#"{"optimizer": {"lr": 0.1, "momentum": 0.9}}"#), "c.json: unknown key 'optimizer.momentum'")
    }

    func testWrongTypes() {
        XCTAssertEqual(error(#"{"width": "32"}"#), "c.json: key 'width' has the wrong type")
        XCTAssertEqual(error(#"{"grid": 64}"#), "c.json: key 'grid' has the wrong type")
        XCTAssertEqual(error(#"{"optimizer": {"lr": "fast"}}"#), "c.json: key 'optimizer.lr' has the wrong type")
        XCTAssertEqual(error(#"{"optimizer": 3}"#), "c.json: key 'optimizer' has the wrong type")
        XCTAssertEqual(error(#"{"width": true}"#), "c.json: key 'width' has the wrong type")
        XCTAssertEqual(error(#"{"grid": [8, "8"]}"#), "c.json: key 'grid.1' has the wrong type")
        XCTAssertEqual(error(#"{"t_in": "ten"}"#), "c.json: key 't_in' has the wrong type")
        XCTAssertEqual(error(#"{"optimizer": {"weight_decay": "x"}}"#),
                       "c.json: key 'optimizer.weight_decay' has the wrong type")
        XCTAssertTrue(error(#"{"task": "forecast"}"#).contains("'task'"))
    }

    /// A fractional or out-of-range number for an integer key: Foundation's JSONDecoder reports
    /// "not valid JSON" with no coding path; the message must still name the key.
    func testNonIntegerNumberForIntegerKeyIsNamed() {
        XCTAssertEqual(error(#"{"width": 3.5}"#), "c.json: key 'width' has the wrong type")
        XCTAssertEqual(error(#"{"batch": 1e30}"#), "c.json: key 'batch' has the wrong type")
        XCTAssertEqual(error(#"{"optimizer": {"lr": 0.1, "step_size": 2.5}}"#),
                       "c.json: key 'optimizer.step_size' has the wrong type")
        XCTAssertEqual(error(#"{"grid": [8.5, 8]}"#), "c.json: key 'grid' has the wrong type")
        // Integral floats are accepted as integers.
        XCTAssertEqual(try parse(#"{"width": 4.0}"#).width, 4)
    }

    func testNotAnObject() {
        XCTAssertEqual(error("[1, 2]"), "c.json: not a JSON object")
        XCTAssertEqual(error("{\"width\": "), "c.json: not a JSON object")
        XCTAssertEqual(error(""), "c.json: not a JSON object")
    }

    func testModesMustFitTheGrid() {
        let tooHigh = error(#"{"grid": [8, 8], "modes": [5, 3]}"#)
        XCTAssertTrue(tooHigh.contains("key 'modes'"), tooHigh)
        XCTAssertTrue(tooHigh.contains("need 2*modes1 <= H and modes2 <= W/2+1"), tooHigh)
        XCTAssertTrue(error(#"{"grid": [8, 8], "modes": [2, 6]}"#).contains("key 'modes'"))
        // The limits themselves are fine.
        XCTAssertNoThrow(try parse(#"{"grid": [8, 8], "modes": [4, 5]}"#))
        XCTAssertTrue(error(#"{"modes": [0, 3]}"#).contains("key 'modes'"))
        XCTAssertTrue(error(#"{"modes": [3]}"#).contains("key 'modes'"))
    }

    func testGridChecks() {
        XCTAssertTrue(error(#"{"grid": [8, 7], "modes": [2, 2]}"#).contains("even W"))
        XCTAssertTrue(error(#"{"grid": [2, 8], "modes": [1, 2]}"#).contains("key 'grid'"))
        XCTAssertTrue(error(#"{"grid": [8, 8, 8]}"#).contains("key 'grid'"))
    }

    /// `model: m2m` is implemented (its keys default); an unknown model kind names the key.
    func testModelKinds() throws {
        let m2m = try parse(#"{"model": "m2m"}"#)
        XCTAssertEqual(m2m.kind, .m2m)
        XCTAssertEqual(m2m.m2m, M2MConfig())
        XCTAssertNil(try parse("{}").m2m)
        let message = error(#"{"model": "moe"}"#)
        XCTAssertTrue(message.contains("key 'model'"), message)
    }

    func testValueChecksNameTheirKey() {
        let cases: [(String, String)] = [
            (#"{"width": 0}"#, "'width'"),
            (#"{"layers": 0}"#, "'layers'"),
            (#"{"projection_hidden": 0}"#, "'projection_hidden'"),
            (#"{"batch": 0}"#, "'batch'"),
            (#"{"t_in": 0}"#, "'t_in'"),
            (#"{"t_out": 3, "rollout_train": 4}"#, "'rollout_train'"),
            (#"{"rollout_train": 0}"#, "'rollout_train'"),
            (#"{"epochs": 0}"#, "'epochs'"),
            (#"{"task": "steady", "t_in": 2, "t_out": 1}"#, "'t_in'"),
            (#"{"task": "steady", "t_in": 1, "t_out": 2, "rollout_train": 1}"#, "'t_out'"),
            (#"{"optimizer": {"lr": 0}}"#, "'optimizer.lr'"),
            (#"{"optimizer": {"weight_decay": -1}}"#, "'optimizer.weight_decay'"),
            (#"{"optimizer": {"beta1": 1}}"#, "'optimizer.beta1'"),
            (#"{"optimizer": {"epsilon": 0}}"#, "'optimizer.epsilon'"),
            (#"{"optimizer": {"step_size": 0}}"#, "'optimizer.step_size'"),
        ]
        for (json, key) in cases {
            let message = error(json)
            XCTAssertTrue(message.contains("key \(key)"), "\(json): \(message)")
        }
        XCTAssertNoThrow(try parse(#"{"task": "steady", "t_in": 1, "t_out": 1, "rollout_train": 1}"#))
    }

    func testMissingConfigFile() {
        XCTAssertThrowsError(try ModelConfig.load("/nonexistent/x.json")) {
            XCTAssertEqual("\($0)", "/nonexistent/x.json: cannot read the config file")
        }
    }
}
