import Foundation
import M2MData
import M2MModel
import XCTest

/// Whole-model gradient check of the UNO: the runtime's reverse-mode gradients of the
/// training loss (forward with its resamples and grid-changing spectral convolutions,
/// relative L2, autodiff; no Adam) against central differences of the independent Double
/// reference loss (`ReferenceUNO`), with the criterion of `GradientCheckTests`.
final class UNOGradientCheckTests: XCTestCase {
    func gradients(_ config: ModelConfig, steps: Int, x: [Float], y: [Float])
        throws -> (loss: Float, grads: [String: [Float]], parameters: [String: [Double]]) {
        let (loss, grads, store) = try RuntimeGradients.run(UNO2d(config: config), steps: steps, x: x, y: y)
        return (loss, grads, ReferenceUNO.parameters(of: config, in: store))
    }

    /// `perTensor` random elements of every parameter tensor.
    func check(_ config: ModelConfig, steps: Int, perTensor: Int = 6, file: StaticString = #filePath, line: UInt = #line) throws {
        let pixels = config.batch * config.grid[0] * config.grid[1]
        let x = TestSupport.randomValues(pixels * config.inputChannels, seed: 51)
        let y = TestSupport.randomValues(pixels * steps, seed: 52, scale: 0.5)
        let (loss, grads, parameters) = try gradients(config, steps: steps, x: x, y: y)
        let reference = ReferenceUNO(config: config, parameters: parameters)
        let (xd, yd) = (x.map(Double.init), y.map(Double.init))
        func referenceLoss(_ r: ReferenceUNO) -> Double { r.trainingLoss(x: xd, y: yd, batch: config.batch, steps: steps) }
        let expected = referenceLoss(reference)
        XCTAssertEqual(Double(loss), expected, accuracy: 1e-5 * expected, "loss", file: file, line: line)
        let eps = 1e-4
        var checked = 0
        for (index, name) in UNO2d(config: config).parameterNames.enumerated() {
            let gradient = grads[name]!
            let scale = Double(gradient.map(abs).max()!)
            XCTAssertGreaterThan(scale, 0, "\(name): all-zero gradient", file: file, line: line)
            let chosen = TestSupport.distinctIndices(perTensor, below: gradient.count, seed: 200 + UInt64(index))
            for i in chosen {
                var plus = reference, minus = reference
                plus.parameters[name]![i] += eps
                minus.parameters[name]![i] -= eps
                let fd = (referenceLoss(plus) - referenceLoss(minus)) / (2 * eps)
                XCTAssertLessThanOrEqual(abs(Double(gradient[i]) - fd), 1e-3 * max(abs(fd), 1e-2 * scale),
                                         "\(name)[\(i)]: runtime \(gradient[i]), finite difference \(fd)", file: file, line: line)
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 50, file: file, line: line)
    }

    func tiny() throws -> ModelConfig {
        try ModelConfig.load(TestSupport.repoRoot.appendingPathComponent("configs/tiny-uno.json").path)
    }

    /// One step of tiny-uno (down, up, a skip across the grid change).
    func testOneStepGradientsMatchFiniteDifferences() throws {
        try check(try tiny(), steps: 1)
    }

    /// Backpropagation through a 2-step rollout (the window fed back), W resampled only.
    func testRolloutGradientsMatchFiniteDifferences() throws {
        var config = try tiny()
        config.grid = [6, 8]
        config.uno!.scalings = [[1, 1], [1, 0.5], [1, 2]]
        config.uno!.nModes = [[4, 4], [2, 4], [4, 2]]
        try check(config, steps: 2, perTensor: 3)
    }
}
