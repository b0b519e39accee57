import CNUMA
import Foundation
import Planner
import Synchronization

/// Work split into tiles, possibly in several phases (e.g. per-tile partial sums,
/// then a fixed-order reduction). Kernels are built once at load; running one
/// allocates nothing.
public protocol Kernel: AnyObject {
    /// Number of phases; phase p finishes on every thread before p + 1 starts.
    var phaseCount: Int { get }
    /// Tiles in phase `phase`; a function of shapes (and a bounded extent's count) only, never
    /// of the thread count. Called once at the start of each phase on the calling thread (on
    /// every copy of a replicated kernel), so a kernel may note the run's valid count there.
    func tileCount(phase: Int) -> Int
    /// Runs one tile. Tiles of a phase write disjoint memory.
    func run(phase: Int, tile: Int)
}

/// A fixed set of worker threads that run each phase of a kernel over a worker group:
/// the r-th thread of the group starts on the r-th contiguous share of its tiles, in order,
/// and a thread done with its own share then takes the unclaimed tiles of the others'
/// shares (one atomic claim per tile), so a thread the host slows down holds the phase up
/// by one tile, not by its whole share. Groups are fixed at start (one per NUMA node of
/// the placement, each pinned to its node's CPUs); tiles are fixed by shapes and compute
/// the same whichever thread runs them, so neither the group nor the thread that runs a
/// tile ever changes a bit. Workers hold only the pool's
/// shared state, never the pool itself, so releasing the pool stops and joins them.
/// Thread safety: `run` is called by one thread at a time (the caller is thread 0; it blocks
/// until every tile is done); the job is handed to the workers through the mutex, condition
/// and atomics of `SharedState`, and tiles of one phase must write disjoint memory.
public final class ThreadPool: @unchecked Sendable {
    public let threadCount: Int
    /// Thread indices of each worker group (together they cover every thread).
    public let groups: [[Int]]
    private let groupSizes: [Int]
    /// Whether thread 0 (the caller) belongs to each group.
    private let callerInGroup: [Bool]
    private let shared: SharedState
    private var threads: [pthread_t] = []

