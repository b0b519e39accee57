import Foundation
import M2MData
@testable import M2MModel
import XCTest

/// A run folder is never mixed or lost: a bad checkpoint changes nothing, one train per
/// folder at a time, a resumable run is never replaced, a run that failed before its first
/// checkpoint can be restarted.
final class RunFolderHostileTests: XCTestCase {
    var folder: String!

    override func setUpWithError() throws {
        folder = try TestSupport.temporaryDirectory(self).path
        try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
        try TrainerTests.writeAdvectionData(to: folder + "/data", samples: 12, side: 16, frames: 4)
    }


    func makeTrainer(_ run: String) throws -> Trainer {
        let compiled = try CompiledModel.compile(TrainerTests.config(), rigor: .estimate, threads: 1)
        return try Trainer(runtime: try ModelRuntime(compiled, threads: 1), data: try Dataset(path: folder + "/data"),
                           ntrain: 8, ntest: 4, runDirectory: folder + "/" + run)
    }

    /// Every file of a folder with its bytes, the lock file left out.
    func snapshot(_ path: String) -> [String: Data] {
        var files: [String: Data] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] where name != ".lock" {
            files[name] = FileManager.default.contents(atPath: path + "/" + name)
        }
        return files
    }

    /// The plan as a file, for the command line.
    func planFile() throws -> String {
        let path = folder + "/tiny.m2m"
        if !FileManager.default.fileExists(atPath: path) {
            try CompiledModel.compile(TrainerTests.config(), rigor: .estimate, threads: 1).write(to: path)
        }
        return path
    }

    func train(_ run: String, _ extra: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
        try TestSupport.runM2MC(["train", try planFile(), "--data", folder + "/data", "-o", folder + "/" + run,
                                 "--ntrain", "8", "--ntest", "4", "--threads", "1"] + extra)
    }

    func assertOneLineError(_ run: (status: Int32, stdout: String, stderr: String), _ text: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(run.status, 1, run.stderr, file: file, line: line)
        XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr, file: file, line: line)
        XCTAssertTrue(run.stderr.contains(text), run.stderr, file: file, line: line)
    }

    /// Checkpoints with hostile counters or metadata: refused before metrics.jsonl, the
    /// weights or any other file change (the old code trimmed the metrics first).
    func testABadCheckpointChangesNothing() throws {
        let trainer = try makeTrainer("r")
        trainer.checkpointEvery = 1
        try trainer.run(epochs: 2)
        let run = folder + "/r"
        let (_, metadata) = try SafeTensors.read(run + "/last.safetensors")
        let before = snapshot(run)
        let cases: [(String, String, String)] = [
            ("epoch", "-1", "metadata 'epoch' is -1, must be >= 0"),
            ("step", String(Int.max), "metadata 'step' \(Int.max) does not match 'epoch' 2 x 2 batches"),
            ("step", "3", "metadata 'step' 3 does not match 'epoch' 2 x 2 batches"),
            ("epoch", String(Int.max), "does not match 'epoch' \(Int.max)"),
            ("epoch", "two", "not a training checkpoint of model"),
            ("seed", "8", "checkpoint was trained with seed 8"),
            ("data_fingerprint", "0", "trained on other samples"),
        ]
        for (i, (key, value, expected)) in cases.enumerated() {
            var edited = metadata
            edited[key] = value
            let bad = folder + "/bad\(i).safetensors"
            try trainer.runtime.save(to: bad, includeOptimizer: true, metadata: edited)
            let fresh = try makeTrainer("r")
            let weights = TestSupport.persistentBytes(fresh.runtime.store)
            XCTAssertThrowsError(try fresh.resume(from: bad)) { error in
                XCTAssertTrue("\(error)".hasPrefix(bad + ": "), "\(error)")
                XCTAssertTrue("\(error)".contains(expected), "\(key) \(value): \(error)")
            }
            XCTAssertEqual(fresh.epoch, 0)
            XCTAssertEqual(TestSupport.persistentBytes(fresh.runtime.store), weights, "weights restored after \(key)")
            XCTAssertEqual(snapshot(run), before, "\(key) \(value)")
        }
        // Through the command line: exit 1, one line naming the checkpoint, nothing changed.
        let cli = try train("r", ["--resume", folder + "/bad0.safetensors", "--epochs", "3"])
        assertOneLineError(cli, folder + "/bad0.safetensors: checkpoint metadata 'epoch' is -1")
        XCTAssertEqual(snapshot(run), before)
    }

    /// The metrics of later epochs are dropped only once the run starts; --epochs before the
    /// checkpoint's epoch or a malformed metrics line leaves the file as it was.
    func testResumeTrimsMetricsOnlyWhenTheRunStarts() throws {
        let first = try makeTrainer("r")
        first.checkpointEvery = 1
        try first.run(epochs: 3)
        let metrics = folder + "/r/metrics.jsonl"
        let before = try XCTUnwrap(FileManager.default.contents(atPath: metrics))
        let resumed = try makeTrainer("r")
        try resumed.resume(from: folder + "/r/ckpt-00002.safetensors")
        XCTAssertEqual(FileManager.default.contents(atPath: metrics), before, "resume alone writes nothing")
        XCTAssertThrowsError(try resumed.run(epochs: 1))
        XCTAssertEqual(FileManager.default.contents(atPath: metrics), before)

        var garbled = before
        garbled.append(Data("{\"epoch\": \n".utf8))
        try garbled.write(to: URL(fileURLWithPath: metrics))
        XCTAssertThrowsError(try resumed.run(epochs: 3)) { error in
            XCTAssertEqual("\(error)", metrics + ": line 4 is not a metrics record with an 'epoch': fix or remove the file to resume")
        }
        XCTAssertEqual(FileManager.default.contents(atPath: metrics), garbled)

        try before.write(to: URL(fileURLWithPath: metrics))
        try resumed.run(epochs: 3)
        let epochs = try String(contentsOfFile: metrics, encoding: .utf8).split(separator: "\n").map {
            (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["epoch"] as! Int
        }
        XCTAssertEqual(epochs, [1, 2, 3])
    }

    /// Two trains into one folder: the second is refused at once and writes nothing.
    func testASecondTrainIntoALockedFolderIsRefused() throws {
        let run = folder + "/r"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        let holder = try FolderLock(folder: run, what: "m2mc train")
        XCTAssertThrowsError(try makeTrainer("r").run(epochs: 1)) { error in
            XCTAssertEqual("\(error)", run + ": another m2mc train is using this folder (it holds \(run)/.lock); "
                           + "wait for it to finish or choose another folder")
        }
        XCTAssertEqual(snapshot(run), [:])
        assertOneLineError(try train("r", ["--epochs", "1"]), run + ": another m2mc train is using this folder")
        XCTAssertEqual(snapshot(run), [:])
        holder.release()
        XCTAssertEqual(try train("r", ["--epochs", "1"]).status, 0)
        XCTAssertNotNil(FileManager.default.contents(atPath: run + "/last.safetensors"))
    }

    /// A folder holding a checkpoint but no metrics is a run too: a fresh train refuses it.
    func testAFreshRunRefusesAFolderWithACheckpointButNoMetrics() throws {
        try makeTrainer("r").run(epochs: 1)
        try FileManager.default.removeItem(atPath: folder + "/r/metrics.jsonl")
        let before = snapshot(folder + "/r")
        XCTAssertThrowsError(try makeTrainer("r").run(epochs: 1)) { error in
            XCTAssertEqual("\(error)", folder + "/r already holds a run (last.safetensors): resume it with --resume "
                           + folder + "/r/last.safetensors or write to another folder")
        }
        XCTAssertEqual(snapshot(folder + "/r"), before)
        // Only a numbered checkpoint left: still a run.
        try FileManager.default.removeItem(atPath: folder + "/r/last.safetensors")
        assertOneLineError(try train("r", ["--epochs", "1"]), "already holds a run (ckpt-00001.safetensors)")
    }

    /// A run that failed after its first metrics line but before its first checkpoint cannot
    /// be resumed (no checkpoint): a fresh train replaces it, with a note.
    func testARunWithoutACheckpointCanBeRestarted() throws {
        try makeTrainer("straight").run(epochs: 2)
        try makeTrainer("r").run(epochs: 1)
        for name in ["last.safetensors", "ckpt-00001.safetensors"] {
            try FileManager.default.removeItem(atPath: folder + "/r/" + name)
        }
        let restart = try makeTrainer("r")
        var notes: [String] = []
        restart.notice = { notes.append($0) }
        try restart.run(epochs: 2)
        XCTAssertTrue(restart.replacedRunWithoutCheckpoint)
        XCTAssertEqual(notes, [folder + "/r held metrics.jsonl of a run that wrote no checkpoint: starting it over"])
        XCTAssertEqual(FileManager.default.contents(atPath: folder + "/r/last.safetensors"),
                       FileManager.default.contents(atPath: folder + "/straight/last.safetensors"))
        let lines = try String(contentsOfFile: folder + "/r/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
    }

    /// A trainer that checkpointed an epoch continues its own run on the next `run` call.
    func testOneTrainerContinuesItsOwnRun() throws {
        let trainer = try makeTrainer("r")
        try trainer.run(epochs: 1)
        try trainer.run(epochs: 2)
        XCTAssertEqual(try String(contentsOfFile: folder + "/r/metrics.jsonl", encoding: .utf8)
            .split(separator: "\n").count, 2)
    }

    /// A killed checkpoint write leaves `.last.safetensors.tmp-PID-N`; the next write removes it.
    func testTemporaryFilesOfAKilledRunAreRemoved() throws {
        try makeTrainer("r").run(epochs: 1)
        let stale = folder + "/r/.last.safetensors.tmp-\(Int32.max - 1)-77"
        try Data("half a checkpoint".utf8).write(to: URL(fileURLWithPath: stale))
        let resumed = try makeTrainer("r")
        try resumed.resume(from: folder + "/r/last.safetensors")
        try resumed.run(epochs: 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
    }
}
