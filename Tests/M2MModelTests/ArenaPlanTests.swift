import Foundation
import GraphIR
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

    /// The FNO projection trains as one `mlp` whose gradient recomputes the hidden activations:
    /// no tensor of the hidden width is stored, in the FNO and in each M2M expert (on its
    /// bounded, routed rows).
    func testFNOProjectionTrainsWithoutStoringItsHiddenActivations() throws {
        for (name, projections) in [("fno-ns64", 1), ("m2m-ns64", 3)] {
            let config = try ModelConfig.load("\(Self.configs)/\(name).json")
            let graph = try Programs.training(config, rollout: 1)
            XCTAssertEqual(graph.nodes.filter { $0.op == .mlp }.count, projections, name)
            XCTAssertEqual(graph.nodes.filter { $0.op == .mlpGrad }.count, projections, name)
            let hidden = config.projectionHidden
            XCTAssertFalse(graph.values.contains { $0.type.rank == 4 && $0.type.shape.last == hidden },
                           "\(name): a [N, H, W, \(hidden)] activation is stored")
            XCTAssertNoThrow(try ProgramPlanner.plan(graph), name)
        }
    }
}
