import Foundation
import M2MModel
import XCTest

/// Hostile MATLAB `.mat` files given to the commands that read data sets (`train --data`,
/// `eval --data`): exit 1 within a bounded time, one stderr line naming the file, nothing
/// written. The inputs were found by FuzzMat and are kept in Fuzz/Regressions/FuzzMat, which
/// scripts/fuzz.sh also replays as seeds.
final class MatDataHostileTests: XCTestCase {
    var dir: URL!
    var model: String!

    override func setUpWithError() throws {
        dir = try TestSupport.temporaryDirectory(self)
        model = dir.appendingPathComponent("tiny.m2m").path
        try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .estimate, threads: 1).write(to: model)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Every file under the test folder (names only: the commands must not create any).
    func listing() -> Set<String> {
        Set((FileManager.default.enumerator(atPath: dir.path)?.allObjects as? [String]) ?? [])
    }

    func assertRefused(_ data: String, naming text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        for command in [["train", model!, "--data", data, "-o", path("run")],
                        ["eval", model!, "--data", data, "-o", path("eval")]] {
            let before = listing()
            let start = Date()
            let run = try TestSupport.runM2MC(command, timeout: 60)
            let label = command.joined(separator: " ")
            XCTAssertLessThan(Date().timeIntervalSince(start), 30, "\(label): bounded time", file: file, line: line)
            XCTAssertEqual(run.status, 1, "\(label): \(run.stderr)", file: file, line: line)
            XCTAssertEqual(run.stderr.split(separator: "\n", omittingEmptySubsequences: false).count, 2,
                           "\(label): exactly one stderr line, got \(run.stderr)", file: file, line: line)
            XCTAssertTrue(run.stderr.hasPrefix("m2mc: error: \(data): "), "\(label): \(run.stderr)", file: file, line: line)
            XCTAssertTrue(run.stderr.contains(text), "\(label): \(run.stderr)", file: file, line: line)
            XCTAssertEqual(listing(), before, "\(label): no file created or removed", file: file, line: line)
        }
    }

    /// The input that made the reader call libhdf5 about 9e15 times (a dataset with a zero
    /// dimension and 5.8e17 declared samples): refused at once.
    func testZeroDimensionDatasetFoundByFuzzing() throws {
        let saved = TestSupport.repoRoot.appendingPathComponent("Fuzz/Regressions/FuzzMat/zero-dimension-huge-samples.mat")
        let data = path("hang.mat")
        try FileManager.default.copyItem(atPath: saved.path, toPath: data)
        try assertRefused(data, naming: "dataset 'u' of shape [576460752303423490, 3, 0, 50331650] holds no values")
    }

    /// A FIFO named .mat: libhdf5's blocking open() hung train and eval until killed.
    func testFIFOIsRefusedWithoutBlocking() throws {
        let fifo = path("fifo.mat")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        try assertRefused(fifo, naming: "not a regular file (a FIFO)")
    }

    /// The other FuzzMat seeds that are not valid data: a truncated HDF5 file and a MATLAB v5 file.
    func testTruncatedAndOldFormatFiles() throws {
        let truncated = path("truncated.mat")
        try FileManager.default.copyItem(
            atPath: TestSupport.repoRoot.appendingPathComponent("Fuzz/Corpus/FuzzMat/truncated.mat").path, toPath: truncated)
        let old = path("old.mat")
        try Data("MATLAB 5.0 MAT-file, Platform: GLNXA64".utf8).write(to: URL(fileURLWithPath: old))
        try assertRefused(truncated, naming: "cannot open as HDF5 (damaged or truncated file)")
        try assertRefused(old, naming: "not a MATLAB v7.3 (HDF5) file")
    }
}
