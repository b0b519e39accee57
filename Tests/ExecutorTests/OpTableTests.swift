import Executor
import GraphIR
import XCTest

/// One entry of the op test table.
struct OpCase {
    /// Existing tests (`Type.method`) that check this op against a reference as well.
    var existingTests: [String] = []
    /// Tiny graphs exercising the op, with Double references of their outputs.
    var fixtures: [OpFixture] = []
    /// Finite-difference gradient checks (required for differentiable ops).
    var gradients: [GradientCase] = []
}

/// The per-op test table: one entry per `OpCode`, so that adding an op without tests fails
/// `testEveryOpHasAnEntry`. Every entry's graphs are checked against independent Double
/// references (OpOracles.swift, Reference.swift), every differentiable op's gradient against
/// central differences, and every graph for bit identity across 1, 2 and 3 threads.
final class OpTableTests: XCTestCase {
    nonisolated(unsafe) private static var cached: [OpCode: OpCase]?

    static func table() throws -> [OpCode: OpCase] {
        if let cached { return cached }
        var table: [OpCode: OpCase] = [:]
        for part in [try ExistingCases.all(), try FusedCases.all(), try ElementwiseCases.all(), try PatchCases.all(), try RoutingCases.all(),
                         try ConvolutionCases.all(), try ResampleCases.all()] {
            for (code, entry) in part {
                precondition(table[code] == nil, "\(code.name) has two entries")
                table[code] = entry
            }
        }
        // The CNO's windowed-sinc resampling beside the bicubic cases.
        let sinc = try ConvolutionCases.windowedSinc()
        table[.resample]?.fixtures += sinc.resample.fixtures
        table[.resample]?.gradients += sinc.resample.gradients
        table[.resample_grad]?.fixtures += sinc.resampleGrad.fixtures
        // Spectral convolutions whose output grid differs from the input grid (the UNO's layers).
        for (code, extra) in try GridChangeCases.all() {
            table[code]?.fixtures += extra.fixtures
            table[code]?.gradients += extra.gradients
        }
        // An expert's projection on its routed rows (mlp, mlp_grad, a bounded slice_flat).
        for (code, extra) in try BoundedMLPCases.all() {
            table[code]?.fixtures += extra.fixtures
            table[code]?.gradients += extra.gradients
        }
        table[.gelu]?.fixtures.append(try RoutingCases.boundedPerSampleFixture())
        // The elementwise primitives on bounded rows (a dispatch's run-time count).
        let bounded = try RoutingCases.boundedChainFixture()
        for code: OpCode in [.sub, .mul, .div, .affine, .exp, .log, .sqrt, .stop_gradient, .gelu, .add] {
            table[code]?.fixtures.append(bounded)
        }
        cached = table
        return table
    }

    /// Every graph of an entry: its fixtures and its gradient graphs.
    private func graphs(_ entry: OpCase) throws -> [OpFixture] {
        try entry.fixtures + entry.gradients.map { try $0.fixture() }
    }

    func testEveryOpHasAnEntry() throws {
        let table = try Self.table()
        for code in OpCode.allCases {
            guard let entry = table[code] else {
                XCTFail("\(code.name) has no entry in the op test table"); continue
            }
            XCTAssertFalse(entry.fixtures.isEmpty, "\(code.name): no fixture with a reference")
            if code.signature.kind == .differentiable {
                XCTAssertFalse(entry.gradients.isEmpty, "\(code.name) is differentiable but has no gradient check")
            }
            // Each graph of the entry really runs the op (the table is not miswired).
            for fixture in try graphs(entry) {
                XCTAssertTrue(fixture.graph.nodes.contains { $0.op.code == code }, "\(fixture.label) does not run \(code.name)")
            }
        }
        XCTAssertEqual(Set(table.keys), Set(OpCode.allCases), "entries for ops that do not exist")
    }

