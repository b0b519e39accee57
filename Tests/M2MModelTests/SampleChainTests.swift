import Executor
import Foundation
import GraphIR
import M2MModel
import Planner
import XCTest

/// Sample chains (`ProgramPlanner.sampleChains`): which nodes the planner chains, that a
/// chain's buffers never share memory, and that running chains tile by tile gives the bits
/// of running the same program node by node (`runProfiled` runs every node alone).
final class SampleChainTests: XCTestCase {
    /// Each Fourier layer's `irfft2`, residual product (and in training its `gelu`, tiled per
    /// sample) and the next layer's `rfft2` run as one chain, and in training each layer's
    /// backward pass up to its spectral path; spectral_mix (tiles over modes, reading every
    /// sample) never joins one.
    func testFourierLayersChainAroundTheirSpectralMix() throws {
        let config = try ModelConfig.load(TestSupport.configPath("fno-ns64"))
        func chains(_ graph: Graph) throws -> [[String]] {
            (try ProgramPlanner.plan(graph).chains ?? []).map { $0.map { graph.nodes[$0].op.name } }
        }
        let lift = ["append_coordinates", "linear", "rfft2"]
        XCTAssertEqual(try chains(try Programs.inference(config)),
                       [lift] + Array(repeating: ["irfft2", "linear_add_gelu", "rfft2"], count: 3) + [["irfft2", "linear_add", "mlp"]])
        let training = try chains(try Programs.training(config, rollout: 1))
        XCTAssertEqual(Array(training.prefix(5)),
                       [lift] + Array(repeating: ["irfft2", "linear_add", "gelu", "rfft2"], count: 3) + [["irfft2", "linear_add", "mlp"]])
        // Backward: each layer's input gradient, its weight and bias gradients (per-sample
        // partials, summed after the chain) and the spectral path's first transform.
        XCTAssertEqual(Array(training.suffix(4)),
                       Array(repeating: ["rfft2_grad", "linear_grad_input_add_gelu", "linear_grad_weight", "sum_rows",
                                         "irfft2_grad"], count: 3)
                       + [["rfft2_grad", "linear_grad_input_add", "linear_grad_weight", "sum_rows"]])
    }

    /// In every shipped FNO and M2M plan, the buffers a chain's nodes read, write or work in
    /// are pairwise disjoint in the arena (a later member's tile writes while an earlier
    /// member's later tiles still read); M2M experts chain on their bounded rows too.
    func testNoTwoBuffersOfAChainShareMemory() throws {
        for name in ["fno-ns64", "m2m-ns64"] {
            let config = try ModelConfig.load(TestSupport.configPath(name))
            var chained = 0
            for graph in [try Programs.inference(config), try Programs.training(config, rollout: 2)] {
                let plan = try ProgramPlanner.plan(graph)
                let extents = try graph.boundedExtents().nodes
                for chain in plan.chains ?? [] {
                    chained += 1
                    XCTAssertEqual(Set(chain.map { extents[$0] }).count, 1, "\(name): a chain mixes extents")
                    var touched = Set<Int>()
                    for n in chain {
                        touched.formUnion(graph.nodes[n].inputs)
                        if let r = graph.nodes[n].result { touched.insert(r) }
                    }
                    let ranges = plan.owners.indices.compactMap { i -> Range<Int>? in
                        let mine: Bool
                        switch plan.owners[i] {
                        case .value(let v): mine = touched.contains(v)
                        case .workspace(let n): mine = chain.contains(n)
                        }
                        return mine ? plan.offsets[i]..<(plan.offsets[i] + plan.buffers[i].size) : nil
                    }.sorted { $0.lowerBound < $1.lowerBound }
                    for (a, b) in zip(ranges, ranges.dropFirst()) {
                        XCTAssertLessThanOrEqual(a.upperBound, b.lowerBound, "\(graph.name): chain \(chain) shares memory")
                    }
                }
                if name == "m2m-ns64" {
                    XCTAssertTrue((plan.chains ?? []).contains { extents[$0[0]] != nil }, "\(graph.name): no expert chain")
                }
            }
            XCTAssertGreaterThan(chained, 0, name)
        }
    }

    /// Training steps and inference with chains run tile by tile, against the same programs
    /// run node by node: the same losses, weights, Adam moments and predictions, bit for bit,
    /// at 1 to 3 threads (tiny FNO and tiny M2M: its experts' chains on bounded rows).
    func testChainedRunsMatchNodeByNodeRunsBitForBit() throws {
        for name in ["tiny-fno", "tiny-m2m"] {
            var config = try ModelConfig.load(TestSupport.configPath(name))
            config.optimizer.lr = 1e-2
            let compiled = try CompiledModel.compile(config, rigor: .estimate, threads: 2)
            XCTAssertFalse((compiled.programs[1].plan.chains ?? []).isEmpty, "\(name): no chain to test")
            for threads in [1, 2, 3] {
                var results: [(losses: [UInt32], state: [UInt8], prediction: [UInt32])] = []
                for chained in [true, false] {
                    let runtime = try ModelRuntime(compiled, threads: threads)
                    let losses = try Self.train(runtime, steps: 3, chained: chained)
                    let infer = try runtime.program(CompiledModel.inferenceName)
                    let count = infer.type(of: Programs.input)!.elementCount
                    infer.buffer(Programs.input)!.update(from: TestSupport.randomValues(count, seed: 31), count: count)
                    Self.run(infer, chained: chained)
                    let output = infer.type(of: Programs.prediction)!.elementCount
                    let prediction = UnsafeBufferPointer(start: infer.buffer(Programs.prediction)!, count: output)
                    results.append((losses.map(\.bitPattern), TestSupport.persistentBytes(runtime.store),
                                    prediction.map(\.bitPattern)))
                }
                XCTAssertEqual(results[0].losses, results[1].losses, "\(name), \(threads) threads: losses")
                XCTAssertTrue(results[0].state == results[1].state, "\(name), \(threads) threads: weights or moments")
                XCTAssertEqual(results[0].prediction, results[1].prediction, "\(name), \(threads) threads: prediction")
            }
        }
    }

    static func run(_ program: ExecutableProgram, chained: Bool) {
        if chained { return program.run() }
        var seconds = [Double](repeating: 0, count: program.plan.schedule.count)
        seconds.withUnsafeMutableBufferPointer { program.runProfiled($0.baseAddress!) }
    }

    /// `DeterminismTests.train`'s steps, each run chained or node by node.
    static func train(_ runtime: ModelRuntime, steps: Int, chained: Bool) throws -> [Float] {
        let c = runtime.config
        let program = try runtime.program(CompiledModel.trainingName)
        let pixels = c.batch * c.grid[0] * c.grid[1]
        var losses: [Float] = []
        for step in 1...steps {
            let x = TestSupport.randomValues(pixels * c.tIn, seed: 10 + UInt64(step % 2))
            let y = TestSupport.randomValues(pixels * c.rolloutTrain, seed: 20 + UInt64(step % 2))
            program.buffer(Programs.input)!.update(from: x, count: x.count)
            program.buffer(Programs.target)!.update(from: y, count: y.count)
            program.buffer(Programs.optimizerScalars)!.update(from: [Float(c.optimizer.lr), Float(step)], count: 2)
            run(program, chained: chained)
            losses.append(program.buffer(Programs.loss)![0])
        }
        return losses
    }
}
