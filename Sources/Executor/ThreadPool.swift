import Foundation
import Planner
import Synchronization

/// Work split into tiles, possibly in several phases (e.g. per-tile partial sums,
/// then a fixed-order reduction). Kernels are built once at load; running one
/// allocates nothing.
public protocol Kernel: AnyObject {
    /// Number of phases; phase p finishes on every thread before p + 1 starts.
    var phaseCount: Int { get }
    /// Tiles in phase `phase`; a function of shapes only, never of the thread count.
    func tileCount(phase: Int) -> Int
    /// Runs one tile. Tiles of a phase write disjoint memory.
    func run(phase: Int, tile: Int)
}

/// A fixed set of worker threads that run each phase of a kernel with a static
/// partition of its tiles: thread t always gets the t-th contiguous share.
/// Workers hold only the pool's shared state, never the pool itself, so releasing
/// the pool stops and joins them.
/// Thread safety: `run` is called by one thread at a time (it blocks until every tile is
/// done); the job is handed to the workers through the mutex, condition and atomics of
/// `SharedState`, and tiles of one phase must write disjoint memory.
public final class ThreadPool: @unchecked Sendable {
    public let threadCount: Int
    private let shared: SharedState
    private var threads: [pthread_t] = []

    public init(threads: Int) {
        threadCount = max(1, threads)
        shared = SharedState(threadCount: threadCount)
        for worker in 1..<threadCount {
            let context = Unmanaged.passRetained(WorkerContext(shared: shared, index: worker)).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                context.shared.workerLoop(context.index)
                return nil
            }, context)
            precondition(status == 0, "pthread_create failed")
            self.threads.append(thread)
        }
    }

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

    /// Runs every phase of `kernel` across the pool; returns when all tiles are done.
    public func run(_ kernel: Kernel) {
        for p in 0..<kernel.phaseCount {
            let count = kernel.tileCount(phase: p)
            if threadCount == 1 || count == 1 {
                for t in 0..<count { kernel.run(phase: p, tile: t) }
                continue
            }
            shared.kernel = kernel
            shared.phase = p
            shared.tiles = count
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
    }

    /// What the caller and the workers share: the job and its synchronization.
    private final class SharedState: @unchecked Sendable {
        let threadCount: Int
        let generation = Atomic<Int>(0)
        let pending = Atomic<Int>(0)
        let stopping = Atomic<Bool>(false)
        private var mutex = pthread_mutex_t()
        private var wake = pthread_cond_t()
        // The job being run; written by the caller before `generation` is bumped.
        unowned(unsafe) var kernel: Kernel?
        var phase = 0
        var tiles = 0

        init(threadCount: Int) {
            self.threadCount = threadCount
            pthread_mutex_init(&mutex, nil)
            pthread_cond_init(&wake, nil)
        }

        deinit {
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

        func runShare(thread: Int) {
            guard let kernel else { return }
            for t in KernelShape.partition(tiles: tiles, threads: threadCount, thread: thread) {
                kernel.run(phase: phase, tile: t)
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
