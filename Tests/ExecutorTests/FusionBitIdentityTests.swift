import Executor
import GraphIR
import XCTest

/// The fusion passes (Graph+Fusion.swift) change no bit: a small FNO (lift, two spectral +
/// pointwise layers with GELU, the projection MLP) runs its training step (loss and every
/// gradient) and its inference step with and without fusion, and every output agrees bit
/// for bit, while the fused graphs really run the fused ops.
final class FusionBitIdentityTests: XCTestCase {
    static let (batch, h, w, cin, width, hidden, m1, m2) = (3, 8, 8, 3, 6, 10, 2, 3)

    /// The forward pass; returns the prediction.
    static func forward(_ b: inout GraphBuilder) throws -> ValueID {
        let x = b.input("x", .f32(batch, h, w, cin))
        var v = try b(.linear, x, b.parameter("lift.w", .f32(cin, width)), b.parameter("lift.b", .f32(width)))
        for l in 0..<2 {
            let s = try b(.rfft2(modes1: m1, modes2: m2), v)
            let mixed = try b(.spectralMix, s, b.parameter("s\(l)", .c64(2 * m1 * m2, width, width)))
            let spectral = try b(.irfft2(height: h, width: w, modes1: m1, modes2: m2), mixed)
            let pointwise = try b(.linear, v, b.parameter("w\(l)", .f32(width, width)), b.parameter("b\(l)", .f32(width)))
            v = try b(.add, spectral, pointwise)
            if l == 0 { v = try b(.gelu, v) }
        }
        let hiddenActivation = try b(.gelu, try b(.linear, v, b.parameter("p.w1", .f32(width, hidden)),
                                                  b.parameter("p.b1", .f32(hidden))))
        return try b(.linear, hiddenActivation, b.parameter("p.w2", .f32(hidden, 1)), b.parameter("p.b2", .f32(1)))
    }

    static func inference() throws -> Graph {
        var b = GraphBuilder(name: "fno.infer")
        b.output("y", try forward(&b))
        return b.graph
    }

    static func training() throws -> (Graph, [String]) {
        var b = GraphBuilder(name: "fno.train")
        let prediction = try forward(&b)
        let loss = try b(.relativeL2Loss, prediction, b.input("target", .f32(batch, h, w, 1)))
        let names = b.graph.values.compactMap { v -> String? in
            if case .parameter(let n) = v.kind { return n }
            return nil
        }
        let gradients = try Autodiff.appendBackward(to: &b, loss: loss, wrt: names.map { b.graph.value(named: $0)! })
        b.output("loss", loss)
        for (name, g) in zip(names, gradients) { b.output("d." + name, g) }
        return (b.graph, ["loss"] + names.map { "d." + $0 })
    }

    /// Every named input and parameter fed with data fixed by its name.
    static func run(_ graph: Graph, outputs: [String]) throws -> [[UInt32]] {
        let program = try compile(graph, threads: 2)
        for v in graph.values {
            guard let name = v.kind.name else { continue }
            let seed = name.utf8.reduce(UInt64(1469598103934665603)) { ($0 ^ UInt64($1)) &* 1099511628211 }
            program.feed(name, randomFloats(v.type.floatCount, seed: seed, in: -0.5...0.5))
        }
        program.run()
        return outputs.map { program.read($0).map(\.bitPattern) }
    }

    func testTrainingFusionsChangeNoBit() throws {
        let (graph, outputs) = try Self.training()
        let fused = try graph.fusingForTraining()
        try fused.verify()
        let ops = fused.nodes.map(\.op)
        for op: Op in [.linearAdd, .linearGradInputAdd, .linearGradInputAddGelu, .linearGradInputGelu] {
            XCTAssertTrue(ops.contains(op), "the training graph does not run \(op.name)")
        }
        XCTAssertFalse(ops.contains(.geluGrad), "a gelu_grad was left unfused")
        XCTAssertLessThan(fused.nodes.count, graph.nodes.count)
        let plain = try Self.run(graph, outputs: outputs), fusedBits = try Self.run(fused, outputs: outputs)
        for (name, (a, b)) in zip(outputs, zip(plain, fusedBits)) {
            XCTAssertEqual(a, b, "\(name) differs with the training fusions")
        }
        XCTAssertTrue(plain.joined().contains { $0 != 0 }, "the gradients are all zero")
    }

    func testInferenceFusionsChangeNoBit() throws {
        let graph = try Self.inference()
        let fused = try graph.fusingForInference()
        try fused.verify()
        let wanted: Set<Op> = [.linearAddGelu, .linearAdd, .mlp]
        let fusedOps: [Op] = fused.nodes.map(\.op).filter { wanted.contains($0) }
        XCTAssertEqual(fusedOps, [Op.linearAddGelu, Op.linearAdd, Op.mlp])
        XCTAssertFalse(fused.nodes.contains { $0.op == .add || $0.op == .gelu })
        XCTAssertEqual(try Self.run(graph, outputs: ["y"]), try Self.run(fused, outputs: ["y"]))
        // The fused graph prints and parses back to itself (the op table knows the new ops).
        XCTAssertEqual(try Graph(parsing: fused.text), fused)
    }
}
