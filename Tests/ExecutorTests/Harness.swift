import Executor
import GraphIR
import Planner
import XCTest

/// Deterministic pseudo-random numbers (SplitMix64), so every run sees the same data.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `count` floats uniform in `range`, fixed by `seed`.
func randomFloats(_ count: Int, seed: UInt64, in range: ClosedRange<Float> = -1...1) -> [Float] {
    var rng = SplitMix64(state: seed)
    return (0..<count).map { _ in
        range.lowerBound + (range.upperBound - range.lowerBound) * Float(rng.next() >> 40) / Float(1 << 24)
    }
}

extension TensorType {
    /// Floats in the buffer (complex elements are two).
    var floatCount: Int { elementCount * (dtype == .c64 ? 2 : 1) }
}

/// A tensor fed to a test graph.
struct Tensor {
    var type: TensorType
    var data: [Float]
    init(_ type: TensorType, _ data: [Float]) {
        precondition(data.count == type.floatCount)
        self.type = type; self.data = data
    }
    init(_ type: TensorType, seed: UInt64, in range: ClosedRange<Float> = -1...1) {
        self.init(type, randomFloats(type.floatCount, seed: seed, in: range))
    }
}

/// Plans `graph` and binds it to a fresh arena and persistent store.
func compile(_ graph: Graph, threads: Int = 2, rigor: FFTRigor = .estimate,
             wisdomOnly: Bool = false, spectral: SpectralForm = .fftw) throws -> ExecutableProgram {
    let plan = try ProgramPlanner.plan(graph)
    let store = try PersistentStore(layout: try PersistentLayout([graph]))
    return try ExecutableProgram(graph: graph, plan: plan, store: store, pool: ThreadPool(threads: threads),
                                 rigor: rigor, wisdomOnly: wisdomOnly, spectral: .everywhere(spectral))
}

extension ExecutableProgram {
    /// Copies `data` into the named input (arena) or parameter/state (store).
    func feed(_ name: String, _ data: [Float]) {
        let p = buffer(name) ?? store.pointer(name)!
        p.update(from: data, count: data.count)
    }

    /// The floats of a named input, output, parameter or state.
    func read(_ name: String) -> [Float] {
        let v = graph.output(named: name) ?? graph.value(named: name)!
        let p = buffer(name) ?? store.pointer(name)!
        return Array(UnsafeBufferPointer(start: p, count: graph.values[v].type.floatCount))
    }
}

/// Runs `op` alone, its operands fed as graph inputs, and returns its result.
func runOp(_ op: Op, _ inputs: [Tensor], threads: Int = 2, spectral: SpectralForm = .fftw) throws -> [Float] {
    var b = GraphBuilder(name: op.name)
    let ids = inputs.indices.map { b.input("in\($0)", inputs[$0].type) }
    b.output("out", try b.apply(op, ids)!)
    let program = try compile(b.graph, threads: threads, spectral: spectral)
    for (i, t) in inputs.enumerated() { program.feed("in\(i)", t.data) }
    program.run()
    return program.read("out")
}

/// Relative L2 error `||actual - expected|| / ||expected||` (absolute when expected is zero).
func relativeError(_ actual: [Float], _ expected: [Double]) -> Double {
    var diff = 0.0, norm = 0.0
    for (a, e) in zip(actual, expected) {
        diff += (Double(a) - e) * (Double(a) - e)
        norm += e * e
    }
    return norm > 0 ? (diff / norm).squareRoot() : diff.squareRoot()
}

func assertClose(_ actual: [Float], _ expected: [Double], tolerance: Double = 1e-5, _ what: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(what): element count", file: file, line: line)
    let error = relativeError(actual, expected)
    XCTAssertLessThanOrEqual(error, tolerance, "\(what): relative L2 error", file: file, line: line)
}
