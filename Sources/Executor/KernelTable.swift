import GraphIR
import Planner

/// The one place that maps ops to kernels: for each op, the kernel type (whose static
/// members declare its workspace and FFT transforms, next to its code) and how to
/// build it, with the op's attributes decoded here once. Adding an op means its GraphIR
/// entry (signature, gradient rule) plus a kernel and its line here; the switch is
/// exhaustive, so the compiler points at it. The planner reads the requirements
/// through `KernelRequirements`.
public struct KernelTable: KernelRequirements {
    public init() {}

    struct Entry {
        let type: any KernelDeclaration.Type
        let make: (KernelBinding) -> Kernel
        init(_ type: any KernelDeclaration.Type, _ make: @escaping (KernelBinding) -> Kernel) {
            (self.type, self.make) = (type, make)
        }
    }

    static func entry(for op: Op) -> Entry {
        switch op {
        case .linear, .linearGelu, .linearAdd, .linearAddGelu: return Entry(LinearKernel.self) { LinearKernel($0) }
        case .mlp: return Entry(MLPKernel.self) { MLPKernel($0) }
        case .linearGradInput, .linearGradInputGelu, .linearGradInputAdd, .linearGradInputAddGelu: return Entry(LinearGradInputKernel.self) { LinearGradInputKernel($0) }
        case .linearGradWeight: return Entry(LinearGradWeightKernel.self) { LinearGradWeightKernel($0) }
        case .sumRows: return Entry(SumRowsKernel.self) { SumRowsKernel($0) }
        case .mlpGrad: return Entry(MLPGradKernel.self) { MLPGradKernel($0) }
        case .sliceFlat(let start, _, _): return Entry(SliceFlatKernel.self) { SliceFlatKernel($0, start: start) }
        case .gelu: return elementwise(.gelu)
        case .geluGrad: return elementwise(.geluGrad)
        case .leakyRelu(let slope): return elementwise(.leakyRelu(Float(slope)))
        case .leakyReluGrad(let slope): return elementwise(.leakyReluGrad(Float(slope)))
        case .conv2d(let k, let periodic):
            return Entry(Conv2dKernel.self) { Conv2dKernel($0, .forward, kernel: k, periodic: periodic) }
        case .conv2dGradInput(let k, let periodic):
            return Entry(Conv2dKernel.self) { Conv2dKernel($0, .gradInput, kernel: k, periodic: periodic) }
        case .conv2dGradWeight(let k, let periodic):
            return Entry(Conv2dKernel.self) { Conv2dKernel($0, .gradWeight, kernel: k, periodic: periodic) }
        case .add: return elementwise(.add)
        case .sub: return elementwise(.sub)
        case .mul: return elementwise(.mul)
        case .div: return elementwise(.div)
        case .affine(let scale, let shift): return elementwise(.affine(Float(scale), Float(shift)))
        case .exp: return elementwise(.exp)
        case .log: return elementwise(.log)
        case .sqrt: return elementwise(.sqrt)
        case .tanh: return elementwise(.tanh)
        case .stopGradient: return elementwise(.copy)
        case .reduceSum(let axis): return Entry(ReduceKernel.self) { ReduceKernel($0, axis: axis, isMax: false) }
        case .reduceMax(let axis): return Entry(ReduceKernel.self) { ReduceKernel($0, axis: axis, isMax: true) }
        case .broadcast: return Entry(BroadcastKernel.self) { BroadcastKernel($0) }
        case .reshape: return Entry(CopyKernel.self) { CopyKernel($0) }
        case .appendCoordinates: return Entry(AppendCoordinatesKernel.self) { AppendCoordinatesKernel($0) }
        case .sliceChannels(let start, let count): return channels(.slice(start: start, count: count))
        case .padChannels(let start, let total): return channels(.pad(start: start, total: total))
        case .concatChannels: return channels(.concat)
        case .rfft2, .irfft2Grad, .irfft2, .rfft2Grad:
            return Entry(TruncatedSpectralKernel.self) { TruncatedSpectralKernel($0) }
        case .spectralMix: return Entry(SpectralMixKernel.self) { SpectralMixKernel($0, .mix) }
        case .spectralMixGradInput: return Entry(SpectralMixKernel.self) { SpectralMixKernel($0, .gradInput) }
        case .spectralMixGradWeight: return Entry(SpectralMixKernel.self) { SpectralMixKernel($0, .gradWeight) }
        case .bandEnergies(let bands): return Entry(PatchSpectrumKernel.self) { PatchSpectrumKernel($0, .energies, bands: bands) }
        case .bandEnergiesGrad(let bands):
            return Entry(PatchSpectrumKernel.self) { PatchSpectrumKernel($0, .gradient, bands: bands) }
        case .spectralCentroid: return Entry(PatchSpectrumKernel.self) { PatchSpectrumKernel($0, .centroid, bands: 1) }
        case .extractPatches(let s, let h):
            return Entry(ExtractPatchesKernel.self) { ExtractPatchesKernel($0, scale: s, halo: h, coresOnly: false) }
        case .mergePatchesGrad(let s, let h):
            return Entry(ExtractPatchesKernel.self) { ExtractPatchesKernel($0, scale: s, halo: h, coresOnly: true) }
        case .mergePatches(let s, let h):
            return Entry(MergePatchesKernel.self) { MergePatchesKernel($0, scale: s, halo: h, accumulates: false) }
        case .extractPatchesGrad(let s, let h):
            return Entry(MergePatchesKernel.self) { MergePatchesKernel($0, scale: s, halo: h, accumulates: true) }
        case .route: return Entry(RouteKernel.self) { RouteKernel($0) }
        case .dispatch(let e, let k, _): return Entry(DispatchKernel.self) { DispatchKernel($0, expert: e, k: k, patches: nil) }
        case .dispatchGrad(let e, let k, _, let n):
            return Entry(DispatchKernel.self) { DispatchKernel($0, expert: e, k: k, patches: n) }
        case .gatherGates(let k, let r), .gatherGatesGrad(let k, let r):
            return Entry(GatesKernel.self) { GatesKernel($0, k: k, renormalize: r) }
        case .combine(let k, _, let h): return Entry(CombineKernel.self) { CombineKernel($0, .combine, k: k, halo: h) }
        case .combineGradGates(let k, _, let h):
            return Entry(CombineKernel.self) { CombineKernel($0, .gradGates, k: k, halo: h) }
        case .combineGradExpert(let e, let k, _, let h):
            return Entry(CombineKernel.self) { CombineKernel($0, .gradExpert(e), k: k, halo: h) }
        case .resample(let kernel, _, _):
            return Entry(SeparableResampleKernel.self) { SeparableResampleKernel($0, kernel: kernel, adjoint: false) }
        case .resampleGrad(let kernel, _, _):
            return Entry(SeparableResampleKernel.self) { SeparableResampleKernel($0, kernel: kernel, adjoint: true) }
        case .relativeL2Loss, .relativeL2LossGrad: return Entry(RelativeL2Kernel.self) { RelativeL2Kernel($0) }
        case .fill: return Entry(FillKernel.self) { FillKernel($0) }
        case .adam: return Entry(AdamKernel.self) { AdamKernel($0) }
        }
    }

