/// Element types a tensor can hold.
public enum DType: String, Sendable, Hashable, CaseIterable, Codable {
    case f32
    /// Interleaved (re, im) float32 pairs, FFTW's `fftwf_complex` layout.
    case c64
    /// 32-bit signed integers: routing tables and the counts of bounded extents.
    case i32

    /// Bytes of one element.
    public var byteSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .c64: return 8
        }
    }
}

/// A statically shaped tensor type; shapes never change after graph construction.
///
/// One axis may be *bounded* (XLA's `f32[<=C, ...]`): its size is a compile-time
/// capacity that plans and arena offsets use, while the extent actually used is an
/// `i32` count computed at run time (see `Graph.boundedExtents`). Kernels run only
/// the tiles below the count; tiles stay fixed by the shape.
public struct TensorType: Sendable, Hashable, CustomStringConvertible {
    public var dtype: DType
    public var shape: [Int]
    /// The axis whose size is a capacity, if any.
    public var boundedAxis: Int?

    public init(_ dtype: DType, _ shape: [Int], boundedAxis: Int? = nil) {
        self.dtype = dtype
        self.shape = shape
        self.boundedAxis = boundedAxis
    }

    public static func f32(_ shape: Int...) -> TensorType { TensorType(.f32, shape) }
    public static func c64(_ shape: Int...) -> TensorType { TensorType(.c64, shape) }
    public static func i32(_ shape: Int...) -> TensorType { TensorType(.i32, shape) }

    public var rank: Int { shape.count }
    public var elementCount: Int { shape.reduce(1, *) }
    /// `elementCount`, or nil when the product overflows `Int` (a hostile shape).
    public var checkedElementCount: Int? {
        shape.reduce(Optional(1)) { product, dim in
            guard let product else { return nil }
            let (p, overflow) = product.multipliedReportingOverflow(by: dim)
            return overflow ? nil : p
        }
    }
    public var byteCount: Int { elementCount * dtype.byteSize }
    /// Real scalars it holds: a complex element counts as two (its float32 view).
    public var floatCount: Int { byteCount / 4 }
    public var isBounded: Bool { boundedAxis != nil }

    /// The same type with `axis` bounded (nil: fully static).
    public func bounded(_ axis: Int?) -> TensorType { TensorType(dtype, shape, boundedAxis: axis) }

    /// Text form, e.g. `f32[20,64,64,12]`, a bounded leading axis `f32[<=40,32,32,12]`;
    /// a scalar is `f32[]`.
    public var description: String {
        let dims = shape.indices.map { (boundedAxis == $0 ? "<=" : "") + String(shape[$0]) }
        return "\(dtype.rawValue)[\(dims.joined(separator: ","))]"
    }
}
