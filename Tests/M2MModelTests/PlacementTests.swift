import Executor
import Foundation
import GraphIR
import M2MModel
import Planner
import XCTest

/// NUMA placement (ARCHITECTURE.md "Memory domains"): per-domain arenas at their own
/// liveness bound, experts kept whole in one domain, the placement stored and checked in
/// the plan file, and identical bits for every policy, node count and thread count.
final class PlacementTests: XCTestCase {
    static var tinyPath: String { TestSupport.configPath("tiny-m2m") }

    nonisolated(unsafe) static var cache: [String: CompiledModel] = [:]
    static func compiled(_ policy: PlacementPolicy, nodes: Int) throws -> CompiledModel {
        let key = "\(policy.rawValue)-\(nodes)"
        if let c = cache[key] { return c }
        let c = try CompiledModel.compile(try ModelConfig.load(tinyPath), rigor: .estimate, threads: 2,
                                          numa: policy, topology: try .uniform(nodes: nodes, cpusPerNode: 1))
        cache[key] = c
        return c
    }

    func testExpertsPolicyKeepsEachExpertInItsDomain() throws {
        let model = try Self.compiled(.experts, nodes: 2)
        let placement = model.placement
        XCTAssertEqual(placement.domains, [.node(0), .node(1)])
        XCTAssertEqual(Set(placement.expertDomains), [0, 1], "two experts on two nodes go to different nodes")
        for e in model.persistent.entries {
            let expected: Int
            if let range = e.name.range(of: #"experts\.(\d+)\."#, options: .regularExpression) {
                let index = Int(e.name[range].split(separator: ".")[1])!
                expected = placement.expertDomains[index]
            } else {
                expected = Placement.batchDomain
            }
            XCTAssertEqual(e.domain, expected, "\(e.name): weights and Adam moments live with their expert")
        }
        for program in model.programs {
            let graph = program.graph, plan = program.plan
            let groups = try PlacementGroups(graph)
            for (i, owner) in plan.owners.enumerated() {
                switch owner {
                case .value(let v):
                    let want = groups.values[v].map { placement.expertDomains[$0] } ?? Placement.batchDomain
                    XCTAssertEqual(plan.domains[i], want, "\(program.name) %\(v)")
                    if case .input = graph.values[v].kind { XCTAssertEqual(plan.domains[i], Placement.batchDomain) }
                case .workspace(let n):
                    XCTAssertEqual(plan.domains[i], plan.nodeDomains[n], "a workspace lives where its node runs")
                }
            }
            // Every dispatch writes into its expert's domain: the once-per-step copy to the expert's node.
            for (k, node) in graph.nodes.enumerated() {
                if case .dispatch(let expert, _, _) = node.op {
                    XCTAssertEqual(plan.nodeDomains[k], placement.expertDomains[expert])
                }
            }
        }
    }

    func testEachDomainIsPlannedAtItsOwnLivenessBound() throws {
        for policy in PlacementPolicy.allCases {
            let model = try Self.compiled(policy, nodes: 2)
            for program in model.programs {
                for d in program.plan.arenas.indices {
                    let (requests, layout) = program.plan.layout(domain: d)
                    // No two time-overlapping buffers of one domain overlap in memory.
                    for i in requests.indices {
                        for j in requests.indices where j > i && requests[i].overlapsInTime(requests[j]) {
                            let a = layout.offsets[i]..<(layout.offsets[i] + requests[i].size)
                            let b = layout.offsets[j]..<(layout.offsets[j] + requests[j].size)
                            XCTAssertFalse(a.overlaps(b), "\(policy) \(program.name) domain \(d): buffers \(i), \(j)")
                        }
                        XCTAssertLessThanOrEqual(layout.offsets[i] + requests[i].size, layout.arenaBytes)
                    }
                    let arena = program.plan.arenas[d]
                    XCTAssertEqual(arena.lowerBoundBytes, ArenaPlanner.lowerBound(requests))
                    XCTAssertEqual(arena.arenaBytes, arena.lowerBoundBytes,
                                             "\(policy) \(program.name) domain \(d)")
                }
            }
        }
    }

    /// Inference output and every weight and Adam moment after two training steps, by name.
    func fingerprint(_ model: CompiledModel, threads: Int) throws -> [String: [Float]] {
        let runtime = try ModelRuntime(model, threads: threads, numaFallback: true)
        let infer = try runtime.program(CompiledModel.inferenceName)
        func fill(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ seed: Int) {
            for i in 0..<n { p[i] = Float(sin(Double(i * 7 + seed * 13))) }
        }
        fill(infer.buffer(Programs.input)!, infer.type(of: Programs.input)!.elementCount, 1)
        infer.run()
        let out = infer.type(of: Programs.prediction)!.elementCount
        var result = ["prediction before": Array(UnsafeBufferPointer(start: infer.buffer(Programs.prediction)!, count: out))]
        let train = try runtime.program(CompiledModel.trainingName)
        fill(train.buffer(Programs.input)!, train.type(of: Programs.input)!.elementCount, 2)
        fill(train.buffer(Programs.target)!, train.type(of: Programs.target)!.elementCount, 3)
        let scalars = train.buffer(Programs.optimizerScalars)!
        scalars[0] = 1e-2
        scalars[1] = 0
        train.buffer(Programs.routingWeight)?[0] = 0.1
        for _ in 0..<2 { scalars[1] += 1; train.run() }
        fill(infer.buffer(Programs.input)!, infer.type(of: Programs.input)!.elementCount, 1)
        infer.run()
        result["prediction after"] = Array(UnsafeBufferPointer(start: infer.buffer(Programs.prediction)!, count: out))
        for e in model.persistent.entries {
            result[e.name] = Array(UnsafeBufferPointer(start: runtime.store.pointer(e.name)!, count: e.byteCount / 4))
        }
        return result
    }

