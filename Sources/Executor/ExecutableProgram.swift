import COpenBLAS
import Dispatch
import GraphIR
import Planner

/// A planned graph bound to memory: the arena is allocated once here, every
/// kernel and FFT plan is built once here, and `run()` then only executes the
/// schedule — no heap allocation, no planning, no locks in the steady state.
/// Thread safety: one `run()` at a time per program and per shared arena or store (it is not
/// reentrant); it may be built on one thread and run on another, and its kernels run on the
/// pool's workers under the disjoint-tile convention.
public final class ExecutableProgram: @unchecked Sendable {
    public let graph: Graph
    public let plan: ProgramPlan
    public let store: PersistentStore
    /// One arena per memory domain of the plan.
    public let arenas: [AlignedBlock]
    public let nodeMap: NodeMap
    private let pool: ThreadPool
    private let kernels: [Kernel]
    /// Worker group of each scheduled kernel (-1: every thread).
    private let groups: [Int]
    /// Per-group instances of each scheduled kernel bound to that group's weight replicas
    /// (placement `replicate`); empty otherwise.
    private let replicas: [ContiguousArray<Kernel>]
    private let replicaStore: ReplicaStore?
    /// The sample chains run tile by tile (`ProgramPlanner.sampleChains`), their worker
    /// groups, and for each scheduled kernel the chain it starts (-1: none). A chain whose
    /// members run on different worker groups, or with weight replicas, runs node by node.
    private let chains: [ContiguousArray<Kernel>]
    private let chainGroups: [Int]
    private let chainStarting: [Int]
    /// The program updates persistent tensors (optimizer nodes have no result).
    private let writesPersistent: Bool
    private let fftPlans: [FFTPlanSpec: FFTPlan]
    /// The form of each truncated spectral transform and the GEMM form's DFT matrices.
    private let spectral: SpectralExecution
    private let valueLocations: [ArenaLocation?]

