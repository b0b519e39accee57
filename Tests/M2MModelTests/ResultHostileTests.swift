import Foundation
import M2MData
import M2MModel
import XCTest

/// Results that would be silent or unreadable: NaN predictions, all-zero targets, another
/// grid, folders that cannot be made. Each is exit 1 with one line naming the file or key,
/// and no file written or changed.
final class ResultHostileTests: XCTestCase {
    var dir: URL!
    var model: String!

    override func setUpWithError() throws {
        dir = try TestSupport.temporaryDirectory(self)
        model = dir.appendingPathComponent("tiny.m2m").path
        try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .estimate, threads: 1).write(to: model)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// An ns folder for tiny-fno: u [n, side, side, 6] of seeded values; `zero` samples are 0.
    func writeData(_ name: String, n: Int = 6, side: Int = 8, zero: [Int] = []) throws -> String {
        let folder = path(name)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var u = TestSupport.randomValues(n * side * side * 6, seed: 5)
        for s in zero { for i in (s * side * side * 6)..<((s + 1) * side * side * 6) { u[i] = 0 } }
        try Npy.write(u, shape: [n, side, side, 6], to: folder + "/u.npy")
        return folder
    }

    func assertOneLineError(_ run: (status: Int32, stdout: String, stderr: String), prefix: String,
                            _ text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(run.status, 1, run.stderr, file: file, line: line)
        XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr, file: file, line: line)
        XCTAssertTrue(run.stderr.hasPrefix("m2mc: error: " + prefix), run.stderr, file: file, line: line)
        XCTAssertTrue(text.isEmpty || run.stderr.contains(text), run.stderr, file: file, line: line)
    }

    /// Finite but extreme inputs overflow inside the model: exit 1, and the output file
    /// (here an earlier result) is left as it was.
    func testInferRefusesNonFinitePredictions() throws {
        let input = path("x.npy"), output = path("y.npy")
        try Npy.write([Float](repeating: 3e38, count: 2 * 8 * 8 * 3), shape: [2, 8, 8, 3], to: input)
        try Data("an earlier result".utf8).write(to: URL(fileURLWithPath: output))
        let run = try TestSupport.runM2MC(["infer", model, "--input", input, "-o", output, "--rollout", "2"])
        assertOneLineError(run, prefix: input + ": the model's prediction is ", "not written")
        XCTAssertTrue(run.stderr.contains("for sample 0 at rollout step 1"), run.stderr)
        XCTAssertEqual(FileManager.default.contents(atPath: output), Data("an earlier result".utf8))
    }

    /// Weights that overflow: eval names the weights, exits 1 and writes no eval.json
    /// (JSON cannot hold NaN: this was a Foundation error dump).
    func testEvalRefusesNonFinitePredictions() throws {
        let data = try writeData("ok")
        let runtime = try ModelRuntime(try CompiledModel.load(model), threads: 1)
        let lift = runtime.store.pointer("lift.weight")!
        lift.update(repeating: 3e38, count: 5 * 4)
        let weights = path("huge.safetensors")
        try runtime.save(to: weights, includeOptimizer: false, metadata: [:])
        let run = try TestSupport.runM2MC(["eval", model, "--weights", weights, "--data", data, "-o", path("eval")])
        assertOneLineError(run, prefix: weights + ": the model's prediction is ", "for test sample 4 of \(data) at rollout step 1")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("eval")))
    }

    /// An all-zero test sample gave "test rel. L2 2e152" with exit 0; an all-zero training
    /// sample gave "training diverged ... lower optimizer.lr".
    func testAllZeroSamplesAreNamed() throws {
        let data = try writeData("zero", zero: [5])
        let eval = try TestSupport.runM2MC(["eval", model, "--data", data, "-o", path("eval")])
        assertOneLineError(eval, prefix: data + ": test sample 5 is zero everywhere in its target (frame 3 of u)",
                           "relative L2 error ||pred - true|| / ||true|| is undefined")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("eval")))

        let training = try writeData("zerotrain", zero: [1])
        let train = try TestSupport.runM2MC(["train", model, "--data", training, "-o", path("run"), "--epochs", "1"])
        assertOneLineError(train, prefix: training + ": training sample 1 is zero everywhere", "(frame 3 of u)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("run")))
    }

    /// Another grid names the data and the config key (it named neither).
    func testEvalOnAnotherGridNamesTheFileAndTheKey() throws {
        let data = try writeData("grid16", side: 16)
        let run = try TestSupport.runM2MC(["eval", model, "--data", data, "-o", path("eval")])
        assertOneLineError(run, prefix: data + ": grid 16x16 does not match the model's config key 'grid' [8, 8]", "")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("eval")))
    }

    /// A folder that cannot be made is one line naming the path, not a Foundation error dump.
    func testFoldersThatCannotBeMadeAreOneLine() throws {
        let data = try writeData("ok")
        let file = path("plain-file")
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        let eval = try TestSupport.runM2MC(["eval", model, "--data", data, "-o", file + "/eval"])
        assertOneLineError(eval, prefix: file + ": exists and is not a folder", "")
        let train = try TestSupport.runM2MC(["train", model, "--data", data, "-o", file + "/run", "--epochs", "1"])
        assertOneLineError(train, prefix: file + ": exists and is not a folder", "")
        let datagen = try TestSupport.runM2MC(["datagen", "mscale", "-o", file + "/set", "--n", "2", "--res", "8"])
        assertOneLineError(datagen, prefix: file + ": exists and is not a folder", "")
        XCTAssertEqual(FileManager.default.contents(atPath: file), Data("x".utf8))
        // A healthy eval still works and writes its files.
        let ok = try TestSupport.runM2MC(["eval", model, "--data", data, "-o", path("eval"), "--json"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("eval/eval.json")))
    }

    /// datagen over a folder that is not a data set: refused before generating, unchanged.
    func testDatagenRefusesAFolderWithOtherFiles() throws {
        let folder = path("home")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: folder + "/thesis.tex"))
        let run = try TestSupport.runM2MC(["datagen", "mscale", "-o", folder, "--n", "2", "--res", "8"])
        assertOneLineError(run, prefix: folder + ": holds 'thesis.tex', which is not a data set file", "")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["thesis.tex"])
        // Over an existing data set: replaced as a whole.
        let set = path("set")
        XCTAssertEqual(try TestSupport.runM2MC(["datagen", "ns", "-o", set, "--n", "1", "--res", "8", "--t", "2",
                                                "--interval", "0.05"]).status, 0)
        XCTAssertEqual(try TestSupport.runM2MC(["datagen", "mscale", "-o", set, "--n", "2", "--res", "8"]).status, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: set).sorted(), ["f.npy", "meta.json", "u.npy"])
    }
}
