import GraphIR
import XCTest

final class LossOpTests: XCTestCase {
    private let type = TensorType.f32(3, 6, 10, 2)

    func testRelativeL2Loss() throws {
        let p = Tensor(type, seed: 90), y = Tensor(type, seed: 91)
        let loss = try runOp(.relativeL2Loss, [p, y])
        assertClose(loss, [Reference.relativeL2Loss(p.data, y.data, samples: 3)], "relative_l2_loss")
    }

    func testRelativeL2LossGrad() throws {
        let p = Tensor(type, seed: 92), y = Tensor(type, seed: 93), seed = Tensor(.f32(), [0.75])
        let grad = try runOp(.relativeL2LossGrad, [p, y, seed])
        assertClose(grad, Reference.relativeL2LossGrad(p.data, y.data, seed: 0.75, samples: 3), "relative_l2_loss_grad")
    }

    func testGradientIsZeroForAPerfectPrediction() throws {
        let y = Tensor(type, seed: 94)
        XCTAssertEqual(try runOp(.relativeL2LossGrad, [y, y, Tensor(.f32(), [1])]), Array(repeating: 0, count: y.data.count))
        XCTAssertEqual(try runOp(.relativeL2Loss, [y, y]), [0])
    }
}
