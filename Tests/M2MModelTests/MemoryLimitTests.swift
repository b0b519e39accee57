import Executor
import Foundation
import GraphIR
import M2MData
import M2MModel
import Planner
import XCTest

/// `memory_limit` / `--memory-limit`: the training program fitted to a budget by recomputation
/// (`RecomputePlanner`, `Graph.recomputing`) on tiny-fno and tiny-m2m at rollout 3. The plans fit
/// and sit at their own liveness bound, cheap values come before whole steps, an unreachable limit
/// names the smallest feasible one, and training gives the same bits with and without a limit,
/// across resume too, with no allocation per step.
final class MemoryLimitTests: XCTestCase, TinyTrainingRuns {
    /// tiny-fno at rollout 3 (t_out: two steps that can be checkpointed), tiny-m2m at its rollout 2
    /// (one: its plans take seconds in a debug build).
    static func config(_ name: String, limit: Int? = nil) throws -> ModelConfig {
        var c = try ModelConfig.load(TestSupport.repoRoot.appendingPathComponent("configs/\(name).json").path)
        if name == "tiny-fno" { c.rolloutTrain = 3 }
        c.memoryLimit = limit
        return c
    }
    /// The rollout steps a plan at the smallest limit re-runs: every one but the last.
    static func allButLast(_ name: String) throws -> [Int] { Array(0..<(try config(name).rolloutTrain - 1)) }

    /// Compiled models by config name and limit, once per process (planning dominates in debug builds).
    nonisolated(unsafe) static var cache: [String: CompiledModel] = [:]
    static func compiled(_ name: String, limit: Int?) throws -> CompiledModel {
        // tiny-m2m without a limit is M2MModelTests' model (its config unchanged): compiled once.
        if name == "tiny-m2m" && limit == nil { return try M2MModelTests.compiled() }
        let key = "\(name) \(limit.map(String.init) ?? "none")"
        if let c = cache[key] { return c }
        let c = try CompiledModel.compile(try config(name, limit: limit), rigor: .estimate, threads: 2)
        cache[key] = c
        return c
    }
    static func compiled() throws -> CompiledModel { try compiled("tiny-fno", limit: nil) }

    /// The smallest limit the planner can meet for `name` (from the error of an impossible one).
    nonisolated(unsafe) static var smallest: [String: Int] = [:]
    static func smallestLimit(_ name: String) throws -> Int {
        if let s = smallest[name] { return s }
        do {
            _ = try Programs.trainingProgram(try config(name, limit: 1))
        } catch let e as MemoryLimitError {
            smallest[name] = e.smallestLimitBytes
            return e.smallestLimitBytes
        }
        XCTFail("a 1-byte limit was met")
        return 0
    }

    var folder: String!

    override func setUpWithError() throws {
        folder = try TestSupport.temporaryDirectory(self).path
    }

    // MARK: Byte counts and the config key

