import CKernels
import COpenBLAS
import GraphIR
import Planner

/// The geometry both MLP kernels share, from the types of `x[..., K]`, `w1[K, H]`, `w2[H, N]`:
/// row tiles (one per sample), rows per tile, and the blocks of rows whose hidden activations
/// (about 128 KiB) stay in the core's L2 cache between the products.
struct MLPShape {
    let k, hidden, n, tiles, rows, blockRows: Int
    init(x: TensorType, w1: TensorType, w2: TensorType) {
        (k, hidden, n) = (x.shape.last!, w1.shape[1], w2.shape[1])
        tiles = KernelShape.rowTiles(x); rows = x.elementCount / k / tiles
        blockRows = max(1, min(rows, (1 << 15) / hidden))
    }
    /// Floats of one block of hidden activations.
    var blockFloats: Int { blockRows * hidden }
    /// Floats of `mlp_grad`'s parameter gradients `dw1, db1, dw2, db2` (the packed result's tail).
    var parameterFloats: Int { k * hidden + hidden + hidden * n + n }
}

/// `gelu(x w1 + b1) w2 + b2` per row tile, in blocks of rows whose hidden activations
/// live only in this tile's workspace (they never reach main memory).
final class MLPKernel: KernelDeclaration {
    let x, w1, b1, w2, b2, y, hidden: UnsafeMutablePointer<Float>
    let s: MLPShape
    let tiles: ValidCount
    init(_ bind: KernelBinding) {
        (x, w1, b1, w2, b2) = (bind.input(0), bind.input(1), bind.input(2), bind.input(3), bind.input(4))
        (y, hidden) = (bind.output, bind.scratch)
        s = MLPShape(x: bind.type(ofInput: 0), w1: bind.type(ofInput: 1), w2: bind.type(ofInput: 3))
        tiles = bind.validCount(capacity: s.tiles)
    }
    /// One block of hidden activations per row tile.
    static func workspaceBytes(_ node: Node, in graph: Graph) -> Int {
        let t = node.inputs.map { graph.values[$0].type }
        let s = MLPShape(x: t[0], w1: t[1], w2: t[3])
        return s.tiles * s.blockFloats * 4
    }
    static func sampleTiles(_ node: Node, in graph: Graph) -> Int? { rowSampleTiles(node, in: graph, input: 0) }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { tiles.value }
    func run(phase: Int, tile: Int) {
        let h = hidden + tile * s.blockFloats
        var first = 0
        while first < s.rows {
            let count = min(s.blockRows, s.rows - first)
            let row = tile * s.rows + first
            biasedProduct(rows: count, k: s.k, n: s.hidden, x + row * s.k, w1, bias: b1, gelu: true, into: h)
            biasedProduct(rows: count, k: s.hidden, n: s.n, h, w2, bias: b2, into: y + row * s.n)
            first += count
        }
    }
}

