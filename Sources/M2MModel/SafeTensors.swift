import Foundation
import M2MData

/// The safetensors format (8-byte little-endian header length, JSON header with
/// dtype/shape/data_offsets, raw little-endian data), readable by the Python
/// `safetensors` package. Only F32 tensors; complex weights are stored as
/// float32 pairs with a trailing dimension of 2 (as torch.view_as_real).
public enum SafeTensors {
    public struct Tensor {
        public var shape: [Int]
        public var values: [Float]
        public init(shape: [Int], values: [Float]) { self.shape = shape; self.values = values }
    }

    /// Writes tensors (in the given order) and string metadata atomically.
    public static func write(_ tensors: [(name: String, shape: [Int], data: UnsafeBufferPointer<Float>)],
                             metadata: [String: String], to path: String) throws {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        for t in tensors {
            precondition(t.shape.reduce(1, *) == t.data.count)
            let bytes = t.data.count * 4
            header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }   // pad with spaces, as the reference writer does
        var length = UInt64(json.count).littleEndian
        try AtomicFile.write(to: path) { sink in
            try withUnsafeBytes(of: &length) { try sink.write($0) }
            try json.withUnsafeBytes { try sink.write($0) }
            for t in tensors { try sink.write(UnsafeRawBufferPointer(t.data)) }
        }
    }

    /// Reads every tensor and the metadata, validating header, dtypes, offsets and finiteness.
    public static func read(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard let file = FileManager.default.contents(atPath: path) else {
            throw UserError("\(path): cannot read the file")
        }
        func fail(_ why: String) -> UserError { UserError("\(path): not a valid safetensors file: \(why)") }
        guard file.count >= 8 else { throw fail("shorter than its 8-byte header length") }
        let headerLength = file.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(file.count - 8) else { throw fail("truncated (header length \(headerLength) exceeds the file)") }
        let dataStart = 8 + Int(headerLength)
        guard let header = (try? JSONSerialization.jsonObject(with: file.subdata(in: 8..<dataStart))) as? [String: Any] else {
            throw fail("header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        var tensors: [String: Tensor] = [:]
        for (name, entry) in header {
            if name == "__metadata__" {
                guard let m = entry as? [String: String] else { throw fail("__metadata__ must map strings to strings") }
                metadata = m
                continue
            }
            guard let e = entry as? [String: Any], let dtype = e["dtype"] as? String,
                  let shape = e["shape"] as? [Int], let offsets = e["data_offsets"] as? [Int], offsets.count == 2 else {
                throw fail("tensor '\(name)' has a malformed entry")
            }
            guard dtype == "F32" else { throw fail("tensor '\(name)' has dtype \(dtype), expected F32") }
            // Header values are untrusted: no arithmetic here may overflow.
            let available = file.count - dataStart
            var count: Int? = shape.allSatisfy({ $0 >= 0 }) ? 1 : nil
            for d in shape {
                guard let c = count else { break }
                let (product, overflow) = c.multipliedReportingOverflow(by: d)
                count = overflow || product > available / 4 ? nil : product
            }
            guard let count, offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] <= available,
                  offsets[1] - offsets[0] == count * 4 else {
                throw fail("tensor '\(name)' data range \(offsets) does not match its shape \(shape) or the file size")
            }
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { dst in
                file.copyBytes(to: dst, from: (dataStart + offsets[0])..<(dataStart + offsets[1]))
            }
            if !values.allSatisfy({ $0.isFinite }) { throw UserError("\(path): tensor '\(name)' contains NaN or infinity") }
            tensors[name] = Tensor(shape: shape, values: values)
        }
        return (tensors, metadata)
    }
}
