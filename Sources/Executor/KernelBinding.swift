import GraphIR
import Planner

/// What a kernel needs to bind to memory: the node, its operand addresses in the
/// arena or the persistent block, its workspace, the program's FFT plans, and, for a
/// node that touches a bounded tensor, where its run-time extent is read.
///
/// Typed views: memory is viewed as the operand's element type once, here, when the
/// kernel is built (`f32` and `c64` as `Float`, `c64` as interleaved pairs; `i32` as
/// `Int32`); kernels keep the typed pointers and never rebind.
struct KernelBinding {
    let graph: Graph
    let node: Node
    let inputs: [UnsafeMutableRawPointer]
    let result: UnsafeMutableRawPointer?
    let workspace: UnsafeMutableRawPointer?
    let fftPlans: [FFTPlanSpec: FFTPlan]
    /// The form of each spectral transform and the GEMM form's DFT matrices.
    let spectral: SpectralExecution
    /// The routed count that bounds this node's bounded operands, if any.
    let extent: UnsafePointer<Int32>?

    func input(_ i: Int) -> UnsafeMutablePointer<Float> {
        precondition(type(ofInput: i).dtype != .i32, "\(node.op.name): input \(i) is i32, not a float tensor")
        return inputs[i].assumingMemoryBound(to: Float.self)
    }
    func indexInput(_ i: Int) -> UnsafeMutablePointer<Int32> {
        precondition(type(ofInput: i).dtype == .i32, "\(node.op.name): input \(i) is not i32")
        return inputs[i].assumingMemoryBound(to: Int32.self)
    }
    var output: UnsafeMutablePointer<Float> {
        precondition(resultType.dtype != .i32, "\(node.op.name): the result is i32")
        return result!.assumingMemoryBound(to: Float.self)
    }
    var indexOutput: UnsafeMutablePointer<Int32> {
        precondition(resultType.dtype == .i32, "\(node.op.name): the result is not i32")
        return result!.assumingMemoryBound(to: Int32.self)
    }
    var scratch: UnsafeMutablePointer<Float> { workspace!.assumingMemoryBound(to: Float.self) }
    var indexScratch: UnsafeMutablePointer<Int32> { workspace!.assumingMemoryBound(to: Int32.self) }
    func type(ofInput i: Int) -> TensorType { graph.values[node.inputs[i]].type }
    var resultType: TensorType { graph.values[node.result!].type }

    /// The run-time count of a bounded extent of static size `capacity` (its size when
    /// the node touches no bounded tensor), clamped to `0...capacity`.
    func validCount(capacity: Int) -> ValidCount { ValidCount(source: extent, capacity: capacity) }
}

/// How many leading tiles of a bounded extent are valid in this run: read when a
/// kernel's phase starts (`Kernel.tileCount`), so the tiles stay fixed by the shape.
struct ValidCount {
    let source: UnsafePointer<Int32>?
    let capacity: Int
    var value: Int {
        guard let source else { return capacity }
        return min(max(Int(source.pointee), 0), capacity)
    }
}

/// Elements per tile for elementwise kernels: big enough to amortize dispatch.
let elementwiseChunk = 1 << 15

func chunks(_ count: Int, _ size: Int = elementwiseChunk) -> Int { max(1, (count + size - 1) / size) }

/// A kernel type with what it needs declared beside it: the planner reads the
/// workspace and transforms through `KernelTable`, which also builds it.
protocol KernelDeclaration: Kernel {
    /// Scratch bytes the kernel needs for `node` (0 by default).
    static func workspaceBytes(_ node: Node, in graph: Graph) -> Int
    /// The FFT transforms it executes for `node` (none by default).
    static func transforms(_ node: Node, in graph: Graph) -> [FFTPlanSpec]
    /// The truncated spectral transforms it executes for `node` (none by default).
    static func spectralTransforms(_ node: Node, in graph: Graph) -> [SpectralTransform]
    /// The samples N when it runs one phase of one tile per sample, tile i touching only
    /// sample i of its arena operands and result (nil by default; see `sampleChains`).
    static func sampleTiles(_ node: Node, in graph: Graph) -> Int?
    /// The samples N when its first phase runs one tile per sample into per-tile partials of
    /// its workspace and its later phases reduce them (nil by default; see `sampleChains`).
    static func sampleReductionTiles(_ node: Node, in graph: Graph) -> Int?
}

extension KernelDeclaration {
    static func workspaceBytes(_ node: Node, in graph: Graph) -> Int { 0 }
    static func transforms(_ node: Node, in graph: Graph) -> [FFTPlanSpec] { [] }
    static func spectralTransforms(_ node: Node, in graph: Graph) -> [SpectralTransform] { [] }
    static func sampleTiles(_ node: Node, in graph: Graph) -> Int? { nil }
    static func sampleReductionTiles(_ node: Node, in graph: Graph) -> Int? { nil }

    /// `sampleTiles` of a kernel whose tiles are the row tiles of input `input` (one per
    /// index of axis 0, `KernelShape.rowTiles`), when it has a sample axis.
    static func rowSampleTiles(_ node: Node, in graph: Graph, input: Int) -> Int? {
        let t = graph.values[node.inputs[input]].type
        return t.rank >= 2 ? KernelShape.rowTiles(t) : nil
    }
}