    func testBitIdenticalAcrossPoliciesNodeCountsAndThreads() throws {
        let reference = try fingerprint(try Self.compiled(.local, nodes: 1), threads: 1)
        for nodes in [2, 4] {
            for policy in PlacementPolicy.allCases {
                for threads in [1, 3] {
                    let got = try fingerprint(try Self.compiled(policy, nodes: nodes), threads: threads)
                    XCTAssertEqual(Set(got.keys), Set(reference.keys))
                    for (name, values) in reference {
                        XCTAssertEqual(got[name]!.map(\.bitPattern), values.map(\.bitPattern),
                                       "\(name): \(policy) on \(nodes) nodes, \(threads) threads")
                    }
                }
            }
        }
    }

    func testPlanForMoreNodesThanTheMachineNeedsFallback() throws {
        let model = try Self.compiled(.experts, nodes: 2)
        let oneNode = try NUMATopology.uniform(nodes: 1, cpusPerNode: 2)
        XCTAssertThrowsError(try ModelRuntime(model, threads: 2, machine: oneNode)) { error in
            XCTAssertTrue("\(error)".contains("--numa-fallback"), "\(error)")
            XCTAssertTrue("\(error)".contains("2 NUMA nodes"), "\(error)")
        }
        let runtime = try ModelRuntime(model, threads: 2, numaFallback: true, machine: oneNode)
        XCTAssertNotNil(runtime.nodeMap.note)
        XCTAssertFalse(runtime.nodeMap.isPlaced)
        // `local` uses one node: it runs anywhere without a flag.
        XCTAssertNoThrow(try ModelRuntime(try Self.compiled(.local, nodes: 2), threads: 2, machine: oneNode))
    }

    func testNodeMapOnAMultiNodeMachine() throws {
        let machine = try NUMATopology(
            nodes: [.init(id: 0, cpus: [0, 1], memoryBytes: 0), .init(id: 2, cpus: [2, 3], memoryBytes: 0)],
            distances: [[10, 21], [21, 10]])
        let experts = try NodeMap(try Self.compiled(.experts, nodes: 2).placement, machine: machine, fallback: false)
        XCTAssertTrue(experts.isPlaced)
        XCTAssertEqual(experts.binding(domain: 1), .node(2), "plan node 1 is the machine's second node (id 2)")
        let (groups, cpus) = experts.workerGroups(threads: 5)
        XCTAssertEqual(groups, [[0, 2, 4], [1, 3]])
        XCTAssertEqual(cpus!, [[0, 1], [2, 3]])
        XCTAssertEqual(experts.workerGroups(threads: 1).groups, [[0]], "one thread serves both nodes")
        let interleave = try NodeMap(try Self.compiled(.interleave, nodes: 2).placement, machine: machine, fallback: false)
        XCTAssertEqual(interleave.binding(domain: 0), .interleaved([0, 2]))
        XCTAssertEqual(interleave.group(domain: 0, groupCount: 2), -1, "interleaved memory: every worker")
        let folded = try NodeMap(try Self.compiled(.experts, nodes: 4).placement, machine: machine, fallback: true)
        XCTAssertEqual(folded.machineNodes, [0, 1, 0, 1])
        XCTAssertThrowsError(try NodeMap(try Self.compiled(.experts, nodes: 4).placement, machine: machine, fallback: false))
    }

    func testPlacementRoundTripsAndTamperingIsRefused() throws {
        let model = try Self.compiled(.experts, nodes: 2)
        let loaded = try CompiledModel.decode(try model.serialized(), source: "experts.m2m")
        XCTAssertEqual(loaded.placement, model.placement)
        XCTAssertEqual(loaded.persistent, model.persistent)
        var tampered = model
        tampered.placement.expertDomains.reverse()
        XCTAssertThrowsError(try CompiledModel.decode(try tampered.serialized(), source: "t.m2m")) { error in
            XCTAssertTrue("\(error)".contains("t.m2m: the stored NUMA placement does not match"), "\(error)")
        }
        tampered = model
        tampered.persistent.blockBytes.append(64)
        XCTAssertThrowsError(try CompiledModel.decode(try tampered.serialized(), source: "t.m2m")) { error in
            XCTAssertTrue("\(error)".contains("memory domains"), "\(error)")
        }
    }

    func testCrossNodeBytes() throws {
        func bytes(_ policy: PlacementPolicy) throws -> Double {
            let model = try Self.compiled(policy, nodes: 2)
            return try model.placement.crossNodeBytes(model.training.graph, plan: model.training.plan,
                                                      persistent: model.persistent, replicated: false)
        }
        XCTAssertEqual(try bytes(.local), 0)
        XCTAssertGreaterThan(try bytes(.experts), 0, "routed patches cross to the expert's node")
        // Interleaved pages: half of every read is remote on two nodes, more than experts' copies.
        XCTAssertGreaterThan(try bytes(.interleave), try bytes(.experts))
    }
}
