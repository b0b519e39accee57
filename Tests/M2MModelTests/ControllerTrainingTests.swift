import Foundation
import M2MData
@testable import M2MModel
import XCTest

/// The PI controller inside real training runs of tiny-m2m (M2M.md section 7): lambda(t)
/// rises while the KL stays above the target and falls to lambda_min below it, and a
/// larger routing weight pulls the KL down (toward the target).
final class ControllerTrainingTests: XCTestCase {
    var folder: String!

    override func setUpWithError() throws {
        folder = try TestSupport.temporaryDirectory(self).path
        let gen = try NavierStokesGenerator(count: 10, res: 8, solverRes: 16, dt: 0.05, frames: 6, interval: 0.1, seed: 5)
        _ = try gen.write(to: folder + "/data", threads: 2)
    }


    /// Trains a variant of tiny-m2m for `epochs` and returns its epoch records.
    func train(_ name: String, epochs: Int, edit: (inout M2MConfig) -> Void) throws -> [EpochRecord] {
        var config = try ModelConfig.load(TestSupport.repoRoot.appendingPathComponent("configs/tiny-m2m.json").path)
        config.optimizer.lr = 1e-2
        edit(&config.m2m!)
        let compiled = try CompiledModel.compile(config, rigor: .estimate, threads: 2)
        let trainer = try Trainer(runtime: try ModelRuntime(compiled, threads: 2), data: try Dataset(path: folder + "/data"),
                                  ntrain: 8, ntest: 2, runDirectory: folder + "/" + name)
        var records: [EpochRecord] = []
        trainer.epochFinished = { records.append($0) }
        try trainer.run(epochs: epochs)
        return records
    }

    func testLambdaFollowsTheKLAgainstTheTarget() throws {
        // Target 0: the KL is always above it, so every step's error is negative and lambda rises.
        let rising = try train("rising", epochs: 4) { $0.controller.target = 0 }
        let lambdas = rising.compactMap(\.lambda)
        XCTAssertEqual(lambdas.count, 4)
        for (a, b) in zip(lambdas, lambdas.dropFirst()) { XCTAssertGreaterThan(b, a, "\(lambdas)") }
        XCTAssertLessThan(try XCTUnwrap(rising.last?.controllerIntegral), 0)
        // Target far above any KL: P(t) = Kp / (1 + e^50) vanishes, the candidate falls below
        // lambda_min, so conditional integration keeps the integral at 0 (anti-windup) and
        // lambda sits at lambda_min + P.
        let falling = try train("falling", epochs: 3) { $0.controller.target = 50 }
        XCTAssertLessThan(try XCTUnwrap(falling.last?.lambda), 1e-12)
        XCTAssertEqual(falling.last?.controllerIntegral, 0)
    }

    func testALargerRoutingWeightLowersTheKL() throws {
        let weighted = try train("weighted", epochs: 6) {
            $0.controller.enabled = false
            $0.controller.lambdaConst = 1
        }
        let unweighted = try train("unweighted", epochs: 6) {
            $0.controller.enabled = false
            $0.controller.lambdaConst = 0
        }
        XCTAssertEqual(weighted.last?.lambda, 1)
        XCTAssertLessThan(try XCTUnwrap(weighted.last?.kl), try XCTUnwrap(unweighted.last?.kl))
    }
}
