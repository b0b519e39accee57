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
            XCTAssertEqual(layout.arenaBytes, min(bySize.arenaBytes, byLifetime.arenaBytes))
        }
    }
}
