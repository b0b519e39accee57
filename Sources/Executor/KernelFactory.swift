import GraphIR
import Planner

/// What a kernel needs to bind to memory: the node, its operand addresses in the
/// arena or the persistent block, its workspace, and the program's FFT plans.
struct KernelBinding {
    let graph: Graph
    let node: Node
    let inputs: [UnsafeMutableRawPointer]
    let result: UnsafeMutableRawPointer?
    let workspace: UnsafeMutableRawPointer?
    let fftPlans: [FFTPlanSpec: FFTPlan]

    func input(_ i: Int) -> UnsafeMutablePointer<Float> { inputs[i].assumingMemoryBound(to: Float.self) }
    var output: UnsafeMutablePointer<Float> { result!.assumingMemoryBound(to: Float.self) }
    var scratch: UnsafeMutablePointer<Float> { workspace!.assumingMemoryBound(to: Float.self) }
    func type(ofInput i: Int) -> TensorType { graph.values[node.inputs[i]].type }
    var resultType: TensorType { graph.values[node.result!].type }
}

/// Elements per tile for elementwise kernels: big enough to amortize dispatch.
let elementwiseChunk = 1 << 15

func chunks(_ count: Int, _ size: Int = elementwiseChunk) -> Int { max(1, (count + size - 1) / size) }

/// Builds the kernel that runs one node.
func makeKernel(_ b: KernelBinding) -> Kernel {
    switch b.node.op {
    case .linear, .linearGelu: return LinearKernel(b)
    case .mlp: return MLPKernel(b)
    case .linearGradInput, .linearGradInputGelu: return LinearGradInputKernel(b)
    case .linearGradWeight: return LinearGradWeightKernel(b)
    case .sumRows: return SumRowsKernel(b)
    case .gelu, .geluGrad, .add: return ElementwiseKernel(b)
    case .appendCoordinates: return AppendCoordinatesKernel(b)
    case .sliceChannels, .padChannels, .concatChannels: return ChannelCopyKernel(b)
    case .rfft2, .irfft2Grad: return ForwardSpectralKernel(b)
    case .irfft2, .rfft2Grad: return InverseSpectralKernel(b)
    case .spectralMix, .spectralMixGradInput, .spectralMixGradWeight: return SpectralMixKernel(b)
    case .relativeL2Loss, .relativeL2LossGrad: return RelativeL2Kernel(b)
    case .fill: return FillKernel(b)
    case .adam: return AdamKernel(b)
    }
}
