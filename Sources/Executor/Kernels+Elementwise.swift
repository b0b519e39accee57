import CKernels
import Foundation
import GraphIR
import Planner

/// The elementwise family over fixed chunks of floats: unary (gelu, leaky_relu, exp, log, sqrt,
/// tanh, affine, stop_gradient) and binary (add, sub, mul, div, gelu_grad, leaky_relu_grad). A tensor bounded
/// on its leading axis is processed up to its valid rows only. The hot ones (gelu,
/// gelu_grad, add) run the CPU-dispatched C kernels (CKernels), same bits as FastMath.
final class ElementwiseKernel: KernelDeclaration {
    enum Form { case gelu, geluGrad, leakyRelu(Float), leakyReluGrad(Float), add, sub, mul, div, affine(Float, Float), exp, log, sqrt, tanh, copy }
    let form: Form
    let a, b, y: UnsafeMutablePointer<Float>
    /// Floats per leading index, and the leading extent (valid rows at run time).
    let floatsPerRow: Int
    let rows: ValidCount
    /// One tile per sample (`perSampleTiles`), else chunks of `elementwiseChunk` floats.
    let tilesAreSamples: Bool
    private var count = 0
    init(_ bind: KernelBinding, _ form: Form) {
        self.form = form
        a = bind.input(0)
        b = bind.inputs.count > 1 ? bind.input(1) : bind.input(0)
        y = bind.output
        // Floats, not elements: a c64 add (the summed gradient of a spectral weight used
        // by several rollout steps) covers both the real and the imaginary parts.
        let t = bind.resultType
        tilesAreSamples = Self.perSampleTiles(t) != nil
        let perRow = t.boundedAxis == 0 || tilesAreSamples
        rows = perRow ? bind.validCount(capacity: t.shape[0]) : ValidCount(source: nil, capacity: 1)
        floatsPerRow = perRow ? t.floatCount / t.shape[0] : t.floatCount
    }
    /// An f32 field whose samples hold at least a chunk each runs one tile per sample (the
    /// values do not depend on the tiling), so it may join a sample chain (`sampleChains`):
    /// an FNO training layer's `gelu` between its `linear_add` and the next `rfft2`.
    static func perSampleTiles(_ t: TensorType) -> Int? {
        guard t.dtype == .f32, t.rank >= 2, (t.boundedAxis ?? 0) == 0, t.floatCount / t.shape[0] >= elementwiseChunk else {
            return nil
        }
        return t.shape[0]
    }
    static func sampleTiles(_ node: Node, in graph: Graph) -> Int? { perSampleTiles(graph.values[node.result!].type) }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int {
        count = rows.value * floatsPerRow
        if tilesAreSamples { return rows.value }
        return count == 0 ? 0 : chunks(count)
    }
    func run(phase: Int, tile: Int) {
        let chunk = tilesAreSamples ? floatsPerRow : elementwiseChunk
        let start = tile * chunk, n = min(count, start + chunk) - start
        let a = self.a + start, b = self.b + start, y = self.y + start
        switch form {
        case .gelu: m2m_gelu(a, y, n)
        case .geluGrad: m2m_gelu_grad(a, b, y, n)
        case .leakyRelu(let slope): for i in 0..<n { y[i] = a[i] > 0 ? a[i] : slope * a[i] }
        case .leakyReluGrad(let slope): for i in 0..<n { y[i] = a[i] > 0 ? b[i] : slope * b[i] }
        case .add: m2m_add(a, b, y, n)
        case .sub: for i in 0..<n { y[i] = a[i] - b[i] }
        case .mul: for i in 0..<n { y[i] = a[i] * b[i] }
        case .div: for i in 0..<n { y[i] = a[i] / b[i] }
        case .affine(let scale, let shift): for i in 0..<n { y[i] = scale * a[i] + shift }
        case .exp: for i in 0..<n { y[i] = Foundation.exp(a[i]) }
        case .log: for i in 0..<n { y[i] = Foundation.log(a[i]) }
        case .sqrt: for i in 0..<n { y[i] = a[i].squareRoot() }
        case .tanh: for i in 0..<n { y[i] = FastMath.tanh(a[i]) }
        case .copy: y.update(from: a, count: n)
        }
    }
}

/// Copies the input channels and appends x = w / W and y = h / H, per sample.
final class AppendCoordinatesKernel: KernelDeclaration {
    let x, y: UnsafeMutablePointer<Float>
    let h, w, c: Int
    let samples: ValidCount
    init(_ bind: KernelBinding) {
        (x, y) = (bind.input(0), bind.output)
        let s = bind.type(ofInput: 0).shape
        samples = bind.validCount(capacity: s[0])
        (h, w, c) = (s[1], s[2], s[3])
    }
    static func sampleTiles(_ node: Node, in graph: Graph) -> Int? { rowSampleTiles(node, in: graph, input: 0) }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { samples.value }
    func run(phase: Int, tile: Int) {
        for i in 0..<h {
            for j in 0..<w {
                let pixel = (tile * h + i) * w + j
                let src = x + pixel * c, dst = y + pixel * (c + 2)
                dst.update(from: src, count: c)
                dst[c] = Float(j) / Float(w)
                dst[c + 1] = Float(i) / Float(h)
            }
        }
    }
}

/// slice_channels, pad_channels and concat_channels on the last axis, per leading index.
final class ChannelCopyKernel: KernelDeclaration {
    enum Form { case slice(start: Int, count: Int), pad(start: Int, total: Int), concat }
    let a, b, y: UnsafeMutablePointer<Float>
    let form: Form
    let pixelsPerSample, ca, cb, cy: Int
    let samples: ValidCount
    init(_ bind: KernelBinding, _ form: Form) {
        self.form = form
        a = bind.input(0)
        b = bind.inputs.count > 1 ? bind.input(1) : bind.input(0)
        y = bind.output
        let t = bind.type(ofInput: 0)
        let leading = t.rank >= 2 ? t.shape[0] : 1
        samples = bind.validCount(capacity: leading)
        ca = t.shape.last!
        pixelsPerSample = t.elementCount / ca / leading
        cb = bind.inputs.count > 1 ? bind.type(ofInput: 1).shape.last! : 0
        cy = bind.resultType.shape.last!
    }
    static func sampleTiles(_ node: Node, in graph: Graph) -> Int? { rowSampleTiles(node, in: graph, input: 0) }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { samples.value }
    func run(phase: Int, tile: Int) {
        let first = tile * pixelsPerSample
        for p in first..<(first + pixelsPerSample) {
            let dst = y + p * cy
            switch form {
            case .slice(let start, let count):
                dst.update(from: a + p * ca + start, count: count)
            case .pad(let start, let total):
                dst.update(repeating: 0, count: total)
                (dst + start).update(from: a + p * ca, count: ca)
            case .concat:
                dst.update(from: a + p * ca, count: ca)
                (dst + ca).update(from: b + p * cb, count: cb)
            }
        }
    }
}

/// Writes a constant.
final class FillKernel: KernelDeclaration {
    let y: UnsafeMutablePointer<Float>
    let value: Float, count: Int
    init(_ bind: KernelBinding) {
        y = bind.output
        count = bind.resultType.elementCount
        guard case .fill(let v, _) = bind.node.op else { preconditionFailure("FillKernel bound to \(bind.node.op.name)") }
        value = Float(v)
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { 1 }
    func run(phase: Int, tile: Int) { y.update(repeating: value, count: count) }
}
