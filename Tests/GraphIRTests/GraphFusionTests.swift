import GraphIR
import XCTest

final class GraphFusionTests: XCTestCase {
    /// x -> linear -> gelu -> linear -> output: all three fuse into one mlp.
    func testLinearGeluLinearFusesIntoOneMLP() throws {
        var b = GraphBuilder(name: "mlp")
        let x = b.input("x", .f32(2, 3))
        let w0 = b.parameter("w0", .f32(3, 4)), b0 = b.parameter("b0", .f32(4))
        let w1 = b.parameter("w1", .f32(4, 1)), b1 = b.parameter("b1", .f32(1))
        let h = try b(.gelu, try b(.linear, x, w0, b0))
        b.output("y", try b(.linear, h, w1, b1))
        let fused = try b.graph.fusingForInference()
        try fused.verify()
        XCTAssertEqual(fused.nodes.map(\.op), [.mlp])
        XCTAssertEqual(fused.nodes[0].inputs, ["x", "w0", "b0", "w1", "b1"].map { fused.value(named: $0)! })
        XCTAssertEqual(fused.values.count, b.graph.values.count - 2)
        XCTAssertEqual(fused.values[fused.output(named: "y")!].type, .f32(2, 1))
    }

    /// A linear followed by its only gelu, read by something other than a linear, becomes linear_gelu.
    func testLinearFollowedByItsOnlyGeluFuses() throws {
        var b = GraphBuilder(name: "act")
        let x = b.input("x", .f32(2, 3))
        let w = b.parameter("w", .f32(3, 4)), bias = b.parameter("b", .f32(4))
        let h = try b(.gelu, try b(.linear, x, w, bias))
        b.output("y", try b(.add, h, h))
        let fused = try b.graph.fusingForInference()
        try fused.verify()
        XCTAssertEqual(fused.nodes.map(\.op), [.linearGelu, .add])
    }

    /// In a training graph the projection's input gradient and its gelu_grad fuse; the
    /// forward ops stay (the backward pass reads their pre-activations).
    func testTrainingFusionJoinsLinearGradInputAndGeluGrad() throws {
        var b = GraphBuilder(name: "train")
        let x = b.input("x", .f32(2, 3)), y = b.input("y", .f32(2, 1))
        let w0 = b.parameter("w0", .f32(3, 4)), b0 = b.parameter("b0", .f32(4))
        let w1 = b.parameter("w1", .f32(4, 1)), b1 = b.parameter("b1", .f32(1))
        let pred = try b(.linear, try b(.gelu, try b(.linear, x, w0, b0)), w1, b1)
        let loss = try b(.relativeL2Loss, pred, y)
        let grads = try Autodiff.appendBackward(to: &b, loss: loss, wrt: [w0, b0, w1, b1])
        b.output("loss", loss)
        for (i, g) in grads.enumerated() { b.output("g\(i)", g) }
        let fused = try b.graph.fusingForTraining()
        try fused.verify()
        let ops = fused.nodes.map(\.op)
        XCTAssertEqual(ops.filter { $0 == .linearGradInputGelu }.count, 1)
        XCTAssertFalse(ops.contains(.geluGrad))
        XCTAssertEqual(ops.filter { $0 == .linear || $0 == .gelu }.count, 3)
        XCTAssertEqual(try fused.fusingForInference(), fused, "the pre-activation is still read by the backward pass")
    }

    /// A pre-activation read by anything besides the gelu (here: an output) must survive.
    func testPreActivationWithAnotherReaderIsNotFused() throws {
        var b = GraphBuilder(name: "keep")
        let x = b.input("x", .f32(2, 3))
        let w = b.parameter("w", .f32(3, 4)), bias = b.parameter("b", .f32(4))
        let pre = try b(.linear, x, w, bias)
        b.output("act", try b(.gelu, pre))
        b.output("pre", pre)
        XCTAssertEqual(try b.graph.fusingForInference(), b.graph)
    }

    /// An FNO layer's residual sum: `add(spectral, linear)` then gelu becomes one
    /// linear_add_gelu whose addend is the other operand, whichever side the linear is on;
    /// `add(l, l)` (the value read twice by its consumer) is left alone.
    func testResidualAddFusesFromEitherSideButNotWhenReadTwice() throws {
        for linearFirst in [false, true] {
            var b = GraphBuilder(name: "layer")
            let x = b.input("x", .f32(2, 3)), other = b.input("other", .f32(2, 4))
            let w = b.parameter("w", .f32(3, 4)), bias = b.parameter("b", .f32(4))
            let l = try b(.linear, x, w, bias)
            b.output("y", try b(.gelu, linearFirst ? try b(.add, l, other) : try b(.add, other, l)))
            let fused = try b.graph.fusingForInference()
            try fused.verify()
            XCTAssertEqual(fused.nodes.map(\.op), [.linearAddGelu])
            XCTAssertEqual(fused.nodes[0].inputs, ["x", "w", "b", "other"].map { fused.value(named: $0)! })
        }
        var b = GraphBuilder(name: "twice")
        let x = b.input("x", .f32(2, 3))
        let l = try b(.linear, x, b.parameter("w", .f32(3, 4)), b.parameter("b", .f32(4)))
        b.output("y", try b(.add, l, l))
        XCTAssertEqual(try b.graph.fusingForInference(), b.graph)
        XCTAssertEqual(try b.graph.fusingForTraining(), b.graph)
    }

    /// Result-less nodes (Adam) keep their order relative to the others.
    func testEveryOpGraphFusesOnlyWhereAllowedAndStaysValid() throws {
        let graph = try SampleGraphs.everyOp()
        let fused = try graph.fusingForInference()
        try fused.verify()
        XCTAssertEqual(fused.nodes.filter { $0.op.name == "adam" }.count, 1)
        XCTAssertEqual(try Graph(parsing: fused.text), fused)
    }
}
