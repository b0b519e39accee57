import Foundation
import M2MData
import M2MModel
import XCTest

/// Hostile sizes and counts given to the real `m2mc` binary (issue 9, classes 1, 2 and 7):
/// every case exits 1 with exactly one stderr line naming the flag, key or file at fault,
/// never traps or aborts, and leaves every existing file as it was.
final class HostileInputTests: XCTestCase {
    static let intMax = String(Int.max)

    /// A folder with a compiled tiny model, a small ns data set, a run with one checkpoint,
    /// and a file already at every output path a case names.
    struct Fixture {
        let root: URL
        func path(_ name: String) -> String { root.appendingPathComponent(name).path }
        var model: String { path("tiny.m2m") }
        var data: String { path("data") }
        var run: String { path("run") }
        var checkpoint: String { path("run/last.safetensors") }
    }

    func makeFixture() throws -> Fixture {
        let fixture = Fixture(root: try TestSupport.temporaryDirectory(self))
        func run(_ arguments: [String]) throws {
            let r = try TestSupport.runM2MC(arguments)
            XCTAssertEqual(r.status, 0, "\(arguments): \(r.stderr)")
            if r.status != 0 { throw XCTSkip("fixture command failed") }
        }
        try run(["compile", TestSupport.tinyConfigPath, "-o", fixture.model, "--fftw", "estimate"])
        try run(["datagen", "ns", "-o", fixture.data, "--n", "6", "--res", "8", "--t", "6", "--solver-res", "16"])
        try run(["train", fixture.model, "--data", fixture.data, "-o", fixture.run, "--epochs", "1",
                 "--ntrain", "4", "--ntest", "2"])
        for name in ["out.npy", "out.m2m"] {
            try Data("existing \(name)\n".utf8).write(to: URL(fileURLWithPath: fixture.path(name)))
        }
        try FileManager.default.createDirectory(atPath: fixture.path("eval"), withIntermediateDirectories: true)
        return fixture
    }

