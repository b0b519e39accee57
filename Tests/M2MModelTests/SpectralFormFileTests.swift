import Foundation
import M2MModel
@testable import Planner
import XCTest

/// The per-transform spectral form stored in the `.m2m` file: round trips, old files,
/// tampered choices, and training that is bit-identical wherever the stored form runs.
final class SpectralFormFileTests: XCTestCase {
    func payload(_ model: CompiledModel) throws -> [String: Any] {
        let data = [UInt8](try model.serialized())
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(data[28...])) as? [String: Any])
    }

    /// A file around a JSON payload with a correct header.
    func file(_ payload: [String: Any]) throws -> Data {
        let body = [UInt8](try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys]))
        var bytes = Array("M2MCPLAN".utf8)
        withUnsafeBytes(of: CompiledModel.formatVersion.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt64(body.count).littleEndian) { bytes += $0 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in body { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        withUnsafeBytes(of: hash.littleEndian) { bytes += $0 }
        return Data(bytes + body)
    }

    func decodeError(_ data: Data) -> String {
        do { _ = try CompiledModel.decode(data, source: "bad.m2m"); XCTFail("decoding succeeded"); return "" } catch {
            return "\(error)"
        }
    }

    /// auto under measure times both forms of each transform, and the choice and its
    /// timings survive save and load; the loaded model binds from wisdom only.
    func testAutoChoiceRoundTripsThroughTheFile() throws {
        let model = try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .measure, threads: 2)
        let transforms = Set(model.programs.flatMap { ProgramPlanner.spectralTransforms($0.graph) })
        XCTAssertEqual(model.spectral.mode, .auto)
        XCTAssertEqual(Set(model.spectral.choices.map(\.transform)), transforms)
        XCTAssertEqual(model.spectral.choices.count, 2, "tiny-fno: one geometry, forward and inverse")
        for c in model.spectral.choices {
            let (f, g) = (try XCTUnwrap(c.fftwSeconds), try XCTUnwrap(c.gemmSeconds))
            XCTAssertEqual(c.form, g < f ? .gemm : .fftw, "the faster form is kept for \(c.transform)")
        }
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("auto.m2m").path
        try model.write(to: path)
        let loaded = try CompiledModel.load(path)
        XCTAssertEqual(loaded.spectral, model.spectral)
        let runtime = try ModelRuntime(loaded, threads: 2)
        XCTAssertNoThrow(try runtime.program(CompiledModel.trainingName))
    }

    /// Forcing a form: every transform gets it, nothing is timed, it round-trips, and
    /// `estimate` (which measures nothing) keeps auto on FFTW.
    func testForcedFormsAndEstimate() throws {
        for mode in [SpectralTransformMode.fftw, .gemm] {
            let model = try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .measure, threads: 2,
                                                  spectralMode: mode)
            XCTAssertEqual(model.spectral.mode, mode)
            XCTAssertEqual(Set(model.spectral.choices.map(\.form)), [mode == .gemm ? .gemm : .fftw])
            XCTAssertTrue(model.spectral.choices.allSatisfy { $0.fftwSeconds == nil && $0.gemmSeconds == nil })
            let loaded = try CompiledModel.decode(try model.serialized(), source: "mem")
            XCTAssertEqual(loaded.spectral, model.spectral)
            // A forced-GEMM plan has planned no FFTW transform and still binds from wisdom only.
            XCTAssertNoThrow(try ModelRuntime(loaded, threads: 2).program(CompiledModel.inferenceName))
        }
        let estimate = try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .estimate, threads: 2)
        XCTAssertEqual(estimate.spectral.mode, .fftw)
    }

    /// Files written before the field existed load with FFTW everywhere (what they ran).
    func testOldFilesLoadAsFFTW() throws {
        let model = try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .estimate, threads: 2,
                                              spectralMode: .gemm)
        var p = try payload(model)
        XCTAssertNotNil(p.removeValue(forKey: "spectralTransform"))
        let old = try CompiledModel.decode(try file(p), source: "old.m2m")
        XCTAssertEqual(old.spectral.mode, .fftw)
        XCTAssertEqual(old.spectral.choices.map(\.transform), model.spectral.choices.map(\.transform))
        XCTAssertEqual(Set(old.spectral.choices.map(\.form)), [.fftw])
    }

    /// An old file whose arena plan no longer matches (the GEMM form grew a spectral
    /// workspace) is refused with a message that says to recompile.
    func testOldFileWithChangedPlanSaysRecompile() throws {
        let model = try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .estimate, threads: 2)
        var p = try payload(model)
        p.removeValue(forKey: "spectralTransform")
        var programs = p["programs"] as! [[String: Any]]
        var plan = programs[1]["plan"] as! [String: Any]
        var arenas = plan["arenas"] as! [[String: Any]]
        arenas[0]["lowerBoundBytes"] = (arenas[0]["lowerBoundBytes"] as! Int) - 64
        plan["arenas"] = arenas
        programs[1]["plan"] = plan
        p["programs"] = programs
        let message = decodeError(try file(p))
        XCTAssertTrue(message.contains("program 'train': the stored arena plan does not match its graph (written "
                                       + "before the GEMM spectral form: recompile the model)"), message)
    }

    /// A file written before sample chains (its plans have no `chains`) is refused the
    /// same way: chains extend liveness, so its arena offsets may overlap a chain's buffers.
    func testFileWithoutSampleChainsSaysRecompile() throws {
        let model = try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .estimate, threads: 2)
        var p = try payload(model)
        var programs = p["programs"] as! [[String: Any]]
        for i in programs.indices {
            var plan = programs[i]["plan"] as! [String: Any]
            XCTAssertNotNil(plan.removeValue(forKey: "chains"))
            programs[i]["plan"] = plan
        }
        p["programs"] = programs
        let message = decodeError(try file(p))
        XCTAssertTrue(message.contains("program 'infer': the stored arena plan does not match its graph (written "
                                       + "before sample chains: recompile the model)"), message)
    }

    /// A file whose buffers alone sit elsewhere (an arena planner before the skyline dives
    /// placed some programs' buffers differently) is refused with a message naming that cause.
    func testFileFromAnOlderArenaPlannerSaysRecompile() throws {
        let model = try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .estimate, threads: 2)
        var p = try payload(model)
        var programs = p["programs"] as! [[String: Any]]
        var plan = programs[1]["plan"] as! [String: Any]
        // The greedy schedule-order layout of the same buffers: valid, but not what the planner derives.
        let requests = model.training.plan.buffers
        let layout = ArenaPlanner.place(requests, order: ArenaPlanner.sortedByFirstUse(requests), strategy: "greedy-by-first-use")
        XCTAssertNotEqual(layout.offsets, model.training.plan.offsets)
        var arenas = plan["arenas"] as! [[String: Any]]
        (arenas[0]["arenaBytes"], arenas[0]["strategy"]) = (layout.arenaBytes, layout.strategy)
        (plan["offsets"], plan["arenas"]) = (layout.offsets, arenas)
        programs[1]["plan"] = plan
        p["programs"] = programs
        let message = decodeError(try file(p))
        XCTAssertTrue(message.contains("program 'train': the stored arena plan does not match its graph (its buffers "
                                       + "were placed by an older arena planner: recompile the model)"), message)
    }

    func testTamperedChoicesAreRefused() throws {
        let model = try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .estimate, threads: 2,
                                              spectralMode: .gemm)
        let p = try payload(model)
        func edited(_ edit: (inout [[String: Any]], inout [String: Any]) -> Void) throws -> Data {
            var q = p, spectral = p["spectralTransform"] as! [String: Any]
            var choices = spectral["choices"] as! [[String: Any]]
            edit(&choices, &spectral)
            spectral["choices"] = choices
            q["spectralTransform"] = spectral
            return try file(q)
        }
        var message = decodeError(try edited { c, _ in c.removeLast() })
        XCTAssertTrue(message.contains("spectral_transform choices cover 1 transforms, the programs execute 2"), message)
        message = decodeError(try edited { c, _ in c[0]["form"] = "fftw" })
        XCTAssertTrue(message.contains("spectral_transform mode 'gemm' with form 'fftw'"), message)
        message = decodeError(try edited { c, _ in
            var t = c[0]["transform"] as! [String: Any], g = t["geometry"] as! [String: Any]
            g["channels"] = 999; t["geometry"] = g; c[0]["transform"] = t
        })
        XCTAssertTrue(message.contains("spectral_transform choices"), message)
        message = decodeError(try edited { c, _ in c[0]["gemmSeconds"] = -1 })
        XCTAssertTrue(message.contains("is not a duration"), message)
        XCTAssertFalse(message.contains("\n"))
    }

    /// Training in the GEMM form is bit-identical across fresh runtimes, thread counts and
    /// a save/load of the plan, and close to the FFTW form's (the same maps, rounded differently).
    func testGEMMTrainingIsBitIdenticalAndAgreesWithFFTW() throws {
        var config = try TestSupport.tinyConfig()
        config.optimizer.lr = 1e-2
        let gemm = try CompiledModel.compile(config, rigor: .estimate, threads: 2, spectralMode: .gemm)
        let reloaded = try CompiledModel.decode(try gemm.serialized(), source: "mem")
        var results: [(losses: [Float], state: [UInt8])] = []
        for (model, threads) in [(gemm, 1), (gemm, 2), (gemm, 3), (reloaded, 2)] {
            let runtime = try ModelRuntime(model, threads: threads)
            results.append((try DeterminismTests.train(runtime, steps: 4), TestSupport.persistentBytes(runtime.store)))
        }
        for r in results.dropFirst() {
            XCTAssertEqual(r.losses.map(\.bitPattern), results[0].losses.map(\.bitPattern))
            XCTAssertTrue(r.state == results[0].state, "weights and Adam moments bit-identical")
        }
        let fftw = try CompiledModel.compile(config, rigor: .estimate, threads: 2, spectralMode: .fftw)
        let losses = try DeterminismTests.train(try ModelRuntime(fftw, threads: 2), steps: 4)
        for (a, b) in zip(losses, results[0].losses) {
            XCTAssertEqual(Double(a), Double(b), accuracy: 1e-4 * Double(abs(a)), "FFTW and GEMM forms agree")
        }
    }
}
