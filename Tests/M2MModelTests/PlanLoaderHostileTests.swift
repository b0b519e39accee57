import Foundation
import M2MModel
import XCTest

/// Hostile plan files whose checksum is valid (FNV-1a is no authentication): every one is a
/// single-line error naming the file, found from cheap facts before any graph is rebuilt.
final class PlanLoaderHostileTests: XCTestCase {
    static var payload: [String: Any]?

    /// The tiny model's payload as a JSON object.
    func payload() throws -> [String: Any] {
        if let p = Self.payload { return p }
        let model = try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .estimate, threads: 2)
        let data = [UInt8](try model.serialized())
        let p = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(data[28...])) as? [String: Any])
        Self.payload = p
        return p
    }

    func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    /// A plan file around the edited payload, with a correct header and checksum.
    func file(_ edit: (inout [String: Any]) -> Void) throws -> Data {
        var p = try payload()
        edit(&p)
        let body = [UInt8](try JSONSerialization.data(withJSONObject: p, options: [.sortedKeys]))
        var bytes = Array("M2MCPLAN".utf8)
        withUnsafeBytes(of: CompiledModel.formatVersion.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt64(body.count).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: fnv1a(body).littleEndian) { bytes += $0 }
        return Data(bytes + body)
    }

    /// Edits the text of program `index` (0 infer, 1 train).
    func editGraph(_ index: Int, _ edit: @escaping (String) -> String) -> (inout [String: Any]) -> Void {
        { p in
            var programs = p["programs"] as! [[String: Any]]
            programs[index]["graph"] = edit(programs[index]["graph"] as! String)
            p["programs"] = programs
        }
    }

    /// Decoding fails with one line that names the file; returns the message.
    func rejection(_ data: Data, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try CompiledModel.decode(data, source: "hostile.m2m")
            XCTFail("decoding succeeded", file: file, line: line)
        } catch {
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("hostile.m2m"), "names the file: \(message)", file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "one line: \(message)", file: file, line: line)
            return message
        }
        return ""
    }

    /// The training target `y` as stored, e.g. `input "y" : f32[2,8,8,2]`.
    func targetDeclaration() throws -> String {
        let text = try XCTUnwrap((try payload()["programs"] as? [[String: Any]])?[1]["graph"] as? String)
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.contains("input \"y\"") })
        return String(line[line.range(of: "input \"y\"")!.lowerBound...])
    }

    func testUnmodifiedPayloadLoads() throws {
        XCTAssertNoThrow(try CompiledModel.decode(try file { _ in }, source: "ok.m2m"))
        XCTAssertEqual(try targetDeclaration(), "input \"y\" : f32[2,8,8,2]")
    }

    /// A renamed training input was a nil unwrap (a crash).
    func testRenamedTrainingTargetIsAnError() throws {
        let message = rejection(try file(editGraph(1) { $0.replacingOccurrences(of: "input \"y\"", with: "input \"z\"") }))
        XCTAssertTrue(message.contains("program 'train' has no input 'y'"), message)
    }

    /// A stored rollout of 1e6 made the loader build a gigantic graph (GBs, then SIGSEGV):
    /// now refused from the target's type in well under a second.
    func testHugeStoredRolloutIsRefusedBeforeRebuilding() throws {
        for rollout in [1_000_000, 30000, 4, 0, -3] {
            let data = try file(editGraph(1) {
                $0.replacingOccurrences(of: "input \"y\" : f32[2,8,8,2]", with: "input \"y\" : f32[2,8,8,\(rollout)]")
            })
            let start = Date()
            let message = rejection(data)
            XCTAssertLessThan(Date().timeIntervalSince(start), 5, "rollout \(rollout)")
            if rollout >= 1 || message.contains("rollout") {
                XCTAssertTrue(message.contains("training rollout \(rollout)") && message.contains("1...t_out = 1...3"),
                              message)
            }
        }
    }

    func testTrainingTargetOfAnotherTypeIsRefused() throws {
        for type in ["f32[2,8,8]", "c64[2,8,8,2]", "f32[3,8,8,2]", "f32[2,8,9,2]", "f32[<=2,8,8,2]"] {
            let message = rejection(try file(editGraph(1) {
                $0.replacingOccurrences(of: "input \"y\" : f32[2,8,8,2]", with: "input \"y\" : \(type)")
            }))
            XCTAssertTrue(message.contains("input 'y'") || message.contains("program 'train'"), "\(type): \(message)")
        }
    }

    func testProgramNamesAndCountsAreCheckedFirst() throws {
        var message = rejection(try file { p in p["programs"] = [] })
        XCTAssertTrue(message.contains("expected programs infer and train, found none"), message)
        message = rejection(try file { p in
            var programs = p["programs"] as! [[String: Any]]
            programs[1]["name"] = "training"
            p["programs"] = programs
        })
        XCTAssertTrue(message.contains("expected programs infer and train, found infer, training"), message)
        message = rejection(try file { p in
            let programs = p["programs"] as! [[String: Any]]
            p["programs"] = programs + [programs[1]]
        })
        XCTAssertTrue(message.contains("expected programs infer and train"), message)
    }

    func testStoredScalarsOutOfRange() throws {
        var message = rejection(try file { p in p["threads"] = 100_000 })
        XCTAssertTrue(message.contains("threads 100000 exceeds 1024"), message)
        message = rejection(try file { p in p["threads"] = -1 })
        XCTAssertTrue(message.contains("threads must be >= 1"), message)
        message = rejection(try file { p in p["compileMilliseconds"] = -5 })
        XCTAssertTrue(message.contains("compileMilliseconds -5.0 is not a duration"), message)
        message = rejection(try file { p in p["wisdom"] = "(fftw-3.3.10 fftwf_wisdom)" })
        XCTAssertTrue(message.contains("FFTW wisdom stored with rigor 'estimate'"), message)
        message = rejection(try file { p in p["fftRigor"] = "reckless" })
        XCTAssertTrue(message.contains("corrupt (payload is not a valid plan)"), message)
    }

    /// A graph text that does not parse, and a graph that parses but is not the config's.
    func testEditedGraphsAreRefused() throws {
        var message = rejection(try file(editGraph(0) { $0 + "\n%%%" }))
        XCTAssertTrue(message.contains("program 'infer'"), message)
        message = rejection(try file(editGraph(1) { $0.replacingOccurrences(of: "modes1 = 2", with: "modes1 = 1") }))
        XCTAssertTrue(message.contains("program 'train'"), message)
    }

    /// Through the command line: exit 1, one stderr line naming the file, the file unchanged.
    func testInspectOfAHostilePlanIsOneLine() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("renamed.m2m").path
        let data = try file(editGraph(1) { $0.replacingOccurrences(of: "input \"y\"", with: "input \"target\"") })
        try data.write(to: URL(fileURLWithPath: path))
        for command in [["inspect", path], ["infer", path, "--input", path + ".npy", "-o", dir.path + "/o.npy"]] {
            let run = try TestSupport.runM2MC(command)
            XCTAssertEqual(run.status, 1, run.stderr)
            XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr)
            XCTAssertTrue(run.stderr.hasPrefix("m2mc: error: \(path): program 'train' has no input 'y'"), run.stderr)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), data)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/o.npy"))
    }
}
