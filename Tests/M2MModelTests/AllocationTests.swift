import Foundation
import M2MModel
import Planner
import MallocInterposerSwift
import XCTest

/// The steady state allocates nothing: after warm-up, a step of the inference or
/// training program makes no heap allocation (counted by ordo-one's malloc interposer).
final class AllocationTests: XCTestCase {
    /// Allocations made by `body`.
    static func allocations(_ body: () -> Void) -> Int {
        MallocInterposerSwift.initialize()
        MallocInterposerSwift.reset()
        MallocInterposerSwift.hook()
        body()
        MallocInterposerSwift.unhook()
        return MallocInterposerSwift.getStatistics().mallocCount
    }

    func allocations(_ body: () -> Void) -> Int { Self.allocations(body) }

    /// The interposer must see allocations at all, else zero would prove nothing.
    static func requireCounter() throws {
        let probe = allocations {
            let p = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 16)
            p.storeBytes(of: 1, as: UInt8.self)
            p.deallocate()
        }
        if probe == 0 {
            throw XCTSkip("the malloc interposer is not active in this process (no allocation seen)")
        }
    }

    override func setUpWithError() throws { try Self.requireCounter() }

    func runtime(_ spectral: SpectralTransformMode = .fftw) throws -> ModelRuntime {
        try ModelRuntime(try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .estimate, threads: 2,
                                                   spectralMode: spectral), threads: 2)
    }

    /// The GEMM form of the spectral transforms allocates nothing per step either.
    func testGEMMFormStepsAllocateNothing() throws {
        let r = try runtime(.gemm)
        XCTAssertEqual(Set(r.compiled.spectral.choices.map(\.form)), [.gemm])
        let c = r.config
        let pixels = c.batch * c.grid[0] * c.grid[1]
        let infer = try r.program(CompiledModel.inferenceName)
        infer.buffer(Programs.input)!.update(from: TestSupport.randomValues(pixels * c.tIn, seed: 1), count: pixels * c.tIn)
        infer.run(); infer.run()
        XCTAssertEqual(allocations { for _ in 0..<5 { infer.run() } }, 0, "heap allocations in 5 inference steps")
        let train = try r.program(CompiledModel.trainingName)
        train.buffer(Programs.input)!.update(from: TestSupport.randomValues(pixels * c.tIn, seed: 1), count: pixels * c.tIn)
        train.buffer(Programs.target)!.update(from: TestSupport.randomValues(pixels * c.rolloutTrain, seed: 2),
                                              count: pixels * c.rolloutTrain)
        let s = train.buffer(Programs.optimizerScalars)!
        s[0] = 1e-3
        for k in 1...2 { s[1] = Float(k); train.run() }
        let n = allocations { for k in 3...7 { s[1] = Float(k); train.run() } }
        XCTAssertEqual(n, 0, "heap allocations in 5 training steps")
    }

    func testCounterSeesArrayAllocations() {
        XCTAssertGreaterThan(allocations { _ = [Float](repeating: 1, count: 1000 + Int.random(in: 0..<2)) }, 0)
    }

    func testInferenceStepAllocatesNothing() throws {
        let r = try runtime()
        let program = try r.program(CompiledModel.inferenceName)
        let c = r.config
        let count = c.batch * c.grid[0] * c.grid[1] * c.tIn
        program.buffer(Programs.input)!.update(from: TestSupport.randomValues(count, seed: 1), count: count)
        program.run()
        program.run()
        let n = allocations { for _ in 0..<5 { program.run() } }
        XCTAssertEqual(n, 0, "heap allocations in 5 inference steps")
    }

    func testTrainingStepAllocatesNothing() throws {
        let r = try runtime()
        let program = try r.program(CompiledModel.trainingName)
        let c = r.config
        let pixels = c.batch * c.grid[0] * c.grid[1]
        let x = TestSupport.randomValues(pixels * c.tIn, seed: 1)
        let y = TestSupport.randomValues(pixels * c.rolloutTrain, seed: 2)
        let (xb, yb, s) = (program.buffer(Programs.input)!, program.buffer(Programs.target)!,
                           program.buffer(Programs.optimizerScalars)!)
        func step(_ k: Int) {
            xb.update(from: x, count: x.count)
            yb.update(from: y, count: y.count)
            s[0] = 1e-3
            s[1] = Float(k)
            program.run()
        }
        step(1)
        step(2)
        let n = allocations { for k in 3...7 { step(k) } }
        XCTAssertEqual(n, 0, "heap allocations in 5 training steps")
        XCTAssertTrue(program.buffer(Programs.loss)![0].isFinite)
    }
}

/// Placed programs allocate nothing either: worker groups (`experts`) and per-group weight
/// copies (`replicate`), on tiny-m2m planned for two NUMA nodes.
final class PlacedAllocationTests: XCTestCase {
    func testPlacedStepsAllocateNothing() throws {
        try AllocationTests.requireCounter()
        for policy in [PlacementPolicy.experts, .replicate, .interleave] {
            let compiled = try CompiledModel.compile(try ModelConfig.load(PlacementTests.tinyPath), rigor: .estimate,
                                                     threads: 2, numa: policy, topology: try .uniform(nodes: 2, cpusPerNode: 1))
            let runtime = try ModelRuntime(compiled, threads: 3, numaFallback: true)
            for name in [CompiledModel.inferenceName, CompiledModel.trainingName] {
                let program = try runtime.program(name)
                let type = program.type(of: Programs.input)!
                program.buffer(Programs.input)!.update(from: TestSupport.randomValues(type.elementCount, seed: 1),
                                                       count: type.elementCount)
                if let y = program.type(of: Programs.target) {
                    program.buffer(Programs.target)!.update(from: TestSupport.randomValues(y.elementCount, seed: 2),
                                                            count: y.elementCount)
                }
                program.buffer(Programs.optimizerScalars)?[0] = 1e-3
                program.buffer(Programs.optimizerScalars)?[1] = 1
                program.run()
                program.run()
                let n = AllocationTests.allocations { for _ in 0..<3 { program.run() } }
                XCTAssertEqual(n, 0, "\(policy) \(name): heap allocations in 3 steps")
            }
        }
    }
}
