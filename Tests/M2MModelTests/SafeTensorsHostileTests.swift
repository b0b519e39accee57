import Foundation
import Glibc
import M2MModel
import XCTest

/// Crafted safetensors files (header JSON written by hand, so that it can repeat keys or lie):
/// each is rejected by `SafeTensors.read` with one line naming the file, the tensor and the
/// problem, as the reference Rust reader would reject it, without crashing or over-allocating.
final class SafeTensorsHostileTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try TestSupport.temporaryDirectory(self).path }

    /// A JSON entry for an F32 tensor.
    func entry(_ shape: String, _ start: Int, _ end: Int, dtype: String = "F32") -> String {
        "{\"dtype\": \"\(dtype)\", \"shape\": \(shape), \"data_offsets\": [\(start), \(end)]}"
    }

    /// Writes the 8-byte length (or `claimedLength`), the header text and `data` bytes to `name`.
    func craft(_ name: String, _ header: String, data: Int, claimedLength: UInt64? = nil) -> String {
        let json = Array(header.utf8)
        var bytes: [UInt8] = []
        withUnsafeBytes(of: (claimedLength ?? UInt64(json.count)).littleEndian) { bytes += $0 }
        bytes += json
        bytes += [Float](repeating: 0.5, count: data / 4).withUnsafeBytes { Array($0) } + [UInt8](repeating: 0, count: data % 4)
        let path = dir + "/" + name
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }

    /// `SafeTensors.read(path)` fails with one line that names the file and contains `fragment`.
    func expectRejected(_ path: String, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensors.read(path), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(path + ": "), "error must name the file: \(text)", file: file, line: line)
            XCTAssertTrue(text.contains(fragment), "expected '\(fragment)' in: \(text)", file: file, line: line)
            XCTAssertFalse(text.contains("\n"), "one line: \(text)", file: file, line: line)
        }
    }

    /// Ranges may be listed in any order; sorted by start they tile the data section.
    func testRangesInAnyOrderAreRead() throws {
        let path = craft("order.safetensors", "{\"b\": \(entry("[2]", 4, 12)), \"a\": \(entry("[1]", 0, 4)), "
                         + "\"empty\": \(entry("[0, 3]", 12, 12)), \"__metadata__\": {\"k\": \"v\"}}", data: 12)
        let (tensors, metadata) = try SafeTensors.read(path)
        XCTAssertEqual(tensors["a"]?.values, [0.5])
        XCTAssertEqual(tensors["b"]?.values, [0.5, 0.5])
        XCTAssertEqual(tensors["empty"]?.shape, [0, 3])
        XCTAssertEqual(metadata, ["k": "v"])
    }

    func testOverlappingRanges() {
        expectRejected(craft("overlap.safetensors", "{\"a\": \(entry("[2]", 0, 8)), \"b\": \(entry("[2]", 4, 12))}", data: 12),
                       "tensor 'b' data range [4, 12] overlaps tensor 'a' [0, 8]")
        // The same range twice: both tensors would alias the same bytes.
        expectRejected(craft("alias.safetensors", "{\"a\": \(entry("[2]", 0, 8)), \"b\": \(entry("[2]", 0, 8))}", data: 8),
                       "tensor 'b' data range [0, 8] overlaps tensor 'a' [0, 8]")
    }

    func testGapsAndLeftoverBytes() {
        expectRejected(craft("gap.safetensors", "{\"a\": \(entry("[1]", 0, 4)), \"b\": \(entry("[1]", 8, 12))}", data: 12),
                       "tensor 'b' data range [8, 12] leaves a gap (tensor 'a' ends at 4)")
        expectRejected(craft("late.safetensors", "{\"a\": \(entry("[1]", 4, 8))}", data: 8),
                       "tensor 'a' data range [4, 8] leaves a gap (the data section starts at 0)")
        expectRejected(craft("tail.safetensors", "{\"a\": \(entry("[1]", 0, 4))}", data: 12),
                       "8 bytes after the last tensor's data")
        expectRejected(craft("past.safetensors", "{\"a\": \(entry("[4]", 0, 16))}", data: 8),
                       "truncated: tensor 'a' data range [0, 16] ends past the 8-byte data section")
    }

    func testBadOffsets() {
        expectRejected(craft("reversed.safetensors", "{\"a\": \(entry("[1]", 8, 4))}", data: 8),
                       "tensor 'a' has data_offsets [8, 4] that end before they start")
        expectRejected(craft("negative.safetensors", "{\"a\": \(entry("[1]", -4, 0))}", data: 4),
                       "tensor 'a' has negative data_offsets [-4, 0]")
        expectRejected(craft("float.safetensors", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0.0, 4]}}", data: 4),
                       "tensor 'a' has a malformed entry (data_offsets must be two integers)")
        expectRejected(craft("size.safetensors", "{\"a\": \(entry("[3]", 0, 8))}", data: 8),
                       "tensor 'a' data range [0, 8] holds 8 bytes, its F32 shape [3] needs 12")
    }

    /// Sizes come from the shape with checked arithmetic; signs are checked before the product.
    func testBadShapes() {
        expectRejected(craft("negdims.safetensors", "{\"a\": \(entry("[-1, -4]", 0, 16))}", data: 16),
                       "tensor 'a' has a negative dimension in shape [-1, -4]")
        expectRejected(craft("count.safetensors", "{\"a\": \(entry("[4294967296, 4294967296]", 0, 0))}", data: 0),
                       "tensor 'a' shape [4294967296, 4294967296] is too large (element count overflows)")
        expectRejected(craft("bytes.safetensors", "{\"a\": \(entry("[2305843009213693952]", 0, 0))}", data: 0),
                       "tensor 'a' shape [2305843009213693952] is too large (byte count overflows)")
        expectRejected(craft("bigint.safetensors", "{\"a\": \(entry("[99999999999999999999]", 0, 0))}", data: 0),
                       "tensor 'a' has a malformed entry (shape must hold integers)")
        expectRejected(craft("boolean.safetensors", "{\"a\": \(entry("[true]", 0, 4))}", data: 4),
                       "tensor 'a' has a malformed entry (shape must hold integers)")
    }

    func testHeaderLengthLimits() throws {
        expectRejected(craft("long.safetensors", "{}", data: 0, claimedLength: 3), "truncated (header length 3 exceeds the file)")
        // A header of 100 MB + 1 that the (sparse) file does hold is still refused, unread.
        let path = craft("huge.safetensors", "{", data: 0, claimedLength: 100_000_001)
        XCTAssertEqual(truncate(path, 8 + 100_000_001), 0)
        expectRejected(path, "header length 100000001 exceeds the 100000000-byte limit")
    }

    func testDtypeIsNamed() {
        expectRejected(craft("bf16.safetensors", "{\"a\": \(entry("[2]", 0, 4, dtype: "BF16"))}", data: 4),
                       "tensor 'a' has dtype BF16, expected F32")
    }

    func testDuplicateKeys() {
        expectRejected(craft("dup.safetensors", "{\"a\": \(entry("[1]", 0, 4)), \"a\": \(entry("[1]", 4, 8))}", data: 8),
                       "tensor 'a' appears twice in the header")
        // Escapes do not hide a repeat: "\u0061" is "a".
        expectRejected(craft("dup2.safetensors", "{\"a\": \(entry("[1]", 0, 4)), \"\\u0061\": \(entry("[1]", 4, 8))}", data: 8),
                       "tensor 'a' appears twice in the header")
        expectRejected(craft("dupfield.safetensors",
                             "{\"a\": {\"dtype\": \"F32\", \"dtype\": \"F16\", \"shape\": [1], \"data_offsets\": [0, 4]}}", data: 4),
                       "tensor 'a' has key 'dtype' twice")
    }

    func testMetadataMustBeStrings() {
        expectRejected(craft("meta.safetensors", "{\"__metadata__\": {\"epoch\": 3}, \"a\": \(entry("[1]", 0, 4))}", data: 4),
                       "__metadata__ value of 'epoch' is a number, expected a string")
        expectRejected(craft("meta2.safetensors", "{\"__metadata__\": [\"x\"]}", data: 0),
                       "__metadata__ is an array, expected an object")
    }

    func testMalformedJSON() {
        expectRejected(craft("array.safetensors", "[1, 2]", data: 0), "header is not a JSON object (it is an array)")
        expectRejected(craft("trailing.safetensors", "{} x", data: 0), "header is not a JSON object (header byte 3")
        expectRejected(craft("deep.safetensors", String(repeating: "[", count: 200_000), data: 0), "nested more than 64 levels deep")
        expectRejected(craft("control.safetensors", "{\"a\\nb\": \(entry("[1]", 0, 4))}", data: 4),
                       "tensor 'a\\u{a}b' has a control or line-break character in its name")
        expectRejected(craft("utf8.safetensors", "{\"\\ud800\": 1}", data: 0), "unpaired surrogate")
    }

    /// A FIFO without a writer or a directory is refused at once instead of blocking the reader.
    func testNonRegularFilesDoNotHang() {
        let fifo = dir + "/fifo.safetensors"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        for path in [fifo, dir] {
            guard let message = errorText(within: 10, { _ = try SafeTensors.read(path) }) else {
                XCTFail("reading \(path) did not return within 10 s")
                continue
            }
            XCTAssertTrue(message.hasPrefix(path + ": cannot read the file: not a regular file ("), message)
        }
    }
}

/// Runs `body` on a new thread and returns its error text ("no error" if none), or nil when it
/// has not returned within `seconds`: a read that blocks fails the test instead of hanging it.
private func errorText(within seconds: Double, _ body: @escaping @Sendable () throws -> Void) -> String? {
    final class Box: @unchecked Sendable { var text = "no error" }
    let box = Box(), done = DispatchSemaphore(value: 0)
    Thread {
        do { try body() } catch { box.text = "\(error)" }
        done.signal()
    }.start()
    return done.wait(timeout: .now() + seconds) == .success ? box.text : nil
}