    /// Every file under `root` with its contents (folders as empty entries).
    func snapshot(_ root: URL) throws -> [String: Data] {
        var result: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root.path)!
        while let relative = enumerator.nextObject() as? String {
            let full = root.appendingPathComponent(relative).path
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: full, isDirectory: &isDir)
            result[relative] = isDir.boolValue ? Data() : try Data(contentsOf: URL(fileURLWithPath: full))
        }
        return result
    }

    /// Runs m2mc with `arguments`; asserts exit `status`, exactly one stderr line starting
    /// "m2mc: error: " that contains every string of `naming`, and no change under `fixture.root`.
    func assertRefused(_ arguments: [String], naming: [String], status: Int32 = 1, in fixture: Fixture,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try snapshot(fixture.root)
        let run = try TestSupport.runM2MC(arguments)
        let label = arguments.joined(separator: " ")
        XCTAssertEqual(run.status, status, "\(label): \(run.stderr)", file: file, line: line)
        let lines = run.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 2, "\(label): exactly one stderr line, got \(run.stderr)", file: file, line: line)
        XCTAssertTrue(run.stderr.hasPrefix("m2mc: error: "), "\(label): \(run.stderr)", file: file, line: line)
        for word in naming {
            XCTAssertTrue(run.stderr.contains(word), "\(label): the error names \(word): \(run.stderr)", file: file, line: line)
        }
        let after = try snapshot(fixture.root)
        XCTAssertEqual(Set(after.keys), Set(before.keys), "\(label): no file created or removed", file: file, line: line)
        for (name, data) in before where after[name] != data {
            XCTFail("\(label): \(name) changed", file: file, line: line)
        }
    }

    /// A config file in the fixture: the tiny FNO (or M2M) config with `changes`
    /// (keys "m2m.KEY" go into the m2m object).
    func config(_ changes: [String: Any], m2m: Bool = false, in fixture: Fixture, name: String = "hostile.json") throws -> String {
        let base = TestSupport.repoRoot.appendingPathComponent(m2m ? "configs/tiny-m2m.json" : "configs/tiny-fno.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: base)) as! [String: Any]
        var inner = object["m2m"] as? [String: Any] ?? [:]
        for (key, value) in changes {
            if key.hasPrefix("m2m.") { inner[String(key.dropFirst(4))] = value } else { object[key] = value }
        }
        if m2m { object["m2m"] = inner }
        let path = fixture.path(name)
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        return path
    }

    // MARK: Configs (classes 1, 2 and 7)

    func testConfigSizesAreBounded() throws {
        let fixture = try makeFixture()
        let huge = 1 << 62
        let cases: [([String: Any], Bool, [String])] = [
            (["batch": huge], false, ["'batch'"]),
            (["batch": 1_000_000_000], false, ["'batch'", "per tensor"]),
            (["batch": Int.max], false, ["'batch'"]),
            (["grid": [1 << 32, 1 << 32]], false, ["'grid'"]),
            (["grid": [huge, huge]], false, ["'grid'"]),
            (["width": huge], false, ["'width'"]),
            (["width": 30_000_000], false, ["'width'", "'modes'"]),
            (["projection_hidden": 1_000_000_000], false, ["'projection_hidden'"]),
            (["projection_hidden": huge], false, ["'projection_hidden'"]),
            (["modes": [huge, 2]], false, ["'modes'"]),
            (["layers": 10_000], false, ["'layers'"]),
            (["layers": huge], false, ["'layers'"]),
            (["t_in": Int.max], false, ["'t_in'"]),
            (["t_out": 3000, "rollout_train": 3000], false, ["'t_out'"]),
            (["t_out": 100, "rollout_train": 100, "layers": 8], false, ["'layers'", "'rollout_train'"]),
            (["epochs": Int.max], false, ["'epochs'"]),
            (["batch": huge], true, ["'batch'"]),
            (["m2m.expert_widths": [4, huge]], true, ["'m2m.expert_widths'"]),
            (["m2m.expert_widths": [4, 30_000_000]], true, ["'m2m.expert_widths'"]),
            (["m2m.expert_modes": Array(repeating: 1, count: 70), "m2m.expert_widths": Array(repeating: 4, count: 70)],
             true, ["'m2m.expert_modes'"]),
            (["m2m.capacity_factor": 1e300], true, ["'m2m.capacity_factor'"]),
            (["m2m.scale": huge], true, ["'m2m.scale'"]),
            (["m2m.halo": huge], true, ["'m2m.halo'"]),
            (["m2m.router_hidden": huge], true, ["'m2m.router_hidden'"]),
            (["m2m.k": huge], true, ["'m2m.k'"]),
            (["m2m.global_expert": true, "m2m.global_width": huge], true, ["'m2m.global_width'"]),
            (["layers": 8, "t_out": 8, "rollout_train": 8, "m2m.expert_modes": Array(repeating: 1, count: 9),
              "m2m.expert_widths": Array(repeating: 4, count: 9)], true, ["'layers'", "'rollout_train'", "experts"]),
        ]
        for (changes, m2m, naming) in cases {
            let path = try config(changes, m2m: m2m, in: fixture)
            // Onto an existing file: it must stay as it was.
            try assertRefused(["compile", path, "-o", fixture.path("out.m2m"), "--fftw", "estimate"],
                              naming: [path] + naming, in: fixture)
            // bench compiles a config on the fly: the same checks.
            if changes["batch"] != nil {
                try assertRefused(["bench", path, "--steps", "1", "--warmup", "0", "--fftw", "estimate"],
                                  naming: [path] + naming, in: fixture)
            }
        }
    }

    /// Sizes that fit every tensor bound but not in physical memory: refused at compile time,
    /// before FFT planning, with the sizes compared.
    func testModelLargerThanPhysicalMemoryIsRefused() throws {
        guard SystemResources.physicalMemoryBytes < 3_000_000_000_000 else {
            throw XCTSkip("this machine has more than 3 TB of memory")
        }
        let fixture = try makeFixture()
        // About 9.4 TB and 3.5 TB of training arena, each tensor within the 1 TiB bound.
        let fno = try config(["batch": 2048, "grid": [64, 64], "width": 16384, "modes": [1, 1], "t_out": 3,
                              "rollout_train": 3], in: fixture)
        let m2m = try config(["batch": 28000, "grid": [64, 64], "rollout_train": 3, "m2m.expert_widths": [1024, 1024]],
                             m2m: true, in: fixture, name: "hostile-m2m.json")
        for path in [fno, m2m] {
            try assertRefused(["compile", path, "-o", fixture.path("out.m2m"), "--fftw", "estimate"],
                              naming: [path, "physical memory", "arena"], in: fixture)
        }
    }

    /// A plan file whose stored arena or persistent size exceeds physical memory is refused when
    /// loaded, before anything is rebuilt or allocated, by every command that loads it.
    func testPlanLargerThanPhysicalMemoryIsRefusedOnLoad() throws {
        let fixture = try makeFixture()
        let arena = fixture.path("arena.m2m"), persistent = fixture.path("persistent.m2m")
        var model = try CompiledModel.load(fixture.model)
        model.programs[1].plan.arenas[0].arenaBytes = 1 << 40
        try model.write(to: arena)
        model = try CompiledModel.load(fixture.model)
        model.persistent.blockBytes[0] = 1 << 40
        try model.write(to: persistent)
        for plan in [arena, persistent] {
            try assertRefused(["inspect", plan], naming: [plan, "physical memory"], in: fixture)
            try assertRefused(["infer", plan, "--input", fixture.path("data/a.npy"), "-o", fixture.path("out.npy")],
                              naming: [plan, "physical memory"], in: fixture)
            try assertRefused(["train", plan, "--data", fixture.data, "-o", fixture.path("run2")],
                              naming: [plan, "physical memory"], in: fixture)
            try assertRefused(["eval", plan, "--data", fixture.data, "-o", fixture.path("eval")],
                              naming: [plan, "physical memory"], in: fixture)
        }
    }

    // MARK: Command-line counts (classes 1, 2 and 7)

    func testTrainEvalInferBenchCounts() throws {
        let fixture = try makeFixture()
        let m = fixture.model, d = fixture.data, max = Self.intMax
        let cases: [([String], [String])] = [
            (["train", m, "--data", d, "-o", fixture.path("run2"), "--epochs", max], ["--epochs"]),
            (["train", m, "--data", d, "-o", fixture.path("run2"), "--epochs", "1000001"], ["--epochs"]),
            (["train", m, "--data", d, "-o", fixture.path("run2"), "--ntrain", max], ["--ntrain"]),
            (["train", m, "--data", d, "-o", fixture.path("run2"), "--ntest", max], ["--ntest"]),
            (["train", m, "--data", d, "-o", fixture.path("run2"), "--ntrain", max, "--ntest", max], ["--ntrain"]),
            (["train", m, "--data", d, "-o", fixture.path("run2"), "--threads", "100000"], ["--threads"]),
            (["train", m, "--data", d, "-o", fixture.path("run2"), "--threads", max], ["--threads"]),
            // The config's ntrain (4) and ntest (2) are fine, the data set's 6 samples are not enough for these.
            (["train", m, "--data", d, "-o", fixture.run, "--resume", fixture.checkpoint, "--ntrain", "7"], ["--ntrain"]),
            (["eval", m, "--data", d, "-o", fixture.path("eval"), "--ntest", max], ["--ntest"]),
            (["eval", m, "--data", d, "-o", fixture.path("eval"), "--threads", "100000"], ["--threads"]),
            (["infer", m, "--input", fixture.path("data/a.npy"), "-o", fixture.path("out.npy"), "--rollout",
              "1000000000000"], ["--rollout"]),
            (["infer", m, "--input", fixture.path("data/a.npy"), "-o", fixture.path("out.npy"), "--rollout", max],
             ["--rollout"]),
            (["infer", m, "--input", fixture.path("data/a.npy"), "-o", fixture.path("out.npy"), "--threads",
              "100000"], ["--threads"]),
            (["bench", m, "--steps", max], ["--steps"]),
            (["bench", m, "--warmup", max], ["--warmup"]),
            (["bench", m, "--threads", "100000"], ["--threads"]),
            (["compile", TestSupport.tinyConfigPath, "-o", fixture.path("out.m2m"), "--threads", "100000"], ["--threads"]),
        ]
        for (arguments, naming) in cases { try assertRefused(arguments, naming: naming, in: fixture) }

        // A plan whose config asks for more samples than the data set has: the key is named.
        let greedy = fixture.path("greedy.m2m")
        let compiled = try TestSupport.runM2MC(["compile", try config(["ntrain": Int.max, "ntest": Int.max], in: fixture),
                                                "-o", greedy, "--fftw", "estimate"])
        XCTAssertEqual(compiled.status, 0, compiled.stderr)
        try assertRefused(["train", greedy, "--data", d, "-o", fixture.path("run2")], naming: [greedy, "'ntrain'"], in: fixture)
        try assertRefused(["eval", greedy, "--data", d, "-o", fixture.path("eval")], naming: [greedy, "'ntest'"], in: fixture)
    }

    func testDatagenSizes() throws {
        let fixture = try makeFixture()
        let d = fixture.data, max = Self.intMax, huge = String(1 << 62)
        let cases: [([String], [String])] = [
            (["datagen", "ns", "-o", d, "--n", max], ["--n"]),
            (["datagen", "ns", "-o", d, "--n", "100000000000"], ["--n", "physical memory"]),
            (["datagen", "ns", "-o", d, "--res", String(1 << 32)], ["--res"]),
            (["datagen", "ns", "-o", d, "--res", huge], ["--res"]),
            (["datagen", "ns", "-o", d, "--t", max], ["--t"]),
            (["datagen", "ns", "-o", d, "--dt", "1e-12"], ["--dt"]),
            (["datagen", "ns", "-o", d, "--interval", "1e300"], ["--interval"]),
            (["datagen", "ns", "-o", d, "--res", "64", "--solver-res", huge], ["--solver-res"]),
            (["datagen", "ns", "-o", d, "--threads", "100000"], ["--threads"]),
            (["datagen", "mscale", "-o", d, "--n", "100000000000"], ["--n"]),
            (["datagen", "mscale", "-o", d, "--res", huge], ["--res"]),
            (["datagen", "mscale", "-o", d, "--bumps", "1000000000"], ["--bumps"]),
            (["datagen", "cno-poisson", "-o", d, "--modes", "1000000000"], ["--modes"]),
            (["datagen", "cno-poisson", "-o", d, "--res", "1000000000000"], ["--res"]),
            // A folder that does not exist yet is not created either.
            (["datagen", "ns", "-o", fixture.path("new-data"), "--n", max], ["--n"]),
        ]
        for (arguments, naming) in cases { try assertRefused(arguments, naming: naming, in: fixture) }
    }

    // MARK: Outputs onto inputs (class 4)

    /// No command writes its output over one of its inputs: the config, the plan, the weights,
    /// the input array (also through another spelling of the path).
    func testOutputsNeverReplaceInputs() throws {
        let fixture = try makeFixture()
        let config = try config([:], in: fixture, name: "config.json")
        let input = fixture.path("data/a.npy")
        let cases: [([String], [String])] = [
            (["compile", config, "-o", config, "--fftw", "estimate"], ["-o " + config, "the config file"]),
            (["compile", config, "-o", fixture.root.path + "/./config.json", "--fftw", "estimate"], ["the config file"]),
            (["infer", fixture.model, "--input", input, "-o", fixture.model], ["the model file"]),
            (["infer", fixture.model, "--weights", fixture.checkpoint, "--input", input, "-o", fixture.checkpoint],
             ["--weights file"]),
            (["infer", fixture.model, "--input", input, "-o", fixture.path("data/../data/a.npy")], ["--input file"]),
        ]
        for (arguments, naming) in cases { try assertRefused(arguments, naming: naming, in: fixture) }
    }

    // MARK: Checkpoint counters (class 1)

    /// Rewrites the fixture's checkpoint with `changes` to its metadata.
    func forgedCheckpoint(_ changes: [String: String], in fixture: Fixture, name: String) throws -> String {
        let (tensors, metadata) = try SafeTensors.read(fixture.checkpoint)
        let path = fixture.path(name)
        let names = tensors.keys.sorted()
        var pointers: [(name: String, shape: [Int], data: UnsafeBufferPointer<Float>)] = []
        var storage: [UnsafeMutableBufferPointer<Float>] = []
        defer { for s in storage { s.deallocate() } }
        for n in names {
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: tensors[n]!.values.count)
            _ = buffer.initialize(from: tensors[n]!.values)
            storage.append(buffer)
            pointers.append((n, tensors[n]!.shape, UnsafeBufferPointer(buffer)))
        }
        try SafeTensors.write(pointers, metadata: metadata.merging(changes) { _, new in new }, to: path)
        return path
    }

    func testResumeFromCheckpointWithAbsurdCounters() throws {
        let fixture = try makeFixture()
        let cases: [([String: String], String)] = [
            (["epoch": "-1"], "'epoch'"),
            (["epoch": Self.intMax], "'epoch'"),
            (["step": Self.intMax], "'step'"),
            (["step": "-5"], "'step'"),
        ]
        for (i, (changes, key)) in cases.enumerated() {
            let checkpoint = try forgedCheckpoint(changes, in: fixture, name: "forged\(i).safetensors")
            try assertRefused(["train", fixture.model, "--data", fixture.data, "-o", fixture.run, "--epochs", "3",
                               "--resume", checkpoint, "--ntrain", "4", "--ntest", "2"],
                              naming: [checkpoint, key], in: fixture)
        }
    }
}
