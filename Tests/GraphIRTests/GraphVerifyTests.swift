import XCTest
@testable import GraphIR

/// Each verifier rule rejects a graph that breaks it, with a message naming the culprit.
final class GraphVerifyTests: XCTestCase {
    private func assertRejected(_ graph: Graph, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try graph.verify(), file: file, line: line) { error in
            XCTAssertEqual((error as? GraphError)?.message, message, file: file, line: line)
        }
    }

    /// Parameter `p`, its gradient, Adam moments and hyperparameters: %0 p, %1 m, %2 v, %3 hyper, %4 grad.
    private func adamSetup() throws -> (GraphBuilder, p: ValueID, m: ValueID, v: ValueID, hyper: ValueID, grad: ValueID) {
        var b = GraphBuilder(name: "adam")
        let p = b.parameter("p", .f32(2))
        let m = b.state("m", .f32(2))
        let v = b.state("v", .f32(2))
        let hyper = b.input("hyper", .f32(2))
        let grad = try b(.fill(value: 0.5, shape: [2]))
        return (b, p, m, v, hyper, grad)
    }

    private let adam = Op.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, decoupled: false)

    func testAcceptsWellFormedGraphs() throws {
        XCTAssertNoThrow(try SampleGraphs.gelu().verify())
        XCTAssertNoThrow(try SampleGraphs.everyOp().verify())
    }

    /// A bounded `slice_flat` takes its extent from the node that packed its input: a packed
    /// value of static operands has none.
    func testBoundedSliceNeedsABoundedProducer() throws {
        var b = GraphBuilder(name: "slice")
        let x = b.input("x", .f32(12))
        let packed = try b(.affine(scale: 2, shift: 0), x)
        b.output("y", try b(.sliceFlat(start: 0, shape: [3, 2], bounded: true), packed))
        XCTAssertEqual(b.graph.values.last?.type.description, "f32[<=3,2]")
        assertRejected(b.graph, "node 1 (slice_flat): a bounded slice of %1, which no bounded node produced")
    }

    /// mlp_grad reads dy and x row by row: bounded alike or not at all.
    func testMLPGradNeedsRowsBoundedAlike() throws {
        var b = GraphBuilder(name: "mlp")
        let p = b.input("p", .f32(4, 2))
        let route = try b(.route(k: 1, capacity: 3), p)
        let x = try b(.dispatch(expert: 0, k: 1, capacity: 3), b.input("x", .f32(4, 5, 2)), route)
        let (w1, b1, w2) = (b.parameter("w1", .f32(2, 4)), b.parameter("b1", .f32(4)), b.parameter("w2", .f32(4, 1)))
        let dy = b.input("dy", .f32(3, 5, 1))
        XCTAssertThrowsError(try b(.mlpGrad, dy, x, w1, b1, w2)) { error in
            XCTAssertEqual((error as? GraphError)?.message, "mlp_grad: only dy and x may be bounded, alike and on axis 0 "
                           + "(inputs f32[3,5,1], f32[<=3,5,2], f32[2,4], f32[4], f32[4,1])")
        }
    }

    func testTypeMismatch() {
        var graph = SampleGraphs.gelu()
        graph.values[1].type = .f32(2, 4)
        assertRejected(graph, "node 0 (%1 = gelu): type mismatch: result is declared f32[2,4] but gelu gives f32[2,3]")
    }

    func testOpTypeErrorNamesTheNode() {
        var graph = SampleGraphs.gelu()
        graph.values[0].type = .c64(2, 3)
        assertRejected(graph, "node 0 (%1 = gelu): gelu: x must be f32 (inputs c64[2,3])")
    }

    func testUseBeforeDefinition() throws {
        var b = GraphBuilder(name: "g")
        let x = b.input("x", .f32(2))
        let y = try b(.gelu, try b(.gelu, x))
        b.output("y", y)
        var graph = b.graph
        graph.nodes[0].inputs = [2]
        assertRejected(graph, "node 0 (%1 = gelu): reads %2 before node 1 defines it")
    }

    func testNodeReadingItsOwnResultIsACycle() {
        var graph = SampleGraphs.gelu()
        graph.nodes[0].inputs = [1]
        assertRejected(graph, "node 0 (%1 = gelu): reads %1 before node 0 defines it")
    }

    func testUnknownValue() {
        var graph = SampleGraphs.gelu()
        graph.nodes[0].inputs = [7]
        assertRejected(graph, "node 0 (%1 = gelu): unknown value %7")
    }

    func testResultMustPointBackToItsNode() {
        var graph = SampleGraphs.gelu()
        graph.values[1].kind = .input(name: "z")
        assertRejected(graph, "node 0 (%1 = gelu): result %1 is declared as input \"z\"")
    }

    func testUnusedResult() throws {
        var b = GraphBuilder(name: "g")
        let x = b.input("x", .f32(2))
        _ = try b(.gelu, x)
        b.output("y", try b(.gelu, x))
        assertRejected(b.graph, "%1 (result of node 0) is never used")
    }

    func testUnusedInput() {
        var graph = SampleGraphs.gelu()
        graph.values.append(Value(kind: .input(name: "spare"), type: .f32(1)))
        assertRejected(graph, "%2 (input \"spare\") is never used")
    }

    func testDuplicateDeclaredName() throws {
        var b = GraphBuilder(name: "g")
        let x = b.input("x", .f32(2))
        let x2 = b.input("x", .f32(2))
        b.output("y", try b(.add, x, x2))
        assertRejected(b.graph, "%1: name \"x\" is already used by %0")
    }

    func testEmptyDeclaredName() {
        var graph = SampleGraphs.gelu()
        graph.values[0].kind = .input(name: "")
        assertRejected(graph, "%0: input has an empty name")
    }

    func testDuplicateOutputName() {
        var graph = SampleGraphs.gelu()
        graph.outputs.append(("y", 0))
        assertRejected(graph, "output \"y\" is declared twice")
    }

    func testOutputOfUnknownValue() {
        var graph = SampleGraphs.gelu()
        graph.outputs[0].value = 9
        assertRejected(graph, "output \"y\": unknown value %9")
    }

    func testAdamMayNotUpdateAResult() throws {
        var (b, p, m, v, hyper, grad) = try adamSetup()
        let r = try b(.gelu, p)
        try b.apply(adam, [r, grad, m, v, hyper])
        assertRejected(b.graph, "node 2 (adam): updates %5 (result of node 1) in place; only parameters and state may be updated")
    }

    func testAdamMayNotUpdateAnInput() throws {
        var (b, p, m, _, hyper, grad) = try adamSetup()
        try b.apply(adam, [p, grad, m, hyper, hyper])
        assertRejected(b.graph, "node 1 (adam): updates %3 (input \"hyper\") in place; only parameters and state may be updated")
    }

    func testAdamMustFollowEveryReader() throws {
        var (b, p, m, v, hyper, grad) = try adamSetup()
        try b.apply(adam, [p, grad, m, v, hyper])
        b.output("y", try b(.gelu, p))
        assertRejected(b.graph, "node 1 (adam): updates %0 in place before node 2 (%5 = gelu) reads it")
    }

    func testAdamUpdatedValueMayNotAliasAnotherOperand() throws {
        var (b, p, m, _, hyper, grad) = try adamSetup()
        try b.apply(adam, [p, grad, m, m, hyper])
        assertRejected(b.graph, "node 1 (adam): updates %1 in place but also reads it as operand 3")
    }

    func testResultlessNodeMustNotBindAValue() throws {
        var (b, p, m, v, hyper, grad) = try adamSetup()
        try b.apply(adam, [p, grad, m, v, hyper])
        var graph = b.graph
        graph.values.append(Value(kind: .result(node: 1), type: .f32(2)))
        graph.nodes[1].result = 5
        graph.outputs.append(("r", 5))
        assertRejected(graph, "node 1 (%5 = adam): adam has no result")
    }
}
