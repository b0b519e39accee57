import GraphIR
import XCTest

/// gelu, gelu_grad, add, fill and the channel-layout ops.
final class ElementwiseOpTests: XCTestCase {
    private let image = TensorType.f32(2, 6, 10, 3)

    func testGelu() throws {
        let x = Tensor(image, seed: 11, in: -6...6)
        assertClose(try runOp(.gelu, [x]), x.data.map(Reference.gelu), "gelu")
    }

    func testGeluGrad() throws {
        let x = Tensor(image, seed: 12, in: -6...6), dy = Tensor(image, seed: 13)
        let expected = zip(x.data, dy.data).map { Reference.geluDerivative($0) * Double($1) }
        assertClose(try runOp(.geluGrad, [x, dy]), expected, "gelu_grad")
    }

    func testAdd() throws {
        let a = Tensor(image, seed: 14), b = Tensor(image, seed: 15)
        assertClose(try runOp(.add, [a, b]), zip(a.data, b.data).map { Double($0) + Double($1) }, "add")
    }

    /// 40960 elements: two 32768-element chunks, split over three threads.
    func testElementwiseOpsAcrossChunks() throws {
        let big = TensorType.f32(2, 64, 64, 5)
        let x = Tensor(big, seed: 21, in: -6...6), y = Tensor(big, seed: 22)
        assertClose(try runOp(.gelu, [x], threads: 3), x.data.map(Reference.gelu), "gelu")
        assertClose(try runOp(.add, [x, y], threads: 3), zip(x.data, y.data).map { Double($0) + Double($1) }, "add")
    }

    func testFill() throws {
        XCTAssertEqual(try runOp(.fill(value: 2.5, shape: [3, 4]), []), Array(repeating: 2.5, count: 12))
        XCTAssertEqual(try runOp(.fill(value: -1, shape: []), []), [-1])
    }

    func testAppendCoordinates() throws {
        let (n, h, w, c) = (2, 6, 10, 3)
        let x = Tensor(image, seed: 16)
        var expected: [Double] = []
        for s in 0..<n {
            for y in 0..<h {
                for xx in 0..<w {
                    let pixel = ((s * h + y) * w + xx) * c
                    expected += x.data[pixel..<(pixel + c)].map(Double.init) + [Double(xx) / Double(w), Double(y) / Double(h)]
                }
            }
        }
        assertClose(try runOp(.appendCoordinates, [x]), expected, "append_coordinates")
    }

    /// Pixels of a channels-last tensor as rows of channels.
    private func pixels(_ t: Tensor) -> [[Double]] {
        let c = t.type.shape[3]
        return stride(from: 0, to: t.data.count, by: c).map { t.data[$0..<($0 + c)].map(Double.init) }
    }

    func testSliceChannels() throws {
        let x = Tensor(.f32(2, 6, 10, 5), seed: 17)
        let expected = pixels(x).flatMap { $0[1..<4] }
        assertClose(try runOp(.sliceChannels(start: 1, count: 3), [x]), expected, "slice_channels")
    }

    func testPadChannels() throws {
        let x = Tensor(image, seed: 18)
        let expected = pixels(x).flatMap { [0, 0] + $0 + [0] as [Double] }
        assertClose(try runOp(.padChannels(start: 2, total: 6), [x]), expected, "pad_channels")
    }

    func testConcatChannels() throws {
        let a = Tensor(image, seed: 19), b = Tensor(.f32(2, 6, 10, 2), seed: 20)
        let expected = zip(pixels(a), pixels(b)).flatMap { $0 + $1 }
        assertClose(try runOp(.concatChannels, [a, b]), expected, "concat_channels")
    }
}
