import Executor
import GraphIR
import Planner
import XCTest

/// What an op test expects of one output.
enum Expectation {
    /// Floats (a c64 tensor as interleaved pairs). Only the first `valid` floats are compared
    /// when given: the rows of a bounded tensor past its run-time count are undefined.
    case floats([Double], valid: Int?)
    /// Exact integers (a routing table).
    case ints([Int32])
    /// Exact floats, bit for bit (a summation order that the spec fixes).
    case bits([Float])

    static func floats(_ values: [Double]) -> Expectation { .floats(values, valid: nil) }
}

/// A tiny graph exercising one op, its inputs, and Double references of its outputs.
struct OpFixture {
    var label: String
    var graph: Graph
    var feeds: [(name: String, data: [Float])]
    var expected: [(name: String, value: Expectation)]
    var tolerance: Double

    /// Compiles for `threads` (spectral transforms in `spectral` form), feeds every input, runs once.
    func run(threads: Int, spectral: SpectralForm = .fftw) throws -> ExecutableProgram {
        let program = try compile(graph, threads: threads, spectral: spectral)
        feed(program)
        program.run()
        return program
    }

    func feed(_ program: ExecutableProgram) {
        for (name, data) in feeds { program.feed(name, data) }
    }

    /// Raw bits of every output, parameter and state, by name.
    func bits(_ program: ExecutableProgram) -> [String: [UInt32]] {
        var result: [String: [UInt32]] = [:]
        for (name, v) in graph.outputs {
            let type = graph.values[v].type
            if type.dtype == .i32 {
                result[name] = UnsafeBufferPointer(start: program.indexBuffer(name)!, count: type.elementCount)
                    .map { UInt32(bitPattern: $0) }
            } else {
                result[name] = program.read(name).map(\.bitPattern)
            }
        }
        for value in graph.values where value.kind.isPersistent {
            let name = value.kind.name!
            result["persistent " + name] = program.read(name).map(\.bitPattern)
        }
        return result
    }

    /// Checks every expected output against its reference.
    func check(_ program: ExecutableProgram, file: StaticString = #filePath, line: UInt = #line) {
        for (name, expectation) in expected {
            let what = "\(label): \(name)"
            guard let v = graph.output(named: name) ?? graph.value(named: name) else {
                XCTFail("\(what) is not in the graph", file: file, line: line); continue
            }
            let type = graph.values[v].type
            switch expectation {
            case .ints(let ints):
                let actual = Array(UnsafeBufferPointer(start: program.indexBuffer(name)!, count: type.elementCount))
                XCTAssertEqual(actual, ints, what, file: file, line: line)
            case .bits(let floats):
                let actual = program.read(name)
                let differing = zip(actual, floats).filter { $0.bitPattern != $1.bitPattern }.count
                XCTAssertEqual(actual.count, floats.count, "\(what): float count", file: file, line: line)
                XCTAssertEqual(differing, 0, "\(what): floats that differ in their bits", file: file, line: line)
            case .floats(let values, let valid):
                let actual = program.read(name)
                XCTAssertEqual(actual.count, values.count, "\(what): float count", file: file, line: line)
                let n = valid ?? values.count
                XCTAssertFalse(actual.prefix(n).contains { !$0.isFinite }, "\(what): not finite", file: file, line: line)
                assertClose(Array(actual.prefix(n)), Array(values.prefix(n)), tolerance: tolerance, what, file: file, line: line)
            }
        }
    }
}

/// Builds an `OpFixture`: inputs with their data, outputs with their references.
struct FixtureBuilder {
    var b: GraphBuilder
    private var feeds: [(String, [Float])] = []
    private var expected: [(String, Expectation)] = []

    init(_ name: String) { b = GraphBuilder(name: name) }

    mutating func input(_ name: String, _ type: TensorType, _ data: [Float]) -> ValueID {
        precondition(data.count == type.floatCount, "\(name): \(data.count) floats for \(type)")
        feeds.append((name, data))
        return b.input(name, type)
    }

    /// An input of uniform random data; returns its id and its data as Double.
    mutating func input(_ name: String, _ type: TensorType, seed: UInt64,
                        in range: ClosedRange<Float> = -1...1) -> (ValueID, [Double]) {
        let data = randomFloats(type.floatCount, seed: seed, in: range)
        return (input(name, type, data), data.map(Double.init))
    }

    mutating func expect(_ name: String, _ v: ValueID, _ e: Expectation) {
        b.output(name, v)
        expected.append((name, e))
    }

