import Executor
import Foundation
import Synchronization
import XCTest

/// Records which thread-independent tiles ran, per phase. Each tile has its own counter in one
/// fixed buffer: tiles run on several threads at once, and mutating a Swift array of arrays
/// from them is a data race (ThreadSanitizer, scripts/sanitize.sh).
private final class CountingKernel: Kernel {
    let tiles: [Int]
    private let offsets: [Int]
    private let counts: UnsafeMutableBufferPointer<Int>
    init(tiles: [Int]) {
        self.tiles = tiles
        offsets = tiles.reduce(into: [0]) { $0.append($0.last! + $1) }
        counts = .allocate(capacity: offsets.last!)
        counts.initialize(repeating: 0)
    }
    deinit { counts.deallocate() }
    var hits: [[Int]] { tiles.indices.map { Array(counts[offsets[$0]..<offsets[$0 + 1]]) } }
    var phaseCount: Int { tiles.count }
    func tileCount(phase: Int) -> Int { tiles[phase] }
    func run(phase: Int, tile: Int) { counts[offsets[phase] + tile] += 1 }
}

final class ThreadPoolTests: XCTestCase {
    func testEveryTileOfEveryPhaseRunsOnce() {
        for threads in 1...4 {
            let pool = ThreadPool(threads: threads)
            let kernel = CountingKernel(tiles: [1, 2, 3, 7, 0, 64])
            pool.run(kernel)
            XCTAssertEqual(kernel.hits, kernel.tiles.map { Array(repeating: 1, count: $0) }, "\(threads) threads")
        }
    }

    private var threadCount: Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
    }

    /// Releasing a pool stops its workers, whether or not they have started yet.
    func testReleasedPoolsJoinTheirWorkers() {
        let before = threadCount
        for i in 0..<20 {
            let pool = ThreadPool(threads: 3)
            if i % 2 == 0 { usleep(2_000) }    // let the workers reach their wait
            pool.run(CountingKernel(tiles: [6]))
        }
        XCTAssertEqual(threadCount, before)
    }
}

/// Worker groups: a kernel run on one group runs only on that group's threads, with the
/// same tiles (and so the same results) as on the whole pool.
final class WorkerGroupTests: XCTestCase {
    /// Records which thread ran each tile, in raw memory: tiles write disjoint slots, which a
    /// Swift array property would turn into an exclusivity race (TSan reports it).
    final class RecordingKernel: Kernel {
        let slots: UnsafeMutableBufferPointer<pthread_t>
        init(tiles: Int) {
            slots = .allocate(capacity: tiles)
            slots.initialize(repeating: 0)
        }
        deinit { slots.deallocate() }
        var threads: [pthread_t?] { slots.map { $0 == 0 ? nil : $0 } }
        var phaseCount: Int { 1 }
        func tileCount(phase: Int) -> Int { slots.count }
        func run(phase: Int, tile: Int) { slots[tile] = pthread_self() }
    }

    func testKernelRunsOnItsGroupOnly() {
        let pool = ThreadPool(threads: 4, groups: [[0, 2], [1, 3]])
        let caller = pthread_self()
        let onGroup1 = RecordingKernel(tiles: 16)
        pool.run(onGroup1, group: 1)
        XCTAssertTrue(onGroup1.threads.allSatisfy { $0 != nil && pthread_equal($0!, caller) == 0 },
                      "group 1 does not hold the caller's thread")
        XCTAssertLessThanOrEqual(Set(onGroup1.threads.map { UInt($0!) }).count, 2, "group 1 has two threads")
        let onGroup0 = RecordingKernel(tiles: 16)
        pool.run(onGroup0, group: 0)
        XCTAssertTrue(onGroup0.threads.allSatisfy { $0 != nil })
        XCTAssertLessThanOrEqual(Set(onGroup0.threads.map { UInt($0!) }).count, 2, "group 0 has two threads")
        XCTAssertTrue(Set(onGroup0.threads.map { UInt($0!) }).isDisjoint(with: Set(onGroup1.threads.map { UInt($0!) })))
        let all = RecordingKernel(tiles: 16)
        pool.run(all)
        XCTAssertTrue(all.threads.allSatisfy { $0 != nil })
        XCTAssertLessThanOrEqual(Set(all.threads.map { UInt($0!) }).count, 4)
    }

    /// A thread that falls behind (a worker that wakes late, or whose first tile takes
    /// 200 ms here) has the rest of its share taken by the others once their own is done;
    /// with static shares the worker would run 8 of the 16 tiles.
    func testIdleThreadsTakeTheRestOfASlowThreadsShare() {
        final class StallingKernel: Kernel {
            let slots: UnsafeMutableBufferPointer<pthread_t>
            let caller = pthread_self()
            let stalled = Atomic<Bool>(false)
            init(tiles: Int) {
                slots = .allocate(capacity: tiles)
                slots.initialize(repeating: 0)
            }
            deinit { slots.deallocate() }
            var phaseCount: Int { 1 }
            func tileCount(phase: Int) -> Int { slots.count }
            func run(phase: Int, tile: Int) {
                slots[tile] = pthread_self()
                if pthread_equal(pthread_self(), caller) == 0,
                   stalled.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
                    usleep(200_000)
                }
            }
        }
        let pool = ThreadPool(threads: 2)
        let kernel = StallingKernel(tiles: 16)
        pool.run(kernel)
        XCTAssertTrue(kernel.slots.allSatisfy { $0 != 0 }, "every tile ran")
        let byWorker = kernel.slots.filter { pthread_equal($0, kernel.caller) == 0 }.count
        XCTAssertLessThan(byWorker, 4, "the caller took the stalled worker's share (the worker ran \(byWorker) of 16)")
    }
}
