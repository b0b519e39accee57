import COpenBLAS
import Dispatch
import GraphIR
import Planner

/// A planned graph bound to memory: the arena is allocated once here, every
/// kernel and FFT plan is built once here, and `run()` then only executes the
/// schedule — no heap allocation, no planning, no locks in the steady state.
public final class ExecutableProgram: @unchecked Sendable {
    public let graph: Graph
    public let plan: ProgramPlan
    public let store: PersistentStore
    public let arena: AlignedBlock
    private let pool: ThreadPool
    private let kernels: [Kernel]
    private let fftPlans: [FFTPlanSpec: FFTPlan]
    private let valueOffsets: [Int?]

    /// Binds `plan` to `arena` (a new one when nil) and to `store`'s persistent tensors.
    /// Programs that never run at the same time may share one arena. FFT plans are
    /// made with `rigor`; with `wisdomOnly` they must come from imported wisdom.
    public init(graph: Graph, plan: ProgramPlan, store: PersistentStore, pool: ThreadPool,
                rigor: FFTRigor, wisdomOnly: Bool, arena shared: AlignedBlock? = nil) throws {
        Executor.configureLibraries()
        try KernelISA.initialize()
        self.graph = graph
        self.plan = plan
        self.store = store
        self.pool = pool
        if let shared, shared.byteCount < plan.arenaBytes {
            throw PlanError("the shared arena has \(shared.byteCount) bytes, the program needs \(plan.arenaBytes)")
        }
        let arena = shared ?? AlignedBlock(byteCount: plan.arenaBytes, numaNode: 0)
        self.arena = arena
        var plans: [FFTPlanSpec: FFTPlan] = [:]
        for spec in plan.transforms { plans[spec] = try FFTPlan(spec, rigor: rigor, wisdomOnly: wisdomOnly) }
        fftPlans = plans
        let valueOffsets = plan.valueOffsets(count: graph.values.count)
        self.valueOffsets = valueOffsets
        let workspaces = plan.workspaceOffsets(nodeCount: graph.nodes.count)

        var addresses: [UnsafeMutableRawPointer] = []
        for (v, value) in graph.values.enumerated() {
            if let offset = valueOffsets[v] {
                addresses.append(arena.base + offset)
            } else {
                guard let name = value.kind.name, let p = store.pointer(name) else {
                    throw PlanError("value %\(v) has no storage in the plan")
                }
                addresses.append(UnsafeMutableRawPointer(p))
            }
        }
        let extents = try graph.boundedExtents().nodes
        kernels = plan.schedule.map { n in
            let node = graph.nodes[n]
            let extent = extents[n].map {
                UnsafePointer(addresses[$0.table].assumingMemoryBound(to: Int32.self) + $0.index)
            }
            return KernelTable.makeKernel(KernelBinding(
                graph: graph, node: node, inputs: node.inputs.map { addresses[$0] },
                result: node.result.map { addresses[$0] }, workspace: workspaces[n].map { arena.base + $0 },
                fftPlans: plans, extent: extent))
        }
    }

    /// Executes the schedule once.
    public func run() {
        // Indices, not `for kernel in kernels`: unoptimized builds iterate an array of
        // existentials through a generic read coroutine that mallocs its frame.
        for i in kernels.indices { pool.run(kernels[i]) }
    }

    /// Executes the schedule once, adding each scheduled node's wall time (seconds)
    /// to `seconds[i]` for the i-th node of the schedule.
    public func runProfiled(_ seconds: UnsafeMutablePointer<Double>) {
        for (i, kernel) in kernels.enumerated() {
            let start = DispatchTime.now().uptimeNanoseconds
            pool.run(kernel)
            seconds[i] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
    }

    /// Float view of an f32 or c64 input or output value in the arena, by name; nil if absent.
    public func buffer(_ name: String) -> UnsafeMutablePointer<Float>? {
        guard let v = graph.output(named: name) ?? graph.value(named: name), let offset = valueOffsets[v],
              graph.values[v].type.dtype != .i32 else {
            return nil
        }
        return (arena.base + offset).assumingMemoryBound(to: Float.self)
    }

    /// Int32 view of an i32 input or output value in the arena (a routing table), by name.
    public func indexBuffer(_ name: String) -> UnsafeMutablePointer<Int32>? {
        guard let v = graph.output(named: name) ?? graph.value(named: name), let offset = valueOffsets[v],
              graph.values[v].type.dtype == .i32 else {
            return nil
        }
        return (arena.base + offset).assumingMemoryBound(to: Int32.self)
    }

    /// The routed counts every bounded extent held in the last run (read from the
    /// routing tables in the arena): what `Graph.analyticFLOPs(routedCounts:)` takes.
    public func routedCounts() throws -> [BoundedExtent: Int] {
        var counts: [BoundedExtent: Int] = [:]
        for extent in Set(try graph.boundedExtents().nodes.values) {
            guard let offset = valueOffsets[extent.table] else { continue }
            counts[extent] = Int((arena.base + offset).assumingMemoryBound(to: Int32.self)[extent.index])
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
}