    /// An output checked only for bit identity (no reference).
    mutating func output(_ name: String, _ v: ValueID) { b.output(name, v) }

    /// A parameter or state tensor with its initial data (read back by name after the run).
    mutating func persistent(_ name: String, _ type: TensorType, state: Bool, seed: UInt64,
                             in range: ClosedRange<Float> = -1...1) -> (ValueID, [Float]) {
        let data = randomFloats(type.floatCount, seed: seed, in: range)
        feeds.append((name, data))
        return (state ? b.state(name, type) : b.parameter(name, type), data)
    }

    /// A reference for a named value that is not an output (a parameter updated in place).
    mutating func expectValue(_ name: String, _ e: Expectation) { expected.append((name, e)) }

    func fixture(_ label: String? = nil, tolerance: Double = 1e-5) -> OpFixture {
        let inputs = Set(feeds.map(\.0))
        precondition(!b.graph.outputs.contains { inputs.contains($0.name) }, "\(b.graph.name): an output is named like an input")
        return OpFixture(label: label ?? b.graph.name, graph: b.graph, feeds: feeds, expected: expected, tolerance: tolerance)
    }
}

/// A gradient check: the function under test, built from named inputs, reduced to the loss
/// `sum(W * y)` with a fixed random `W` (mul, reshape, reduce_sum), differentiated by
/// `Autodiff.appendBackward`, and compared with central differences both of a Double
/// reference of the loss and of the compiled float32 program's own loss.
struct GradientCase {
    var label: String
    var inputs: [(name: String, type: TensorType, data: [Float])]
    /// The float inputs to differentiate with respect to.
    var wrt: [String]
    /// The function under test; returns a static f32 value.
    var body: (inout GraphBuilder, [String: ValueID]) throws -> ValueID
    /// The same function in Double.
    var reference: ([String: [Double]]) -> [Double]
    /// Step of the float32 program's central differences (relative to max(1, |x|)).
    var step: Float = 1e-2
    var programTolerance = 1e-2
    var referenceTolerance = 1e-4
    /// Floats of a gradient to compare when not all (a bounded gradient of a static input:
    /// rows past the run-time count are undefined; the loss does not depend on them).
    var validFloats: [String: Int] = [:]
    /// Inputs whose gradient must be exactly zero (the weights of an expert that gets no patch).
    var zeroGradients: Set<String> = []
    /// Check only every n-th element of these inputs (large inputs of slow graphs).
    var strides: [String: Int] = [:]

    init(_ label: String, inputs: [(String, TensorType, [Float])], wrt: [String],
         body: @escaping (inout GraphBuilder, [String: ValueID]) throws -> ValueID,
         reference: @escaping ([String: [Double]]) -> [Double]) {
        self.label = label
        self.inputs = inputs.map { (name: $0.0, type: $0.1, data: $0.2) }
        self.wrt = wrt
        self.body = body
        self.reference = reference
        for i in self.inputs {
            precondition(i.data.count == i.type.floatCount, "\(label): \(i.name) size")
            precondition(!["y", "loss", Self.weightName].contains(i.name) && !i.name.hasPrefix("grad."),
                         "\(label): \(i.name) is an output name")
        }
    }

    static let weightName = "loss.weight"

    /// The forward graph with its backward pass; outputs `y`, `loss` and `grad.<input>`.
    func graph() throws -> (graph: Graph, weight: [Float]) {
        var b = GraphBuilder(name: label)
        var ids: [String: ValueID] = [:]
        for i in inputs { ids[i.name] = b.input(i.name, i.type) }
        let y = try body(&b, ids)
        let t = b.type(of: y)
        precondition(t.dtype == .f32 && !t.isBounded, "\(label): the function must give a static f32 value")
        let w = b.input(Self.weightName, t)
        let loss = try b(.reduceSum(axis: 0), try b(.reshape(shape: [t.elementCount]), try b(.mul, y, w)))
        let grads = try Autodiff.appendBackward(to: &b, loss: loss, wrt: wrt.map { ids[$0]! })
        b.output("y", y)
        b.output("loss", loss)
        for (name, g) in zip(wrt, grads) { b.output("grad." + name, g) }
        return (b.graph, randomFloats(t.elementCount, seed: 977))
    }

