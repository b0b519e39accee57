import XCTest
import GraphIR

/// Printing then parsing gives back the same graph.
final class GraphTextTests: XCTestCase {
    func testEveryOpRoundTrips() throws {
        let graph = try SampleGraphs.everyOp()
        XCTAssertEqual(Set(graph.nodes.map(\.op.name)), Set(Op.allNames))
        XCTAssertNoThrow(try graph.verify())
        let parsed = try Graph(parsing: graph.text)
        XCTAssertEqual(parsed, graph)
        XCTAssertEqual(parsed.text, graph.text)
    }

    func testDoubleAttributesRoundTripExactly() throws {
        let values: [Double] = [1e-8, 0.1, 1.0 / 3, 0.999, -2.5e300, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1, 0]
        var b = GraphBuilder(name: "doubles")
        let hyper = b.input("hyper", .f32(2))
        for (i, value) in values.enumerated() {
            let p = b.parameter("p\(i)", .f32(2))
            let m = b.state("m\(i)", .f32(2))
            let v = b.state("v\(i)", .f32(2))
            let grad = try b(.fill(value: value, shape: [2]))
            try b.apply(.adam(beta1: value, beta2: 1 - value, epsilon: value, weightDecay: value / 7, decoupled: i % 2 == 0),
                        [p, grad, m, v, hyper])
        }
        let graph = b.graph
        XCTAssertNoThrow(try graph.verify())
        let text = graph.text
        XCTAssertTrue(text.contains("epsilon = 1e-08"), text)
        XCTAssertTrue(text.contains("value = 0.3333333333333333"), text)
        XCTAssertEqual(try Graph(parsing: text), graph)
    }

    func testPrintsReadableLines() throws {
        var b = GraphBuilder(name: "fno")
        let x = b.input("x", .f32(2, 8, 8, 3))
        let s = try b(.rfft2(modes1: 2, modes2: 3), x)
        b.output("s", s)
        XCTAssertEqual(b.graph.text, """
            graph "fno" {
              %0 = input "x" : f32[2,8,8,3]
              %1 = rfft2(%0) {modes1 = 2, modes2 = 3} : c64[12,2,3]
              output "s" = %1
            }

            """)
    }

    func testParsesCommentsEscapesAndLooseSpacing() throws {
        let text = """
            // a comment line
            graph "a \\"quoted\\" \\\\ name" {   // after the header
              %0=input "x":f32[ 2 , 3 ]
              %1 = gelu( %0 ) : f32[2,3]  // trailing comment with "quotes" and } brace
              output "y//not a comment" = %1
            }
            """
        let graph = try Graph(parsing: text)
        XCTAssertEqual(graph.name, "a \"quoted\" \\ name")
        XCTAssertEqual(graph.outputs.map(\.name), ["y//not a comment"])
        XCTAssertEqual(try Graph(parsing: graph.text), graph)
    }

    func testNamesWithNewlinesRoundTrip() throws {
        var graph = SampleGraphs.gelu()
        graph.name = "two\nlines"
        XCTAssertTrue(graph.text.hasPrefix("graph \"two\\nlines\" {"))
        XCTAssertEqual(try Graph(parsing: graph.text), graph)
    }

    func testEmptyGraphRoundTrips() throws {
        let graph = Graph(name: "")
        XCTAssertEqual(graph.text, "graph \"\" {\n}\n")
        XCTAssertEqual(try Graph(parsing: "graph \"\" {}"), graph)
    }
}
