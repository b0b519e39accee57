import Foundation
import Glibc

/// A float array read from disk, converted to Float, in C order.
public struct NpyArray {
    /// Dimensions, outermost first.
    public var shape: [Int]
    /// Elements in C (row-major) order.
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }
}

/// NumPy `.npy` files (format version 1.0 written; 1.0-3.0 read): little-endian float32 or
/// float64, C order. This is the ecosystem format users already load with `numpy.load`.
public enum Npy {
    /// Element types the reader accepts.
    public enum DType: String {
        case float32 = "<f4"
        case float64 = "<f8"

        var size: Int { self == .float32 ? 4 : 8 }
    }

    /// What a header says: element type, shape and where the data starts.
    public struct Header: Equatable {
        public var dtype: DType
        public var shape: [Int]
        public var dataOffset: Int

        /// Number of elements.
        public var count: Int { shape.reduce(1, *) }
    }

    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"

    /// Writes float32 `values` with `shape` to `path` atomically.
    public static func write(_ values: UnsafeBufferPointer<Float>, shape: [Int], to path: String) throws {
        try write(UnsafeRawBufferPointer(values), count: values.count, dtype: .float32, shape: shape, to: path)
    }

    /// Writes float32 `values` with `shape` to `path` atomically.
    public static func write(_ values: [Float], shape: [Int], to path: String) throws {
        try values.withUnsafeBufferPointer { try write($0, shape: shape, to: path) }
    }

    /// Writes float64 `values` with `shape` to `path` atomically.
    public static func write(_ values: [Double], shape: [Int], to path: String) throws {
        try values.withUnsafeBytes {
            try write($0, count: values.count, dtype: .float64, shape: shape, to: path)
        }
    }

    private static func write(_ bytes: UnsafeRawBufferPointer, count: Int, dtype: DType,
                              shape: [Int], to path: String) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == count else {
            throw DataError(path, "shape \(shape) does not match \(count) values")
        }
        try AtomicFile.write(to: path) { sink in
            try sink.write(headerBytes(dtype: dtype, shape: shape))
            // Write in 64 MiB pieces: one huge write() may be split by the kernel anyway.
            let chunk = 1 << 26
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + chunk, bytes.count)
                try sink.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
                offset = end
            }
        }
    }

    /// Version 1.0 header: magic, version, 2-byte length, then the dict padded with spaces and a
    /// newline so the data starts on a 64-byte boundary (as numpy does).
    static func headerBytes(dtype: DType, shape: [Int]) -> [UInt8] {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(dims), }"
        let unpadded = magic.count + 4 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let len = UInt16(dict.utf8.count)
        return magic + [1, 0, UInt8(len & 0xFF), UInt8(len >> 8)] + Array(dict.utf8)
    }

    /// Reads and checks the header of `path` (magic, version, dtype, order, shape, byte count).
    public static func readHeader(_ path: String) throws -> Header {
        let file = try ReadFile(path)
        defer { file.close() }
        return try parseHeader(file)
    }

    /// Reads `path` into Float, converting float64; with `requireFinite`, a NaN or infinity is
    /// an error naming its position. Never returns a partial array.
    public static func read(_ path: String, requireFinite: Bool = true) throws -> NpyArray {
        let file = try ReadFile(path)
        defer { file.close() }
        let header = try parseHeader(file)
        let count = header.count
        var values = [Float](repeating: 0, count: count)
        switch header.dtype {
        case .float32:
            try values.withUnsafeMutableBytes { try file.read(into: $0, at: header.dataOffset) }
        case .float64:
            // Convert in pieces to avoid holding the whole float64 array.
            let piece = 1 << 20
            var scratch = [Double](repeating: 0, count: min(piece, count))
            var done = 0
            while done < count {
                let n = min(piece, count - done)
                try scratch.withUnsafeMutableBytes {
                    try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<(n * 8)]),
                                  at: header.dataOffset + done * 8)
                }
                for j in 0..<n { values[done + j] = Float(scratch[j]) }
                done += n
            }
        }
        if requireFinite, let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw DataError(path, "non-finite value (\(values[bad])) at flat index \(bad) of shape \(header.shape)")
        }
        return NpyArray(shape: header.shape, values: values)
    }
}
