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
