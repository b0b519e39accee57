import CKernels
import COpenBLAS
import GraphIR
import Planner

/// `y += x w` for row-major `x [rows, k]`, `w [k, n]`, `y [rows, n]`: sgemv when `n` is 1
/// (OpenBLAS 0.3.21's sgemm takes about 4x as long for one column; measured in the Benchmarks
/// README), `m2m_product_accumulate` below `narrowProductColumns`, sgemm from there. Each
/// kernel calls it the same way for the same shapes, so the bits depend only on the shapes.
@inline(__always)
func rowMajorProduct(rows: Int, k: Int, n: Int, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                     _ y: UnsafeMutablePointer<Float>) {
    if n == 1 {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(k), 1, x, Int32(k), w, 1, 1, y, 1)
    } else if n < narrowProductColumns {
        m2m_product_accumulate(x, w, y, rows, k, n)
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(n), Int32(k),
                    1, x, Int32(k), w, Int32(n), 1, y, Int32(n))
    }
}

/// `y = x w + b` per row tile (one batch sample), and the fused epilogues: `+ r` for
/// `linear_add` (the same rounding as the separate `add`), then gelu for `linear_gelu` and
/// `linear_add_gelu`. With 8 or more output columns, one `m2m_linear_rows` call per tile
/// (the epilogue on each block of rows while it is in L1); with fewer, bias broadcast and
/// `rowMajorProduct` in row blocks, then the epilogue on each block while it is in cache.
final class LinearKernel: KernelDeclaration {
    let x, w, b, y: UnsafeMutablePointer<Float>
    /// The addend of `linear_add(_gelu)`.
    let addend: UnsafeMutablePointer<Float>?
    let rows, k, n: Int
    let tiles: ValidCount
    let appliesGelu: Bool
    /// Rows per `rowMajorProduct` call (fewer than 8 columns): about 256 KiB of output.
    let blockRows: Int
    init(_ bind: KernelBinding) {
        (x, w, b, y) = (bind.input(0), bind.input(1), bind.input(2), bind.output)
        let t = bind.type(ofInput: 0)
        k = t.shape.last!; n = bind.type(ofInput: 1).shape[1]
        tiles = bind.validCount(capacity: KernelShape.rowTiles(t)); rows = t.elementCount / k / tiles.capacity
        let op = bind.node.op
        appliesGelu = op == .linearGelu || op == .linearAddGelu
        addend = op == .linearAdd || op == .linearAddGelu ? bind.input(3) : nil
        blockRows = max(1, min(rows, (1 << 16) / n))
    }
    static func sampleTiles(_ node: Node, in graph: Graph) -> Int? { rowSampleTiles(node, in: graph, input: 0) }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { tiles.value }
    func run(phase: Int, tile: Int) {
        guard n < linearRowsMinimumColumns else {
            let first = tile * rows
            m2m_linear_rows(x + first * k, w, b, addend.map { $0 + first * n }, appliesGelu ? 1 : 0, nil,
                            y + first * n, rows, k, n)
            return
        }
        var first = 0
        while first < rows {
            let count = min(blockRows, rows - first)
            let row = tile * rows + first
            let yb = y + row * n
            m2m_broadcast_rows(b, yb, count, n)
            rowMajorProduct(rows: count, k: k, n: n, x + row * k, w, yb)
            if let r = addend { m2m_add(yb, r + row * n, yb, count * n) }
            if appliesGelu { m2m_gelu(yb, yb, count * n) }
            first += count
        }
    }
}

/// Row-major `x w` products (no transposes) with fewer result columns than this never reach
/// OpenBLAS's sgemm: on AVX-512 hosts OpenBLAS 0.3.21 (core types SkylakeX, Cooperlake) hands
/// them to its small-matrix kernel, which calls malloc on every call (found by `bench`'s
/// allocation count on a Zen 4 host: the M2M router's logits and the CNO's narrow convolutions;
/// measured in the Benchmarks README: from 16 columns on, and for the transposed forms, it does
/// not). `m2m_product_accumulate` runs them instead (the same bits on every ISA).
let narrowProductColumns = 16

/// Products with at least this many output columns run `m2m_linear_rows` (vectors of 8 columns;
/// measured against bias broadcast, OpenBLAS's sgemm and the epilogue pass in the Benchmarks
/// README); narrower ones keep `rowMajorProduct` (sgemv for one column).
let linearRowsMinimumColumns = 8

