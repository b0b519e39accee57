import Foundation
import XCTest
@testable import M2MData

/// A generator for failure injection: f and u of constant value `seed`, failing on sample
/// `failAt`, with extra arrays (`extra`) to make a write fail half way.
struct ScriptedGenerator: SampleGenerator {
    var kind = "mscale"
    var count = 3
    var res = 8
    var value: Float = 1
    var failAt: Int?
    var extra: [String] = []
    var arrays: [(name: String, sampleShape: [Int])] {
        [("f", [res, res]), ("u", [res, res])] + extra.map { ($0, [res, res]) }
    }
    var meta: [(String, MetaValue)] { [("kind", .string(kind)), ("n", .int(count)), ("res", .int(res))] }
    func makeWorkspace() {}
    func generate(sample index: Int, into outputs: [UnsafeMutablePointer<Float>], workspace: Void) throws {
        if index == failAt { throw DataError("sample \(index)", "the solver became unstable") }
        for p in outputs { p.update(repeating: value + Float(index), count: res * res) }
    }
}

/// Hostile and unlucky data set writes: a data set folder is replaced as one unit, never
/// mixed, never half written; temporary files of killed writes are cleaned up.
final class DataSetWriteHostileTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try makeTemporaryFolder() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// Every file under `path` with its bytes (hidden files too).
    func snapshot(_ path: String) -> [String: Data] {
        var files: [String: Data] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            files[name] = FileManager.default.contents(atPath: path + "/" + name)
        }
        return files
    }

    var siblings: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

    /// An ns set replaced by an mscale set: the old a.npy must not survive next to f.npy.
    func testReplacingASetOfAnotherKindLeavesNoOldFile() throws {
        let ns = try NavierStokesGenerator(count: 2, res: 8, solverRes: 16, dt: 0.05, frames: 3, interval: 0.1, seed: 3)
        _ = try ns.write(to: dir + "/set")
        XCTAssertNotNil(FileManager.default.contents(atPath: dir + "/set/a.npy"))
        _ = try ScriptedGenerator().write(to: dir + "/set")
        XCTAssertEqual(snapshot(dir + "/set").keys.sorted(), ["f.npy", "meta.json", "u.npy"])
        XCTAssertEqual(try Dataset(path: dir + "/set").kind, "mscale")
        XCTAssertEqual(siblings, ["set"], "no staging or old folder left")
    }

    /// A failure while the arrays are written (here: the second array's name is not writable)
    /// leaves the old set byte for byte; the old writer replaced u.npy before failing.
    func testAFailureWhileWritingLeavesTheOldSetIntact() throws {
        _ = try ScriptedGenerator(value: 1).write(to: dir + "/set")
        let before = snapshot(dir + "/set")
        XCTAssertThrowsError(try ScriptedGenerator(value: 7, extra: ["missing/x"]).write(to: dir + "/set")) { error in
            XCTAssertTrue("\(error)".contains("missing/x.npy"), "\(error)")
        }
        XCTAssertEqual(snapshot(dir + "/set"), before)
        XCTAssertEqual(siblings, ["set"], "the staging folder is removed")
        XCTAssertThrowsError(try ScriptedGenerator(value: 7, failAt: 2).write(to: dir + "/set")) { error in
            XCTAssertEqual("\(error)", "sample 2: the solver became unstable")
        }
        XCTAssertEqual(snapshot(dir + "/set"), before)
        XCTAssertEqual(siblings, ["set"])
    }

    /// A folder holding anything but data set files is never replaced (think `-o .` or `-o ~`).
    func testAFolderWithOtherFilesIsRefusedBeforeGenerating() throws {
        try FileManager.default.createDirectory(atPath: dir + "/home", withIntermediateDirectories: true)
        try Data("notes".utf8).write(to: URL(fileURLWithPath: dir + "/home/notes.txt"))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/home/meta.json"))
        let before = snapshot(dir + "/home")
        var generated = false
        XCTAssertThrowsError(try ScriptedGenerator().write(to: dir + "/home") { _, _ in generated = true }) { error in
            XCTAssertEqual("\(error)", dir + "/home: holds 'notes.txt', which is not a data set file (u.npy, a.npy, "
                           + "f.npy, meta.json): refusing to replace the folder; choose another -o or empty it")
        }
        XCTAssertFalse(generated)
        XCTAssertEqual(snapshot(dir + "/home"), before)

        try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/file"))
        XCTAssertThrowsError(try ScriptedGenerator().write(to: dir + "/file")) {
            XCTAssertEqual("\($0)", dir + "/file: exists and is not a folder")
        }
        XCTAssertThrowsError(try ScriptedGenerator().write(to: dir + "/file/sub")) {
            XCTAssertTrue("\($0)".hasPrefix(dir + "/file: "), "\($0)")
        }
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/file"), Data("x".utf8))
    }

    /// An empty folder, a missing one (with missing parents) and a link to a set all work;
    /// the link stays a link to the replaced folder.
    func testEmptyMissingAndLinkedFolders() throws {
        try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
        _ = try ScriptedGenerator().write(to: dir + "/empty")
        _ = try ScriptedGenerator().write(to: dir + "/a/b/c")
        XCTAssertEqual(try Dataset(path: dir + "/a/b/c").count, 3)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: dir + "/empty")
        _ = try ScriptedGenerator(count: 4).write(to: dir + "/link")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/link"), dir + "/empty")
        XCTAssertEqual(try Dataset(path: dir + "/empty").count, 4)
    }

    /// A pid that cannot exist (above pid_max), for the files of a "killed" writer.
    let deadPID = Int32.max - 1

    func testStagingFoldersOfKilledRunsAreRemovedOnTheNextWrite() throws {
        _ = try ScriptedGenerator().write(to: dir + "/set")
        let dead = dir + "/.set.datagen-\(deadPID)-42", live = dir + "/.set.datagen-\(getpid())-43"
        let other = dir + "/.other.datagen-\(deadPID)-44"
        for path in [dead, live, other] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try Data("partial".utf8).write(to: URL(fileURLWithPath: path + "/u.npy"))
        }
        _ = try ScriptedGenerator().write(to: dir + "/set")
        XCTAssertEqual(siblings, [".other.datagen-\(deadPID)-44", ".set.datagen-\(getpid())-43", "set"])
    }

    /// AtomicFile: temporary files of killed writes are removed by the next write into the
    /// folder; those of live writers and look-alikes are kept.
    func testTemporaryFilesOfKilledWritesAreRemovedOnTheNextWrite() throws {
        let names = [".metrics.jsonl.tmp-\(deadPID)-123", ".u.npy.tmp-\(deadPID)-9", ".x.tmp-\(getpid())-5",
                     ".y.tmp-abc-1", "z.tmp-\(deadPID)-1", ".keep.tmp-\(deadPID)-1-2"]
        for name in names { try Data("partial".utf8).write(to: URL(fileURLWithPath: dir + "/" + name)) }
        try FileManager.default.createDirectory(atPath: dir + "/.d.tmp-\(deadPID)-7", withIntermediateDirectories: true)
        try AtomicFile.write(Data("{}".utf8), to: dir + "/meta.json")
        XCTAssertEqual(siblings, [".d.tmp-\(deadPID)-7", ".keep.tmp-\(deadPID)-1-2", ".x.tmp-\(getpid())-5",
                                  ".y.tmp-abc-1", "meta.json", "z.tmp-\(deadPID)-1"])
    }

    /// meta.json is checked beyond n: kind, res, grid, t, and arrays of another kind.
    func testMetaKeysMustAgreeWithTheArrays() throws {
        func ns(_ name: String, meta: String) throws -> String {
            let path = dir + "/" + name
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try Npy.write([Float](repeating: 1, count: 2 * 4 * 4 * 3), shape: [2, 4, 4, 3], to: path + "/u.npy")
            try AtomicFile.write(Data(meta.utf8), to: path + "/meta.json")
            return path
        }
        XCTAssertNoThrow(try Dataset(path: try ns("ok", meta: #"{"kind": "ns", "n": 2, "res": 4, "t": 3}"#)))
        let cases: [(String, String)] = [
            (#"{"kind": "ns", "res": 8}"#, "meta.json: key 'res' says 8 but the arrays hold a 4x4 grid"),
            (#"{"kind": "ns", "t": 50}"#, "meta.json: key 't' says 50 frames but u.npy holds 3"),
            (#"{"kind": "ns", "n": "2"}"#, "meta.json: key 'n' must be an integer, got 2"),
            (#"{"kind": "ns", "n": 2.5}"#, "meta.json: key 'n' must be an integer, got 2.5"),
            (#"{"kind": 3}"#, "meta.json: key 'kind' must be a string (ns, mscale or cno-poisson), got 3"),
            (#"{"kind": "ns", "grid": [4, 8]}"#, "meta.json: key 'grid' says"),
        ]
        for (i, (meta, expected)) in cases.enumerated() {
            let path = try ns("bad\(i)", meta: meta)
            XCTAssertThrowsError(try Dataset(path: path)) { error in
                XCTAssertEqual("\(error)".split(separator: "\n").count, 1)
                XCTAssertTrue("\(error)".hasPrefix(path + "/"), "\(error)")
                XCTAssertTrue("\(error)".contains(expected), "\(meta): \(error)")
            }
        }
        // A steady set with an a.npy (or a time series with an f.npy) mixes two data sets.
        _ = try ScriptedGenerator().write(to: dir + "/mixed")
        try Npy.write([Float](repeating: 0, count: 3 * 64), shape: [3, 8, 8], to: dir + "/mixed/a.npy")
        XCTAssertThrowsError(try Dataset(path: dir + "/mixed")) {
            XCTAssertTrue("\($0)".hasPrefix(dir + "/mixed/a.npy: does not belong to a data set of kind 'mscale'"), "\($0)")
        }
    }

    /// All-zero targets are found by sample and frame.
    func testZeroTargetsAreFound() throws {
        let path = dir + "/z"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        var u = [Float](repeating: 1, count: 3 * 2 * 2 * 4)
        for p in 0..<4 { u[(2 * 4 + p) * 4 + 2] = 0 }     // sample 2, frame 2
        try Npy.write(u, shape: [3, 2, 2, 4], to: path + "/u.npy")
        let data = try Dataset(path: path)
        XCTAssertNil(data.firstZeroTarget(samples: 0..<3, tIn: 3, tOut: 1))
        XCTAssertNil(data.firstZeroTarget(samples: 0..<2, tIn: 1, tOut: 3))
        XCTAssertEqual(data.firstZeroTarget(samples: 0..<3, tIn: 1, tOut: 2)?.sample, 2)
        XCTAssertEqual(data.firstZeroTarget(samples: 0..<3, tIn: 1, tOut: 2)?.frame, 2)
        XCTAssertThrowsError(try data.validateNonzeroTargets(samples: 1..<3, tIn: 2, tOut: 2, role: "test")) {
            XCTAssertEqual("\($0)", path + ": test sample 2 is zero everywhere in its target (frame 2 of u): its relative "
                           + "L2 error ||pred - true|| / ||true|| is undefined; leave it out (--ntrain/--ntest) or "
                           + "regenerate the data")
        }
    }
}
