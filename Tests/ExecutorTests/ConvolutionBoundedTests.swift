import Executor
import GraphIR
import XCTest

/// The convolution ops on an expert's capacity buffer whose rows past the routed count hold
/// stale data: one compiled program runs a routing that fills expert 0's buffer, then one
/// that gives it 4 of 6 rows (`ConvolutionCases.boundedFixture`); each kernel runs, and the
/// weight gradient sums, only the valid samples (summing all 6 fails: relative error 0.67).
final class ConvolutionBoundedTests: XCTestCase {
    func testStaleRowsPastTheCountAreIgnored() throws {
        let fixture = try ConvolutionCases.boundedFixture()
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
        // The weight gradients are fully defined (the other outputs only up to each count).
        let (reused, fresh) = (fixture.bits(program), fixture.bits(try fixture.run(threads: 2)))
        for e in 0..<3 { XCTAssertEqual(reused["dw\(e)"], fresh["dw\(e)"], "dw\(e): reused vs fresh program") }
    }
}
