import GraphIR
import Planner

/// The one place that maps ops to kernels. Adding an op means its GraphIR entry
/// (signature, gradient rule) plus a kernel type here; the switch is exhaustive, so the
/// compiler points at it. The planner asks this table what each kernel needs.
public struct KernelTable: KernelRequirements {
    public init() {}

    static func kernelType(for op: Op) -> any KernelDeclaration.Type {
        switch op {
        case .linear, .linearGelu: return LinearKernel.self
        case .mlp: return MLPKernel.self
        case .linearGradInput, .linearGradInputGelu: return LinearGradInputKernel.self
        case .linearGradWeight: return LinearGradWeightKernel.self
        case .sumRows: return SumRowsKernel.self
        case .gelu, .geluGrad, .add, .sub, .mul, .div, .affine, .exp, .log, .sqrt, .stopGradient:
            return ElementwiseKernel.self
        case .reduceSum, .reduceMax: return ReduceKernel.self
        case .broadcast: return BroadcastKernel.self
        case .reshape: return CopyKernel.self
        case .appendCoordinates: return AppendCoordinatesKernel.self
        case .sliceChannels, .padChannels, .concatChannels: return ChannelCopyKernel.self
        case .rfft2, .irfft2Grad: return ForwardSpectralKernel.self
        case .irfft2, .rfft2Grad: return InverseSpectralKernel.self
        case .spectralMix, .spectralMixGradInput, .spectralMixGradWeight: return SpectralMixKernel.self
        case .bandEnergies, .bandEnergiesGrad, .spectralCentroid: return PatchSpectrumKernel.self
        case .extractPatches, .mergePatchesGrad: return ExtractPatchesKernel.self
        case .mergePatches, .extractPatchesGrad: return MergePatchesKernel.self
        case .route: return RouteKernel.self
        case .dispatch, .dispatchGrad: return DispatchKernel.self
        case .gatherGates, .gatherGatesGrad: return GatesKernel.self
        case .combine, .combineGradGates, .combineGradExpert: return CombineKernel.self
        case .relativeL2Loss, .relativeL2LossGrad: return RelativeL2Kernel.self
        case .fill: return FillKernel.self
        case .adam: return AdamKernel.self
        }
    }

    public func workspaceBytes(_ node: Node, in graph: Graph) -> Int {
        Self.kernelType(for: node.op).workspaceBytes(node, in: graph)
    }

    public func transforms(_ node: Node, in graph: Graph) -> [FFTPlanSpec] {
        Self.kernelType(for: node.op).transforms(node, in: graph)
    }

    /// Builds the kernel that runs one node.
    static func makeKernel(_ binding: KernelBinding) -> Kernel {
        kernelType(for: binding.node.op).init(binding)
    }
}

extension ProgramPlanner {
    /// Plans `graph` with this executor's kernel requirements.
    public static func plan(_ graph: Graph) throws -> ProgramPlan { try plan(graph, kernels: KernelTable()) }
}