/// `y = x w + b`, then gelu when asked, for row-major `x [rows, k]`, `w [k, n]`: `m2m_linear_rows`
/// with 8 or more columns, else bias broadcast and `rowMajorProduct`. The same call for the same
/// shapes gives the same bits.
@inline(__always)
func biasedProduct(rows: Int, k: Int, n: Int, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                   bias: UnsafePointer<Float>, gelu: Bool = false, into y: UnsafeMutablePointer<Float>) {
    if n >= linearRowsMinimumColumns {
        m2m_linear_rows(x, w, bias, nil, gelu ? 1 : 0, nil, y, rows, k, n)
    } else {
        m2m_broadcast_rows(bias, y, rows, n)
        rowMajorProduct(rows: rows, k: k, n: n, x, w, y)
        if gelu { m2m_gelu(y, y, rows * n) }
    }
}

/// `w^T` of a row-major `w [k, n]` into `out [n, k]`.
func transpose(_ w: UnsafePointer<Float>, k: Int, n: Int, into out: UnsafeMutablePointer<Float>) {
    for i in 0..<k { for j in 0..<n { out[j * k + i] = w[i * n + j] } }
}

/// `dx = dy w^T` per row tile; then, block by block while the rows are in cache,
/// `dx += r` for `linear_grad_input_add(_gelu)` and `dx *= gelu'(x)` for
/// `linear_grad_input_gelu` and `linear_grad_input_add_gelu` (each the rounding of the
/// separate `add` and `gelu_grad`). With 8 or more result columns the tile first copies
/// `w^T` into its workspace and makes one `m2m_linear_rows` call.
final class LinearGradInputKernel: KernelDeclaration {
    let dy, w, dx: UnsafeMutablePointer<Float>
    /// Per tile `w^T [n, k]` (workspace) when `m2m_linear_rows` runs.
    let transposedWeights: UnsafeMutablePointer<Float>?
    let addend: UnsafeMutablePointer<Float>?
    let preActivation: UnsafeMutablePointer<Float>?
    let rows, k, n, blockRows: Int
    let tiles: ValidCount
    init(_ bind: KernelBinding) {
        (dy, w, dx) = (bind.input(0), bind.input(1), bind.output)
        let op = bind.node.op
        addend = op == .linearGradInputAdd || op == .linearGradInputAddGelu ? bind.input(2) : nil
        preActivation = op == .linearGradInputGelu ? bind.input(2) : op == .linearGradInputAddGelu ? bind.input(3) : nil
        let t = bind.type(ofInput: 0)
        n = t.shape.last!; k = bind.type(ofInput: 1).shape[0]
        tiles = bind.validCount(capacity: KernelShape.rowTiles(t)); rows = t.elementCount / n / tiles.capacity
        blockRows = preActivation == nil && addend == nil ? rows : max(1, min(rows, (1 << 15) / k))
        transposedWeights = Self.usesLinearRows(k: k, n: n) ? bind.scratch : nil
    }
    static func usesLinearRows(k: Int, n: Int) -> Bool { k >= linearRowsMinimumColumns && n > 1 }
    static func sampleTiles(_ node: Node, in graph: Graph) -> Int? { rowSampleTiles(node, in: graph, input: 0) }
    /// One `w^T` per row tile when `m2m_linear_rows` runs.
    static func workspaceBytes(_ node: Node, in graph: Graph) -> Int {
        let (dy, w) = (graph.values[node.inputs[0]].type, graph.values[node.inputs[1]].type)
        return usesLinearRows(k: w.shape[0], n: w.shape[1]) ? KernelShape.rowTiles(dy) * w.elementCount * 4 : 0
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { tiles.value }
    func run(phase: Int, tile: Int) {
        if let transposedWeights {
            let (row, wT) = (tile * rows, transposedWeights + tile * k * n)
            transpose(w, k: k, n: n, into: wT)
            m2m_linear_rows(dy + row * n, wT, nil, addend.map { $0 + row * k }, 0, preActivation.map { $0 + row * k },
                            dx + row * k, rows, n, k)
            return
        }
        var first = 0
        while first < rows {
            let count = min(blockRows, rows - first), row = tile * rows + first
            let out = dx + row * k
            if n == 1 {         // dy w^T with one column: an outer product (the same products, one rounding each)
                m2m_outer(dy + row, w, out, count, k)
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(count), Int32(k), Int32(n),
                            1, dy + row * n, Int32(n), w, Int32(n), 0, out, Int32(k))
            }
            if let r = addend { m2m_add(out, r + row * k, out, count * k) }
            if let x = preActivation { m2m_gelu_grad(x + row * k, out, out, count * k) }
            first += count
        }
    }
}

