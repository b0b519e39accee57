import GraphIR
import Planner

/// One axis's resampling matrix `A [m, n]` (`ResampleKernel.matrix`, Double rounded to Float
/// once) stored as a band: row i's weights are the `width` columns from `start[i]` on, read
/// circularly (column `(start[i] + k) % n`), `width` being the widest arc of nonzero columns
/// of any row. Bicubic rows are contiguous (4 columns, the window kept inside the row);
/// periodic kernels (windowed sinc) wrap around the row's ends near its borders, so the arc
/// is what keeps their band at the filter's support instead of the whole row. A run touches
/// `width` source samples per output sample instead of `n`.
struct ResampleBand {
    let m, n, width: Int
    let start: UnsafeMutablePointer<Int>
    let weights: UnsafeMutablePointer<Float>

    init(_ a: [Double], m: Int, n: Int) {
        (self.m, self.n) = (m, n)
        // Each row's nonzero span, linear (first...last) and as the shortest circular arc.
        var first = [Int](repeating: 0, count: m), linear = [Int](repeating: 1, count: m)
        var arcStart = [Int](repeating: 0, count: m), arc = [Int](repeating: 1, count: m)
        for i in 0..<m {
            let nonzero = (0..<n).filter { a[i * n + $0] != 0 }
            guard let low = nonzero.first, let high = nonzero.last else { continue }
            (first[i], linear[i]) = (low, high - low + 1)
            // The largest circular run of zeros; the arc starts after it.
            var (gap, after) = (n - 1 - high + low, low)
            for (j, next) in zip(nonzero, nonzero.dropFirst()) where next - j - 1 > gap { (gap, after) = (next - j - 1, next) }
            (arcStart[i], arc[i]) = (after, n - gap)
        }
        let linearWidth = linear.max() ?? 1, arcWidth = arc.max() ?? 1
        width = min(linearWidth, arcWidth)
        start = .allocate(capacity: m)
        weights = .allocate(capacity: m * width)
        for i in 0..<m {
            // A linear band stays inside the row (the taps in column order).
            start[i] = linearWidth <= arcWidth ? min(first[i], n - width) : arcStart[i]
            for k in 0..<width { weights[i * width + k] = Float(a[i * n + (start[i] + k) % n]) }
        }
    }

    /// The source index of tap `k` of output `i`.
    @inline(__always) func source(_ i: Int, _ k: Int) -> Int {
        let j = start[i] + k
        return j < n ? j : j - n
    }

    func deallocate() {
        start.deallocate()
        weights.deallocate()
    }
}

/// resample and resample_grad: a separable linear map of each sample's `[H, W, C]` field,
/// one sample per tile, first along H (whole rows of `W C` floats), then along W (per
/// cell, `C` floats), each output the sum of its band's taps in column order:
///
///     forward   T[ho]     = sum_k A_H[ho, k] X[sH(ho) + k]           (T: [Ho, Wi, C])
///               Y[ho, wo] = sum_k A_W[wo, k] T[ho, sW(wo) + k]
///     adjoint   T[sH(ho) + k]     += A_H[ho, k] dY[ho]               (T: [Hi, Wo, C]; ho, then k ascending)
///               dX[hi, sW(wo) + k] += A_W[wo, k] T[hi, wo]
///
/// (`Hi, Wi`: the forward op's input grid, `Ho, Wo`: its output grid, `A` the forward
/// matrices as bands). The adjoint is the exact transpose of the forward map. The bands
/// are made when the kernel is bound and owned by it; a run only reads them. `T` is the
/// sample's workspace tile. A fixed order per output element: bits do not depend on threads.
final class SeparableResampleKernel: KernelDeclaration {
    let x, y, scratch: UnsafeMutablePointer<Float>
    private let alongH, alongW: ResampleBand
    let adjoint: Bool
    let hIn, wIn, hOut, wOut, channels: Int
    let samples: ValidCount

    init(_ bind: KernelBinding, kernel: ResampleKernel, adjoint: Bool) {
        (x, y, scratch) = (bind.input(0), bind.output, bind.scratch)
        self.adjoint = adjoint
        let (source, result) = (bind.type(ofInput: 0).shape, bind.resultType.shape)
        // The forward op's grids: the adjoint reads the forward output grid and writes the input grid.
        let (forwardIn, forwardOut) = adjoint ? (result, source) : (source, result)
        (hIn, wIn, hOut, wOut, channels) = (forwardIn[1], forwardIn[2], forwardOut[1], forwardOut[2], source[3])
        samples = bind.validCount(capacity: source[0])
        alongH = ResampleBand(kernel.matrix(from: hIn, to: hOut), m: hOut, n: hIn)
        alongW = ResampleBand(kernel.matrix(from: wIn, to: wOut), m: wOut, n: wIn)
    }

    deinit {
        alongH.deallocate()
        alongW.deallocate()
    }

    /// Floats of one sample's intermediate `T`.
    static func tileFloats(_ node: Node, in graph: Graph) -> Int {
        let (source, result) = (graph.values[node.inputs[0]].type.shape, graph.values[node.result!].type.shape)
        // T has the first pass's rows (the result's H) and the source's W and C.
        return result[1] * source[2] * source[3]
    }

    static func workspaceBytes(_ node: Node, in graph: Graph) -> Int {
        graph.values[node.inputs[0]].type.shape[0] * tileFloats(node, in: graph) * 4
    }

    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { samples.value }

    /// `dst[0..<count] += a * src[0..<count]`.
    @inline(__always) private func accumulate(_ dst: UnsafeMutablePointer<Float>, _ a: Float,
                                              _ src: UnsafeMutablePointer<Float>, _ count: Int) {
        for j in 0..<count { dst[j] += a * src[j] }
    }

    func run(phase: Int, tile n: Int) {
        let c = channels
        let (bh, bw) = (alongH.width, alongW.width)
        if adjoint {
            let dy = x + n * hOut * wOut * c, dx = y + n * hIn * wIn * c, t = scratch + n * hIn * wOut * c
            let row = wOut * c
            t.update(repeating: 0, count: hIn * row)
            for ho in 0..<hOut {
                for k in 0..<bh {
                    accumulate(t + alongH.source(ho, k) * row, alongH.weights[ho * bh + k], dy + ho * row, row)
                }
            }
            dx.update(repeating: 0, count: hIn * wIn * c)
            for hi in 0..<hIn {
                for wo in 0..<wOut {
                    let src = t + (hi * wOut + wo) * c
                    for k in 0..<bw {
                        accumulate(dx + (hi * wIn + alongW.source(wo, k)) * c, alongW.weights[wo * bw + k], src, c)
                    }
                }
            }
        } else {
            let src = x + n * hIn * wIn * c, dst = y + n * hOut * wOut * c, t = scratch + n * hOut * wIn * c
            let row = wIn * c
            for ho in 0..<hOut {
                let out = t + ho * row
                out.update(repeating: 0, count: row)
                for k in 0..<bh { accumulate(out, alongH.weights[ho * bh + k], src + alongH.source(ho, k) * row, row) }
            }
            for ho in 0..<hOut {
                for wo in 0..<wOut {
                    let out = dst + (ho * wOut + wo) * c
                    out.update(repeating: 0, count: c)
                    for k in 0..<bw {
                        accumulate(out, alongW.weights[wo * bw + k], t + (ho * wIn + alongW.source(wo, k)) * c, c)
                    }
                }
            }
        }
    }
}