    func testByteCountsAndTheConfigKey() throws {
        let good: [(String, Int)] = [("1500000000", 1_500_000_000), ("1.5G", 1_500_000_000), ("800M", 800_000_000),
                                     ("800m", 800_000_000), ("64k", 64_000), ("2GiB", 2 << 30), ("1.5Gi", 3 << 29),
                                     ("0.5KiB", 512), ("3T", 3_000_000_000_000), ("1.", 1), (".5k", 500), ("12B", 12),
                                     ("1.0000001G", 1_000_000_100)]
        for (text, bytes) in good { XCTAssertEqual(ByteCount.parse(text), bytes, text) }
        for text in ["", "G", "1.5X", "-1G", "1e9", "1.5 G", "1..5", ".", "i", "1iB", "99999999999999T", "1.5Mk"] {
            XCTAssertNil(ByteCount.parse(text), text)
        }

        let path = TestSupport.repoRoot.appendingPathComponent("configs/tiny-fno.json").path
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: try XCTUnwrap(FileManager.default.contents(atPath: path))) as? [String: Any])
        func parse(_ value: Any) throws -> ModelConfig {
            object["memory_limit"] = value
            return try ModelConfig.parse(try JSONSerialization.data(withJSONObject: object), source: "c.json")
        }
        XCTAssertEqual(try parse("1.5G").memoryLimit, 1_500_000_000)
        XCTAssertEqual(try parse(123_456).memoryLimit, 123_456)
        XCTAssertNil(try parse(NSNull()).memoryLimit)
        for (value, why) in [("1.5X", "is not an integer number of bytes"), (0, "must be at least 1 byte"),
                             (true, "has the wrong type")] as [(Any, String)] {
            XCTAssertThrowsError(try parse(value), "\(value)") { error in
                let line = "\(error)"
                XCTAssertTrue(line.hasPrefix("c.json: key 'memory_limit'"), line)
                XCTAssertTrue(line.contains(why), line)
                XCTAssertFalse(line.contains("\n"), line)
            }
        }
        // Stored as an integer in the canonical config; absent without a limit.
        let limited = try parse("2k")
        let text = String(decoding: limited.canonicalJSON(), as: UTF8.self)
        XCTAssertTrue(text.contains("\"memory_limit\" : 2000"), text)
        XCTAssertEqual(try ModelConfig.parse(limited.canonicalJSON(), source: "canonical"), limited)
        XCTAssertFalse(String(decoding: try ModelConfig.load(path).canonicalJSON(), as: UTF8.self).contains("memory_limit"))
    }

    // MARK: The plans

    /// tiny-fno: no recomputation above the plain arena, cheap values only just below it, whole
    /// steps down to the smallest limit, an error below; every plan fits its limit and is verified.
    /// The arena planner (unchanged) lands at each rewritten graph's liveness bound.
    func testLimitedPlansFitAtTheirLivenessBound() throws {
        let name = "tiny-fno"
        let plain = try Programs.training(try Self.config(name))
        let plainArena = try ProgramPlanner.plan(plain).arenaBytes
        let persistent = try PersistentLayout([plain]).totalBytes
        let smallest = try Self.smallestLimit(name)
        XCTAssertLessThan(smallest, plainArena + persistent)

        // Enough memory: the plain graph.
        let roomy = try Programs.trainingProgram(try Self.config(name, limit: plainArena + persistent))
        XCTAssertEqual(roomy.graph, plain)
        XCTAssertEqual(roomy.recompute?.recomputes, false)

        for limit in [plainArena + persistent - 1, (smallest + plainArena + persistent) / 2, smallest] {
            let (graph, report) = try Programs.trainingProgram(try Self.config(name, limit: limit))
            let r = try XCTUnwrap(report)
            try graph.verify()
            let bound = ArenaPlanner.lowerBound(ProgramPlanner.bufferRequests(graph, kernels: KernelTable()).buffers)
            XCTAssertLessThanOrEqual(r.arenaBytes + persistent, limit, "limit \(limit)")
            XCTAssertGreaterThanOrEqual(r.arenaBytes, bound)
            XCTAssertEqual(r.arenaBytes, bound, "limit \(limit): arena above its bound")
            XCTAssertGreaterThan(graph.nodes.count, plain.nodes.count, "limit \(limit): nothing recomputed")
            // The copies duplicate forward ops only: the backward and optimizer ops are the plain graph's.
            func count(_ g: Graph, _ kinds: Set<OpKind>) -> Int { g.nodes.filter { kinds.contains($0.op.kind) }.count }
            XCTAssertEqual(count(graph, [.backward, .optimizer]), count(plain, [.backward, .optimizer]))
            if limit == plainArena + persistent - 1 {
                // Just below the plain arena: cheap values suffice, no step is re-run, no analytic FLOP added.
                XCTAssertEqual(r.checkpointedSteps, [])
                XCTAssertFalse(r.cheapOps.isEmpty)
                XCTAssertEqual(r.extraFLOPs, 0)
            }
            if limit == smallest {
                XCTAssertEqual(r.checkpointedSteps, [0, 1])
                XCTAssertGreaterThan(r.extraFLOPs, 0)
                XCTAssertEqual(r.flops, graph.analyticFLOPs)
                XCTAssertEqual(r.extraFLOPsPercent, 100 * (graph.analyticFLOPs - plain.analyticFLOPs) / plain.analyticFLOPs,
                               accuracy: 1e-9)
            }
        }
        // One byte less is refused with one line naming the key and the smallest feasible limit.
        XCTAssertThrowsError(try CompiledModel.compile(try Self.config(name, limit: smallest - 1), rigor: .estimate,
                                                       threads: 2, source: "c.json")) { error in
            let line = "\(error)"
            XCTAssertTrue(line.hasPrefix("c.json: key 'memory_limit' "), line)
            XCTAssertTrue(line.contains("the smallest feasible limit is " + SystemResources.describe(bytes: smallest)), line)
            XCTAssertFalse(line.contains("\n"), line)
        }
    }

    /// tiny-m2m's rewritten graphs (buffers of a few hundred bytes, where the greedy orders end
    /// up to 3% above the bound) plan at their own liveness bound too, from the smallest limit
    /// to one just below the plain arena.
    func testLimitedM2MPlansLandAtTheirLivenessBound() throws {
        let name = "tiny-m2m"
        let plain = try Programs.training(try Self.config(name))
        let top = try ProgramPlanner.plan(plain).arenaBytes + (try PersistentLayout([plain]).totalBytes)
        let smallest = try Self.smallestLimit(name)
        for limit in [smallest, smallest + (top - smallest) / 3, smallest + 2 * (top - smallest) / 3, top - 1] {
            let (graph, report) = try Programs.trainingProgram(try Self.config(name, limit: limit))
            let plan = try ProgramPlanner.plan(graph)
            XCTAssertEqual(try XCTUnwrap(report).arenaBytes, plan.arenaBytes, "limit \(limit)")
            XCTAssertEqual(plan.arenaBytes, plan.lowerBoundBytes, "limit \(limit): \(plan.arenas[0].strategy)")
        }
    }

    // MARK: Same bits

    func trainer(_ run: String, _ compiled: CompiledModel, data: Dataset, threads: Int = 2) throws -> Trainer {
        let t = try Trainer(runtime: try ModelRuntime(compiled, threads: threads), data: data, ntrain: 4, ntest: 2,
                            runDirectory: folder + "/" + run)
        t.checkpointEvery = 2
        return t
    }

    /// Trains `name` without a limit and at its smallest limit (every step but the last re-run),
    /// also resuming the limited run from its own and (`mixed`) from the plain run's half-way
    /// checkpoint: the checkpoints and metrics are the same bytes.
    func checkTrainingBits(_ name: String, mixed: Bool) throws {
        let data = try writeNSData()
        let epochs = 2
        let plain = try Self.compiled(name, limit: nil)
        let limited = try Self.compiled(name, limit: try Self.smallestLimit(name))
        XCTAssertEqual(limited.memoryLimit?.checkpointedSteps, try Self.allButLast(name))
        XCTAssertLessThan(limited.training.plan.arenaBytes, plain.training.plan.arenaBytes)
        XCTAssertLessThanOrEqual(limited.training.plan.arenaBytes + limited.persistent.totalBytes,
                                 try XCTUnwrap(limited.config.memoryLimit))
        try trainer("plain", plain, data: data).run(epochs: epochs)
        try trainer("limited", limited, data: data, threads: 3).run(epochs: epochs)
        for (run, first) in [("resumed", limited)] + (mixed ? [("mixed", plain)] : []) {
            try trainer(run, first, data: data).run(epochs: epochs / 2)
            let resumed = try trainer(run, limited, data: data)
            try resumed.resume(from: folder + "/\(run)/last.safetensors")
            try resumed.run(epochs: epochs)
        }
        let expected = try bytes("plain/last.safetensors")
        for run in ["limited", "resumed"] + (mixed ? ["mixed"] : []) {
            XCTAssertTrue(try bytes(run + "/last.safetensors") == expected, "\(name) \(run): final checkpoint differs")
            XCTAssertEqual(try metricsWithoutSeconds(run), try metricsWithoutSeconds("plain"), "\(name) \(run)")
        }
        let initial = try ModelRuntime(plain, threads: 1), trained = try ModelRuntime(plain, threads: 1)
        _ = try trained.load(from: folder + "/plain/last.safetensors", includeOptimizer: false)
        XCTAssertFalse(TestSupport.persistentBytes(trained.store) == TestSupport.persistentBytes(initial.store),
                       "\(name): training changed nothing")
    }

    func testFNOTrainingIsBitIdenticalWithAndWithoutALimitAndAcrossResume() throws {
        try checkTrainingBits("tiny-fno", mixed: true)
    }

    func testM2MTrainingIsBitIdenticalWithAndWithoutALimitAndAcrossResume() throws {
        try checkTrainingBits("tiny-m2m", mixed: false)
    }

    // MARK: No allocation, and the plan file

    func testLimitedTrainingStepAllocatesNothingAndThePlanFileRoundTrips() throws {
        let compiled = try Self.compiled("tiny-fno", limit: try Self.smallestLimit("tiny-fno"))
        let path = folder + "/limited.m2m"
        try compiled.write(to: path)
        let loaded = try CompiledModel.load(path)
        XCTAssertEqual(loaded.training, compiled.training)
        XCTAssertEqual(loaded.memoryLimit, compiled.memoryLimit)
        XCTAssertEqual(loaded.config.memoryLimit, compiled.config.memoryLimit)
        XCTAssertEqual(try loaded.arenaBytesWithoutLimit(), try Self.compiled("tiny-fno", limit: nil).training.plan.arenaBytes)
        XCTAssertNil(try Self.compiled("tiny-fno", limit: nil).arenaBytesWithoutLimit())

        try AllocationTests.requireCounter()
        let r = try ModelRuntime(loaded, threads: 2)
        let program = try r.program(CompiledModel.trainingName)
        let c = r.config
        let pixels = c.batch * c.grid[0] * c.grid[1]
        program.buffer(Programs.input)!.update(from: TestSupport.randomValues(pixels * c.tIn, seed: 1), count: pixels * c.tIn)
        program.buffer(Programs.target)!.update(from: TestSupport.randomValues(pixels * 3, seed: 2), count: pixels * 3)
        let s = program.buffer(Programs.optimizerScalars)!
        s[0] = 1e-3
        for k in 1...2 { s[1] = Float(k); program.run() }
        XCTAssertEqual(AllocationTests.allocations { for k in 3...5 { s[1] = Float(k); program.run() } }, 0)
        XCTAssertTrue(program.buffer(Programs.loss)![0].isFinite)
    }

    // MARK: The command line

    func testCompileFlagInspectAndErrors() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        // A config whose key sets a roomy limit; the flag overrides it.
        let configPath = dir.appendingPathComponent("fno3.json").path
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: try XCTUnwrap(FileManager.default.contents(
            atPath: TestSupport.tinyConfigPath))) as? [String: Any])
        object["rollout_train"] = 3
        object["memory_limit"] = "1T"
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: configPath))
        let smallest = try Self.smallestLimit("tiny-fno")
        let model = dir.appendingPathComponent("m.m2m").path
        let compile = try TestSupport.runM2MC(["compile", configPath, "-o", model, "--fftw", "estimate",
                                               "--memory-limit", "\(smallest)"])
        XCTAssertEqual(compile.status, 0, compile.stderr)
        XCTAssertTrue(compile.stdout.contains("rollout steps 0, 1 re-run from their input window"), compile.stdout)

        let inspect = try TestSupport.runM2MC(["inspect", model, "--json"])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(o["memory_limit_bytes"] as? Int, smallest)
        XCTAssertEqual(o["checkpointed_rollout_steps"] as? [Int], [0, 1])
        let arena = try XCTUnwrap(o["arena_bytes"] as? Int), without = try XCTUnwrap(o["arena_bytes_without_limit"] as? Int)
        XCTAssertLessThan(arena, without)
        XCTAssertLessThanOrEqual(arena + (o["persistent_bytes"] as? Int ?? .max), smallest)
        XCTAssertGreaterThan(o["recompute_extra_flops"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(o["recompute_extra_flops_percent"] as? Double ?? 0, 0)
        // compile prints inspect's memory-limit line.
        XCTAssertTrue(compile.stdout.contains("memory limit \(SystemResources.describe(bytes: smallest)): train arena"),
                      compile.stdout)
        XCTAssertTrue(compile.stdout.contains("GFLOP per train step (+"), compile.stdout)

        // An impossible limit: one line naming the flag and the smallest feasible limit, exit 1.
        let byFlag = try TestSupport.runM2MC(["compile", configPath, "-o", model, "--fftw", "estimate",
                                              "--memory-limit", "1k"])
        XCTAssertEqual(byFlag.status, 1)
        XCTAssertTrue(byFlag.stderr.hasPrefix("m2mc: error: \(configPath): --memory-limit 1.0 kB (1000 bytes) cannot be met"),
                      byFlag.stderr)
        XCTAssertTrue(byFlag.stderr.contains("the smallest feasible limit is \(SystemResources.describe(bytes: smallest))"),
                      byFlag.stderr)
        XCTAssertEqual(byFlag.stderr.filter { $0 == "\n" }.count, 1, byFlag.stderr)
        // A malformed value is a usage error: exit 2, one line naming the flag.
        let malformed = try TestSupport.runM2MC(["compile", configPath, "-o", model, "--memory-limit", "1.5X"])
        XCTAssertEqual(malformed.status, 2)
        XCTAssertTrue(malformed.stderr.hasPrefix("m2mc: error: --memory-limit: '1.5X' is not a byte count"), malformed.stderr)
        XCTAssertEqual(malformed.stderr.filter { $0 == "\n" }.count, 1, malformed.stderr)
    }
}