    /// Binds `plan` to `arenas` (new ones when nil, bound as `nodeMap` says) and to `store`'s
    /// persistent tensors. Programs that never run at the same time may share arenas. FFT
    /// plans are made with `rigor`; with `wisdomOnly` they must come from imported wisdom.
    /// `spectral` gives each truncated spectral transform's form (a compiled model's stored
    /// choice); only the FFTW plans of FFTW-form transforms are made. With `replicaStore`
    /// (placement `replicate`), each worker group reads the parameters from its own node's copy.
    public init(graph: Graph, plan: ProgramPlan, store: PersistentStore, pool: ThreadPool,
                rigor: FFTRigor, wisdomOnly: Bool, arenas shared: [AlignedBlock]? = nil,
                nodeMap: NodeMap = .unplaced, replicaStore: ReplicaStore? = nil,
                spectral forms: SpectralForms = .everywhere(.fftw)) throws {
        Executor.configureLibraries()
        try KernelISA.initialize()
        self.graph = graph
        self.plan = plan
        self.store = store
        self.pool = pool
        self.nodeMap = nodeMap
        self.replicaStore = replicaStore
        writesPersistent = graph.nodes.contains { $0.result == nil }
        if let shared {
            guard shared.count == plan.arenas.count else {
                throw PlanError("\(shared.count) shared arenas for a plan with \(plan.arenas.count) memory domains")
            }
            for (d, block) in shared.enumerated() where block.byteCount < plan.arenas[d].arenaBytes {
                throw PlanError("the shared arena of domain \(d) has \(block.byteCount) bytes, the program needs \(plan.arenas[d].arenaBytes)")
            }
        }
        let arenas = try shared ?? plan.arenas.indices.map {
            try AlignedBlock(byteCount: plan.arenas[$0].arenaBytes, binding: nodeMap.binding(domain: $0))
        }
        self.arenas = arenas
        let spectralTransforms = ProgramPlanner.spectralTransforms(graph)
        let unused = forms.unusedFFTSpecs(spectralTransforms)
        var plans: [FFTPlanSpec: FFTPlan] = [:]
        for spec in plan.transforms where !unused.contains(spec) {
            plans[spec] = try FFTPlan(spec, rigor: rigor, wisdomOnly: wisdomOnly)
        }
        fftPlans = plans
        let spectral = SpectralExecution(
            forms: forms, tables: SpectralTables(spectralTransforms.filter { forms.form(of: $0) == .gemm }.map(\.geometry)))
        self.spectral = spectral
        let valueLocations = plan.valueLocations(count: graph.values.count)
        self.valueLocations = valueLocations
        let workspaces = plan.workspaceLocations(nodeCount: graph.nodes.count)

        func addresses(replica group: Int?) throws -> [UnsafeMutableRawPointer] {
            try graph.values.enumerated().map { v, value in
                if let at = valueLocations[v] { return arenas[at.domain].base + at.offset }
                guard let name = value.kind.name, let p = store.pointer(name) else {
                    throw PlanError("value %\(v) has no storage in the plan")
                }
                if let group, let replicaStore, case .parameter = value.kind, let r = replicaStore.pointer(name, group: group) {
                    return UnsafeMutableRawPointer(r)
                }
                return UnsafeMutableRawPointer(p)
            }
        }
        let extents = try graph.boundedExtents().nodes
        func bind(_ addresses: [UnsafeMutableRawPointer]) -> [Kernel] {
            plan.schedule.map { n in
                let node = graph.nodes[n]
                let extent = extents[n].map {
                    UnsafePointer(addresses[$0.table].assumingMemoryBound(to: Int32.self) + $0.index)
                }
                return KernelTable.makeKernel(KernelBinding(
                    graph: graph, node: node, inputs: node.inputs.map { addresses[$0] },
                    result: node.result.map { addresses[$0] },
                    workspace: workspaces[n].map { arenas[$0.domain].base + $0.offset },
                    fftPlans: plans, spectral: spectral, extent: extent))
            }
        }
        kernels = bind(try addresses(replica: nil))
        if let replicaStore {
            let perGroup = try pool.groups.indices.map { g in bind(try addresses(replica: g)) }
            replicas = plan.schedule.indices.map { i in ContiguousArray(perGroup.map { $0[i] }) }
            groups = plan.schedule.map { _ in -1 }
        } else {
            replicas = []
            groups = plan.schedule.map { nodeMap.group(domain: plan.nodeDomains[$0], groupCount: pool.groups.count) }
        }
        var chains: [ContiguousArray<Kernel>] = [], chainGroups: [Int] = []
        var chainStarting = [Int](repeating: -1, count: plan.schedule.count)
        let position = Dictionary(uniqueKeysWithValues: plan.schedule.enumerated().map { ($1, $0) })
        let (kernels, groups, replicated) = (self.kernels, self.groups, !self.replicas.isEmpty)
        for chain in plan.chains ?? [] {
            guard let first = chain.first.flatMap({ position[$0] }), !replicated,
                  chain.enumerated().allSatisfy({ position[$1] == first + $0 && groups[first + $0] == groups[first] }) else {
                continue
            }
            chainStarting[first] = chains.count
            chains.append(ContiguousArray(chain.indices.map { kernels[first + $0] }))
            chainGroups.append(groups[first])
        }
        (self.chains, self.chainGroups, self.chainStarting) = (chains, chainGroups, chainStarting)
    }

    /// The memory domain whose workers run the i-th scheduled kernel (nil: every worker).
    public func workerGroup(ofScheduled i: Int) -> Int? { groups[i] < 0 ? nil : groups[i] }

