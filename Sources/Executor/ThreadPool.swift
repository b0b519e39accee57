import Foundation
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
public final class ThreadPool: @unchecked Sendable {
    public let threadCount: Int
    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var threads: [pthread_t] = []
    // The job being run; written by the caller before `generation` is bumped.
    private unowned(unsafe) var kernel: Kernel?
    private var phase = 0
    private var tiles = 0

    public init(threads: Int) {
        threadCount = max(1, threads)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        for worker in 1..<threadCount {
            let context = Unmanaged.passRetained(WorkerContext(pool: self, index: worker)).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                context.pool.workerLoop(context.index)
                return nil
            }, context)
            precondition(status == 0, "pthread_create failed")
            self.threads.append(thread)
        }
    }

    deinit {
        stopping.store(true, ordering: .releasing)
        pthread_mutex_lock(&mutex)
        generation.add(1, ordering: .releasing)
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)
        for t in threads { pthread_join(t, nil) }
        pthread_cond_destroy(&wake)
        pthread_mutex_destroy(&mutex)
    }

    private final class WorkerContext {
        // unowned(unsafe): a worker may first read this while deinit runs (the pool is
        // released right after creation); the memory stays valid because deinit joins
        // every worker before it returns. A safe unowned reference traps there.
        unowned(unsafe) let pool: ThreadPool
        let index: Int
        init(pool: ThreadPool, index: Int) { self.pool = pool; self.index = index }
    }

    /// Runs every phase of `kernel` across the pool; returns when all tiles are done.
    public func run(_ kernel: Kernel) {
        for p in 0..<kernel.phaseCount {
            let count = kernel.tileCount(phase: p)
            if threadCount == 1 || count == 1 {
                for t in 0..<count { kernel.run(phase: p, tile: t) }
                continue
            }
            self.kernel = kernel
            phase = p
            tiles = count
            pending.store(threadCount - 1, ordering: .relaxed)
            pthread_mutex_lock(&mutex)
            generation.add(1, ordering: .releasing)
            pthread_cond_broadcast(&wake)
            pthread_mutex_unlock(&mutex)
            runShare(thread: 0)
            var spins = 0
            while pending.load(ordering: .acquiring) != 0 {
                spins += 1
                if spins > 1000 { sched_yield() }
            }
            self.kernel = nil
        }
    }

    private func runShare(thread: Int) {
        guard let kernel else { return }
        let share = (tiles * thread / threadCount)..<(tiles * (thread + 1) / threadCount)
        for t in share { kernel.run(phase: phase, tile: t) }
    }

    private func workerLoop(_ index: Int) {
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
