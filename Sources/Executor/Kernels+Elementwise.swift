import GraphIR
import Planner

/// gelu, gelu_grad and add over fixed chunks of elements.
final class ElementwiseKernel: Kernel {
    enum Form { case gelu, geluGrad, add }
    let form: Form
    let a, b, y: UnsafeMutablePointer<Float>
    let count: Int
    init(_ bind: KernelBinding) {
        switch bind.node.op {
        case .gelu: form = .gelu
        case .geluGrad: form = .geluGrad
        default: form = .add
        }
        a = bind.input(0)
        b = bind.inputs.count > 1 ? bind.input(1) : bind.input(0)
        y = bind.output
        // Floats, not elements: a c64 add (the summed gradient of a spectral weight used
        // by several rollout steps) covers both the real and the imaginary parts.
        count = bind.resultType.floatCount
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { chunks(count) }
    func run(phase: Int, tile: Int) {
        let start = tile * elementwiseChunk, n = min(count, start + elementwiseChunk) - start
        let a = self.a + start, b = self.b + start, y = self.y + start
        switch form {
        case .gelu: for i in 0..<n { y[i] = FastMath.gelu(a[i]) }
        case .geluGrad: for i in 0..<n { y[i] = b[i] * FastMath.geluDerivative(a[i]) }
        case .add: for i in 0..<n { y[i] = a[i] + b[i] }
        }
    }
}

/// Copies the input channels and appends x = w / W and y = h / H, per sample.
final class AppendCoordinatesKernel: Kernel {
    let x, y: UnsafeMutablePointer<Float>
    let n, h, w, c: Int
    init(_ bind: KernelBinding) {
        (x, y) = (bind.input(0), bind.output)
        let s = bind.type(ofInput: 0).shape
        (n, h, w, c) = (s[0], s[1], s[2], s[3])
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { n }
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

/// slice_channels, pad_channels and concat_channels: per-pixel channel copies.
final class ChannelCopyKernel: Kernel {
    let a, b, y: UnsafeMutablePointer<Float>
    let op: Op
    let pixelsPerSample, samples, ca, cb, cy: Int
    init(_ bind: KernelBinding) {
        op = bind.node.op
        a = bind.input(0)
        b = bind.inputs.count > 1 ? bind.input(1) : bind.input(0)
        y = bind.output
        let s = bind.type(ofInput: 0).shape
        samples = s[0]; pixelsPerSample = s[1] * s[2]; ca = s[3]
        cb = bind.inputs.count > 1 ? bind.type(ofInput: 1).shape[3] : 0
        cy = bind.resultType.shape[3]
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { samples }
    func run(phase: Int, tile: Int) {
        let first = tile * pixelsPerSample
        for p in first..<(first + pixelsPerSample) {
            let dst = y + p * cy
            switch op {
            case .sliceChannels(let start, let count):
                dst.update(from: a + p * ca + start, count: count)
            case .padChannels(let start, let total):
                dst.update(repeating: 0, count: total)
                (dst + start).update(from: a + p * ca, count: ca)
            default:
                dst.update(from: a + p * ca, count: ca)
                (dst + ca).update(from: b + p * cb, count: cb)
            }
        }
    }
}

/// Writes a constant.
final class FillKernel: Kernel {
    let y: UnsafeMutablePointer<Float>
    let value: Float, count: Int
    init(_ bind: KernelBinding) {
        y = bind.output
        count = bind.resultType.elementCount
        guard case .fill(let v, _) = bind.node.op else { fatalError("FillKernel bound to \(bind.node.op.name)") }
        value = Float(v)
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { 1 }
    func run(phase: Int, tile: Int) { y.update(repeating: value, count: count) }
}