    func testForwardMatchesReference() throws {
        for code in OpCode.allCases {
            for fixture in try Self.table()[code]?.fixtures ?? [] {
                let program = try fixture.run(threads: 2)
                fixture.check(program)
            }
        }
    }

    func testGradientsMatchCentralDifferences() throws {
        for code in OpCode.allCases where code.signature.kind == .differentiable {
            for gradient in try Self.table()[code]?.gradients ?? [] {
                try gradient.check()
            }
        }
    }

    /// Every output (and every parameter and state) bit for bit across 1, 2 and 3 threads, and
    /// from run to run of one program.
    func testBitIdenticalAcrossThreadCounts() throws {
        for code in OpCode.allCases {
            guard let entry = try Self.table()[code] else { continue }
            for fixture in try graphs(entry) {
                var reference: [String: [UInt32]]?
                for threads in [1, 2, 3] {
                    let program = try fixture.run(threads: threads)
                    let bits = fixture.bits(program)
                    fixture.feed(program)
                    program.run()
                    XCTAssertEqual(fixture.bits(program), bits, "\(fixture.label): second run, \(threads) threads")
                    if let reference {
                        for (name, value) in reference where bits[name] != value {
                            XCTFail("\(fixture.label): \(name) differs between 1 and \(threads) threads")
                        }
                    } else {
                        reference = bits
                    }
                }
            }
        }
    }

    /// One compiled program, fed routings whose counts differ from run to run (an expert's count
    /// rising, falling, dropping to 0): each run matches the reference for its own routing, and
    /// its outputs and gradients are bit-identical to a fresh program's (nothing stale survives).
    func testBoundedCountsFollowTheRouteFromRunToRun() throws {
        let other: [[Int]] = [[2, 1, 0], [2, 0, 1], [2, 1, 0], [1, 2, 0], [2, 1, 0], [0, 2, 1], [2, 1, 0], [2, 0, 1]]
        for setup in PipelineCases.setups.prefix(2) {
            // k = 2, capacity 5: counts (5, 5, 5) then (4, 5, 5); k = 1, capacity 4: (4, 4, 0) then (2, 2, 4).
            let reused = try PipelineCases.gradientCase(setup).fixture()
            let program = try compile(reused.graph, threads: 3)
            var counts: [[Int]] = []
            for (i, rankings) in [setup.rankings, other, setup.rankings].enumerated() {
                let p = rankedProbabilities(rankings, levels: RoutingCases.levels, seed: 800)
                counts.append(Oracle.route(p.doubles, patches: 8, experts: 3, k: setup.k, capacity: setup.capacity).counts)
                var fixture = reused
                fixture.feeds = fixture.feeds.map { $0.name == "p" ? ("p", p) : $0 }
                let inputs = Dictionary(uniqueKeysWithValues: fixture.feeds.map { ($0.name, $0.data.doubles) })
                fixture.expected = [("y", .floats(PipelineCases.reference(inputs, setup)))]
                fixture.label = "pipeline \(setup.label), routing \(i)"
                fixture.feed(program)
                program.run()
                fixture.check(program)
                let fresh = try fixture.run(threads: 3)
                XCTAssertEqual(fixture.bits(program), fixture.bits(fresh), "\(fixture.label): reused vs fresh program")
            }
            XCTAssertNotEqual(counts[0], counts[1], "\(setup.label): the routings must change the counts")
            if setup.k == 1 { XCTAssertEqual(counts[0][2], 0, "an expert with no patch") }
        }
    }

    /// Every graph of the table survives the text form (bounded types and new attributes included).
    func testGraphsRoundTripThroughText() throws {
        for code in OpCode.allCases {
            guard let entry = try Self.table()[code] else { continue }
            for fixture in try graphs(entry) {
                let text = fixture.graph.text
                XCTAssertEqual(try Graph(parsing: text), fixture.graph, "\(fixture.label):\n\(text)")
            }
        }
    }
}
