import COpenBLAS
import GraphIR
import Planner

/// resample and resample_grad: a separable linear map of each sample's `[H, W, C]` field,
/// one sample per tile, two single-threaded sgemms per tile:
///
///     forward   T [Ho, Wi C] = A_H  [Ho, Hi] x X [Hi, Wi C];   Y[h]  [Wo, C] = A_W  [Wo, Wi] x T[h] [Wi, C]
///     adjoint   T [Hi, Wo C] = A_H^T [Hi, Ho] x dY [Ho, Wo C]; dX[h] [Wi, C] = A_W^T [Wi, Wo] x T[h] [Wo, C]
///
/// (`Hi, Wi`: the forward op's input grid, `Ho, Wo`: its output grid). The matrices
/// (`ResampleKernel.matrix`, Double rounded to Float once) are made when the kernel is
/// bound and owned by it; a run only reads them. `T` is the workspace tile of the sample.
final class SeparableResampleKernel: KernelDeclaration {
    let x, y, scratch: UnsafeMutablePointer<Float>
    /// Forward matrices `A_H [Ho, Hi]` and `A_W [Wo, Wi]`, row-major, in one block.
    private let matrices: UnsafeMutablePointer<Float>
    private let alongH, alongW: UnsafeMutablePointer<Float>
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
        let a = kernel.matrix(from: hIn, to: hOut), b = kernel.matrix(from: wIn, to: wOut)
        let block = UnsafeMutablePointer<Float>.allocate(capacity: a.count + b.count)
        for (i, v) in (a + b).enumerated() { block[i] = Float(v) }
        (matrices, alongH, alongW) = (block, block, block + a.count)
    }

    deinit { matrices.deallocate() }

    /// Floats of one sample's intermediate `T`.
    static func tileFloats(_ node: Node, in graph: Graph) -> Int {
        let (source, result) = (graph.values[node.inputs[0]].type.shape, graph.values[node.result!].type.shape)
        // T has the first product's rows (the result's H) and the source's W and C.
        return result[1] * source[2] * source[3]
    }

    static func workspaceBytes(_ node: Node, in graph: Graph) -> Int {
        graph.values[node.inputs[0]].type.shape[0] * tileFloats(node, in: graph) * 4
    }

    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { samples.value }
    func run(phase: Int, tile n: Int) {
        let c = channels
        if adjoint {
            let dy = x + n * hOut * wOut * c, dx = y + n * hIn * wIn * c, t = scratch + n * hIn * wOut * c
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(hIn), Int32(wOut * c), Int32(hOut),
                        1, alongH, Int32(hIn), dy, Int32(wOut * c), 0, t, Int32(wOut * c))
            for h in 0..<hIn {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(wIn), Int32(c), Int32(wOut),
                            1, alongW, Int32(wIn), t + h * wOut * c, Int32(c), 0, dx + h * wIn * c, Int32(c))
            }
        } else {
            let src = x + n * hIn * wIn * c, dst = y + n * hOut * wOut * c, t = scratch + n * hOut * wIn * c
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(hOut), Int32(wIn * c), Int32(hIn),
                        1, alongH, Int32(hIn), src, Int32(wIn * c), 0, t, Int32(wIn * c))
            for h in 0..<hOut {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(wOut), Int32(c), Int32(wIn),
                            1, alongW, Int32(wIn), t + h * wIn * c, Int32(c), 0, dst + h * wOut * c, Int32(c))
            }
        }
    }
}
