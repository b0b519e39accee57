import GraphIR
import XCTest

/// Runs the graph `body` builds on `inputs` (fed as graph inputs, no fusion) and returns its output.
private func runChain(_ inputs: [Tensor], _ body: (inout GraphBuilder, [ValueID]) throws -> ValueID) throws -> [Float] {
    var b = GraphBuilder(name: "chain")
    let ids = inputs.indices.map { b.input("in\($0)", inputs[$0].type) }
    b.output("out", try body(&b, ids))
    let program = try compile(b.graph, threads: 2)
    for (i, t) in inputs.enumerated() { program.feed("in\(i)", t.data) }
    program.run()
    return program.read("out")
}

/// The GEMM epilogues of Graph+Fusion: each fused op against a Double reference, and bit for
/// bit against the unfused ops it replaces (the fusions must change no bit), over shapes
/// with several row blocks and a last partial block.
extension DenseOpTests {
    private var epilogueRows: [[Int]] { [[2, 8, 8], [7], [1, 30000], [3, 37, 41]] }

    func testLinearAddEpilogues() throws {
        let (k, n) = (3, 5)
        for rows in epilogueRows {
            let count = rows.reduce(1, *)
            let x = Tensor(TensorType(.f32, rows + [k]), seed: 60), w = Tensor(.f32(k, n), seed: 61)
            let bias = Tensor(.f32(n), seed: 62), r = Tensor(TensorType(.f32, rows + [n]), seed: 63)
            let sum = zip(Reference.linear(x.data, w.data, bias.data, rows: count, k: k, n: n), r.data).map { $0 + Double($1) }

            let fused = try runOp(.linearAdd, [x, w, bias, r])
            assertClose(fused, sum, "linear_add \(rows)")
            // The residual is add's first operand in the FNO (spectral + pointwise).
            let unfused = try runChain([x, w, bias, r]) { b, v in try b(.add, v[3], try b(.linear, v[0], v[1], v[2])) }
            XCTAssertEqual(fused.map(\.bitPattern), unfused.map(\.bitPattern), "linear_add \(rows) differs from linear, add")

            let fusedGelu = try runOp(.linearAddGelu, [x, w, bias, r])
            assertClose(fusedGelu, sum.map { Reference.gelu($0) }, "linear_add_gelu \(rows)")
            let unfusedGelu = try runChain([x, w, bias, r]) { b, v in
                try b(.gelu, try b(.add, v[3], try b(.linear, v[0], v[1], v[2])))
            }
            XCTAssertEqual(fusedGelu.map(\.bitPattern), unfusedGelu.map(\.bitPattern), "linear_add_gelu \(rows)")
        }
    }

    func testLinearGradInputAddEpilogues() throws {
        let (k, n) = (3, 5)
        for rows in epilogueRows {
            let count = rows.reduce(1, *)
            let dy = Tensor(TensorType(.f32, rows + [n]), seed: 70), w = Tensor(.f32(k, n), seed: 71)
            let r = Tensor(TensorType(.f32, rows + [k]), seed: 72), x = Tensor(TensorType(.f32, rows + [k]), seed: 73)
            let sum = zip(Reference.linearGradInput(dy.data, w.data, rows: count, k: k, n: n), r.data).map { $0 + Double($1) }

            let fused = try runOp(.linearGradInputAdd, [dy, w, r])
            assertClose(fused, sum, "linear_grad_input_add \(rows)")
            let unfused = try runChain([dy, w, r]) { b, v in try b(.add, try b(.linearGradInput, v[0], v[1]), v[2]) }
            XCTAssertEqual(fused.map(\.bitPattern), unfused.map(\.bitPattern), "linear_grad_input_add \(rows)")

            let fusedGelu = try runOp(.linearGradInputAddGelu, [dy, w, r, x])
            assertClose(fusedGelu, zip(sum, x.data).map { $0 * Reference.geluDerivative($1) }, "linear_grad_input_add_gelu \(rows)")
            let unfusedGelu = try runChain([dy, w, r, x]) { b, v in
                try b(.geluGrad, v[3], try b(.add, try b(.linearGradInput, v[0], v[1]), v[2]))
            }
            XCTAssertEqual(fusedGelu.map(\.bitPattern), unfusedGelu.map(\.bitPattern), "linear_grad_input_add_gelu \(rows)")
        }
    }
}