/// Sums per-tile partials `partial[t * stride + e]` (stride: `elements` unless given) over t
/// in tile order, parallel over elements; zero when no tile is valid (an expert that
/// received no patch).
func reducePartials(_ partial: UnsafeMutablePointer<Float>, tiles: Int, elements: Int,
                    into out: UnsafeMutablePointer<Float>, chunk: Int, stride: Int? = nil) {
    let start = chunk * elementwiseChunk, end = min(elements, start + elementwiseChunk)
    let stride = stride ?? elements
    guard start < end else { return }
    guard tiles > 0 else { (out + start).update(repeating: 0, count: end - start); return }
    (out + start).update(from: partial + start, count: end - start)
    for t in 1..<tiles { m2m_accumulate(out + start, partial + t * stride + start, end - start) }
}

/// `dw = x^T dy`: per-sample partial products, then a fixed-order sum over samples.
final class LinearGradWeightKernel: KernelDeclaration {
    let x, dy, dw, partial: UnsafeMutablePointer<Float>
    let rows, k, n: Int
    let tiles: ValidCount
    /// The tiles of the current run (read when phase 0 starts).
    private var validTiles = 0
    init(_ bind: KernelBinding) {
        (x, dy, dw, partial) = (bind.input(0), bind.input(1), bind.output, bind.scratch)
        let t = bind.type(ofInput: 0)
        k = t.shape.last!; n = bind.type(ofInput: 1).shape.last!
        tiles = bind.validCount(capacity: KernelShape.rowTiles(t)); rows = t.elementCount / k / tiles.capacity
    }
    /// One `[K, N]` partial per row tile.
    static func workspaceBytes(_ node: Node, in graph: Graph) -> Int {
        let x = graph.values[node.inputs[0]].type, result = graph.values[node.result!].type
        return KernelShape.rowTiles(x) * result.elementCount * 4
    }
    /// Phase 0: one partial per sample (row tile); phase 1 sums them in tile order.
    static func sampleReductionTiles(_ node: Node, in graph: Graph) -> Int? { rowSampleTiles(node, in: graph, input: 0) }
    var phaseCount: Int { 2 }
    func tileCount(phase: Int) -> Int {
        if phase == 0 { validTiles = tiles.value; return validTiles }
        return chunks(k * n)
    }
    func run(phase: Int, tile: Int) {
        if phase == 0 {
            if n == 1 {         // x^T dy with one column: OpenBLAS's sgemv, ~4x its sgemm here
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(rows), Int32(k), 1, x + tile * rows * k, Int32(k),
                            dy + tile * rows, 1, 0, partial + tile * k, 1)
            } else {            // with OpenBLAS's sgemm the step's four layers take 21.4 ms, with this 16.4 (Benchmarks README)
                (partial + tile * k * n).update(repeating: 0, count: k * n)
                m2m_transposed_product_accumulate(x + tile * rows * k, dy + tile * rows * n, partial + tile * k * n, rows, k, n)
            }
        } else {
            reducePartials(partial, tiles: validTiles, elements: k * n, into: dw, chunk: tile)
        }
    }
}

/// Column sums of `dy[..., n]` (bias gradient): per-sample partials, then a fixed-order sum.
final class SumRowsKernel: KernelDeclaration {
    let dy, out, partial: UnsafeMutablePointer<Float>
    let rows, n: Int
    let tiles: ValidCount
    private var validTiles = 0
    init(_ bind: KernelBinding) {
        (dy, out, partial) = (bind.input(0), bind.output, bind.scratch)
        let t = bind.type(ofInput: 0)
        n = t.shape.last!; tiles = bind.validCount(capacity: KernelShape.rowTiles(t)); rows = t.elementCount / n / tiles.capacity
    }
    /// One `[N]` partial per row tile.
    static func workspaceBytes(_ node: Node, in graph: Graph) -> Int {
        KernelShape.rowTiles(graph.values[node.inputs[0]].type) * graph.values[node.result!].type.elementCount * 4
    }
    /// Phase 0: one partial per sample (row tile); phase 1 sums them in tile order.
    static func sampleReductionTiles(_ node: Node, in graph: Graph) -> Int? { rowSampleTiles(node, in: graph, input: 0) }
    var phaseCount: Int { 2 }
    func tileCount(phase: Int) -> Int {
        if phase == 0 { validTiles = tiles.value; return validTiles }
        return chunks(n)
    }
    func run(phase: Int, tile: Int) {
        if phase == 0 {
            m2m_sum_rows(dy + tile * rows * n, partial + tile * n, max(rows, 1), n)
        } else {
            reducePartials(partial, tiles: validTiles, elements: n, into: out, chunk: tile)
        }
    }
}
