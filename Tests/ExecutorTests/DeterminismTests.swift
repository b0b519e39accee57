import XCTest

/// Results are bit-identical whatever the thread count, and from run to run.
final class DeterminismTests: XCTestCase {
    func testBitIdenticalAcrossThreadCountsAndRuns() throws {
        let graph = try TrainingStepGraph.make()
        var reference: [[UInt32]]?
        for threads in [1, 2, 3] {
            let program = try compile(graph, threads: threads)
            TrainingStepGraph.feedRandom(program)
            program.run()
            let first = TrainingStepGraph.outputBits(program)
            TrainingStepGraph.feedRandom(program)   // inputs' arena space is reused once read
            program.run()
            XCTAssertEqual(TrainingStepGraph.outputBits(program), first, "second run, \(threads) threads")
            if let reference {
                XCTAssertEqual(first, reference, "\(threads) threads vs 1 thread")
            } else {
                reference = first
            }
        }
        XCTAssertNotEqual(reference?[0][0], 0, "the loss was computed")
    }
}
