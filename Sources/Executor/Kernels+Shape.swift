import GraphIR
import Planner

/// A tensor viewed around one axis as `[outer, axis, inner]`; `inner` counts floats
/// (`floatsPerElement` 2 for c64: real and imaginary parts are reduced or copied alike).
struct AxisView {
    let outer, length, inner: Int
    init(_ shape: [Int], axis: Int, floatsPerElement: Int = 1) {
        outer = shape[..<axis].reduce(1, *)
        length = axis < shape.count ? shape[axis] : 1
        inner = shape[(axis + 1)...].reduce(1, *) * floatsPerElement
    }
}

/// reduce_sum and reduce_max over one axis, in index order along it; one tile per outer index.
final class ReduceKernel: KernelDeclaration {
    let x, y: UnsafeMutablePointer<Float>
    let view: AxisView
    let isMax: Bool
    init(_ bind: KernelBinding, axis: Int, isMax: Bool) {
        (x, y) = (bind.input(0), bind.output)
        self.isMax = isMax
        let t = bind.type(ofInput: 0)
        view = AxisView(t.shape, axis: axis, floatsPerElement: t.dtype == .c64 ? 2 : 1)
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { view.outer }
    func run(phase: Int, tile o: Int) {
        let src = x + o * view.length * view.inner, dst = y + o * view.inner
        dst.update(from: src, count: view.inner)
        for a in 1..<max(view.length, 1) {
            let row = src + a * view.inner
            if isMax {
                for i in 0..<view.inner where row[i] > dst[i] { dst[i] = row[i] }
            } else {
                for i in 0..<view.inner { dst[i] += row[i] }
            }
        }
    }
}

/// broadcast: repeats the input along a new axis; one tile per outer index.
final class BroadcastKernel: KernelDeclaration {
    let x, y: UnsafeMutablePointer<Float>
    let view: AxisView
    init(_ bind: KernelBinding) {
        (x, y) = (bind.input(0), bind.output)
        guard case .broadcast(let axis, _) = bind.node.op else { preconditionFailure("BroadcastKernel bound to \(bind.node.op.name)") }
        let t = bind.resultType
        view = AxisView(t.shape, axis: axis, floatsPerElement: t.dtype == .c64 ? 2 : 1)
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { view.outer }
    func run(phase: Int, tile o: Int) {
        let src = x + o * view.inner, dst = y + o * view.length * view.inner
        for a in 0..<view.length { (dst + a * view.inner).update(from: src, count: view.inner) }
    }
}

/// reshape: the same elements in a new buffer.
final class CopyKernel: KernelDeclaration {
    let x, y: UnsafeMutableRawPointer
    let bytes: Int
    init(_ bind: KernelBinding) {
        (x, y) = (bind.inputs[0], bind.result!)
        bytes = bind.resultType.byteCount
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { 1 }
    func run(phase: Int, tile: Int) { y.copyMemory(from: x, byteCount: bytes) }
}
