import Foundation
import M2MModel
import Planner
import XCTest

/// The `.m2m` plan file: round trips, and one clear error per kind of bad file.
final class CompiledModelFileTests: XCTestCase {
    /// A per-class cache; XCTest runs a process's tests one at a time, on one thread.
    nonisolated(unsafe) static var cache: [FFTRigor: CompiledModel] = [:]

    func compiled(_ rigor: FFTRigor = .estimate) throws -> CompiledModel {
        if let c = Self.cache[rigor] { return c }
        let c = try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: rigor, threads: 3)
        Self.cache[rigor] = c
        return c
    }

    func assertSame(_ a: CompiledModel, _ b: CompiledModel, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.config, b.config, file: file, line: line)
        XCTAssertEqual(a.programs, b.programs, file: file, line: line)
        XCTAssertEqual(a.persistent, b.persistent, file: file, line: line)
        XCTAssertEqual(a.fftRigor, b.fftRigor, file: file, line: line)
        XCTAssertEqual(a.wisdom, b.wisdom, file: file, line: line)
        XCTAssertEqual(a.threads, b.threads, file: file, line: line)
        XCTAssertEqual(a.compileMilliseconds, b.compileMilliseconds, file: file, line: line)
        XCTAssertEqual(a.spectral, b.spectral, file: file, line: line)
    }

    /// The error message of decoding `bytes` (fails the test when decoding succeeds).
    func decodeError(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try CompiledModel.decode(Data(bytes), source: "bad.m2m")
            XCTFail("decoding succeeded", file: file, line: line)
            return ""
        } catch let error as UserError {
            let message = error.message
            XCTAssertTrue(message.hasPrefix("bad.m2m"), "the error names the file: \(message)", file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "one line: \(message)", file: file, line: line)
            return message
        } catch {
            XCTFail("not a UserError: \(error)", file: file, line: line)
            return ""
        }
    }

    /// Independent 64-bit FNV-1a (the checksum the format documents).
    func fnv1a(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    /// A file around `payload` with a correct header (so only the payload checks can fail).
    func file(payload: [UInt8]) -> [UInt8] {
        var bytes = Array("M2MCPLAN".utf8)
        withUnsafeBytes(of: CompiledModel.formatVersion.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt64(payload.count).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: fnv1a(payload[...]).littleEndian) { bytes += $0 }
        return bytes + payload
    }

    func testRoundTripEstimate() throws {
        let model = try compiled(.estimate)
        let data = try model.serialized()
        let decoded = try CompiledModel.decode(data, source: "mem")
        assertSame(model, decoded)
        XCTAssertEqual(decoded.wisdom, "")
        // Serialization is deterministic: the same model gives the same bytes.
        XCTAssertEqual(try decoded.serialized(), data)
        XCTAssertEqual(decoded.program(CompiledModel.inferenceName)?.graph, try Programs.inference(decoded.config))
        XCTAssertNil(decoded.program("nope"))
    }

    func testRoundTripMeasureKeepsWisdom() throws {
        let model = try compiled(.measure)
        XCTAssertFalse(model.wisdom.isEmpty, "measure stores FFTW wisdom")
        let decoded = try CompiledModel.decode(try model.serialized(), source: "mem")
        assertSame(model, decoded)
        XCTAssertEqual(decoded.fftRigor, .measure)
        // A loaded measure plan builds its programs from wisdom only.
        let runtime = try ModelRuntime(decoded, threads: 2)
        XCTAssertNoThrow(try runtime.program(CompiledModel.inferenceName))
        XCTAssertNoThrow(try runtime.program(CompiledModel.trainingName))
    }

    func testHeaderLayout() throws {
        let data = [UInt8](try compiled().serialized())
        XCTAssertEqual(Array(data[0..<8]), Array("M2MCPLAN".utf8))
        let le = { (r: Range<Int>) in data[r].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
        XCTAssertEqual(le(8..<12), UInt64(CompiledModel.formatVersion), "format version")
        XCTAssertEqual(le(12..<20), UInt64(data.count - 28), "payload length")
        XCTAssertEqual(le(20..<28), fnv1a(data[28...]), "FNV-1a of the payload")
        let payload = try JSONSerialization.jsonObject(with: Data(data[28...])) as? [String: Any]
        XCTAssertNotNil(payload?["config"])
        XCTAssertNotNil(payload?["programs"])
    }

    func testWriteAndLoadRoundTrip() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("tiny.m2m").path
        let model = try compiled()
        try model.write(to: path)
        assertSame(model, try CompiledModel.load(path))
        // Overwriting works and leaves no temporary files behind.
        try model.write(to: path)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["tiny.m2m"])
    }

    func testTruncatedFile() throws {
        let data = [UInt8](try compiled().serialized())
        let message = decodeError(Array(data.dropLast(10)))
        XCTAssertTrue(message.contains("truncated (payload has \(data.count - 38) of \(data.count - 28) bytes)"), message)
        XCTAssertTrue(decodeError(Array(data.prefix(20))).contains("truncated (incomplete header)"))
        XCTAssertTrue(decodeError(Array(data.prefix(28))).contains("truncated"))
    }

    func testTrailingBytes() throws {
        let data = [UInt8](try compiled().serialized())
        XCTAssertTrue(decodeError(data + [0]).contains("corrupt (trailing bytes after the payload)"))
    }

    func testCorruptPayloadFailsChecksum() throws {
        var data = [UInt8](try compiled().serialized())
        for position in [28, data.count / 2, data.count - 1] {
            var bad = data
            bad[position] ^= 0x01
            XCTAssertTrue(decodeError(bad).contains("corrupt (checksum mismatch)"), "byte \(position)")
        }
        // A corrupted stored checksum is caught too.
        data[20] ^= 0xFF
        XCTAssertTrue(decodeError(data).contains("checksum mismatch"))
    }

    func testWrongMagic() throws {
        var data = [UInt8](try compiled().serialized())
        data[0] = UInt8(ascii: "X")
        XCTAssertTrue(decodeError(data).contains("not an m2m compiled model (bad magic)"))
        XCTAssertTrue(decodeError(Array("{\"config\": 1}".utf8)).contains("bad magic"))
    }

    func testWrongVersion() throws {
        var data = [UInt8](try compiled().serialized())
        let next = CompiledModel.formatVersion + 1
        withUnsafeBytes(of: next.littleEndian) { data.replaceSubrange(8..<12, with: $0) }
        let message = decodeError(data)
        XCTAssertTrue(message.contains("format version \(next); this m2mc reads version \(CompiledModel.formatVersion): "
                                       + "recompile the model"), message)
        withUnsafeBytes(of: UInt32(0x0100_0000).littleEndian) { data.replaceSubrange(8..<12, with: $0) }
        XCTAssertTrue(decodeError(data).contains("format version 16777216"))
    }

    func testEmptyAndMissingFiles() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let empty = dir.appendingPathComponent("empty.m2m").path
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
        XCTAssertThrowsError(try CompiledModel.load(empty)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix(empty + ": "), message)
            XCTAssertTrue(message.contains("not an m2m compiled model"), message)
        }
        let missing = dir.appendingPathComponent("missing.m2m").path
        XCTAssertThrowsError(try CompiledModel.load(missing)) { error in
            XCTAssertEqual("\(error)", "\(missing): cannot read the compiled model")
        }
    }

    /// Payloads with a valid checksum but inconsistent content are rejected by the cross-checks.
    func testTamperedPayloadsFailCrossChecks() throws {
        let data = [UInt8](try compiled().serialized())
        let payload = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(data[28...])) as? [String: Any])
        func reencode(_ edit: (inout [String: Any]) -> Void) throws -> [UInt8] {
            var p = payload
            edit(&p)
            return file(payload: [UInt8](try JSONSerialization.data(withJSONObject: p, options: [.sortedKeys])))
        }
        // Sanity: the unmodified payload re-encoded by JSONSerialization still loads.
        XCTAssertNoThrow(try CompiledModel.decode(Data(try reencode { _ in }), source: "ok.m2m"))

        // A config that no longer builds the stored graphs.
        var message = decodeError(try reencode { p in
            p["config"] = (p["config"] as! String).replacingOccurrences(of: "\"width\" : 4", with: "\"width\" : 5")
        })
        XCTAssertTrue(message.contains("program 'infer' does not match the embedded config"), message)

        // An invalid embedded config reports the config's own error.
        message = decodeError(try reencode { p in
            p["config"] = (p["config"] as! String).replacingOccurrences(of: "\"width\" : 4", with: "\"widht\" : 4")
        })
        XCTAssertTrue(message.contains("unknown key 'widht'"), message)

        // Programs missing or reordered.
        message = decodeError(try reencode { p in p["programs"] = Array((p["programs"] as! [Any]).reversed()) })
        XCTAssertTrue(message.contains("expected programs infer and train"), message)

        // A persistent layout that does not match the programs.
        message = decodeError(try reencode { p in
            var persistent = p["persistent"] as! [String: Any]
            persistent["blockBytes"] = (persistent["blockBytes"] as! [Int]).map { $0 + 64 }
            p["persistent"] = persistent
        })
        XCTAssertTrue(message.contains("the persistent layout does not match the programs"), message)

        // Zero threads.
        message = decodeError(try reencode { p in p["threads"] = 0 })
        XCTAssertTrue(message.contains("threads must be >= 1"), message)

        // Not a plan at all (valid JSON, valid checksum).
        message = decodeError(file(payload: Array("[1, 2]".utf8)))
        XCTAssertTrue(message.contains("corrupt (payload is not a valid plan)"), message)
    }

    func testStoredArenaPlanMustMatchItsGraph() throws {
        let data = [UInt8](try compiled().serialized())
        var payload = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(data[28...])) as? [String: Any])
        var programs = payload["programs"] as! [[String: Any]]
        var plan = programs[0]["plan"] as! [String: Any]
        var arenas = plan["arenas"] as! [[String: Any]]
        arenas[0]["lowerBoundBytes"] = (arenas[0]["lowerBoundBytes"] as! Int) + 1
        plan["arenas"] = arenas
        programs[0]["plan"] = plan
        payload["programs"] = programs
        let bytes = file(payload: [UInt8](try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys])))
        let message = decodeError(bytes)
        XCTAssertTrue(message.contains("program 'infer': the stored arena plan does not match its graph"), message)
        XCTAssertTrue(message.contains("recompile the model"), message)
    }

    /// A training rollout other than the config's (bench's one-step programs) round-trips.
    func testTrainingRolloutOverrideRoundTrips() throws {
        let model = try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .estimate, threads: 1,
                                              trainingRollout: 1)
        let decoded = try CompiledModel.decode(try model.serialized(), source: "mem")
        assertSame(model, decoded)
        let y = decoded.training.graph.value(named: Programs.target)!
        XCTAssertEqual(decoded.training.graph.values[y].type.shape, [2, 8, 8, 1])
    }
}
