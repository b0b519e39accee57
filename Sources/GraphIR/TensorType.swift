/// Element types a tensor can hold.
public enum DType: String, Sendable, Hashable, CaseIterable {
    case f32
    /// Interleaved (re, im) float32 pairs, FFTW's `fftwf_complex` layout.
    case c64

    /// Bytes of one element.
    public var byteSize: Int { self == .f32 ? 4 : 8 }
}

/// A statically shaped tensor type; shapes never change after graph construction.
public struct TensorType: Sendable, Hashable, CustomStringConvertible {
    public var dtype: DType
    public var shape: [Int]

    public init(_ dtype: DType, _ shape: [Int]) {
        self.dtype = dtype
        self.shape = shape
    }

    public static func f32(_ shape: Int...) -> TensorType { TensorType(.f32, shape) }
    public static func c64(_ shape: Int...) -> TensorType { TensorType(.c64, shape) }

    public var rank: Int { shape.count }
    public var elementCount: Int { shape.reduce(1, *) }
    public var byteCount: Int { elementCount * dtype.byteSize }
    /// Real scalars it holds: a complex element counts as two (its float32 view).
    public var floatCount: Int { byteCount / 4 }

    /// Text form, e.g. `f32[20,64,64,12]`; a scalar is `f32[]`.
    public var description: String {
        "\(dtype.rawValue)[\(shape.map(String.init).joined(separator: ","))]"
    }
}
