import Foundation
import M2MModel
import Planner
import XCTest

/// BENCH.md: arena bytes <= 1.05 x the liveness lower bound, on the real FNO graphs
/// (planning only: nothing is allocated).
final class ArenaPlanTests: XCTestCase {
    static let configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../configs").standardized.path

    func testShippedFNOProgramsPlanWithinFivePercentOfTheLowerBound() throws {
        for name in ["fno-ns64", "fno-ns128"] {
            let config = try ModelConfig.load("\(Self.configs)/\(name).json")
            for rollout in [1, config.rolloutTrain] {
                for graph in [try Programs.inference(config), try Programs.training(config, rollout: rollout)] {
                    let plan = try ProgramPlanner.plan(graph)
                    let ratio = Double(plan.arenaBytes) / Double(plan.lowerBoundBytes)
                    XCTAssertLessThanOrEqual(ratio, 1.05, "\(graph.name), rollout \(rollout)")
                    XCTAssertGreaterThanOrEqual(ratio, 1.0, "\(graph.name): the arena cannot beat the lower bound")
                }
            }
        }
    }
}
