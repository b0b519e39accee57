import Foundation
import M2MModel
import XCTest

/// Weights and checkpoints in safetensors: round trips, the on-disk layout (parsed
/// independently here), and bad files that must be rejected without touching the weights.
final class SafeTensorsTests: XCTestCase {
    /// A per-class cache; XCTest runs a process's tests one at a time, on one thread.
    nonisolated(unsafe) static var compiledModel: CompiledModel?

    func runtime(seed: UInt64) throws -> ModelRuntime {
        if Self.compiledModel == nil {
            Self.compiledModel = try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .estimate, threads: 1)
        }
        var compiled = Self.compiledModel!
        compiled.config.seed = seed
        return try ModelRuntime(compiled, threads: 1)
    }

    /// Parses a safetensors file: header JSON object and the data bytes after it.
    func parse(_ path: String) throws -> (header: [String: Any], headerLength: Int, data: [UInt8]) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertGreaterThanOrEqual(bytes.count, 8)
        let length = Int(bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        let header = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as? [String: Any])
        return (header, length, Array(bytes[(8 + length)...]))
    }

    /// Writes a safetensors file from a header object and data bytes (length prefix optional override).
    func write(_ header: [String: Any], data: [UInt8], to path: String, lengthOverride: UInt64? = nil) throws {
        let json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        var bytes: [UInt8] = []
        withUnsafeBytes(of: (lengthOverride ?? UInt64(json.count)).littleEndian) { bytes += $0 }
        try Data(bytes + json + data).write(to: URL(fileURLWithPath: path))
    }

    func parameterBytes(_ r: ModelRuntime) -> [String: [Float]] {
        var result: [String: [Float]] = [:]
        for e in r.compiled.persistent.entries {
            result[e.name] = Array(UnsafeBufferPointer(start: r.store.pointer(e.name)!, count: e.byteCount / 4))
        }
        return result
    }

    func testWeightsRoundTrip() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("w.safetensors").path
        let a = try runtime(seed: 0), b = try runtime(seed: 1)
        XCTAssertNotEqual(TestSupport.persistentBytes(a.store), TestSupport.persistentBytes(b.store),
                          "different seeds give different weights")
        try a.save(to: path, includeOptimizer: false, metadata: ["epoch": "3", "note": "tiny"])
        let metadata = try b.load(from: path, includeOptimizer: false)
        XCTAssertEqual(metadata, ["epoch": "3", "note": "tiny"])
        XCTAssertEqual(TestSupport.persistentBytes(a.store), TestSupport.persistentBytes(b.store))
        // A weights-only file has no optimizer state to load.
        XCTAssertThrowsError(try b.load(from: path, includeOptimizer: true)) {
            XCTAssertTrue("\($0)".contains("missing tensor 'adam.m."), "\($0)")
        }
    }

    /// Weights loaded after a program was built are the ones it runs with (programs read
    /// the shared persistent store, no private copy).
    func testLoadedWeightsReachBuiltPrograms() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("w.safetensors").path
        let config = try TestSupport.tinyConfig()
        let x = TestSupport.randomValues(2 * 8 * 8 * 3, seed: 3)
        let a = try runtime(seed: 0), b = try runtime(seed: 1)
        let before = try x.withUnsafeBufferPointer { try a.predict($0, count: 2, rollout: 1) }
        try b.save(to: path, includeOptimizer: false, metadata: [:])
        try a.load(from: path, includeOptimizer: false)
        let after = try x.withUnsafeBufferPointer { try a.predict($0, count: 2, rollout: 1) }
        let expected = try x.withUnsafeBufferPointer { try b.predict($0, count: 2, rollout: 1) }
        XCTAssertNotEqual(before, expected)
        XCTAssertEqual(after, expected)
        XCTAssertEqual(config.batch, 2)
    }

    func testCheckpointWithOptimizerStateRoundTrip() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("ckpt.safetensors").path
        let a = try runtime(seed: 0)
        // One training step makes the Adam moments non-zero.
        let train = try a.program(CompiledModel.trainingName)
        let config = a.config
        let pixels = config.batch * config.grid[0] * config.grid[1]
        train.buffer(Programs.input)!.update(from: TestSupport.randomValues(pixels * config.tIn, seed: 1), count: pixels * config.tIn)
        train.buffer(Programs.target)!.update(from: TestSupport.randomValues(pixels * config.rolloutTrain, seed: 2),
                                              count: pixels * config.rolloutTrain)
        train.buffer(Programs.optimizerScalars)!.update(from: [1e-3, 1], count: 2)
        train.run()
        let m = a.store.pointer(Programs.adamMoment1("lift.weight"))!
        XCTAssertNotEqual(m[0], 0)

        try a.save(to: path, includeOptimizer: true, metadata: [:])
        let b = try runtime(seed: 1)
        try b.load(from: path, includeOptimizer: true)
        XCTAssertEqual(TestSupport.persistentBytes(a.store), TestSupport.persistentBytes(b.store))
        // Loading only the weights of a checkpoint leaves the optimizer state alone.
        let c = try runtime(seed: 1)
        try c.load(from: path, includeOptimizer: false)
        XCTAssertEqual(c.store.pointer("lift.weight")![0], a.store.pointer("lift.weight")![0])
        XCTAssertEqual(c.store.pointer(Programs.adamMoment1("lift.weight"))![0], 0)
    }

    /// The file layout, read with an independent parser.
    func testFileLayout() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("ckpt.safetensors").path
        let r = try runtime(seed: 4)
        try r.save(to: path, includeOptimizer: true, metadata: ["format": "m2m"])
        let (header, headerLength, data) = try parse(path)
        XCTAssertEqual(headerLength % 8, 0, "header padded to 8 bytes")
        XCTAssertEqual(header["__metadata__"] as? [String: String], ["format": "m2m"])
        let entries = r.compiled.persistent.entries
        XCTAssertEqual(Set(header.keys), Set(entries.map(\.name) + ["__metadata__"]))
        var ranges: [(Int, Int)] = []
        let values = parameterBytes(r)
        for e in entries {
            let t = try XCTUnwrap(header[e.name] as? [String: Any], e.name)
            XCTAssertEqual(t["dtype"] as? String, "F32", e.name)
            let shape = try XCTUnwrap(t["shape"] as? [Int], e.name)
            XCTAssertEqual(shape, e.dtype == .c64 ? e.shape + [2] : e.shape, e.name)
            let offsets = try XCTUnwrap(t["data_offsets"] as? [Int], e.name)
            XCTAssertEqual(offsets.count, 2)
            XCTAssertEqual(offsets[1] - offsets[0], shape.reduce(1, *) * 4, e.name)
            ranges.append((offsets[0], offsets[1]))
            // Little-endian float32 values equal to the store's.
            let stored = stride(from: offsets[0], to: offsets[1], by: 4).map { i in
                Float(bitPattern: UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16
                      | UInt32(data[i + 3]) << 24)
            }
            XCTAssertEqual(stored, values[e.name]!, e.name)
        }
        // The data ranges tile the data section exactly.
        ranges.sort { $0.0 < $1.0 }
        XCTAssertEqual(ranges.first?.0, 0)
        for (a, b) in zip(ranges, ranges.dropFirst()) { XCTAssertEqual(a.1, b.0) }
        XCTAssertEqual(ranges.last?.1, data.count)
        // Complex spectral weights: trailing dimension (re, im).
        let spectral = try XCTUnwrap(header["layers.0.spectral.weight"] as? [String: Any])
        XCTAssertEqual(spectral["shape"] as? [Int], [12, 4, 4, 2])
    }

    // MARK: Bad files

    /// Loads `path` into a fresh runtime, expects an error containing `expected`, and
    /// checks that the runtime's weights and optimizer state did not change.
    func assertRejected(_ path: String, includeOptimizer: Bool = false, _ expected: String,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try runtime(seed: 7)
        let before = TestSupport.persistentBytes(r.store)
        XCTAssertThrowsError(try r.load(from: path, includeOptimizer: includeOptimizer), file: file, line: line) {
            let message = "\($0)"
            XCTAssertTrue(message.contains(expected), message, file: file, line: line)
            XCTAssertTrue(message.hasPrefix(path), "names the file: \(message)", file: file, line: line)
        }
        XCTAssertEqual(TestSupport.persistentBytes(r.store), before, "a failed load changed the store",
                       file: file, line: line)
    }

    /// A valid weights file of seed 3, parsed, for the bad-file tests to edit.
    func validFile() throws -> (dir: URL, header: [String: Any], data: [UInt8], bytes: [UInt8]) {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("good.safetensors").path
        try runtime(seed: 3).save(to: path, includeOptimizer: false, metadata: [:])
        let (header, _, data) = try parse(path)
        return (dir, header, data, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    func testTruncatedFile() throws {
        let (dir, _, _, bytes) = try validFile()
        let path = dir.appendingPathComponent("bad.safetensors").path
        try Data(bytes.dropLast(4)).write(to: URL(fileURLWithPath: path))
        try assertRejected(path, "truncated: tensor 'projection.out.bias' data range")
        try Data(bytes.prefix(5)).write(to: URL(fileURLWithPath: path))
        try assertRejected(path, "shorter than its 8-byte header length")
        try Data().write(to: URL(fileURLWithPath: path))
        try assertRejected(path, "shorter than its 8-byte header length")
    }

    func testHeaderLengthTooLarge() throws {
        let (dir, header, data, _) = try validFile()
        let path = dir.appendingPathComponent("bad.safetensors").path
        try write(header, data: data, to: path, lengthOverride: UInt64(1) << 40)
        try assertRejected(path, "truncated (header length 1099511627776 exceeds the file)")
        try write(header, data: data, to: path, lengthOverride: UInt64.max)
        try assertRejected(path, "exceeds the file")
    }

    func testHeaderNotJSON() throws {
        let (dir, header, data, _) = try validFile()
        let path = dir.appendingPathComponent("bad.safetensors").path
        let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // A header length one short cuts the closing brace.
        try write(header, data: data, to: path, lengthOverride: UInt64(json.count - 1))
        try assertRejected(path, "header is not a JSON object")
    }

    func testWrongDtype() throws {
        var (dir, header, data, _) = try validFile()
        var entry = header["lift.bias"] as! [String: Any]
        entry["dtype"] = "F16"
        header["lift.bias"] = entry
        let path = dir.appendingPathComponent("bad.safetensors").path
        try write(header, data: data, to: path)
        try assertRejected(path, "tensor 'lift.bias' has dtype F16, expected F32")
    }

    func testMalformedEntry() throws {
        var (dir, header, data, _) = try validFile()
        header["lift.bias"] = ["dtype": "F32", "shape": [4]] as [String: Any]
        let path = dir.appendingPathComponent("bad.safetensors").path
        try write(header, data: data, to: path)
        try assertRejected(path, "tensor 'lift.bias' has a malformed entry")
    }

    func testNaNValue() throws {
        var (dir, header, data, _) = try validFile()
        let offsets = (header["projection.out.bias"] as! [String: Any])["data_offsets"] as! [Int]
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { data.replaceSubrange(offsets[0]..<(offsets[0] + 4), with: $0) }
        let path = dir.appendingPathComponent("bad.safetensors").path
        try write(header, data: data, to: path)
        try assertRejected(path, "tensor 'projection.out.bias' contains NaN or infinity")
        withUnsafeBytes(of: Float.infinity.bitPattern.littleEndian) { data.replaceSubrange(offsets[0]..<(offsets[0] + 4), with: $0) }
        try write(header, data: data, to: path)
        try assertRejected(path, "contains NaN or infinity")
        _ = header
    }

    func testMissingTensor() throws {
        var (dir, header, data, _) = try validFile()
        // Drop the tensor and its bytes, keeping the other data ranges contiguous.
        let removed = (header["layers.1.pointwise.bias"] as! [String: Any])["data_offsets"] as! [Int]
        header["layers.1.pointwise.bias"] = nil
        data.removeSubrange(removed[0]..<removed[1])
        for (name, value) in header {
            guard var entry = value as? [String: Any], let offsets = entry["data_offsets"] as? [Int],
                  offsets[0] >= removed[1] else { continue }
            entry["data_offsets"] = offsets.map { $0 - (removed[1] - removed[0]) }
            header[name] = entry
        }
        let path = dir.appendingPathComponent("bad.safetensors").path
        try write(header, data: data, to: path)
        try assertRejected(path, "missing tensor 'layers.1.pointwise.bias'")
    }

    func testWrongShape() throws {
        var (dir, header, data, _) = try validFile()
        // Same element count, transposed: the offsets stay consistent, only the shape is wrong.
        var entry = header["lift.weight"] as! [String: Any]
        XCTAssertEqual(entry["shape"] as? [Int], [5, 4])
        entry["shape"] = [4, 5]
        header["lift.weight"] = entry
        let path = dir.appendingPathComponent("bad.safetensors").path
        try write(header, data: data, to: path)
        try assertRejected(path, "tensor 'lift.weight' has shape [4, 5], the model expects [5, 4]")
        // Complex weights without the trailing (re, im) dimension.
        var (_, header2, data2, _) = try validFile()
        var spectral = header2["layers.0.spectral.weight"] as! [String: Any]
        spectral["shape"] = [12, 4, 8]
        header2["layers.0.spectral.weight"] = spectral
        try write(header2, data: data2, to: path)
        try assertRejected(path, "tensor 'layers.0.spectral.weight' has shape [12, 4, 8]")
        _ = data2
    }

    func testExtraTensor() throws {
        var (dir, header, data, _) = try validFile()
        header["decoder.weight"] = ["dtype": "F32", "shape": [1], "data_offsets": [data.count, data.count + 4]] as [String: Any]
        data += [0, 0, 0, 0]
        let path = dir.appendingPathComponent("bad.safetensors").path
        try write(header, data: data, to: path)
        try assertRejected(path, "tensor 'decoder.weight' is not part of this model")
    }

    /// A later tensor is bad after earlier ones were fine: still nothing is modified.
    func testFailedLoadIsAllOrNothing() throws {
        var (dir, header, data, _) = try validFile()
        var entry = header["projection.out.weight"] as! [String: Any]
        entry["shape"] = [4, 2]
        header["projection.out.weight"] = entry
        let path = dir.appendingPathComponent("bad.safetensors").path
        try write(header, data: data, to: path)
        try assertRejected(path, "tensor 'projection.out.weight' has shape [4, 2]")
        _ = data
    }

    func testMissingFile() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        try assertRejected(dir.appendingPathComponent("none.safetensors").path, "cannot read the file")
    }

    /// Absurd shapes must give an error, not an arithmetic overflow trap.
    func testHugeShapeIsAnError() throws {
        var (dir, header, data, _) = try validFile()
        var entry = header["lift.bias"] as! [String: Any]
        entry["shape"] = [1 << 40, 1 << 40]
        header["lift.bias"] = entry
        let path = dir.appendingPathComponent("bad.safetensors").path
        try write(header, data: data, to: path)
        try assertRejected(path, "lift.bias")
        _ = data
    }
}
