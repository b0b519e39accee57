import Planner
import XCTest

/// Checks the invariants every arena layout must satisfy: aligned offsets, no
/// two buffers live at a common step share a byte, and the arena holds every
/// buffer and is no smaller than the lower bound.
func assertValidLayout(_ requests: [BufferRequest], _ layout: ArenaLayout,
                       file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(layout.offsets.count, requests.count, "one offset per request", file: file, line: line)
    guard layout.offsets.count == requests.count else { return }
    var top = 0
    for (r, offset) in zip(requests, layout.offsets) {
        XCTAssertEqual(offset % ArenaPlanner.alignment, 0, "offset \(offset) is not aligned", file: file, line: line)
        top = max(top, offset + ArenaPlanner.align(r.size))
    }
    XCTAssertEqual(layout.arenaBytes, top, "arena must end at the highest buffer end", file: file, line: line)
    XCTAssertGreaterThanOrEqual(layout.arenaBytes, ArenaPlanner.lowerBound(requests), file: file, line: line)
    for i in requests.indices {
        for j in requests.indices where j > i && requests[i].overlapsInTime(requests[j]) {
            let (a, b) = (layout.offsets[i], layout.offsets[j])
            let disjoint = a + ArenaPlanner.align(requests[i].size) <= b || b + ArenaPlanner.align(requests[j].size) <= a
            XCTAssertTrue(disjoint, "buffers \(i) and \(j) are live together and overlap", file: file, line: line)
        }
    }
}
