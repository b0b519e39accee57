import Executor
import GraphIR
import XCTest

/// Ops on an expert's capacity buffer whose rows past the routed count hold stale data: one
/// compiled program runs a routing that fills expert 0's buffer, then one that gives it 4 of 6
/// rows; each kernel runs, and each parameter gradient sums, only the valid samples.
final class BoundedRowsTests: XCTestCase {
    /// The convolutions (`ConvolutionCases.boundedFixture`; summing all 6 samples fails:
    /// relative error 0.67).
    func testConvolutionsIgnoreStaleRowsPastTheCount() throws {
        try checkStaleRowsAreIgnored(try ConvolutionCases.boundedFixture(), gradients: ["dw0", "dw1", "dw2"])
    }

    /// An expert's projection: `mlp`, `mlp_grad` and its bounded `slice_flat`
    /// (`BoundedMLPCases.fixture`).
    func testMLPIgnoresStaleRowsPastTheCount() throws {
        let names = (0..<3).flatMap { e in ["dw1", "db1", "dw2", "db2"].map { "\($0)\(e)" } }
        try checkStaleRowsAreIgnored(try BoundedMLPCases.fixture(), gradients: names)
    }

    /// An elementwise op tiled by sample (`RoutingCases.boundedPerSampleFixture`).
    func testPerSampleElementwiseTilesIgnoreStaleRows() throws {
        try checkStaleRowsAreIgnored(try RoutingCases.boundedPerSampleFixture(), gradients: [])
    }

    /// Runs `fixture` after a routing of every patch to expert 0, checks it, and requires the
    /// fully defined `gradients` bit-identical to a fresh program's.
    private func checkStaleRowsAreIgnored(_ fixture: OpFixture, gradients: [String]) throws {
        let program = try compile(fixture.graph, threads: 2)
        var full = fixture
        let everyPatchToExpert0 = rankedProbabilities(Array(repeating: [0, 1, 2], count: 6), levels: RoutingCases.levels,
                                                      seed: 1610)
        full.feeds = full.feeds.map { $0.name == "p" ? ("p", everyPatchToExpert0) : $0 }
        full.feed(program)
        program.run()
        fixture.feed(program)
        program.run()
        fixture.check(program)
        let (reused, fresh) = (fixture.bits(program), fixture.bits(try fixture.run(threads: 2)))
        for name in gradients {
            XCTAssertNotNil(reused[name], name)
            XCTAssertEqual(reused[name], fresh[name], "\(name): reused vs fresh program")
        }
    }
}
