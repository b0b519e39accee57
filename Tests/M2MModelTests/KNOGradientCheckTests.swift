import Foundation
import M2MData
import M2MModel
import XCTest

/// Whole-model gradient check of the KNO: the runtime's reverse-mode gradients of the
/// training loss (forward, relative L2, reconstruction term, autodiff; no Adam) against
/// central differences of the independent Double reference loss (`ReferenceKNO`), with
/// the criterion of `GradientCheckTests`. The reconstruction's target (the input window)
/// is data in the runtime (`stop_gradient`): one rollout step checks it exactly (the
/// window is the input); two steps check backpropagation through the fed-back window
/// with the reconstruction weight 0, where the reference differentiates the same function.
final class KNOGradientCheckTests: XCTestCase {
    func gradients(_ config: ModelConfig, steps: Int, x: [Float], y: [Float])
        throws -> (loss: Float, grads: [String: [Float]], parameters: [String: [Double]]) {
        let (loss, grads, store) = try RuntimeGradients.run(KNO2d(config: config), steps: steps, x: x, y: y)
        return (loss, grads, ReferenceKNO.parameters(of: config, in: store))
    }

    func check(_ config: ModelConfig, steps: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let pixels = config.batch * config.grid[0] * config.grid[1]
        let x = TestSupport.randomValues(pixels * config.inputChannels, seed: 51)
        let y = TestSupport.randomValues(pixels * steps, seed: 52, scale: 0.5)
        let (loss, grads, parameters) = try gradients(config, steps: steps, x: x, y: y)
        let reference = ReferenceKNO(config: config, parameters: parameters)
        let (xd, yd) = (x.map(Double.init), y.map(Double.init))
        func referenceLoss(_ r: ReferenceKNO) -> Double { r.trainingLoss(x: xd, y: yd, batch: config.batch, steps: steps).total }
        let expected = referenceLoss(reference)
        XCTAssertEqual(Double(loss), expected, accuracy: 1e-5 * expected, "loss", file: file, line: line)
        let eps = 1e-4
        var checked = 0
        for (index, name) in KNO2d(config: config).parameterNames.enumerated() {
            let gradient = grads[name]!
            let scale = Double(gradient.map(abs).max()!)
            XCTAssertGreaterThan(scale, 0, "\(name): all-zero gradient", file: file, line: line)
            let chosen = TestSupport.distinctIndices(12, below: gradient.count, seed: 200 + UInt64(index))
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
        try ModelConfig.load(TestSupport.repoRoot.appendingPathComponent("configs/tiny-kno.json").path)
    }

    /// One step, with the reconstruction term; linear and non-linear Koopman steps.
    func testOneStepGradientsMatchFiniteDifferences() throws {
        var config = try tiny()
        try check(config, steps: 1)
        config.kno!.linearType = false
        try check(config, steps: 1)
    }

    /// Backpropagation through a 2-step rollout (the window fed back), reconstruction weight 0.
    func testRolloutGradientsMatchFiniteDifferences() throws {
        var config = try tiny()
        config.kno!.reconstructionWeight = 0
        try check(config, steps: 2)
    }
}
