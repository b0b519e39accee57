import CKernels
import Foundation
import GraphIR

/// Adam (L2 weight decay, as torch.optim.Adam) or AdamW (decoupled decay), in
/// place on the parameter and its moments; complex weights as (re, im) pairs.
final class AdamKernel: KernelDeclaration {
    let param, grad, m, v, hyper: UnsafeMutablePointer<Float>
    let count: Int
    let beta1, beta2, epsilon, weightDecay: Float
    let decoupled: Bool
    init(_ bind: KernelBinding) {
        (param, grad, m, v, hyper) = (bind.input(0), bind.input(1), bind.input(2), bind.input(3), bind.input(4))
        let t = bind.type(ofInput: 0)
        count = t.floatCount
        guard case .adam(let b1, let b2, let eps, let wd, let dec) = bind.node.op else {
            preconditionFailure("AdamKernel bound to \(bind.node.op.name)")
        }
        (beta1, beta2, epsilon, weightDecay, decoupled) = (Float(b1), Float(b2), Float(eps), Float(wd), dec)
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { chunks(count) }
    func run(phase: Int, tile: Int) {
        let lr = hyper[0], step = Double(hyper[1])
        let correction1 = Float(1 - pow(Double(beta1), step))
        let correction2 = Float(1 - pow(Double(beta2), step))
        let stepSize = lr / correction1
        let l2: Float = decoupled ? 0 : weightDecay
        let shrink: Float = decoupled ? 1 - lr * weightDecay : 1
        let start = tile * elementwiseChunk, end = min(count, start + elementwiseChunk)
        guard start < end else { return }
        // g = grad + l2 p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g g;
        // p = p shrink - stepSize m / (sqrt(v / correction2) + eps), per float (CKernels).
        m2m_adam(param + start, grad + start, m + start, v + start, end - start,
                 beta1, beta2, epsilon, l2, shrink, stepSize, correction2)
    }
}
