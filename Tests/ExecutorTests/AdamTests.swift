import GraphIR
import XCTest

/// One optimizer step against torch.optim.Adam (L2 decay) and AdamW (decoupled decay).
final class AdamTests: XCTestCase {
    private func checkStep(_ type: TensorType, decoupled: Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let (beta1, beta2, epsilon, weightDecay, lr, step) = (0.9, 0.99, 1e-6, 0.1, 0.05, 3.0)
        var b = GraphBuilder(name: "adam")
        let ids = [b.parameter("p", type), b.input("g", type), b.state("m", type), b.state("v", type),
                   b.input("hyper", .f32(2))]
        try b.apply(.adam(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, decoupled: decoupled), ids)
        let program = try compile(b.graph, threads: 3)
        let count = type.floatCount
        let p = randomFloats(count, seed: 100), g = randomFloats(count, seed: 101)
        let m = randomFloats(count, seed: 102, in: -0.1...0.1), v = randomFloats(count, seed: 103, in: 0...0.05)
        for (name, data) in [("p", p), ("g", g), ("m", m), ("v", v), ("hyper", [Float(lr), Float(step)])] {
            program.feed(name, data)
        }
        program.run()
        let expected = Reference.adam(param: p, grad: g, m: m, v: v, lr: lr, step: step, beta1: beta1, beta2: beta2,
                                      epsilon: epsilon, weightDecay: weightDecay, decoupled: decoupled)
        // Compare the update itself: it is small next to the parameter.
        let update = zip(program.read("p"), p).map { $0 - $1 }
        assertClose(update, zip(expected.param, p).map { $0 - Double($1) }, "parameter update", file: file, line: line)
        assertClose(program.read("m"), expected.m, "first moment", file: file, line: line)
        assertClose(program.read("v"), expected.v, "second moment", file: file, line: line)
    }

    func testAdamWithL2WeightDecay() throws {
        try checkStep(.f32(4, 7), decoupled: false)
    }

    func testAdamWWithDecoupledWeightDecay() throws {
        try checkStep(.f32(4, 7), decoupled: true)
    }

    func testUpdateAcrossChunks() throws {
        try checkStep(.f32(200, 200), decoupled: false)
    }

    func testComplexParametersUpdateAsRealPairs() throws {
        try checkStep(.c64(6, 3, 2), decoupled: true)
    }
}