    private static func elementwise(_ form: ElementwiseKernel.Form) -> Entry {
        Entry(ElementwiseKernel.self) { ElementwiseKernel($0, form) }
    }

    private static func channels(_ form: ChannelCopyKernel.Form) -> Entry {
        Entry(ChannelCopyKernel.self) { ChannelCopyKernel($0, form) }
    }

    public func workspaceBytes(_ node: Node, in graph: Graph) -> Int {
        Self.entry(for: node.op).type.workspaceBytes(node, in: graph)
    }

    public func transforms(_ node: Node, in graph: Graph) -> [FFTPlanSpec] {
        Self.entry(for: node.op).type.transforms(node, in: graph)
    }

    public func spectralTransforms(_ node: Node, in graph: Graph) -> [SpectralTransform] {
        Self.entry(for: node.op).type.spectralTransforms(node, in: graph)
    }

    public func sampleTiles(_ node: Node, in graph: Graph) -> Int? {
        Self.entry(for: node.op).type.sampleTiles(node, in: graph)
    }

    public func sampleReductionTiles(_ node: Node, in graph: Graph) -> Int? {
        Self.entry(for: node.op).type.sampleReductionTiles(node, in: graph)
    }

    /// Builds the kernel that runs one node.
    static func makeKernel(_ binding: KernelBinding) -> Kernel { entry(for: binding.node.op).make(binding) }
}

extension ProgramPlanner {
    /// Plans `graph` with this executor's kernel requirements.
    public static func plan(_ graph: Graph, placement: Placement = .single) throws -> ProgramPlan {
        try plan(graph, kernels: KernelTable(), placement: placement)
    }

    /// The truncated spectral transforms `graph` executes, as this executor's kernels declare them.
    public static func spectralTransforms(_ graph: Graph) -> [SpectralTransform] {
        spectralTransforms(graph, kernels: KernelTable())
    }
}
