import GraphIR

/// Scratch memory and work tiles each op's kernel needs. Tiles are fixed by the
/// shapes alone (never by the thread count), so partial results and their
/// fixed-order reductions are the same whatever the number of threads.
public enum KernelShape {
    /// Scratch bytes the kernel of `node` needs while it runs (planned in the arena).
    public static func workspaceBytes(_ node: Node, in graph: Graph) -> Int {
        let inType = node.inputs.first.map { graph.values[$0].type }
        let outType = node.result.map { graph.values[$0].type }
        switch node.op {
        case .rfft2(_, let m2), .irfft2Grad(_, let m2):
            let s = inType!.shape   // [N, H, W, C]
            return s[0] * spectral(h: s[1], w: s[2], c: s[3], m2: m2).workspaceTileElements * 8
        case .irfft2(let h, let w, _, let m2), .rfft2Grad(let h, let w, _, let m2):
            let s = outType!.shape
            return s[0] * spectral(h: h, w: w, c: s[3], m2: m2).workspaceTileElements * 8
        case .linearGradWeight:
            return rowTiles(inType!) * outType!.elementCount * 4
        case .sumRows:
            return rowTiles(inType!) * outType!.elementCount * 4
        case .relativeL2Loss, .relativeL2LossGrad:
            return inType!.shape[0] * 2 * 8
        case .mlp:
            let t = inType!, hidden = graph.values[node.inputs[1]].type.shape[1]
            let rows = t.elementCount / t.shape.last! / rowTiles(t)
            return rowTiles(t) * mlpBlockRows(rows: rows, hidden: hidden) * hidden * 4
        default:
            return 0
        }
    }

    static func spectral(h: Int, w: Int, c: Int, m2: Int) -> SpectralTransforms {
        SpectralTransforms(height: h, width: w, channels: c, modes1: 1, modes2: m2)
    }

    /// The spectral transforms a node uses, if it is an FFT op.
    public static func spectralTransforms(_ node: Node, in graph: Graph) -> SpectralTransforms? {
        switch node.op {
        case .rfft2(let m1, let m2), .irfft2Grad(let m1, let m2):
            let s = graph.values[node.inputs[0]].type.shape
            return SpectralTransforms(height: s[1], width: s[2], channels: s[3], modes1: m1, modes2: m2)
        case .irfft2(let h, let w, let m1, let m2), .rfft2Grad(let h, let w, let m1, let m2):
            let s = graph.values[node.result!].type.shape
            return SpectralTransforms(height: h, width: w, channels: s[3], modes1: m1, modes2: m2)
        default:
            return nil
        }
    }

    /// Rows per block of the fused `mlp` kernel: about 128 KiB of hidden activations,
    /// which stay in the core's L2 cache between the two products.
    public static func mlpBlockRows(rows: Int, hidden: Int) -> Int { max(1, min(rows, (1 << 15) / hidden)) }

    /// Row tiles of a `[N, ...]` tensor: one per leading index (one batch sample).
    public static func rowTiles(_ t: TensorType) -> Int { t.rank >= 2 ? t.shape[0] : 1 }

    /// The contiguous tile range thread `thread` of `threads` runs: a static split.
    public static func partition(tiles: Int, threads: Int, thread: Int) -> Range<Int> {
        (tiles * thread / threads)..<(tiles * (thread + 1) / threads)
    }
}
