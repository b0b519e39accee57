import GraphIR

/// What the kernel of a node needs besides its operands, declared by the executor
/// next to each kernel (as ggml's `ggml_graph_plan` sits beside its kernels) and
/// read by the planner, which keeps no per-op knowledge of its own.
public protocol KernelRequirements {
    /// Scratch bytes the kernel of `node` needs while it runs (planned in the arena).
    func workspaceBytes(_ node: Node, in graph: Graph) -> Int
    /// The FFT transforms the kernel of `node` executes (planned once each).
    func transforms(_ node: Node, in graph: Graph) -> [FFTPlanSpec]
    /// The truncated spectral transforms the kernel of `node` executes (FFTW or GEMM form,
    /// chosen per transform at compile time; see `SpectralFormPlanner`).
    func spectralTransforms(_ node: Node, in graph: Graph) -> [SpectralTransform]
    /// The sample count N when the kernel of `node` runs one phase of one tile per sample,
    /// tile i reading and writing only sample i of its arena operands and its result (nil
    /// otherwise). Consecutive such kernels may then run tile by tile (`sampleChains`).
    func sampleTiles(_ node: Node, in graph: Graph) -> Int?
    /// The sample count N when the kernel of `node` runs its first phase as one tile per
    /// sample, tile i reading only sample i of its arena operands and writing only its own
    /// part of its workspace, and its later phases reduce those parts into its result (a
    /// weight or bias gradient); nil otherwise. Such a node may join a sample chain for its
    /// first phase (`sampleChains`); its result is complete only after the chain.
    func sampleReductionTiles(_ node: Node, in graph: Graph) -> Int?
}

/// Tiles fixed by shapes alone (never by the thread count), so partial results and
/// their fixed-order reductions are the same whatever the number of threads.
public enum KernelShape {
    /// Row tiles of a `[N, ...]` tensor: one per leading index (one batch sample).
    public static func rowTiles(_ t: TensorType) -> Int { t.rank >= 2 ? t.shape[0] : 1 }

    /// The contiguous tile range thread `thread` of `threads` runs: a static split.
    public static func partition(tiles: Int, threads: Int, thread: Int) -> Range<Int> {
        (tiles * thread / threads)..<(tiles * (thread + 1) / threads)
    }
}
