import Foundation
import XCTest
@testable import M2MData

final class NpyTests: XCTestCase {
    func testRoundTripFloat32AndFloat64() throws {
        let dir = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for shape in [[2, 3, 4], [5], []] {
            let n = shape.reduce(1, *)
            let values = (0..<n).map { Float($0) * 0.37 - 1.5 }
            let path = dir + "/f32.npy"
            try Npy.write(values, shape: shape, to: path)
            let back = try Npy.read(path)
            XCTAssertEqual(back.shape, shape)
            XCTAssertEqual(back.values, values)
            let header = try Npy.readHeader(path)
            XCTAssertEqual(header.dtype, .float32)
            XCTAssertEqual(header.dataOffset % 64, 0, "data must start 64-byte aligned like numpy's")

            let doubles = values.map { Double($0) + 1e-12 }
            try Npy.write(doubles, shape: shape, to: dir + "/f64.npy")
            let back64 = try Npy.read(dir + "/f64.npy")
            XCTAssertEqual(try Npy.readHeader(dir + "/f64.npy").dtype, .float64)
            XCTAssertEqual(back64.shape, shape)
            XCTAssertEqual(back64.values, doubles.map { Float($0) })
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "atomic writes must leave no temporary files")
    }

    /// numpy.load reads what we write, and we read what numpy.save writes (float32 and float64).
    func testNumpyInterop() throws {
        let dir = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let values: [Float] = (0..<24).map { Float($0) / 7 - 1 }
        try Npy.write(values, shape: [2, 3, 4], to: dir + "/ours.npy")
        try Npy.write(values.map(Double.init), shape: [4, 6], to: dir + "/ours64.npy")
        let report = try runPython(importNumpy + """
            a = np.load(sys.argv[1]); b = np.load(sys.argv[2])
            print(a.dtype, a.shape, repr(float(a[1, 2, 3])), b.dtype, b.shape, repr(float(b[3, 5])))
            """, [dir + "/ours.npy", dir + "/ours64.npy"])
        XCTAssertEqual(report, "float32 (2, 3, 4) \(Double(values[23])) float64 (4, 6) \(Double(values[23]))")

        _ = try runPython(importNumpy + """
            x = np.arange(30, dtype=np.float64).reshape(2, 3, 5) / 3.0
            np.save(sys.argv[1], x.astype(np.float32)); np.save(sys.argv[2], x)
            """, [dir + "/np32.npy", dir + "/np64.npy"])
        let expected = (0..<30).map { Float(Double($0) / 3) }
        for name in ["np32", "np64"] {
            let array = try Npy.read(dir + "/\(name).npy")
            XCTAssertEqual(array.shape, [2, 3, 5], name)
            XCTAssertEqual(array.values, expected, name)
        }
    }

    /// Each kind of bad file gets its own one-line error naming the file.
    func testBadFilesGiveClearErrors() throws {
        let dir = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = dir + "/good.npy"
        try Npy.write([Float](repeating: 1, count: 12), shape: [3, 4], to: good)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good)))

        func expectError(_ name: String, _ contents: [UInt8], _ fragment: String) {
            let path = dir + "/" + name
            _ = FileManager.default.createFile(atPath: path, contents: Data(contents))
            XCTAssertThrowsError(try Npy.read(path), name) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix(path + ": "), "error must name the file: \(text)")
                XCTAssertTrue(text.contains(fragment), "\(name): expected '\(fragment)' in: \(text)")
                XCTAssertFalse(text.contains("\n"), "one line: \(text)")
            }
        }
        expectError("truncated.npy", Array(bytes.dropLast(5)), "truncated")
        expectError("short.npy", Array(bytes.prefix(7)), "truncated")
        var magic = bytes
        magic[1] = UInt8(ascii: "X")
        expectError("magic.npy", magic, "wrong magic")
        /// `bytes` with the first occurrence of `old` in the header replaced by `new` (same length).
        func patched(_ old: String, _ new: String) -> [UInt8] {
            let (o, n) = (Array(old.utf8), Array(new.utf8))
            var out = bytes
            let at = (0...(out.count - o.count)).first { Array(out[$0..<($0 + o.count)]) == o }!
            out.replaceSubrange(at..<(at + o.count), with: n)
            return out
        }
        expectError("int.npy", patched("<f4", "<i4"), "unsupported dtype '<i4'")
        expectError("big.npy", patched("<f4", ">f4"), "unsupported dtype '>f4'")
        expectError("fortran.npy", patched("False", "True "), "Fortran")
        var nan = bytes
        let header = try Npy.readHeader(good)
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { for i in 0..<4 { nan[header.dataOffset + 4 * 5 + i] = $0[i] } }
        expectError("nan.npy", nan, "non-finite value (nan) at flat index 5")
        expectError("extra.npy", bytes + [0, 0, 0, 0], "unexpected bytes")
        XCTAssertThrowsError(try Npy.read(dir + "/missing.npy")) { XCTAssertTrue("\($0)".contains("cannot open"), "\($0)") }
    }
}
