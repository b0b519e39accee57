/// A large float array owned by a class, so generator threads can fill disjoint parts of it
/// and writers can stream it out without a copy. Thread safety: `shape` and `pointer` never
/// change; threads may write disjoint elements concurrently, and nothing synchronizes
/// overlapping writes or a read racing a write (the caller partitions the elements).
public final class FloatBuffer: @unchecked Sendable {
    public let shape: [Int]
    public let pointer: UnsafeMutablePointer<Float>
    public var count: Int { shape.reduce(1, *) }

    /// A zero-filled buffer of `shape`.
    public init(shape: [Int]) {
        self.shape = shape
        let n = shape.reduce(1, *)
        pointer = .allocate(capacity: n)
        pointer.initialize(repeating: 0, count: n)
    }

    deinit { pointer.deallocate() }

    /// The contents, read-only.
    public var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }

    /// A copy as an array (for tests and small data).
    public var values: [Float] { Array(buffer) }
}
