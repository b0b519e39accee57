import CKernels
import COpenBLAS
import GraphIR
import Planner

/// `gelu(x w1 + b1) w2 + b2` per row tile, in blocks of rows whose hidden activations
/// live only in this tile's workspace (they never reach main memory).
final class MLPKernel: KernelDeclaration {
    let x, w1, b1, w2, b2, y, hidden: UnsafeMutablePointer<Float>
    let rows, k, width, n, blockRows: Int
    let tiles: ValidCount
    init(_ bind: KernelBinding) {
        (x, w1, b1, w2, b2) = (bind.input(0), bind.input(1), bind.input(2), bind.input(3), bind.input(4))
        (y, hidden) = (bind.output, bind.scratch)
        let t = bind.type(ofInput: 0)
        k = t.shape.last!; width = bind.type(ofInput: 1).shape[1]; n = bind.type(ofInput: 3).shape[1]
        tiles = bind.validCount(capacity: KernelShape.rowTiles(t)); rows = t.elementCount / k / tiles.capacity
        blockRows = Self.blockRows(rows: rows, hidden: width)
    }
    /// Rows per block: about 128 KiB of hidden activations, which stay in the core's L2
    /// cache between the two products.
    static func blockRows(rows: Int, hidden: Int) -> Int { max(1, min(rows, (1 << 15) / hidden)) }
    /// One block of hidden activations per row tile.
    static func workspaceBytes(_ node: Node, in graph: Graph) -> Int {
        let t = graph.values[node.inputs[0]].type, hidden = graph.values[node.inputs[1]].type.shape[1]
        let rows = t.elementCount / t.shape.last! / KernelShape.rowTiles(t)
        return KernelShape.rowTiles(t) * blockRows(rows: rows, hidden: hidden) * hidden * 4
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { tiles.value }
    func run(phase: Int, tile: Int) {
        let h = hidden + tile * blockRows * width
        var first = 0
        while first < rows {
            let count = min(blockRows, rows - first)
            let row = tile * rows + first
            m2m_broadcast_rows(b1, h, count, width)
            rowMajorProduct(rows: count, k: k, n: width, x + row * k, w1, h)
            m2m_gelu(h, h, count * width)
            let yb = y + row * n
            m2m_broadcast_rows(b2, yb, count, n)
            rowMajorProduct(rows: count, k: width, n: n, h, w2, yb)
            first += count
        }
    }
}

/// `mlp_grad`: the gradients of `mlp`'s inputs, packed in input order (`Op.mlpGrad`). Phase 0
/// runs per row tile (one sample), in the forward kernel's blocks of rows: it recomputes
/// `z = x w1 + b1` with the same calls as `MLPKernel` (so the same bits), then
/// `dw2 += gelu(z)^T dy`, `dz = (dy w2^T) * gelu'(z)`, `dw1 += x^T dz`, the bias sums, and
/// writes `dx = dz w1^T` in place. The parameter partials of each tile are summed over tiles
/// in tile order in phase 1. Nothing of size `rows x hidden` reaches main memory.
final class MLPGradKernel: KernelDeclaration {
    let dy, x, w1, b1, w2, dx, workspace: UnsafeMutablePointer<Float>
    let rows, k, width, n, blockRows, tiles: Int
    /// Floats of one tile's parameter partials: `dw1, db1, dw2, db2`, the packed result's tail.
    let partialCount: Int
    init(_ bind: KernelBinding) {
        (dy, x, w1, b1, w2) = (bind.input(0), bind.input(1), bind.input(2), bind.input(3), bind.input(4))
        (dx, workspace) = (bind.output, bind.scratch)
        let t = bind.type(ofInput: 1)
        k = t.shape.last!; width = bind.type(ofInput: 2).shape[1]; n = bind.type(ofInput: 4).shape[1]
        tiles = KernelShape.rowTiles(t); rows = t.elementCount / k / tiles
        blockRows = MLPKernel.blockRows(rows: rows, hidden: width)
        partialCount = Self.partialCount(k: k, hidden: width, n: n)
    }
    static func partialCount(k: Int, hidden: Int, n: Int) -> Int { k * hidden + hidden + hidden * n + n }
    /// Per row tile: three blocks of hidden activations (z, gelu(z), dz) and the partials.
    static func workspaceBytes(_ node: Node, in graph: Graph) -> Int {
        let t = graph.values[node.inputs[1]].type, k = t.shape.last!, tiles = KernelShape.rowTiles(t)
        let hidden = graph.values[node.inputs[2]].type.shape[1], n = graph.values[node.inputs[4]].type.shape[1]
        let block = MLPKernel.blockRows(rows: t.elementCount / k / tiles, hidden: hidden) * hidden
        return tiles * (3 * block + partialCount(k: k, hidden: hidden, n: n)) * 4
    }
    var phaseCount: Int { 2 }
    func tileCount(phase: Int) -> Int { phase == 0 ? tiles : chunks(partialCount) }
    func run(phase: Int, tile: Int) {
        let tileFloats = 3 * blockRows * width + partialCount
        guard phase == 0 else {   // the packed result's tail: the partials summed in tile order
            reducePartials(workspace + 3 * blockRows * width, tiles: tiles, elements: partialCount,
                           into: dx + tiles * rows * k, chunk: tile, stride: tileFloats)
            return
        }
        let tileSpace = workspace + tile * tileFloats
        let (z, hidden, dz) = (tileSpace, tileSpace + blockRows * width, tileSpace + 2 * blockRows * width)
        let partial = tileSpace + 3 * blockRows * width
        let (dw1, db1) = (partial, partial + k * width)
        let (dw2, db2) = (db1 + width, db1 + width + width * n)
        partial.update(repeating: 0, count: partialCount)
        var first = 0
        while first < rows {
            let count = min(blockRows, rows - first)
            let row = tile * rows + first
            let (xb, dyb) = (x + row * k, dy + row * n)
            m2m_broadcast_rows(b1, z, count, width)
            rowMajorProduct(rows: count, k: k, n: width, xb, w1, z)
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
            for r in 0..<count {
                m2m_accumulate(db1, dz + r * width, width)
                m2m_accumulate(db2, dyb + r * n, n)
            }
            m2m_transposed_product_accumulate(xb, dz, dw1, count, k, width)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(count), Int32(k), Int32(width),
                        1, dz, Int32(width), w1, Int32(width), 0, dx + row * k, Int32(k))
            first += count
        }
    }
}

/// `slice_flat`: one contiguous run of a flat tensor, copied in chunks.
final class SliceFlatKernel: KernelDeclaration {
    let x, y: UnsafeMutablePointer<Float>
    let count: Int
    init(_ bind: KernelBinding, start: Int) {
        (x, y) = (bind.input(0) + start, bind.output)
        count = bind.resultType.elementCount
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { chunks(count) }
    func run(phase: Int, tile: Int) {
        let start = tile * elementwiseChunk
        (y + start).update(from: x + start, count: min(elementwiseChunk, count - start))
    }
}
