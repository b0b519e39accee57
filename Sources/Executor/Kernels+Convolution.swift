import CKernels
import COpenBLAS
import GraphIR
import Planner

/// `conv2d`, `conv2d_grad_input` and `conv2d_grad_weight` on channels-last fields, in the
/// shifted-GEMM form: per sample (one tile) and per block of output rows, the block's input
/// rows are copied once with `p = (k-1)/2` cells of padding on every side (zeros, or the
/// wrapped field) into `[rows + 2p, W + 2p, C]`; in that padded layout the input of kernel
/// offset `(dh, dw)` for every output cell is one contiguous strided view (rows of `W + 2p`
/// cells, shifted by `dh (W + 2p) + dw` cells), so each offset is one sgemm with `K = C`
/// accumulating into a padded-width output `[rows, W + 2p, Co]` whose `2p` extra cells per row
/// are dropped (Benchmarks/conv2d_forms.c measured this form against im2col + one sgemm:
/// Benchmarks/README.md). Blocks and tiles depend only on shapes, so the bits do not depend on
/// the thread count; the offsets are summed in `(dh, dw)` order after the bias.
///
/// - forward: `y = b + sum over offsets of shift(x) w[dh, dw]`;
/// - input gradient: the same on `dy` with `w'[a, c, co, ci] = w[k-1-a, k-1-c, ci, co]` (built in
///   phase 0): for stride 1 and "same" padding the transposed convolution is a convolution of
///   `dy` with the flipped kernel, wrapped when the forward pass wrapped;
/// - weight gradient: per sample the partial `dw[dh, dw] = shift(x)^T dy` (dy copied into the
///   padded-width layout with zero pad cells) over the row blocks (phase 0), then the partials
///   summed in sample order (phase 1), zero when no sample is valid (an expert with no patch).
final class Conv2dKernel: KernelDeclaration {
    enum Form { case forward, gradInput, gradWeight }
    let form: Form
    /// The gathered field (x, or dy for the input gradient), the weight (nil for the weight
    /// gradient), the bias (forward) or dy (weight gradient), and the result.
    let source: UnsafeMutablePointer<Float>
    let weight: UnsafeMutablePointer<Float>?
    let other: UnsafeMutablePointer<Float>?
    let out: UnsafeMutablePointer<Float>
    /// Per tile a padded input block and a padded-width output (or dy) block, then the flipped
    /// weight or the per-sample partials.
    let scratch, extra: UnsafeMutablePointer<Float>
    let height, width, gathered, produced, kernel: Int
    let periodic: Bool
    let blockRows: Int
    let tiles: ValidCount
    private var validTiles = 0

    init(_ bind: KernelBinding, _ form: Form, kernel: Int, periodic: Bool) {
        self.form = form
        self.kernel = kernel
        self.periodic = periodic
        source = bind.input(0)
        out = bind.output
        let t = bind.type(ofInput: 0)
        (height, width, gathered) = (t.shape[1], t.shape[2], t.shape[3])
        switch form {
        case .forward:
            (weight, other) = (bind.input(1), bind.input(2))
            produced = bind.type(ofInput: 1).shape[3]
        case .gradInput:
            (weight, other) = (bind.input(1), nil)
            produced = bind.type(ofInput: 1).shape[2]
        case .gradWeight:
            (weight, other) = (nil, bind.input(1))
            produced = bind.type(ofInput: 1).shape[3]
        }
        tiles = bind.validCount(capacity: t.shape[0])
        blockRows = Self.blockRows(height: height, width: width, kernel: kernel, channels: max(gathered, produced))
        scratch = bind.scratch
        extra = bind.scratch + tiles.capacity * Self.tileFloats(height: height, width: width, kernel: kernel,
                                                                 gathered: gathered, produced: produced)
    }

    /// Output rows per block: about 256 KiB of padded-width rows (at least one row).
    static func blockRows(height: Int, width: Int, kernel: Int, channels: Int) -> Int {
        max(1, min(height, (1 << 16) / ((width + kernel - 1) * channels)))
    }

    /// Floats of one tile's blocks: the padded input rows and the padded-width output rows.
    static func tileFloats(height: Int, width: Int, kernel: Int, gathered: Int, produced: Int) -> Int {
        let rows = blockRows(height: height, width: width, kernel: kernel, channels: max(gathered, produced))
        let padded = width + kernel - 1
        return (rows + kernel - 1) * padded * gathered + rows * padded * produced
    }

    /// One pair of blocks per sample, plus the flipped weight (input gradient) or one
    /// `[k, k, Ci, Co]` partial per sample (weight gradient).
    static func workspaceBytes(_ node: Node, in graph: Graph) -> Int {
        let t = graph.values[node.inputs[0]].type
        let code = node.op.code
        // The weight's type (the result's, for the weight gradient) gives the kernel size.
        let weight = graph.values[code == .conv2d_grad_weight ? node.result! : node.inputs[1]].type
        let k = weight.shape[0]
        let produced = code == .conv2d_grad_input ? weight.shape[2] : weight.shape[3]
        let extra = code == .conv2d_grad_input ? weight.elementCount
            : code == .conv2d_grad_weight ? t.shape[0] * weight.elementCount : 0
        let tile = tileFloats(height: t.shape[1], width: t.shape[2], kernel: k, gathered: t.shape[3], produced: produced)
        return (t.shape[0] * tile + extra) * 4
    }