/// `mlp_grad`: the gradients of `mlp`'s inputs, packed in input order (`Op.mlpGrad`). Phase 0
/// runs per row tile (one sample), in the forward kernel's blocks of rows: it recomputes
/// `z = x w1 + b1` with the forward kernel's product (`biasedProduct`, so the same bits), then
/// `dw2 += gelu(z)^T dy`, `dz = (dy w2^T) * gelu'(z)`, `dw1 += x^T dz`, the bias sums, and
/// writes `dx = dz w1^T` in place. The parameter partials of each tile are summed over tiles
/// in tile order in phase 1. Nothing of size `rows x hidden` reaches main memory. Over an
/// expert's bounded rows, only the valid tiles run and are summed (no valid tile: zero gradients).
final class MLPGradKernel: KernelDeclaration {
    let dy, x, w1, b1, w2, dx, workspace: UnsafeMutablePointer<Float>
    let s: MLPShape
    let tiles: ValidCount
    /// The tiles of the current run (read when phase 0 starts); the partials of these only are summed.
    private var validTiles = 0
    init(_ bind: KernelBinding) {
        (dy, x, w1, b1, w2) = (bind.input(0), bind.input(1), bind.input(2), bind.input(3), bind.input(4))
        (dx, workspace) = (bind.output, bind.scratch)
        s = MLPShape(x: bind.type(ofInput: 1), w1: bind.type(ofInput: 2), w2: bind.type(ofInput: 4))
        tiles = bind.validCount(capacity: s.tiles)
    }
    /// A tile's workspace: three blocks of hidden activations (z, gelu(z), dz), its partials,
    /// then `w1^T` (for `dx = dz w1^T` by `m2m_linear_rows`).
    static func tileFloats(_ s: MLPShape) -> Int { 3 * s.blockFloats + s.parameterFloats + s.k * s.hidden }
    static func workspaceBytes(_ node: Node, in graph: Graph) -> Int {
        let t = node.inputs.map { graph.values[$0].type }
        let s = MLPShape(x: t[1], w1: t[2], w2: t[4])
        return s.tiles * tileFloats(s) * 4
    }
    var phaseCount: Int { 2 }
    func tileCount(phase: Int) -> Int {
        if phase == 0 { validTiles = tiles.value; return validTiles }
        return chunks(s.parameterFloats)
    }
    func run(phase: Int, tile: Int) {
        let (k, width, n, tileFloats) = (s.k, s.hidden, s.n, Self.tileFloats(s))
        guard phase == 0 else {   // the packed result's tail: the valid tiles' partials summed in tile order
            reducePartials(workspace + 3 * s.blockFloats, tiles: validTiles, elements: s.parameterFloats,
                           into: dx + s.tiles * s.rows * k, chunk: tile, stride: tileFloats)
            return
        }
        let tileSpace = workspace + tile * tileFloats
        let (z, hidden, dz) = (tileSpace, tileSpace + s.blockFloats, tileSpace + 2 * s.blockFloats)
        let partial = tileSpace + 3 * s.blockFloats
        let (dw1, db1) = (partial, partial + k * width)
        let (dw2, db2) = (db1 + width, db1 + width + width * n)
        partial.update(repeating: 0, count: s.parameterFloats)
        let w1T = partial + s.parameterFloats
        if k >= linearRowsMinimumColumns { transpose(w1, k: k, n: width, into: w1T) }
        var first = 0
        while first < s.rows {
            let count = min(s.blockRows, s.rows - first)
            let row = tile * s.rows + first
            let (xb, dyb) = (x + row * k, dy + row * n)
            biasedProduct(rows: count, k: k, n: width, xb, w1, bias: b1, into: z)
            if n == 1 {
                m2m_outer(dyb, w2, dz, count, width)
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(count), Int32(width), Int32(n),
                            1, dyb, Int32(n), w2, Int32(n), 0, dz, Int32(width))
            }
            m2m_gelu_and_grad(z, dz, hidden, dz, count * width)   // gelu(z), and dz = (dy w2^T) * gelu'(z)
            if n == 1 {
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(count), Int32(width), 1, hidden, Int32(width), dyb, 1, 1, dw2, 1)
            } else {
                m2m_transposed_product_accumulate(hidden, dyb, dw2, count, width, n)
            }
            m2m_accumulate_rows(db1, dz, count, width)
            m2m_accumulate_rows(db2, dyb, count, n)
            m2m_transposed_product_accumulate(xb, dz, dw1, count, k, width)
            if k >= linearRowsMinimumColumns {
                m2m_linear_rows(dz, w1T, nil, nil, 0, nil, dx + row * k, count, width, k)
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(count), Int32(k), Int32(width),
                            1, dz, Int32(width), w1, Int32(width), 0, dx + row * k, Int32(k))
            }
            first += count
        }
    }
}

/// `slice_flat`: one contiguous run of a flat tensor, copied in chunks; of a bounded
/// result, only the valid rows.
final class SliceFlatKernel: KernelDeclaration {
    let x, y: UnsafeMutablePointer<Float>
    let rows: ValidCount
    let rowFloats: Int
    /// The floats of the current run (read when the phase starts).
    private var count = 0
    init(_ bind: KernelBinding, start: Int) {
        (x, y) = (bind.input(0) + start, bind.output)
        let type = bind.resultType
        rows = type.isBounded ? bind.validCount(capacity: type.shape[0]) : ValidCount(source: nil, capacity: type.shape[0])
        rowFloats = type.elementCount / type.shape[0]
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int {
        count = rows.value * rowFloats
        return count == 0 ? 0 : chunks(count)
    }
    func run(phase: Int, tile: Int) {
        let start = tile * elementwiseChunk
        (y + start).update(from: x + start, count: min(elementwiseChunk, count - start))
    }
}
