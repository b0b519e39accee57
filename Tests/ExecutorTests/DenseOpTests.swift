import GraphIR
import XCTest

/// linear and its gradients on rows of a channels-last tensor and of a matrix.
final class DenseOpTests: XCTestCase {
    /// Leading shapes of the row operand: batched images and a plain matrix.
    private let rowShapes: [[Int]] = [[2, 8, 8], [7]]
    private let (k, n) = (3, 5)

    func testLinear() throws {
        for rows in rowShapes {
            let count = rows.reduce(1, *)
            let x = Tensor(TensorType(.f32, rows + [k]), seed: 1)
            let w = Tensor(.f32(k, n), seed: 2), b = Tensor(.f32(n), seed: 3)
            let y = try runOp(.linear, [x, w, b])
            assertClose(y, Reference.linear(x.data, w.data, b.data, rows: count, k: k, n: n), "linear \(rows)")
        }
    }

    /// The fused linear + gelu, with row blocks that do not divide the rows evenly.
    func testLinearGelu() throws {
        for rows in rowShapes + [[3, 37, 41]] {
            let count = rows.reduce(1, *)
            let x = Tensor(TensorType(.f32, rows + [k]), seed: 12)
            let w = Tensor(.f32(k, n), seed: 13), b = Tensor(.f32(n), seed: 14)
            let y = try runOp(.linearGelu, [x, w, b])
            let expected = Reference.linear(x.data, w.data, b.data, rows: count, k: k, n: n).map { Reference.gelu($0) }
            assertClose(y, expected, "linear_gelu \(rows)")
        }
    }

    /// The fused mlp, with more rows than one block (so several blocks per tile).
    func testMLP() throws {
        let (hidden, out) = (6, 2)
        for rows in rowShapes + [[2, 3000]] {
            let count = rows.reduce(1, *)
            let x = Tensor(TensorType(.f32, rows + [k]), seed: 15)
            let w1 = Tensor(.f32(k, hidden), seed: 16), b1 = Tensor(.f32(hidden), seed: 17)
            let w2 = Tensor(.f32(hidden, out), seed: 18), b2 = Tensor(.f32(out), seed: 19)
            let y = try runOp(.mlp, [x, w1, b1, w2, b2])
            assertClose(y, Reference.mlp(x.data, w1.data, b1.data, w2.data, b2.data, rows: count, k: k, hidden: hidden, n: out),
                        "mlp \(rows)")
        }
    }

    /// The mlp's packed gradient over several row blocks per tile, against the unfused rules in
    /// Double; one and two output channels (the sgemv and the product paths), with widths that
    /// fill the 4 x 16 blocks of the x^T dz kernel and leave edges.
    func testMLPGrad() throws {
        for (rows, k, hidden, out) in [([2, 8, 8], 3, 6, 2), ([7], 3, 6, 1), ([2, 3000], 8, 32, 1), ([3, 700], 9, 37, 3)] {
            let count = rows.reduce(1, *)
            let dy = Tensor(TensorType(.f32, rows + [out]), seed: 30), x = Tensor(TensorType(.f32, rows + [k]), seed: 31)
            let w1 = Tensor(.f32(k, hidden), seed: 32), b1 = Tensor(.f32(hidden), seed: 33), w2 = Tensor(.f32(hidden, out), seed: 34)
            let packed = try runOp(.mlpGrad, [dy, x, w1, b1, w2])
            let expected = Reference.mlpGrad(dy.data, x.data, w1.data, b1.data, w2.data, rows: count, k: k, hidden: hidden, n: out)
            XCTAssertEqual(packed.count, expected.count)
            var start = 0   // each part on its own scale: dx, dw1, db1, dw2, db2
            for (part, size) in zip(["dx", "dw1", "db1", "dw2", "db2"], [count * k, k * hidden, hidden, hidden * out, out]) {
                assertClose(Array(packed[start..<start + size]), Array(expected[start..<start + size]),
                            "mlp_grad \(part) \(rows) k=\(k) hidden=\(hidden) n=\(out)")
                start += size
            }
        }
    }

    func testLinearGradInput() throws {
        for rows in rowShapes {
            let count = rows.reduce(1, *)
            let dy = Tensor(TensorType(.f32, rows + [n]), seed: 4), w = Tensor(.f32(k, n), seed: 5)
            let dx = try runOp(.linearGradInput, [dy, w])
            assertClose(dx, Reference.linearGradInput(dy.data, w.data, rows: count, k: k, n: n), "dx \(rows)")
        }
    }

    /// The fused input gradient scaled by gelu'(x), over several row blocks.
    func testLinearGradInputGelu() throws {
        for rows in rowShapes + [[2, 9000]] {
            let count = rows.reduce(1, *)
            let dy = Tensor(TensorType(.f32, rows + [n]), seed: 20), w = Tensor(.f32(k, n), seed: 21)
            let x = Tensor(TensorType(.f32, rows + [k]), seed: 22)
            let dx = try runOp(.linearGradInputGelu, [dy, w, x])
            let expected = zip(Reference.linearGradInput(dy.data, w.data, rows: count, k: k, n: n), x.data)
                .map { $0 * Reference.geluDerivative($1) }
            assertClose(dx, expected, "linear_grad_input_gelu \(rows)")
        }
    }

    func testLinearGradWeight() throws {
        for rows in rowShapes {
            let count = rows.reduce(1, *)
            let x = Tensor(TensorType(.f32, rows + [k]), seed: 6), dy = Tensor(TensorType(.f32, rows + [n]), seed: 7)
            let dw = try runOp(.linearGradWeight, [x, dy])
            assertClose(dw, Reference.linearGradWeight(x.data, dy.data, rows: count, k: k, n: n), "dw \(rows)")
        }
    }

    /// Widths that take the x^T dy kernel's 4 x 16 register blocks and its edges, over more rows
    /// than one chunk.
    func testLinearGradWeightBlocks() throws {
        for (rows, k, n) in [([2, 40], 4, 16), ([3, 50], 9, 37), ([1, 70], 32, 32)] {
            let count = rows.reduce(1, *)
            let x = Tensor(TensorType(.f32, rows + [k]), seed: 40), dy = Tensor(TensorType(.f32, rows + [n]), seed: 41)
            let dw = try runOp(.linearGradWeight, [x, dy])
            assertClose(dw, Reference.linearGradWeight(x.data, dy.data, rows: count, k: k, n: n), "dw \(rows) k=\(k) n=\(n)")
        }
    }

    func testSumRows() throws {
        for rows in rowShapes {
            let dy = Tensor(TensorType(.f32, rows + [n]), seed: 8)
            let sums = try runOp(.sumRows, [dy])
            assertClose(sums, Reference.sumRows(dy.data, rows: rows.reduce(1, *), n: n), "sum_rows \(rows)")
        }
    }

    /// Reductions over more than one 32768-element chunk, split over three threads.
    func testReductionsAcrossChunks() throws {
        let (k, n) = (190, 190)
        let x = Tensor(.f32(3, 4, k), seed: 9), dy = Tensor(.f32(3, 4, n), seed: 10)
        assertClose(try runOp(.linearGradWeight, [x, dy], threads: 3),
                    Reference.linearGradWeight(x.data, dy.data, rows: 12, k: k, n: n), "linear_grad_weight")
        let wide = Tensor(.f32(3, 2, 33_000), seed: 11)
        assertClose(try runOp(.sumRows, [wide], threads: 3), Reference.sumRows(wide.data, rows: 6, n: 33_000), "sum_rows")
    }
}