    var phaseCount: Int { form == .forward ? 1 : 2 }

    func tileCount(phase: Int) -> Int {
        switch (form, phase) {
        case (.forward, _), (.gradInput, 1): return tiles.value
        case (.gradInput, _): return 1
        case (.gradWeight, 0):
            validTiles = tiles.value
            return validTiles
        case (.gradWeight, _): return chunks(kernel * kernel * gathered * produced)
        }
    }

    func run(phase: Int, tile: Int) {
        switch (form, phase) {
        case (.gradInput, 0): flipWeight()
        case (.gradWeight, 1):
            let elements = kernel * kernel * gathered * produced
            reducePartials(extra, tiles: validTiles, elements: elements, into: out, chunk: tile)
        case (.forward, _), (.gradInput, _), (.gradWeight, _): runSample(tile)
        }
    }

    /// `w'[a, c, co, ci] = w[k-1-a, k-1-c, ci, co]`, with `ci` the result's channels.
    private func flipWeight() {
        let (k, ci, co) = (kernel, produced, gathered)
        for a in 0..<k {
            for c in 0..<k {
                let src = weight! + ((k - 1 - a) * k + (k - 1 - c)) * ci * co
                let dst = extra + (a * k + c) * co * ci
                for i in 0..<ci {
                    for o in 0..<co { dst[o * ci + i] = src[i * co + o] }
                }
            }
        }
    }

    private func runSample(_ sample: Int) {
        let (k, c, n) = (kernel, gathered, produced)
        let padded = width + k - 1
        let input = scratch + sample * Self.tileFloats(height: height, width: width, kernel: k, gathered: c, produced: n)
        let output = input + (blockRows + k - 1) * padded * c
        let field = source + sample * height * width * c
        var first = 0
        while first < height {
            let rows = min(blockRows, height - first)
            pad(field, rows: first..<(first + rows), into: input)
            // Output cells of the block in the padded-width layout, up to the last row's last real cell.
            let m = Int32((rows - 1) * padded + width)
            switch form {
            case .forward, .gradInput:
                let matrices = form == .forward ? weight! : extra
                if form == .forward { m2m_broadcast_rows(other!, output, rows * padded, n) }
                if form == .gradInput { output.update(repeating: 0, count: Int(m) * n) }
                for offset in 0..<(k * k) {
                    let (dh, dw) = (offset / k, offset % k)
                    rowMajorProduct(rows: Int(m), k: c, n: n, input + (dh * padded + dw) * c, matrices + offset * c * n, output)
                }
                let y = out + (sample * height + first) * width * n
                for r in 0..<rows { (y + r * width * n).update(from: output + r * padded * n, count: width * n) }
            case .gradWeight:
                let dy = other! + (sample * height + first) * width * n
                for r in 0..<rows {
                    (output + r * padded * n).update(from: dy + r * width * n, count: width * n)
                    (output + (r * padded + width) * n).update(repeating: 0, count: (k - 1) * n)
                }
                let partial = extra + sample * k * k * c * n
                for offset in 0..<(k * k) {
                    let (dh, dw) = (offset / k, offset % k)
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(c), Int32(n), m,
                                1, input + (dh * padded + dw) * c, Int32(c), output, Int32(n),
                                first == 0 ? 0 : 1, partial + offset * c * n, Int32(n))
                }
            }
            first += rows
        }
    }

    /// Input rows `rows.lowerBound - p ..< rows.upperBound + p`, each with `p` cells on both
    /// sides, into `[rows + 2p, W + 2p, C]`: zeros outside the grid, or the wrapped cells.
    private func pad(_ field: UnsafeMutablePointer<Float>, rows: Range<Int>, into block: UnsafeMutablePointer<Float>) {
        let (k, c, h, w) = (kernel, gathered, height, width)
        let p = (k - 1) / 2, padded = w + k - 1
        for r in 0..<(rows.count + k - 1) {
            let dst = block + r * padded * c
            var si = rows.lowerBound + r - p
            if si < 0 || si >= h {
                guard periodic else { dst.update(repeating: 0, count: padded * c); continue }
                si = si < 0 ? si + h : si - h
            }
            let src = field + si * w * c
            (dst + p * c).update(from: src, count: w * c)
            if periodic {
                (dst).update(from: src + (w - p) * c, count: p * c)
                (dst + (p + w) * c).update(from: src, count: p * c)
            } else {
                dst.update(repeating: 0, count: p * c)
                (dst + (p + w) * c).update(repeating: 0, count: p * c)
            }
        }
    }
}
