import GraphIR
import Planner
import XCTest

final class PersistentLayoutTests: XCTestCase {
    func testUnionOfGraphsInFirstSeenOrderWithAlignedOffsets() throws {
        var train = GraphBuilder(name: "train")
        _ = train.parameter("w", .f32(3, 5))       // 60 bytes
        _ = train.state("w.m", .f32(3, 5))
        var infer = GraphBuilder(name: "infer")
        _ = infer.parameter("k", .c64(2, 2))       // 32 bytes
        _ = infer.parameter("w", .f32(3, 5))
        let layout = try PersistentLayout([train.graph, infer.graph])
        XCTAssertEqual(layout.entries.map(\.name), ["w", "w.m", "k"])
        XCTAssertEqual(layout.entries.map(\.offset), [0, 64, 128])
        XCTAssertEqual(layout.entries.map(\.isParameter), [true, false, true])
        XCTAssertEqual(layout.totalBytes, 192)
    }

    func testConflictingTypesThrow() {
        var a = GraphBuilder(name: "a")
        _ = a.parameter("w", .f32(3, 5))
        var b = GraphBuilder(name: "b")
        _ = b.parameter("w", .f32(5, 3))
        XCTAssertThrowsError(try PersistentLayout([a.graph, b.graph]))
    }
}
