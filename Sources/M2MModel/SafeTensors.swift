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

    /// Reads every tensor and the metadata. The whole header is validated first (see
    /// `layout(of:)`), so nothing the size of the data is allocated for a file that cannot hold
    /// it; then each tensor is read and checked to be finite.
    public static func read(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let file: ReadFile
        do {
            file = try ReadFile(path)
        } catch let e as DataError {
            throw UserError("\(path): cannot read the file: \(e.problem)")
        }
        defer { file.close() }
        do {
            let layout = try layout(of: file)
            var tensors: [String: Tensor] = [:]
            for e in layout.entries {
                var values = [Float](repeating: 0, count: e.count)
                try values.withUnsafeMutableBytes { try file.read(into: $0, at: layout.dataStart + e.start) }
                if !values.allSatisfy({ $0.isFinite }) { throw UserError("\(path): tensor \(quoted(e.name)) contains NaN or infinity") }
                tensors[e.name] = Tensor(shape: e.shape, values: values)
            }
            return (tensors, layout.metadata)
        } catch let e as DataError {
            throw UserError(e.description)  // a read failed (the file changed while being read)
        }
    }
}
