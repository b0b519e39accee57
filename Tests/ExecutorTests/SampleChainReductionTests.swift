import Executor
import GraphIR
import Planner
import XCTest

/// Weight and bias gradients (`linear_grad_weight`, `sum_rows`) join sample chains for their
/// per-sample partials (`sampleReductionTiles`) and reduce them after the chain's tiles; a node
/// that reads such a result never joins the chain that computes it.
final class SampleChainReductionTests: XCTestCase {
    /// a = linear(x); dw = x^T a; db = column sums of a; c = linear(a); e = linear(a, dw).
    /// Four samples of four channels: `dw` is [4, 4], so it would pass for a field of the four
    /// samples; only its being a reduction keeps `e` out of the chain.
    static func graph() throws -> Graph {
        var b = GraphBuilder(name: "reductions")
        let x = b.input("x", .f32(4, 8, 8, 4))
        let a = try b(.linear, x, b.parameter("w", .f32(4, 4)), b.parameter("b", .f32(4)))
        let dw = try b(.linearGradWeight, x, a)
        let db = try b(.sumRows, a)
        let c = try b(.linear, a, b.parameter("w2", .f32(4, 4)), b.parameter("b2", .f32(4)))
        let e = try b(.linear, a, dw, b.parameter("b3", .f32(4)))
        for (name, v) in [("dw", dw), ("db", db), ("c", c), ("e", e)] { b.output(name, v) }
        return b.graph
    }

    func testReductionsJoinAChainAndTheirReadersDoNot() throws {
        let graph = try Self.graph()
        let names = graph.nodes.map(\.op.name)
        let chains = try XCTUnwrap(try ProgramPlanner.plan(graph).chains).map { $0.map { names[$0] } }
        XCTAssertEqual(chains, [["linear", "linear_grad_weight", "sum_rows", "linear"]])
    }

    /// Chained (tile by tile, reductions after) against node by node, at 1 to 3 threads, and
    /// the gradients against a Double reference.
    func testChainedReductionsMatchNodeByNodeBitForBit() throws {
        let graph = try Self.graph()
        let x = randomFloats(4 * 8 * 8 * 4, seed: 3)
        var outputs: [(run: String, bits: [String: [UInt32]])] = []
        for threads in [1, 2, 3] {
            for chained in [true, false] {
                let program = try compile(graph, threads: threads)
                program.feed("x", x)
                for (name, seed) in [("w", 4), ("b", 5), ("w2", 6), ("b2", 7), ("b3", 8)] {
                    program.feed(name, randomFloats(name.hasPrefix("w") ? 16 : 4, seed: UInt64(seed)))
                }
                if chained {
                    program.run()
                } else {
                    var seconds = [Double](repeating: 0, count: graph.nodes.count)
                    seconds.withUnsafeMutableBufferPointer { program.runProfiled($0.baseAddress!) }
                }
                outputs.append(("\(threads) threads, \(chained ? "chained" : "node by node")",
                                Dictionary(uniqueKeysWithValues: ["dw", "db", "c", "e"].map {
                                    ($0, program.read($0).map(\.bitPattern))
                                })))
                if threads == 1 && chained {
                    // dw = x^T linear(x), db = column sums of linear(x), in Double.
                    let (w, bias) = (program.read("w").map(Double.init), program.read("b").map(Double.init))
                    var dw = [Double](repeating: 0, count: 16), db = [Double](repeating: 0, count: 4)
                    for r in 0..<(4 * 8 * 8) {
                        for j in 0..<4 {
                            var v = bias[j]
                            for i in 0..<4 { v += Double(x[r * 4 + i]) * w[i * 4 + j] }
                            db[j] += v
                            for i in 0..<4 { dw[i * 4 + j] += Double(x[r * 4 + i]) * v }
                        }
                    }
                    assertClose(program.read("dw"), dw, tolerance: 1e-5, "dw")
                    assertClose(program.read("db"), db, tolerance: 1e-5, "db")
                }
            }
        }
        for o in outputs.dropFirst() {
            for name in ["dw", "db", "c", "e"] {
                XCTAssertTrue(o.bits[name] == outputs[0].bits[name], "\(o.run): \(name) differs from \(outputs[0].run)")
            }
        }
    }
}