    /// Executes the schedule once.
    public func run() {
        replicaStore?.refresh(from: store)
        defer { if writesPersistent { store.markWritten() } }
        // Indices, not `for kernel in kernels`: unoptimized builds iterate an array of
        // existentials through a generic read coroutine that mallocs its frame.
        var i = 0
        while i < kernels.count {
            let c = chainStarting[i]
            if c < 0 {
                runScheduled(i)
                i += 1
            } else {
                pool.run(chain: chains[c], group: chainGroups[c])
                i += chains[c].count
            }
        }
    }

    @inline(__always) private func runScheduled(_ i: Int) {
        if replicas.isEmpty { pool.run(kernels[i], group: groups[i]) } else { pool.run(replicas: replicas[i]) }
    }

    /// Executes the schedule once, adding each scheduled node's wall time (seconds)
    /// to `seconds[i]` for the i-th node of the schedule. Sample chains run node by node here
    /// (the same bits), so each node is timed alone.
    public func runProfiled(_ seconds: UnsafeMutablePointer<Double>) {
        replicaStore?.refresh(from: store)
        defer { if writesPersistent { store.markWritten() } }
        for i in kernels.indices {
            let start = DispatchTime.now().uptimeNanoseconds
            runScheduled(i)
            seconds[i] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
    }

    /// Float view of an f32 or c64 input or output value in the arena, by name; nil if absent.
    public func buffer(_ name: String) -> UnsafeMutablePointer<Float>? {
        guard let v = graph.output(named: name) ?? graph.value(named: name), let at = valueLocations[v],
              graph.values[v].type.dtype != .i32 else {
            return nil
        }
        return (arenas[at.domain].base + at.offset).assumingMemoryBound(to: Float.self)
    }

    /// Int32 view of an i32 input or output value in the arena (a routing table), by name.
    public func indexBuffer(_ name: String) -> UnsafeMutablePointer<Int32>? {
        guard let v = graph.output(named: name) ?? graph.value(named: name), let at = valueLocations[v],
              graph.values[v].type.dtype == .i32 else {
            return nil
        }
        return (arenas[at.domain].base + at.offset).assumingMemoryBound(to: Int32.self)
    }

    /// The routed counts every bounded extent held in the last run (read from the
    /// routing tables in the arena): what `Graph.analyticFLOPs(routedCounts:)` takes.
    public func routedCounts() throws -> [BoundedExtent: Int] {
        var counts: [BoundedExtent: Int] = [:]
        for extent in Set(try graph.boundedExtents().nodes.values) {
            guard let at = valueLocations[extent.table] else { continue }
            counts[extent] = Int((arenas[at.domain].base + at.offset).assumingMemoryBound(to: Int32.self)[extent.index])
        }
        return counts
    }

    /// Type of an input or output, by name.
    public func type(of name: String) -> TensorType? {
        (graph.output(named: name) ?? graph.value(named: name)).map { graph.values[$0].type }
    }
}

/// Process-wide library settings.
public enum Executor {
    /// OpenBLAS runs single-threaded inside our own static partition: its own
    /// threading would oversubscribe the cores and change the summation order.
    public static func configureLibraries() {
        openblas_set_num_threads(1)
    }

    /// The OpenBLAS kernel set chosen when the library loaded (its core type, e.g. "Haswell").
    public static var blasCoreName: String { String(cString: openblas_get_corename()) }

    /// What portable plans pin OpenBLAS to: the x86-64-v3 kernels every AVX2 machine runs.
    public static let portableBLASCore = "Haswell"

    /// Nil when this process can run a portable plan with its pinned choices; else why not.
    public static func portableProblem() -> String? {
        guard KernelISA.avx2.isSupported else {
            return "a portable plan needs an x86-64-v3 CPU (AVX2 and FMA); this one has neither"
        }
        guard blasCoreName.lowercased() == portableBLASCore.lowercased() else {
            return "a portable plan pins OpenBLAS to its \(portableBLASCore) kernels, but this process loaded "
                + "\(blasCoreName): run with OPENBLAS_CORETYPE=\(portableBLASCore) (m2mc sets it itself)"
        }
        return nil
    }
}
