import Planner
import XCTest

/// Measured FFT plans survive a wisdom round trip: a program planned from the
/// exported wisdom alone computes bit-identical results.
final class FFTWisdomTests: XCTestCase {
    func testWisdomOnlyProgramMatchesMeasuredProgram() throws {
        let graph = try TrainingStepGraph.make()
        let measured = try compile(graph, rigor: .measure)
        let wisdom = FFTPlan.exportWisdom()
        XCTAssertFalse(wisdom.isEmpty)

        try FFTPlan.importWisdom(wisdom)
        let loaded = try compile(graph, rigor: .measure, wisdomOnly: true)
        for program in [measured, loaded] {
            TrainingStepGraph.feedRandom(program)
            program.run()
        }
        XCTAssertEqual(TrainingStepGraph.outputBits(loaded), TrainingStepGraph.outputBits(measured))
    }

    func testWisdomOnlyPlanningFailsWithoutWisdom() throws {
        try FFTPlan.importWisdom("")
        XCTAssertThrowsError(try compile(try TrainingStepGraph.make(), rigor: .measure, wisdomOnly: true))
    }

    func testCorruptWisdomIsRejected() {
        XCTAssertThrowsError(try FFTPlan.importWisdom("garbage"))
    }
}