    /// The gradient graph as a fixture (for bit identity), its forward value checked.
    func fixture() throws -> OpFixture {
        let (g, weight) = try graph()
        let inputs = Dictionary(uniqueKeysWithValues: self.inputs.map { ($0.name, $0.data.map(Double.init)) })
        return OpFixture(label: label + " (gradient graph)", graph: g,
                         feeds: self.inputs.map { ($0.name, $0.data) } + [(Self.weightName, weight)],
                         expected: [("y", .floats(reference(inputs)))], tolerance: 1e-5)
    }

    func check(file: StaticString = #filePath, line: UInt = #line) throws {
        let fixture = try fixture()
        let weight = fixture.feeds.last!.data.map(Double.init)
        let program = try fixture.run(threads: 2)
        fixture.check(program, file: file, line: line)
        let base = Dictionary(uniqueKeysWithValues: inputs.map { ($0.name, $0.data) })

        func referenceLoss(_ x: [String: [Double]]) -> Double {
            zip(reference(x), weight).reduce(0) { $0 + $1.0 * $1.1 }
        }
        func programLoss(_ x: [String: [Float]]) -> Double {
            for (name, data) in x { program.feed(name, data) }
            program.feed(Self.weightName, weight.map(Float.init))
            program.run()
            return Double(program.read("loss")[0])
        }
        // Read every gradient before the differences below rerun the program with other inputs.
        let gradients = Dictionary(uniqueKeysWithValues: wrt.map { ($0, program.read("grad." + $0)) })
        for name in wrt {
            let gradient = gradients[name]!
            let n = validFloats[name] ?? gradient.count
            var fromReference: [Double] = [], fromProgram: [Double] = []
            let doubles = base.mapValues { $0.map(Double.init) }
            let checked = Array(stride(from: 0, to: n, by: strides[name] ?? 1))
            for i in checked {
                // Double reference: a small step, so the difference is exact to ~1e-9.
                let h = 1e-6 * max(1, abs(doubles[name]![i]))
                var up = doubles, down = doubles
                up[name]![i] += h; down[name]![i] -= h
                fromReference.append((referenceLoss(up) - referenceLoss(down)) / (2 * h))
                // The compiled float32 program: a larger step, against its rounding.
                let x = base[name]![i], s = step * max(1, abs(x))
                var fup = base, fdown = base
                fup[name]![i] = x + s; fdown[name]![i] = x - s
                let width = Double(x + s) - Double(x - s)
                fromProgram.append((programLoss(fup) - programLoss(fdown)) / width)
            }
            let got = checked.map { gradient[$0] }
            if zeroGradients.contains(name) {
                XCTAssertEqual(Array(gradient.prefix(n)), Array(repeating: 0, count: n), "\(label): d/d\(name) must be exactly 0",
                               file: file, line: line)
                XCTAssertLessThan(fromReference.map(abs).max() ?? 0, 1e-9, "\(label): d/d\(name) reference", file: file, line: line)
                continue
            }
            XCTAssertFalse(got.contains { !$0.isFinite }, "\(label): d/d\(name) not finite", file: file, line: line)
            assertClose(got, fromReference, tolerance: referenceTolerance, "\(label): d/d\(name) vs Double central differences",
                        file: file, line: line)
            assertClose(got, fromProgram, tolerance: programTolerance, "\(label): d/d\(name) vs float32 program central differences",
                        file: file, line: line)
            // The reference differences are not all zero: the check has teeth.
            XCTAssertGreaterThan(fromReference.reduce(0) { $0 + $1 * $1 }, 1e-12, "\(label): d/d\(name) is trivially zero",
                                 file: file, line: line)
        }
    }
}

/// Router probabilities `[patches, experts]` with clear margins: patch n ranks the experts as
/// `rankings[n]` (best first), the r-th ranked expert getting `levels[r]` plus a jitter below
/// 0.01, so perturbations well below the margins never change a ranking.
func rankedProbabilities(_ rankings: [[Int]], levels: [Float], seed: UInt64) -> [Float] {
    let experts = levels.count
    let jitter = randomFloats(rankings.count * experts, seed: seed, in: 0...0.01)
    var p = [Float](repeating: 0, count: rankings.count * experts)
    for (n, ranking) in rankings.enumerated() {
        precondition(Set(ranking) == Set(0..<experts))
        for (r, e) in ranking.enumerated() { p[n * experts + e] = levels[r] + jitter[n * experts + e] }
    }
    return p
}

extension Array where Element == Float {
    var doubles: [Double] { map(Double.init) }
}
