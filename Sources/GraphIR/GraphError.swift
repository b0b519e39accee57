/// A graph that is malformed: wrong types, bad references, cycles, or bad text.
public struct GraphError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
