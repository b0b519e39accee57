import Executor
import Foundation
import M2MData
import M2MModel
import XCTest

/// The CPU-dispatched kernels give the same bits under every ISA this CPU runs: training
/// (weights, Adam moments, losses) in process, and inference across processes forced with
/// `M2MC_ISA`; a forced ISA the CPU lacks, or an unknown name, is a one-line error.
final class ISADeterminismTests: XCTestCase {
    static var available: [KernelISA] { KernelISA.allCases.filter(\.isSupported) }

    private func noticeMissingISAs() {
        let missing = KernelISA.allCases.filter { !$0.isSupported }
        if !missing.isEmpty {
            print("ISADeterminismTests: this CPU lacks \(missing); compared only \(Self.available)")
        }
    }

    func testTrainingIsBitIdenticalAcrossISAs() throws {
        noticeMissingISAs()
        let saved = KernelISA.active
        defer { KernelISA.select(saved) }
        for path in [TestSupport.tinyConfigPath, TestSupport.repoRoot.appendingPathComponent("configs/tiny-m2m.json").path] {
            var config = try ModelConfig.load(path)
            config.optimizer.lr = 1e-2
            let compiled = try CompiledModel.compile(config, rigor: .estimate, threads: 2)
            var results: [(isa: KernelISA, losses: [Float], state: [UInt8])] = []
            for isa in Self.available {
                XCTAssertTrue(KernelISA.select(isa))
                let runtime = try ModelRuntime(compiled, threads: 2)
                let losses = try DeterminismTests.train(runtime, steps: 4)
                results.append((isa, losses, TestSupport.persistentBytes(runtime.store)))
            }
            XCTAssertTrue(results[0].losses.allSatisfy(\.isFinite))
            for r in results.dropFirst() {
                XCTAssertEqual(r.losses.map(\.bitPattern), results[0].losses.map(\.bitPattern), "\(config.name): losses under \(r.isa)")
                XCTAssertTrue(r.state == results[0].state, "\(config.name): weights or moments differ under \(r.isa)")
            }
        }
    }

    func testInferenceIsByteIdenticalAcrossForcedISAs() throws {
        noticeMissingISAs()
        let dir = try TestSupport.temporaryDirectory(self)
        let model = dir.appendingPathComponent("a.m2m").path
        let input = dir.appendingPathComponent("x.npy").path
        XCTAssertEqual(try TestSupport.runM2MC(["compile", TestSupport.tinyConfigPath, "-o", model, "--fftw", "estimate"]).status, 0)
        let config = try TestSupport.tinyConfig()
        let shape = [2] + config.grid + [config.tIn]
        try Npy.write(TestSupport.randomValues(shape.reduce(1, *), seed: 9), shape: shape, to: input)
        var outputs: [Data] = []
        for isa in Self.available {
            let output = dir.appendingPathComponent("y-\(isa).npy").path
            let run = try TestSupport.runM2MC(["infer", model, "--input", input, "-o", output, "--rollout", "2"],
                                              environment: ["M2MC_ISA": isa.description])
            XCTAssertEqual(run.status, 0, run.stderr)
            outputs.append(try Data(contentsOf: URL(fileURLWithPath: output)))
        }
        XCTAssertFalse(outputs[0].isEmpty)
        for (isa, data) in zip(Self.available, outputs) {
            XCTAssertEqual(data, outputs[0], "inference under M2MC_ISA=\(isa) differs from \(Self.available[0])")
        }
    }

    func testForcedISAErrorsAreOneLine() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let model = dir.appendingPathComponent("a.m2m").path
        XCTAssertEqual(try TestSupport.runM2MC(["compile", TestSupport.tinyConfigPath, "-o", model, "--fftw", "estimate"]).status, 0)
        var forced = ["sse9"]
        if let missing = KernelISA.allCases.first(where: { !$0.isSupported }) { forced.append(missing.description) }
        for name in forced {
            let run = try TestSupport.runM2MC(["bench", model, "--steps", "1", "--warmup", "0", "--infer"],
                                              environment: ["M2MC_ISA": name])
            XCTAssertEqual(run.status, 1, "M2MC_ISA=\(name): \(run.stderr)")
            let lines = run.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, run.stderr)
            XCTAssertTrue(run.stderr.contains("M2MC_ISA=\(name)"), run.stderr)
        }
        // A supported one runs, and bench reports which variant ran.
        let run = try TestSupport.runM2MC(["bench", model, "--steps", "1", "--warmup", "0", "--infer", "--json"],
                                          environment: ["M2MC_ISA": "baseline"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("\"kernel_isa\" : \"baseline\""), run.stdout)
    }
}
