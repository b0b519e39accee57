import GraphIR
import XCTest

/// `Graph.recomputing`: where the copies go and what they read (the memory and bit effects are
/// tested on whole models in M2MModelTests.MemoryLimitTests).
final class GraphRecomputeTests: XCTestCase {
    /// Two "steps" x -> gelu -> linear -> gelu -> linear -> loss, and a backward pass that reads
    /// the GELU outputs and the pre-activations. Returns the graph, its forward node count and
    /// the named values.
    func sample() throws -> (Graph, Int, [String: ValueID]) {
        var b = GraphBuilder(name: "recompute")
        let x = b.input("x", .f32(2, 4, 4, 3))
        let w = b.parameter("w", .f32(3, 3)), bias = b.parameter("b", .f32(3))
        let y = b.input("y", .f32(2, 4, 4, 3))
        let h1 = try b(.gelu, x)
        let z1 = try b(.linear, h1, w, bias)
        let h2 = try b(.gelu, z1)
        let z2 = try b(.linear, h2, w, bias)
        let loss = try b(.relativeL2Loss, z2, y)
        let forward = b.graph.nodes.count
        let seed = try b(.fill(value: 1, shape: []))
        let dz2 = try b(.relativeL2LossGrad, z2, y, seed)
        let dw2 = try b(.linearGradWeight, h2, dz2)
        let dh2 = try b(.linearGradInput, dz2, w)
        let dz1 = try b(.geluGrad, z1, dh2)
        let dw1 = try b(.linearGradWeight, h1, dz1)
        let dw = try b(.add, dw2, dw1)
        b.output("loss", loss)
        b.output("dw", dw)
        return (b.graph, forward, ["h1": h1, "z1": z1, "h2": h2, "z2": z2])
    }

    func testSavedActivationsAreTheForwardValuesTheBackwardPassReads() throws {
        let (g, forward, v) = try sample()
        XCTAssertEqual(g.savedActivations(forwardNodes: forward), [v["h1"]!, v["z1"]!, v["h2"]!, v["z2"]!].sorted())
    }

    /// A per-reader copy sits right before each backward reader and reads the original operand;
    /// a shared copy chain is made once, at the first backward reader, and reused.
    func testCopiesSitBeforeTheirBackwardReaders() throws {
        let (g, forward, v) = try sample()
        let perReader = try g.recomputing(Recomputation(perReader: [v["h2"]!, v["h1"]!]), forwardNodes: forward)
        try perReader.verify()
        XCTAssertEqual(perReader.nodes.count, g.nodes.count + 2)
        XCTAssertEqual(Array(perReader.nodes.prefix(forward)), Array(g.nodes.prefix(forward)), "the forward pass changed")
        for (k, node) in perReader.nodes.enumerated() where node.op == .linearGradWeight {
            // Operand 0 is the copy made by the node just before, a gelu of an original forward value.
            let copy = perReader.nodes[k - 1]
            XCTAssertEqual(copy.op, .gelu)
            XCTAssertEqual(node.inputs[0], copy.result)
            guard case .result(let producer) = perReader.values[copy.inputs[0]].kind else { continue }
            XCTAssertLessThan(producer, forward)
        }
        XCTAssertEqual(perReader.text.components(separatedBy: "= gelu(").count - 1, 4)

        // Shared: z2's backward readers (relative_l2_loss_grad, linear_grad_input's dz2 does not
        // read it) get one copy chain h2 -> z2, with h2 shared by linear_grad_weight.
        let shared = try g.recomputing(Recomputation(shared: [v["h2"]!, v["z2"]!]), forwardNodes: forward)
        try shared.verify()
        XCTAssertEqual(shared.nodes.count, g.nodes.count + 2)
        let ops = shared.nodes[forward...].map(\.op)
        XCTAssertEqual(Array(ops.prefix(4)), [.fill(value: 1, shape: []), .gelu, .linear, .relativeL2LossGrad])
        let copyOfH2 = shared.nodes[forward + 1].result!
        XCTAssertTrue(shared.nodes.contains { $0.op == .linearGradWeight && $0.inputs[0] == copyOfH2 })

        XCTAssertThrowsError(try g.recomputing(Recomputation(perReader: [g.output(named: "loss")!]), forwardNodes: forward))
        XCTAssertThrowsError(try g.recomputing(Recomputation(perReader: [g.value(named: "x")!]), forwardNodes: forward))
    }

    func testCheapOpsArePointwiseAndChannelCopies() {
        XCTAssertTrue(OpCode.gelu.isCheapToRecompute)
        XCTAssertTrue(OpCode.append_coordinates.isCheapToRecompute)
        XCTAssertFalse(OpCode.linear.isCheapToRecompute)
        XCTAssertFalse(OpCode.rfft2.isCheapToRecompute)
        XCTAssertFalse(OpCode.adam.isCheapToRecompute)
    }
}
