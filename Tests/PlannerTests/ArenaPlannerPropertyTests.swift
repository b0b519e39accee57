@testable import Planner
import XCTest

/// Deterministic pseudo-random numbers (SplitMix64).
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
}

final class ArenaPlannerPropertyTests: XCTestCase {
    func testRandomRequestListsGetValidLayouts() {
        var rng = SplitMix64(state: 2024)
        for _ in 0..<200 {
            let requests = (0..<rng.int(1...30)).map { _ -> BufferRequest in
                let first = rng.int(0...20)
                return BufferRequest(size: rng.int(0...5000), firstUse: first, lastUse: first + rng.int(0...8))
            }
            let bySize = ArenaPlanner.place(requests, order: ArenaPlanner.sortedBySize(requests), strategy: "size")
            let byLifetime = ArenaPlanner.place(requests, order: ArenaPlanner.sortedByLifetime(requests),
                                                strategy: "lifetime")
            assertValidLayout(requests, bySize)
            assertValidLayout(requests, byLifetime)
            let layout = ArenaPlanner.plan(requests)
            assertValidLayout(requests, layout)
            // Never worse than either classic order; the other orders and the local search may do better.
            XCTAssertLessThanOrEqual(layout.arenaBytes, min(bySize.arenaBytes, byLifetime.arenaBytes))
        }
    }
}

final class ArenaPlannerSearchTests: XCTestCase {
    /// Near-equal sizes fragment every greedy order (the FNO's 42.6 MB FFT workspaces next
    /// to its 41.9 MB activations): the local search must reach the lower bound, and the
    /// same input must always give the same layout.
    func testLocalSearchReachesTheLowerBoundWhereGreedyOrdersFragment() {
        // The fno-ns128 inference program's buffers, sizes divided by 4096.
        let requests = [
            BufferRequest(size: 3200, firstUse: 0, lastUse: 25),
            BufferRequest(size: 3840, firstUse: 0, lastUse: 1),
            BufferRequest(size: 10240, firstUse: 1, lastUse: 5),
            BufferRequest(size: 360, firstUse: 2, lastUse: 3),
            BufferRequest(size: 360, firstUse: 3, lastUse: 4),
            BufferRequest(size: 10240, firstUse: 4, lastUse: 6),
            BufferRequest(size: 10240, firstUse: 5, lastUse: 6),
            BufferRequest(size: 10240, firstUse: 6, lastUse: 7),
            BufferRequest(size: 10240, firstUse: 7, lastUse: 11),
            BufferRequest(size: 360, firstUse: 8, lastUse: 9),
            BufferRequest(size: 360, firstUse: 9, lastUse: 10),
            BufferRequest(size: 10240, firstUse: 10, lastUse: 12),
            BufferRequest(size: 10240, firstUse: 11, lastUse: 12),
            BufferRequest(size: 10240, firstUse: 12, lastUse: 13),
            BufferRequest(size: 10240, firstUse: 13, lastUse: 17),
            BufferRequest(size: 360, firstUse: 14, lastUse: 15),
            BufferRequest(size: 360, firstUse: 15, lastUse: 16),
            BufferRequest(size: 10240, firstUse: 16, lastUse: 18),
            BufferRequest(size: 10240, firstUse: 17, lastUse: 18),
            BufferRequest(size: 10240, firstUse: 18, lastUse: 19),
            BufferRequest(size: 10240, firstUse: 19, lastUse: 23),
            BufferRequest(size: 360, firstUse: 20, lastUse: 21),
            BufferRequest(size: 360, firstUse: 21, lastUse: 22),
            BufferRequest(size: 10240, firstUse: 22, lastUse: 24),
            BufferRequest(size: 10240, firstUse: 23, lastUse: 24),
            BufferRequest(size: 10240, firstUse: 24, lastUse: 25),
            BufferRequest(size: 320, firstUse: 25, lastUse: 25),
            BufferRequest(size: 10400, firstUse: 2, lastUse: 2),
            BufferRequest(size: 10400, firstUse: 4, lastUse: 4),
            BufferRequest(size: 10400, firstUse: 8, lastUse: 8),
            BufferRequest(size: 10400, firstUse: 10, lastUse: 10),
            BufferRequest(size: 10400, firstUse: 14, lastUse: 14),
            BufferRequest(size: 10400, firstUse: 16, lastUse: 16),
            BufferRequest(size: 10400, firstUse: 20, lastUse: 20),
            BufferRequest(size: 10400, firstUse: 22, lastUse: 22),
            BufferRequest(size: 640, firstUse: 25, lastUse: 25),
        ]
        let greedy = [ArenaPlanner.sortedBySize(requests), ArenaPlanner.sortedByLifetime(requests),
                      ArenaPlanner.sortedByArea(requests), ArenaPlanner.sortedByFirstUse(requests)]
            .map { ArenaPlanner.place(requests, order: $0, strategy: "").arenaBytes }.min()!
        let layout = ArenaPlanner.plan(requests)
        assertValidLayout(requests, layout)
        XCTAssertGreaterThan(Double(greedy), 1.09 * Double(ArenaPlanner.lowerBound(requests)), "no longer a hard case")
        XCTAssertEqual(layout.arenaBytes, ArenaPlanner.lowerBound(requests))
        XCTAssertTrue(layout.strategy.hasSuffix("+local-search"), layout.strategy)
        XCTAssertEqual(layout, ArenaPlanner.plan(requests))
    }
}
