import ArgumentParser
import Foundation
import Executor
import M2MModel
import Planner

/// `m2mc verify-placement PLAN`: binds a compiled model as its placement says, runs
/// inference and training steps on deterministic inputs, then asks the kernel where every
/// page of every memory block is (move_pages) and prints a digest of the results, so a run
/// on a multi-node machine can be compared bit for bit with any other placement.
struct VerifyPlacementCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-placement",
        abstract: "Check that every page of a compiled model's memory is on its planned NUMA node, and print a digest of its results.",
        discussion: """
            Runs one inference and --steps training steps on fixed pseudo-random inputs from the \
            config's seeded weights, then queries each page of each persistent block, arena and \
            weight copy with move_pages(2). Prints one line per block, 'pages on planned node: X/Y', \
            and 'digest: ...' (FNV-1a of the inference output and of all weights and optimizer state \
            after training): equal digests mean identical bits. Exit 1 when a page is elsewhere.
            """)

    @Argument(help: "Compiled plan file (.m2m).") var model: String
    @Option(help: "Worker threads (default: the plan's).") var threads: Int?
    @Option(help: "Training steps before the digest.") var steps: Int = 2
    @OptionGroup var numaFallback: FallbackOption
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        try reportingUserErrors {
            try CommandLimits.require(steps, in: 0...CommandLimits.maxBenchSteps, "--steps")
            let compiled = try CompiledModel.load(model)
            let runtime = try ModelRuntime(compiled, threads: threads ?? compiled.threads, numaFallback: numaFallback.enabled)
            reportPlacement(runtime)

            let infer = try runtime.program(CompiledModel.inferenceName)
            fillRandom(infer.buffer(Programs.input)!, count: infer.type(of: Programs.input)!.elementCount, seed: 1)
            infer.run()
            var digest = Digest()
            let out = infer.type(of: Programs.prediction)!.elementCount
            digest.add(UnsafeRawBufferPointer(start: infer.buffer(Programs.prediction)!, count: out * 4))
            let inferenceDigest = digest.hex

            let train = try runtime.program(CompiledModel.trainingName)
            let scalars = prepareTrainingSteps(train, compiled.config)
            for _ in 0..<steps { scalars[1] += 1; train.run() }
            // Inference again after training (input slots are refilled: the programs share arenas);
            // weight copies must follow the updated weights.
            fillRandom(infer.buffer(Programs.input)!, count: infer.type(of: Programs.input)!.elementCount, seed: 1)
            infer.run()
            digest.add(UnsafeRawBufferPointer(start: infer.buffer(Programs.prediction)!, count: out * 4))
            // By tensor, in name order: independent of how the placement lays the blocks out.
            for e in compiled.persistent.entries.sorted(by: { $0.name < $1.name }) {
                digest.add(UnsafeRawBufferPointer(start: runtime.store.pointer(e.name)!, count: e.byteCount))
            }

            let machine = runtime.nodeMap.machine
            var lines: [[String: Any]] = []
            var onNode = 0, total = 0
            for (label, binding, block) in try runtime.memoryBlocks() {
                let allowed: Set<Int>
                switch binding {
                case .anywhere: allowed = [machine.nodes[0].id]
                case .node(let id): allowed = [id]
                case .interleaved(let ids): allowed = Set(ids)
                }
                let pages = block.pageNodes()
                let good = pages.filter { allowed.contains($0) }.count
                var histogram: [String: Int] = [:]
                for p in pages { histogram[p >= 0 ? "node \(p)" : "error \(-p)", default: 0] += 1 }
                onNode += good
                total += pages.count
                lines.append(["block": label, "planned": allowed.sorted(), "pages": pages.count, "on_planned_node": good,
                              "where": histogram])
            }
            let result: [String: Any] = [
                "policy": compiled.placement.policy.rawValue, "plan_topology": compiled.placement.topology.description,
                "machine_topology": machine.description, "placed": runtime.nodeMap.isPlaced,
                "threads": runtime.pool.threadCount, "worker_groups": runtime.pool.groups.count,
                "blocks": lines, "pages_on_planned_node": onNode, "pages": total,
                "inference_digest": inferenceDigest, "digest": digest.hex,
            ]
            if json {
                printJSON(result)
            } else {
                print("placement \(compiled.placement.policy.rawValue) on \(machine) (\(runtime.pool.threadCount) threads, "
                      + "\(runtime.pool.groups.count) worker group\(runtime.pool.groups.count == 1 ? "" : "s"))")
                for line in lines {
                    let whereText = (line["where"] as! [String: Int]).sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
                    print("  \(line["block"]!): \(line["on_planned_node"]!)/\(line["pages"]!) pages on node(s) "
                          + "\((line["planned"] as! [Int]).map(String.init).joined(separator: ",")) (\(whereText.joined(separator: ", ")))")
                }
                print("pages on planned node: \(onNode)/\(total)")
                print("digest: \(digest.hex) (inference \(inferenceDigest))")
            }
            guard onNode == total else { throw ExitCode.failure }
        }
    }
}

/// 64-bit FNV-1a over byte runs.
struct Digest {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        for b in bytes { value = (value ^ UInt64(b)) &* 0x100_0000_01b3 }
    }
    var hex: String { String(format: "%016llx", value) }
}