    /// `groups` partitions 0..<threads (default: one group of all); `cpus[g]` (if given)
    /// are the CPUs group g's threads are pinned to, the caller's thread included.
    public init(threads: Int, groups: [[Int]]? = nil, cpus: [[Int]]? = nil) {
        threadCount = max(1, threads)
        let groups = groups ?? [Array(0..<threadCount)]
        precondition(groups.joined().sorted() == Array(0..<threadCount), "worker groups must partition the threads")
        self.groups = groups
        groupSizes = groups.map(\.count)
        callerInGroup = groups.map { $0.contains(0) }
        var groupOfThread = [Int](repeating: 0, count: threadCount)
        for (g, members) in groups.enumerated() { for t in members { groupOfThread[t] = g } }
        let pinning: [[Int]]? = cpus.map { cpus in groupOfThread.map { cpus[$0] } }
        shared = SharedState(threadCount: threadCount, groups: groups, groupOfThread: groupOfThread, pinning: pinning)
        if let pinning { shared.pin(thread: 0, pinning[0]) }
        for worker in 1..<threadCount {
            let context = Unmanaged.passRetained(WorkerContext(shared: shared, index: worker)).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                if let pinning = context.shared.pinning { context.shared.pin(thread: context.index, pinning[context.index]) }
                context.shared.workerLoop(context.index)
                return nil
            }, context)
            precondition(status == 0, "pthread_create failed")
            self.threads.append(thread)
        }
    }

    /// Threads whose pinning failed (sched_setaffinity refused), for a one-line note.
    public var unpinnedThreads: Int { shared.pinFailures.load(ordering: .acquiring) }

    deinit {
        shared.stopping.store(true, ordering: .releasing)
        shared.broadcast()
        for t in threads { pthread_join(t, nil) }
    }

    private final class WorkerContext {
        let shared: SharedState
        let index: Int
        init(shared: SharedState, index: Int) { self.shared = shared; self.index = index }
    }

    /// Runs every phase of `kernel` across the whole pool; returns when all tiles are done.
    public func run(_ kernel: Kernel) { run(kernel, group: -1) }

    /// Runs every phase of `kernel` on worker group `group` (-1: every thread).
    public func run(_ kernel: Kernel, group: Int) {
        run(kernel, replicas: nil, group: group)
    }

    /// Runs every phase of a kernel on every thread, each thread calling the instance of
    /// its own group (`replicas[g]`: the same computation bound to group g's copy of the
    /// weights). The tiles and their partition are those of `run(_:)`.
    public func run(replicas: ContiguousArray<Kernel>) {
        run(replicas[0], replicas: replicas, group: -1)
    }

    /// Runs kernels' first phases over the same tiles tile by tile (a sample chain): each
    /// thread runs, for each tile it claims, every kernel's tile in order, with no barrier
    /// between the kernels. Tile t of a kernel may read what tile t of an earlier one wrote
    /// (the same thread ran it just before). Then the later phases of the kernels that have
    /// them (reductions of per-tile partials), kernel by kernel. Kernels whose tile counts
    /// differ in this run (they never should: one extent) run one after another instead.
    public func run(chain: ContiguousArray<Kernel>, group: Int) {
        let count = chain[0].tileCount(phase: 0)
        var sameCount = true
        for k in chain.indices.dropFirst() where chain[k].tileCount(phase: 0) != count { sameCount = false }
        var members = threadCount, callerRuns = true
        if group >= 0 { (members, callerRuns) = (groupSizes[group], callerInGroup[group]) }
        if !sameCount {
            for k in chain.indices { run(chain[k], group: group) }
            return
        }
        if threadCount == 1 || ((count == 1 || members == 1) && callerRuns) {
            for t in 0..<count { for k in chain.indices { chain[k].run(phase: 0, tile: t) } }
        } else {
            shared.chain = chain
            runOnWorkers(chain[0], phase: 0, tiles: count, group: group, members: members)
            shared.chain = nil
        }
        for k in chain.indices where chain[k].phaseCount > 1 { run(chain[k], replicas: nil, group: group, from: 1) }
    }

    /// Runs phases `from ..< phaseCount` of `kernel` (with its replicas, if any).
    private func run(_ kernel: Kernel, replicas: ContiguousArray<Kernel>?, group: Int, from first: Int = 0) {
        // No `||` here: its autoclosure allocates a context in unoptimized builds.
        var members = threadCount, callerRuns = true
        if group >= 0 { (members, callerRuns) = (groupSizes[group], callerInGroup[group]) }
        for p in first..<kernel.phaseCount {
            let count = kernel.tileCount(phase: p)
            // A kernel may note the run's valid count when its phase starts: every copy must.
            if let replicas { for r in replicas.indices.dropFirst() { _ = replicas[r].tileCount(phase: p) } }
            if threadCount == 1 || ((count == 1 || members == 1) && callerRuns && replicas == nil) {
                for t in 0..<count { kernel.run(phase: p, tile: t) }
                continue
            }
            shared.replicas = replicas
            runOnWorkers(kernel, phase: p, tiles: count, group: group, members: members)
            shared.replicas = nil
        }
    }

    /// Publishes one phase (with the replicas or chain already set in `shared`), runs the
    /// caller's part, and waits until every worker is done.
    private func runOnWorkers(_ kernel: Kernel, phase: Int, tiles: Int, group: Int, members: Int) {
        shared.kernel = kernel
        shared.group = group
        shared.phase = phase
        shared.tiles = tiles
        shared.resetClaims(tiles: tiles, members: members)
        shared.pending.store(threadCount - 1, ordering: .relaxed)
        shared.broadcast()
        shared.runShare(thread: 0)
        var spins = 0
        while shared.pending.load(ordering: .acquiring) != 0 {
            spins += 1
            if spins > 1000 { sched_yield() }
        }
        shared.kernel = nil
    }

    /// What the caller and the workers share: the job and its synchronization.
    private final class SharedState: @unchecked Sendable {
        let threadCount: Int
        let groups: [[Int]]
        let groupOfThread: [Int]
        /// Rank of each thread within its group.
        let rankInGroup: [Int]
        let pinning: [[Int]]?
        let pinFailures = Atomic<Int>(0)
        let generation = Atomic<Int>(0)
        let pending = Atomic<Int>(0)
        /// Per rank in the running group: the next unclaimed tile of that rank's static share.
        let claims: UnsafeMutablePointer<Atomic<Int>>
        let stopping = Atomic<Bool>(false)
        private var mutex = pthread_mutex_t()
        private var wake = pthread_cond_t()
        // The job being run; written by the caller before `generation` is bumped.
        unowned(unsafe) var kernel: Kernel?
        var replicas: ContiguousArray<Kernel>?
        /// A sample chain run tile by tile (`run(chain:group:)`), else nil.
        var chain: ContiguousArray<Kernel>?
        var group = -1
        var phase = 0
        var tiles = 0

        init(threadCount: Int, groups: [[Int]], groupOfThread: [Int], pinning: [[Int]]?) {
            self.threadCount = threadCount
            self.groups = groups
            self.groupOfThread = groupOfThread
            var rank = [Int](repeating: 0, count: threadCount)
            for members in groups { for (r, t) in members.enumerated() { rank[t] = r } }
            rankInGroup = rank
            self.pinning = pinning
            claims = .allocate(capacity: threadCount)
            for r in 0..<threadCount { (claims + r).initialize(to: Atomic(0)) }
            pthread_mutex_init(&mutex, nil)
            pthread_cond_init(&wake, nil)
        }

        /// Hands rank r of `members` its static share of `tiles` (before the job is published).
        func resetClaims(tiles: Int, members: Int) {
            for r in 0..<members {
                claims[r].store(KernelShape.partition(tiles: tiles, threads: members, thread: r).lowerBound, ordering: .relaxed)
            }
        }

        deinit {
            claims.deinitialize(count: threadCount)
            claims.deallocate()
            pthread_cond_destroy(&wake)
            pthread_mutex_destroy(&mutex)
        }

        /// Starts a new generation: wakes every worker.
        func broadcast() {
            pthread_mutex_lock(&mutex)
            generation.add(1, ordering: .releasing)
            pthread_cond_broadcast(&wake)
            pthread_mutex_unlock(&mutex)
        }

        func pin(thread: Int, _ cpus: [Int]) {
            // libnuma's affinity call on pid 0 sets the calling thread's CPU mask.
            guard let mask = numa_allocate_cpumask() else { pinFailures.add(1, ordering: .relaxed); return }
            defer { numa_free_cpumask(mask) }
            for cpu in cpus where cpu >= 0 && cpu < Int(mask.pointee.size) { numa_bitmask_setbit(mask, UInt32(cpu)) }
            if numa_sched_setaffinity(0, mask) != 0 { pinFailures.add(1, ordering: .relaxed) }
        }

        func runShare(thread: Int) {
            guard let kernel else { return }
            let (share, rank, members): (Kernel, Int, Int)
            if group < 0 {
                (rank, members) = (thread, threadCount)
            } else {
                guard groupOfThread[thread] == group else { return }
                (rank, members) = (rankInGroup[thread], groups[group].count)
            }
            if let replicas { share = replicas[groupOfThread[thread]] } else { share = kernel }
            // Its own share first, in order; then what is left of the others' shares.
            for offset in 0..<members {
                let owner = (rank + offset) % members
                let end = KernelShape.partition(tiles: tiles, threads: members, thread: owner).upperBound
                while true {
                    let t = claims[owner].add(1, ordering: .relaxed).oldValue
                    if t >= end { break }
                    if let chain {
                        for k in chain.indices { chain[k].run(phase: 0, tile: t) }
                    } else {
                        share.run(phase: phase, tile: t)
                    }
                }
            }
        }

        func workerLoop(_ index: Int) {
            var seen = 0
            while true {
                // Spin briefly (the next phase usually follows at once), then sleep.
                var spins = 0
                while generation.load(ordering: .acquiring) == seen && spins < 20_000 { spins += 1 }
                if generation.load(ordering: .acquiring) == seen {
                    pthread_mutex_lock(&mutex)
                    while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(&wake, &mutex) }
                    pthread_mutex_unlock(&mutex)
                }
                seen = generation.load(ordering: .acquiring)
                if stopping.load(ordering: .acquiring) { return }
                runShare(thread: index)
                pending.subtract(1, ordering: .releasing)
            }
        }
    }
}
