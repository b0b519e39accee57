import GraphIR
import Planner
import Executor
import XCTest

final class ProgramPlannerTests: XCTestCase {
    /// x -> rfft2 -> spectral_mix -> irfft2 -> add(x); outputs z and the spectrum s.
    private func spectralBlock() throws -> Graph {
        var b = GraphBuilder(name: "plan")
        let x = b.input("x", .f32(2, 8, 8, 3))                                  // %0
        let w = b.parameter("w", .c64(12, 3, 3))                                // %1
        let s = try b(.rfft2(modes1: 2, modes2: 3), x)                          // node 0, %2
        let m = try b(.spectralMix, s, w)                                       // node 1, %3
        let y = try b(.irfft2(height: 8, width: 8, modes1: 2, modes2: 3), m)    // node 2, %4
        let z = try b(.add, y, x)                                               // node 3, %5
        b.output("z", z)
        b.output("s", s)
        return b.graph
    }

    /// An input read only by the first node still lives to the last step: callers refill
    /// or reread input slots between runs (the rollout shifts its window in place).
    func testInputsAreSlotsLiveForTheWholeProgram() throws {
        var b = GraphBuilder(name: "slots")
        let x = b.input("x", .f32(2, 4, 4, 1))
        let g = try b(.gelu, x)
        b.output("y", try b(.gelu, try b(.gelu, g)))
        let plan = try ProgramPlanner.plan(b.graph)
        let input = try XCTUnwrap(plan.owners.firstIndex(of: .value(x)))
        XCTAssertEqual(plan.buffers[input].firstUse, 0)
        XCTAssertEqual(plan.buffers[input].lastUse, 2)
    }

    func testLivenessOfValuesAndWorkspaces() throws {
        let plan = try ProgramPlanner.plan(try spectralBlock())
        XCTAssertEqual(plan.schedule, [0, 1, 2, 3])
        XCTAssertEqual(plan.owners, [.value(0), .value(2), .value(3), .value(4), .value(5),
                                     .workspace(node: 0), .workspace(node: 1), .workspace(node: 2)])
        let workspace = 2 * 8 * (8 / 2 + 1) * 3 * 8   // N x H x (W/2+1) x C complex
        let mixWorkspace = 2 * 4 * 3 * 3 * 4          // 2 tiles of 8 modes, each a [2 Ci, 2 Co] real form of w
        let expected = [
            BufferRequest(size: 1536, firstUse: 0, lastUse: 3),       // input x: a slot, live the whole program
            BufferRequest(size: 576, firstUse: 0, lastUse: 3),        // s: an output, so to the end
            BufferRequest(size: 576, firstUse: 1, lastUse: 2),        // m: node 1 to its reader
            BufferRequest(size: 1536, firstUse: 2, lastUse: 3),       // y
            BufferRequest(size: 1536, firstUse: 3, lastUse: 3),       // z: output, last step
            BufferRequest(size: workspace, firstUse: 0, lastUse: 0),  // rfft2 scratch
            BufferRequest(size: mixWorkspace, firstUse: 1, lastUse: 1),  // spectral_mix scratch
            BufferRequest(size: workspace, firstUse: 2, lastUse: 2),  // irfft2 scratch
        ]
        XCTAssertEqual(plan.buffers, expected)
        // Step 2 holds x, s, m, y and the irfft2 workspace.
        XCTAssertEqual(plan.lowerBoundBytes, 1536 + 576 + 576 + 1536 + workspace)
        XCTAssertEqual(plan.domains, Array(repeating: 0, count: 8))
        let (requests, layout) = plan.layout(domain: 0)
        assertValidLayout(requests, layout)
    }

    func testOffsetsOfValuesAndWorkspaces() throws {
        let plan = try ProgramPlanner.plan(try spectralBlock())
        let values = plan.valueLocations(count: 6)
        XCTAssertNil(values[1], "parameters live in the persistent store")
        XCTAssertEqual(values.compactMap { $0?.offset }, Array(plan.offsets.prefix(5)))
        let workspaces = plan.workspaceLocations(nodeCount: 4)
        XCTAssertEqual(workspaces[0]?.offset, plan.offsets[5])
        XCTAssertEqual(workspaces[1]?.offset, plan.offsets[6])
        XCTAssertEqual(workspaces[2]?.offset, plan.offsets[7])
        XCTAssertNil(workspaces[3])
    }

    func testSharedTransformsArePlannedOnce() throws {
        // rfft2 and irfft2 act on the same 8x8x3 tile: one set of four transforms.
        let plan = try ProgramPlanner.plan(try spectralBlock())
        let t = SpectralTransforms(height: 8, width: 8, channels: 3, modes1: 2, modes2: 3)
        XCTAssertEqual(Set(plan.transforms),
                       [t.realToComplexW, t.complexH(forward: true), t.complexH(forward: false), t.complexToRealW])
        XCTAssertEqual(plan.transforms.count, 4)
    }
}
