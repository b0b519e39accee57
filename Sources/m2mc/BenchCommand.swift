import ArgumentParser
import Dispatch
import Foundation
import M2MModel
import Planner
import Executor
import M2MData

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the BENCH.md figures: step times, GFLOP/s, allocations, arena and memory.",
        discussion: """
            The training step benchmarked is one-step training (rollout 1), the peers' step. For a routed \
            model (m2m), training moves the routing from step to step: flops_per_train_step_routed is the \
            mean over the timed steps of each step's FLOPs at its own routed counts, \
            train_routed_gflops_per_s their sum over the summed step times, and train_ms_mean the mean step; \
            routed_fraction is each expert's share of the slots over the timed training steps (the \
            first rollout step's routing), infer_routed_fraction that of the inference step.
            """)

    @Argument(help: "Model config (JSON) or compiled plan (.m2m).") var model: String
    @Flag(help: "Benchmark the training step.") var train = false
    @Flag(help: "Benchmark inference.") var infer = false
    @Option(help: "Timed steps (after warm-up).") var steps: Int = 30
    @Option(help: "Warm-up steps.") var warmup: Int = 5
    @Option(help: "Worker threads.") var threads: Int = 2
    @Option(help: "FFTW planning rigor when compiling a config: estimate, measure or patient.") var fftw: FFTRigor = .patient
    @Option(help: "Spectral transforms when compiling a config: auto, fftw or gemm.")
    var spectralTransform: SpectralTransformMode = .auto
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Also time every op of the schedule (per-op profile on stderr).") var profile = false
    @OptionGroup var placement: PlacementOptions
    @Flag(help: "When compiling a config: a portable plan (see m2mc compile --help).") var portable = false
    @OptionGroup var numaFallback: FallbackOption

    func run() throws {
        try reportingUserErrors {
            guard steps >= 1, warmup >= 0 else { throw UserError("--steps must be >= 1 and --warmup >= 0") }
            try CommandLimits.require(steps, in: 1...CommandLimits.maxBenchSteps, "--steps")
            try CommandLimits.require(warmup, in: 0...CommandLimits.maxBenchSteps, "--warmup")
            try SystemResources.checkThreads(threads)
            let doTrain = train || !infer, doInfer = infer || !train
            let compiled = try loadModel(model, rigor: fftw, trainingRollout: 1, placement: placement,
                                         spectralMode: spectralTransform, portable: portable)
            let runtime = try ModelRuntime(compiled, threads: threads, numaFallback: numaFallback.enabled)
            reportPlacement(runtime)
            let summary = ModelSummary(compiled)
            var figures: [String: Any] = summary.json
            figures["threads"] = threads
            figures["cpu"] = cpuModelName()
            figures["kernel_isa"] = KernelISA.active.description
            figures["steps"] = steps
            figures["warmup"] = warmup
            figures["train_rollout"] = compiled.training.graph.values[compiled.training.graph.value(named: Programs.target)!].type.shape[3]
            figures["allocation_counting"] = AllocationCounter.isActive
            figures["machine_topology"] = runtime.nodeMap.machine.description
            figures["portable"] = compiled.portable
            figures["blas_core"] = Executor.blasCoreName
            figures["numa_placed"] = runtime.nodeMap.isPlaced
            figures["node_bytes"] = nodeBytes(runtime)
            var allocations = 0, allocatedBytes = 0
            let m2m = runtime.model as? M2MNet   // a routed model: bench reports its routed shares
            if doInfer {
                let program = try runtime.program(CompiledModel.inferenceName)
                fillRandom(program.buffer(Programs.input)!, count: program.type(of: Programs.input)!.elementCount, seed: 1)
                let t = time(program.run, allocations: &allocations, bytes: &allocatedBytes)
                let flops = try compiled.inference.graph.analyticFLOPs(routedCounts: try program.routedCounts())
                figures.merge(t.figures(prefix: "infer", flops: flops)) { a, _ in a }
                figures["flops_per_inference_routed"] = flops
                if let table = program.indexBuffer(Programs.inferenceRoute), let m2m {
                    var statistics = RoutingStatistics(experts: m2m.m2m.experts)
                    statistics.add(table, layout: m2m.routeTable)
                    figures["infer_routed_fraction"] = statistics.fractions
                }
                figures.merge(try placementFigures(runtime, program, prefix: CompiledModel.inferenceName)) { a, _ in a }
                if profile { printProfile(program) }
            }
            if doTrain {
                let program = try runtime.program(CompiledModel.trainingName)
                let scalars = prepareTrainingSteps(program, compiled.config)
                // A routed model computes only its routed rows, and training moves the routing from
                // step to step: FLOPs at each timed step's own counts (read between steps, outside
                // the timed and allocation-counted interval).
                var stepFLOPs = [Double](repeating: 0, count: steps)
                var countError: Error?
                let table = program.indexBuffer(Programs.route(0))
                var statistics = RoutingStatistics(experts: m2m?.m2m.experts ?? 0)
                let t = time({ scalars[1] += 1; program.run() }, allocations: &allocations, bytes: &allocatedBytes) { i in
                    do { stepFLOPs[i] = try compiled.training.graph.analyticFLOPs(routedCounts: try program.routedCounts()) }
                    catch { countError = error }
                    if let table, let m2m { statistics.add(table, layout: m2m.routeTable) }
                }
                if let countError { throw countError }
                let flops = stepFLOPs.reduce(0, +) / Double(steps)
                figures.merge(t.figures(prefix: "train", flops: flops)) { a, _ in a }
                figures["flops_per_train_step_routed"] = flops
                figures["train_routed_gflops_per_s"] = stepFLOPs.reduce(0, +) / (t.milliseconds.reduce(0, +) * 1e6)
                if table != nil, m2m != nil { figures["routed_fraction"] = statistics.fractions }
                figures["final_loss"] = Double(program.buffer(Programs.loss)![0])
                figures.merge(try placementFigures(runtime, program, prefix: CompiledModel.trainingName)) { a, _ in a }
                if profile { printProfile(program) }
            }
            if AllocationCounter.isActive {
                let measuredSteps = steps * ((doTrain ? 1 : 0) + (doInfer ? 1 : 0))
                figures["allocations_per_step"] = Double(allocations) / Double(measuredSteps)
                figures["bytes_allocated_per_step"] = Double(allocatedBytes) / Double(measuredSteps)
            } else {
                figures["allocations_per_step"] = NSNull()
                figures["bytes_allocated_per_step"] = NSNull()
            }
            figures["peak_rss_bytes"] = peakResidentBytes()
            if json {
                printJSON(figures)
            } else {
                for key in figures.keys.sorted() { print("\(key): \(figures[key]!)") }
            }
        }
    }

    struct Timing {
        var milliseconds: [Double]
        func figures(prefix: String, flops: Double) -> [String: Any] {
            let sorted = milliseconds.sorted()
            let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2]
                : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
            return ["\(prefix)_ms_median": median, "\(prefix)_ms_min": sorted.first!, "\(prefix)_ms_max": sorted.last!,
                    "\(prefix)_ms_mean": sorted.reduce(0, +) / Double(sorted.count),
                    "\(prefix)_gflops_per_s": flops / (median * 1e6)]
        }
    }

    /// Warm-up, then `steps` individually timed runs; allocations counted over the timed runs.
    /// `afterEach(i)` runs after timed step i, outside its timing and its allocation count.
    func time(_ step: () -> Void, allocations: inout Int, bytes: inout Int,
              afterEach: (Int) -> Void = { _ in }) -> Timing {
        for _ in 0..<warmup { step() }
        var times = [Double](repeating: 0, count: steps)
        for i in 0..<steps {
            let counted = AllocationCounter.measure {
                let start = DispatchTime.now().uptimeNanoseconds
                step()
                times[i] = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            }
            allocations += counted?.count ?? 0
            bytes += counted?.bytes ?? 0
            afterEach(i)
        }
        return Timing(milliseconds: times)
    }

    /// Bytes on each node of the plan's topology: persistent blocks, arenas (the largest
    /// program's per domain) and weight copies; interleaved domains count 1/N per node.
    func nodeBytes(_ runtime: ModelRuntime) -> [Int] {
        let placement = runtime.compiled.placement
        let n = placement.topology.nodes.count
        var bytes = [Int](repeating: 0, count: n)
        for d in placement.domains.indices {
            let total = runtime.compiled.persistent.blockBytes[d]
                + (runtime.compiled.programs.map { $0.plan.arenas[d].arenaBytes }.max() ?? 0)
            switch placement.domains[d] {
            case .node(let i): bytes[i] += total
            case .interleaved: for i in 0..<n { bytes[i] += total / n }
            }
        }
        if placement.policy == .replicate {
            let weights = runtime.compiled.persistent.entries.filter(\.isParameter).reduce(0) { $0 + ArenaPlanner.align($1.byteCount) }
            for i in 1..<max(min(threads, n), 1) { bytes[i] += weights }
        }
        return bytes
    }

    /// Busy time of each node's workers per step (a kernel on every worker counts for every
    /// node) over `steps` profiled runs, and the plan's cross-node bytes at the routed counts.
    /// `prefix` is the program's name ("infer" or "train").
    func placementFigures(_ runtime: ModelRuntime, _ program: ExecutableProgram, prefix: String) throws -> [String: Any] {
        let placement = runtime.compiled.placement
        let cross = try placement.crossNodeBytes(program.graph, plan: program.plan, persistent: runtime.compiled.persistent,
                                                 replicated: runtime.compiled.readsWeightCopies(prefix),
                                                 routedCounts: try program.routedCounts())
        var figures: [String: Any] = ["\(prefix)_cross_node_bytes_per_step": cross]
        let n = placement.topology.nodes.count
        guard n > 1 else { return figures }
        var seconds = [Double](repeating: 0, count: program.plan.schedule.count)
        for _ in 0..<steps { seconds.withUnsafeMutableBufferPointer { program.runProfiled($0.baseAddress!) } }
        var busy = [Double](repeating: 0, count: n)
        let groups = runtime.pool.groups.count
        for i in seconds.indices {
            let ms = seconds[i] * 1000 / Double(steps)
            if placement.policy == .local {
                busy[0] += ms
            } else if let g = program.workerGroup(ofScheduled: i) {
                // Group g serves the plan nodes g, g + G, ... (fewer threads than nodes).
                for node in stride(from: g, to: n, by: groups) { busy[node] += ms }
            } else {
                for node in 0..<n { busy[node] += ms }
            }
        }
        figures["\(prefix)_node_busy_ms_per_step"] = busy
        return figures
    }

    /// Times each op over `steps` runs and prints the total per op kind, largest first, then
    /// the largest entries per op and operand types (nodes of one signature summed, with
    /// their count), which tells the shapes of one kind apart.
    func printProfile(_ program: ExecutableProgram) {
        var seconds = [Double](repeating: 0, count: program.plan.schedule.count)
        for _ in 0..<steps { seconds.withUnsafeMutableBufferPointer { program.runProfiled($0.baseAddress!) } }
        var byOp: [String: Double] = [:], bySignature: [String: (ms: Double, nodes: Int)] = [:]
        for (i, n) in program.plan.schedule.enumerated() {
            let node = program.graph.nodes[n], ms = seconds[i] * 1000 / Double(steps)
            byOp[node.op.name, default: 0] += ms
            let signature = node.op.name + " " + node.inputs.map { program.graph.values[$0].type.description }.joined(separator: ", ")
            bySignature[signature, default: (0, 0)].ms += ms
            bySignature[signature, default: (0, 0)].nodes += 1
        }
        let total = byOp.values.reduce(0, +)
        var lines = "profile of \(program.graph.name), ms per step (total \(String(format: "%.2f", total))):\n"
        for (op, ms) in byOp.sorted(by: { $0.value > $1.value }) {
            lines += String(format: "  %-26@ %8.2f  %5.1f%%\n", op as NSString, ms, 100 * ms / total)
        }
        lines += "  by op and operand types (nodes), the 12 largest:\n"
        for (signature, entry) in bySignature.sorted(by: { $0.value.ms > $1.value.ms }).prefix(12) {
            lines += String(format: "    %8.2f  %5.1f%%  (%d)  %@\n", entry.ms, 100 * entry.ms / total, entry.nodes,
                            signature as NSString)
        }
        FileHandle.standardError.write(Data(lines.utf8))
    }
}
