import Foundation
import GraphIR
import M2MData
import Planner
import Executor

/// One program of a compiled model: its graph and its plan.
public struct CompiledProgram: Equatable {
    public var name: String
    public var graph: Graph
    public var plan: ProgramPlan
}

/// Everything decided before the first step (the `.m2m` plan file): the config,
/// the inference and training programs with schedules and arena layouts, the
/// persistent layout, and the FFTW wisdom that fixes every FFT algorithm.
public struct CompiledModel {
    public static let inferenceName = "infer"
    public static let trainingName = "train"

    public var config: ModelConfig
    public var programs: [CompiledProgram]
    public var persistent: PersistentLayout
    /// NUMA policy, topology and memory domains every buffer was planned in.
    public var placement: Placement
    public var fftRigor: FFTRigor
    public var wisdom: String
    public var threads: Int
    public var compileMilliseconds: Double
    /// FFTW planning plus, under `auto`, the timing of both spectral forms.
    public var fftPlanningMilliseconds: Double
    /// The form (FFTW or GEMM) of each truncated spectral transform, with the timings that chose it.
    public var spectral: SpectralForms = .everywhere(.fftw)
    /// Portable plan (`m2mc compile --portable`): every kernel choice is one that any
    /// x86-64-v3 machine makes alike (GEMM spectral form, OpenBLAS's Haswell kernels), so
    /// AVX2 and AVX-512 hosts compute identical bits (ARCHITECTURE.md "Portable plans").
    public var portable = false
    /// Under a memory limit (`memory_limit`, `--memory-limit`): what the training program
    /// recomputes to fit it and what that costs. Derived from the config, never stored.
    public var memoryLimit: MemoryLimitReport? = nil

    public func program(_ name: String) -> CompiledProgram? { programs.first { $0.name == name } }

    /// Whether program `name` reads its weights from per-node copies (placement `replicate`
    /// applies to inference only).
    public func readsWeightCopies(_ name: String) -> Bool {
        placement.policy == .replicate && name == Self.inferenceName
    }
    public var inference: CompiledProgram { program(Self.inferenceName)! }
    public var training: CompiledProgram { program(Self.trainingName)! }

    /// Builds, verifies and plans both programs, plans every FFT with `rigor`, and picks each
    /// truncated spectral transform's form by `spectralMode` (`auto` times both forms, except
    /// under `estimate`, which measures nothing and keeps FFTW). `trainingRollout` overrides the
    /// config's `rollout_train` (bench uses 1). A model that needs more memory than this machine
    /// has is refused before FFT planning; `source` (the config file) names it in that error.
    /// `numa` places memory and work on `topology`'s nodes (default: this machine's). Under the
    /// config's `memoryLimit` the training program recomputes activations to fit it; a limit that
    /// cannot be met is an error naming the smallest feasible one, with `memoryLimitName` (the
    /// flag or key that set it).
    public static func compile(_ config: ModelConfig, rigor: FFTRigor, threads: Int,
                               trainingRollout: Int? = nil, source: String? = nil,
                               numa: PlacementPolicy = .local, topology: NUMATopology? = nil,
                               spectralMode: SpectralTransformMode = .auto, portable: Bool = false,
                               memoryLimitName: String = "key 'memory_limit'") throws -> CompiledModel {
        if portable && spectralMode == .fftw {
            throw UserError("a portable plan uses the GEMM spectral form (FFTW's codelets differ between CPUs): "
                            + "drop --spectral-transform fftw")
        }
        let spectralMode = portable ? SpectralTransformMode.gemm : spectralMode
        let start = DispatchTime.now()
        let source = source ?? "config '\(config.name)'"
        let training: (graph: Graph, recompute: MemoryLimitReport?)
        do {
            training = try Programs.trainingProgram(config, rollout: trainingRollout)
        } catch let error as MemoryLimitError {
            throw UserError("\(source): " + error.message(memoryLimitName))
        }
        let graphs = [(inferenceName, try Programs.inference(config)), (trainingName, training.graph)]
        let placement = try Placement.make(numa, topology: topology ?? .detect(), balancing: graphs[1].1)
        let programs = try graphs.map {
            CompiledProgram(name: $0.0, graph: $0.1, plan: try ProgramPlanner.plan($0.1, placement: placement))
        }
        let persistent = try PersistentLayout(programs.map(\.graph), placement: placement)
        try requireMemoryLimit(config.memoryLimit, programs: programs, persistent: persistent.totalBytes,
                               source: source, name: memoryLimitName)
        try requireMemory(programs: programs.map { ($0.name, $0.plan.arenaBytes) }, persistent: persistent.totalBytes,
                          source: source)
        let fftStart = DispatchTime.now()
        try FFTPlan.importWisdom("")
        let spectralTransforms = spectralTransforms(of: programs)
        // Forced GEMM: the spectral transforms' FFTW plans are never executed, so never planned.
        let skipped = spectralMode == .gemm ? SpectralForms.everywhere(.gemm).unusedFFTSpecs(spectralTransforms) : []
        var plans: [FFTPlan] = []
        for spec in Set(programs.flatMap(\.plan.transforms)).subtracting(skipped).sorted(by: { $0.description < $1.description }) {
            plans.append(try FFTPlan(spec, rigor: rigor))
        }
        let mode = spectralMode == .auto && !rigor.needsWisdom ? SpectralTransformMode.fftw : spectralMode
        let spectral = try SpectralFormPlanner.choose(spectralTransforms, mode: mode) { t, form in
            try SpectralFormTimer.secondsPerSample(t, form, rigor: rigor)
        }
        let wisdom = rigor.needsWisdom ? FFTPlan.exportWisdom() : ""
        let end = DispatchTime.now()
        return CompiledModel(config: config, programs: programs, persistent: persistent, placement: placement,
                             fftRigor: rigor,
                             wisdom: wisdom, threads: threads,
                             compileMilliseconds: milliseconds(start, end),
                             fftPlanningMilliseconds: milliseconds(fftStart, end), spectral: spectral,
                             portable: portable, memoryLimit: training.recompute)
    }

    /// Every truncated spectral transform the programs execute.
    static func spectralTransforms(of programs: [CompiledProgram]) -> [SpectralTransform] {
        Array(Set(programs.flatMap { ProgramPlanner.spectralTransforms($0.graph) })).sorted()
    }
}

func milliseconds(_ a: DispatchTime, _ b: DispatchTime) -> Double {
    Double(b.uptimeNanoseconds - a.uptimeNanoseconds) / 1e6
}
