import Foundation
import GraphIR

/// Relative L2 loss `mean_n ||p_n - y_n|| / ||y_n||` and its gradient. Phase 0:
/// per-sample squared norms in Double; phase 1: the fixed-order batch mean (loss)
/// or the per-sample gradient scale (loss gradient).
final class RelativeL2Kernel: KernelDeclaration {
    let pred, target: UnsafeMutablePointer<Float>
    let seed: UnsafeMutablePointer<Float>?      // dL for the gradient form
    let out: UnsafeMutablePointer<Float>
    let norms: UnsafeMutablePointer<Double>      // [n][2]: ||p - y||^2, ||y||^2
    let samples, perSample: Int
    let isGradient: Bool

    init(_ bind: KernelBinding) {
        pred = bind.input(0); target = bind.input(1)
        isGradient = bind.node.op == .relativeL2LossGrad
        seed = isGradient ? bind.input(2) : nil
        out = bind.output
        norms = bind.workspace!.assumingMemoryBound(to: Double.self)
        let t = bind.type(ofInput: 0)
        samples = t.shape[0]; perSample = t.elementCount / samples
    }
    /// Two Double norms per sample.
    static func workspaceBytes(_ node: Node, in graph: Graph) -> Int {
        graph.values[node.inputs[0]].type.shape[0] * 2 * 8
    }
    var phaseCount: Int { 2 }
    func tileCount(phase: Int) -> Int { phase == 0 || isGradient ? samples : 1 }

    func run(phase: Int, tile: Int) {
        if phase == 0 {
            let p = pred + tile * perSample, y = target + tile * perSample
            var diff = 0.0, ref = 0.0
            for i in 0..<perSample {
                let d = Double(p[i]) - Double(y[i])
                diff += d * d
                ref += Double(y[i]) * Double(y[i])
            }
            norms[2 * tile] = diff
            norms[2 * tile + 1] = ref
        } else if !isGradient {
            var sum = 0.0
            for n in 0..<samples { sum += (norms[2 * n] / norms[2 * n + 1]).squareRoot() }
            out[0] = Float(sum / Double(samples))
        } else {
            let diff = norms[2 * tile].squareRoot(), ref = norms[2 * tile + 1].squareRoot()
            let scale = diff > 0 ? Float(Double(seed![0]) / (Double(samples) * diff * ref)) : 0
            let p = pred + tile * perSample, y = target + tile * perSample, g = out + tile * perSample
            for i in 0..<perSample { g[i] = scale * (p[i] - y[i]) }
        }
    }
}
