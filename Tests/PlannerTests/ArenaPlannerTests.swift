@testable import Planner
import XCTest

/// Exact layouts of small request lists, worked out by hand from the greedy
/// best-fit placement with 64-byte alignment.
final class ArenaPlannerTests: XCTestCase {
    private func request(_ size: Int, _ first: Int, _ last: Int) -> BufferRequest {
        BufferRequest(size: size, firstUse: first, lastUse: last)
    }

    func testAlignRoundsUpToSixtyFourBytes() {
        XCTAssertEqual([0, 1, 63, 64, 65, 128, 129].map(ArenaPlanner.align), [0, 64, 64, 64, 128, 128, 192])
    }

    /// Aligned sizes 192 [0,3], 192 [1,1], 256 [0,0], 128 [1,2].
    private var lifetimeWins: [BufferRequest] {
        [request(150, 0, 3), request(129, 1, 1), request(256, 0, 0), request(100, 1, 2)]
    }

    func testLowerBoundIsPeakOfAlignedLiveBytes() {
        // Step 0: 192 + 256; step 1: 192 + 192 + 128 = 512; step 2: 320; step 3: 192.
        XCTAssertEqual(ArenaPlanner.lowerBound(lifetimeWins), 512)
        XCTAssertEqual(ArenaPlanner.lowerBound([]), 0)
        XCTAssertEqual(ArenaPlanner.lowerBound([request(1, 2, 5)]), 64)
    }

    func testGreedyBySizeLeavesAGapTooSmallForTheLastBuffer() {
        let r = lifetimeWins
        let order = ArenaPlanner.sortedBySize(r)
        XCTAssertEqual(order, [2, 0, 1, 3])
        // #2 at 0; #0 above it at 256; #1 (step 1, #2 dead) fits below #0 at 0;
        // #3 meets #1 [0,192) and #0 [256,448): the 64-byte gap is too small, so 448.
        let layout = ArenaPlanner.place(r, order: order, strategy: "greedy-by-size")
        XCTAssertEqual(layout.offsets, [256, 0, 0, 448])
        XCTAssertEqual(layout.arenaBytes, 576)
    }

    func testGreedyByLifetimeStacksLongLivedBuffersFirst() {
        let r = lifetimeWins
        let order = ArenaPlanner.sortedByLifetime(r)
        XCTAssertEqual(order, [0, 3, 2, 1])
        // #0 at 0; #3 at 192; #2 (step 0 only meets #0) at 192; #1 above #0 and #3 at 320.
        let layout = ArenaPlanner.place(r, order: order, strategy: "greedy-by-lifetime")
        XCTAssertEqual(layout.offsets, [0, 320, 192, 192])
        XCTAssertEqual(layout.arenaBytes, 512)
    }

    func testPlanPicksLifetimeOrderWhenItIsSmaller() {
        let layout = ArenaPlanner.plan(lifetimeWins)
        XCTAssertEqual(layout.strategy, "greedy-by-lifetime")
        XCTAssertEqual(layout.offsets, [0, 320, 192, 192])
        XCTAssertEqual(layout.arenaBytes, 512)
        assertValidLayout(lifetimeWins, layout)
    }

    /// Aligned sizes 192 [0,0], 192 [0,3], 64 [0,1], 64 [1,3], 128 [0,0].
    private var sizeWins: [BufferRequest] {
        [request(192, 0, 0), request(170, 0, 3), request(64, 0, 1), request(33, 1, 3), request(97, 0, 0)]
    }

    func testBestFitChoosesTheSmallestGapNotTheFirst() {
        let r = sizeWins
        let order = ArenaPlanner.sortedBySize(r)
        XCTAssertEqual(order, [0, 1, 4, 2, 3])
        // #0 0, #1 192, #4 384, #2 512 (all live at step 0). #3 meets only #1 [192,384)
        // and #2 [512,576): gaps [0,192) and [384,512); best fit takes the smaller, 384.
        let layout = ArenaPlanner.place(r, order: order, strategy: "greedy-by-size")
        XCTAssertEqual(layout.offsets, [0, 192, 512, 384, 384])
        XCTAssertEqual(layout.arenaBytes, 576)
    }

    func testPlanKeepsSizeOrderWhenLifetimeOrderIsLarger() {
        let r = sizeWins
        XCTAssertEqual(ArenaPlanner.sortedByLifetime(r), [1, 3, 2, 0, 4])
        // #1 0, #3 192, #2 256; #0 and #4 (step 0) find only the 64-byte gap
        // [192,256) and go to 320 and 512.
        let byLifetime = ArenaPlanner.place(r, order: ArenaPlanner.sortedByLifetime(r), strategy: "greedy-by-lifetime")
        XCTAssertEqual(byLifetime.offsets, [320, 0, 256, 192, 512])
        XCTAssertEqual(byLifetime.arenaBytes, 640)

        let layout = ArenaPlanner.plan(r)
        XCTAssertEqual(layout.strategy, "greedy-by-size")
        XCTAssertEqual(layout.offsets, [0, 192, 512, 384, 384])
        XCTAssertEqual(layout.arenaBytes, ArenaPlanner.lowerBound(r))
        assertValidLayout(r, layout)
    }

    func testEmptyRequestListNeedsNoArena() {
        let layout = ArenaPlanner.plan([])
        XCTAssertEqual(layout.offsets, [])
        XCTAssertEqual(layout.arenaBytes, 0)
    }
}
