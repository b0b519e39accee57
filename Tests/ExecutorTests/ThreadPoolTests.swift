import Executor
import Foundation
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
        XCTAssertEqual(Set(onGroup1.threads.map { UInt($0!) }).count, 2, "both threads of group 1 got tiles")
        let onGroup0 = RecordingKernel(tiles: 16)
        pool.run(onGroup0, group: 0)
        XCTAssertTrue(onGroup0.threads.contains { pthread_equal($0!, caller) != 0 }, "the caller works in group 0")
        XCTAssertTrue(Set(onGroup0.threads.map { UInt($0!) }).isDisjoint(with: Set(onGroup1.threads.map { UInt($0!) })))
        let all = RecordingKernel(tiles: 16)
        pool.run(all)
        XCTAssertEqual(Set(all.threads.map { UInt($0!) }).count, 4)
    }
}
