import Foundation
import Glibc
import XCTest
@testable import M2MData

/// Crafted `.npy` files: every hostile header is a one-line error naming the file and the
/// problem, never a crash, a hang, or a huge allocation.
final class NpyHostileTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try makeTemporaryFolder() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// Magic, version, little-endian header length (2 bytes for 1.0, else 4), header, data.
    func npy(_ header: [UInt8], version: (UInt8, UInt8) = (1, 0), data: [UInt8] = [], claimedLength: Int? = nil) -> [UInt8] {
        let length = claimedLength ?? header.count
        let lengthBytes = (0..<(version.0 == 1 ? 2 : 4)).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) }
        return Npy.magic + [version.0, version.1] + lengthBytes + header + data
    }

    func npy(_ header: String, version: (UInt8, UInt8) = (1, 0), data: [UInt8] = [], claimedLength: Int? = nil) -> [UInt8] {
        npy(Array(header.utf8), version: version, data: data, claimedLength: claimedLength)
    }

    /// `count` float32 ones.
    func floats(_ count: Int) -> [UInt8] {
        [Float](repeating: 1, count: count).withUnsafeBytes { Array($0) }
    }

    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let path = dir + "/" + name
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }

    /// Reading `bytes` (as `name`) fails with one line that names the file and contains `fragment`.
    func expectRejected(_ name: String, _ bytes: [UInt8], _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        expectRejected(path: write(name, bytes), fragment, file: file, line: line)
    }

    func expectRejected(path: String, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Npy.read(path), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(path + ": "), "error must name the file: \(text)", file: file, line: line)
            XCTAssertTrue(text.contains(fragment), "expected '\(fragment)' in: \(text)", file: file, line: line)
            XCTAssertFalse(text.contains("\n"), "one line: \(text)", file: file, line: line)
        }
    }

    /// The header is parsed as a literal: a string value that contains `'descr': '<f4'` is just
    /// a string (a text search found the inner "descr" and accepted the file as float32).
    func testStringValuesCannotPoseAsKeys() {
        expectRejected("spoof.npy", npy("{\"descr\": \"'descr': '<f4'\", 'fortran_order': False, 'shape': (2,)}\n", data: floats(2)),
                       "unsupported dtype \"'descr': '<f4'\"")
        expectRejected("spoof2.npy", npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), 'x': \"'descr': '<f4'\"}\n", data: floats(2)),
                       "unexpected key 'x'")
        // An escaped quote does not end the string: the value is `<f4', 'shape': (1,), '`.
        expectRejected("escape.npy", npy("{'descr': '<f4\\', \\'shape\\': (1,)', 'fortran_order': False, 'shape': (2,)}\n", data: floats(2)),
                       "unsupported dtype")
    }

    /// Everything numpy may legally write is read: either quote, escapes, any key order, a
    /// trailing comma, newlines, Python 2 `L` integers in 1.0 headers, format 2.0 and 3.0.
    func testLegalVariationsAreRead() throws {
        let header = "{\"shape\": (2,\n 3L), 'fortran_order': False, 'descr': '\\x3cf4', }    \n"
        let path = write("variations.npy", npy(header, data: floats(6)))
        let array = try Npy.read(path)
        XCTAssertEqual(array.shape, [2, 3])
        XCTAssertEqual(array.values, [Float](repeating: 1, count: 6))
        for version: (UInt8, UInt8) in [(2, 0), (3, 0)] {
            let v = write("v\(version.0).npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': ()}\n", version: version, data: floats(1)))
            XCTAssertEqual(try Npy.read(v).shape, [])
        }
        // `(5)` is the integer 5 in Python, not a tuple; numpy would reject it too.
        expectRejected("paren.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (5)}\n", data: floats(5)),
                       "shape 5 is not a tuple")
        expectRejected("long3.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (5L,)}\n", version: (3, 0), data: floats(5)),
                       "malformed .npy header")
    }

    /// numpy writes format 2.0 and 3.0 when asked; we read them.
    func testNumpyFormatVersions() throws {
        _ = try runPython(importNumpy + """
            x = np.arange(6, dtype=np.float32).reshape(2, 3)
            for i, v in enumerate([(2, 0), (3, 0)]):
                with open(sys.argv[1 + i], 'wb') as f: np.lib.format.write_array(f, x, version=v)
            """, [dir + "/v2.npy", dir + "/v3.npy"])
        for name in ["v2", "v3"] {
            let array = try Npy.read(dir + "/\(name).npy")
            XCTAssertEqual(array.shape, [2, 3], name)
            XCTAssertEqual(array.values, [0, 1, 2, 3, 4, 5], name)
        }
    }

    /// Exactly the keys 'descr', 'fortran_order', 'shape'; string keys; no key twice.
    func testKeys() {
        expectRejected("missing.npy", npy("{'descr': '<f4', 'fortran_order': False}\n"), "no 'shape'")
        expectRejected("extra.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}\n", data: floats(1)),
                       "unexpected key 'extra'")
        expectRejected("dup.npy", npy("{'descr': '<i4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}\n", data: floats(1)),
                       "duplicate key 'descr'")
        expectRejected("intkey.npy", npy("{1: '<f4'}\n"), "dict keys must be strings")
        expectRejected("notdict.npy", npy("('descr', '<f4')\n"), "is not a dict")
        // A key with a newline in it still gives a one-line error.
        expectRejected("newline.npy", npy("{'a\\nb': 1, 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}\n", data: floats(1)),
                       "unexpected key 'a\\nb'")
    }

    /// Shapes: a tuple of non-negative integers, at most 64 of them, whose element and byte
    /// counts do not overflow and match the file before anything is allocated.
    func testShapes() {
        func header(_ shape: String, descr: String = "<f4") -> String {
            "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape)}\n"
        }
        expectRejected("negative.npy", npy(header("(-1, -4)"), data: floats(4)), "bad shape (-1, -4): dimensions must be non-negative")
        expectRejected("bool.npy", npy(header("(True,)"), data: floats(1)), "bad shape (True,)")
        expectRejected("list.npy", npy(header("[2, 3]"), data: floats(6)), "shape [2, 3] is not a tuple")
        expectRejected("float.npy", npy(header("(2.0,)"), data: floats(2)), "only decimal integers")
        expectRejected("count.npy", npy(header("(4294967296, 4294967296)")), "element count overflows")
        expectRejected("bytes.npy", npy(header("(2305843009213693952,)")), "byte count overflows")
        expectRejected("bigint.npy", npy(header("(99999999999999999999999,)")), "integer 99999999999999999999999 is too large")
        // 4 TB claimed, 16 bytes present: an error before any allocation.
        expectRejected("huge.npy", npy(header("(1000000000000,)"), data: floats(4)),
                       "truncated: shape [1000000000000] needs 4000000000000 data bytes, file has 16")
        let dims = "(" + String(repeating: "1, ", count: 65) + ")"
        expectRejected("ndim.npy", npy(header(dims), data: floats(1)), "shape has 65 dimensions, more than numpy's 64")
    }

    /// Header lengths past the end of the file or beyond the 1 MiB limit.
    func testHeaderLength() throws {
        expectRejected("len1.npy", npy("{}", claimedLength: 0xFFFF), "truncated: header claims 65535 bytes")
        expectRejected("len2.npy", npy("{}", version: (2, 0), claimedLength: 0xFFFF_FFFF), "truncated: header claims 4294967295 bytes")
        // A 2 MiB header that the file does hold (sparse: costs no disk).
        let path = write("len3.npy", npy("{", version: (2, 0), claimedLength: 2 << 20))
        XCTAssertEqual(truncate(path, off_t(12 + (2 << 20))), 0)
        expectRejected(path: path, "header of 2097152 bytes exceeds the 1048576-byte limit")
        expectRejected("short2.npy", Array(npy("{}", version: (2, 0)).prefix(11)), "truncated")
    }

    /// fortran_order must be False (True is named); dtype must be '<f4' or '<f8' (others named).
    func testOrderAndDtype() {
        expectRejected("fortran.npy", npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2)}\n", data: floats(4)),
                       "Fortran-order arrays are not supported (fortran_order is True")
        expectRejected("order1.npy", npy("{'descr': '<f4', 'fortran_order': 1, 'shape': (1,)}\n", data: floats(1)),
                       "fortran_order 1 is not True or False")
        expectRejected("i8.npy", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1,)}\n", data: floats(2)),
                       "unsupported dtype '<i8' (need little-endian float32 '<f4' or float64 '<f8')")
        expectRejected("record.npy", npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}\n", data: floats(1)),
                       "unsupported dtype [('a', '<f4')]")
        expectRejected("version.npy", npy("{}", version: (1, 5)), "unsupported .npy format version 1.5")
    }

    /// Syntax errors, deep nesting and bad text encodings are errors with a position.
    func testMalformedText() {
        expectRejected("unterminated.npy", npy("{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}\n"), "malformed .npy header")
        expectRejected("garbage.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x\n", data: floats(1)),
                       "unexpected 'x' after the literal at character 56")
        expectRejected("call.npy", npy("{'descr': __import__('os'), 'fortran_order': False, 'shape': (1,)}\n"),
                       "unsupported literal '__import__'")
        let deep = String(repeating: "(", count: 50_000) + String(repeating: ")", count: 50_000)
        expectRejected("deep.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': \(deep)}", version: (2, 0)),
                       "nested more than 32 levels deep")
        expectRejected("utf8.npy", npy([0x7B, 0xFF, 0xFE, 0x7D], version: (3, 0)), "header is not valid UTF-8")
        expectRejected("empty.npy", npy(""), "unexpected end of text")
    }

    /// A FIFO without a writer, a directory or a device is refused at once, without blocking.
    func testNonRegularFilesDoNotHang() throws {
        let fifo = dir + "/fifo.npy"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        for path in [fifo, dir, "/dev/null", "/dev/zero"] {
            guard let message = errorText(within: 10, { _ = try Npy.read(path) }) else {
                XCTFail("reading \(path) did not return within 10 s")
                continue
            }
            XCTAssertTrue(message.hasPrefix(path + ": not a regular file ("), message)
        }
    }
}
