import Executor
import Foundation
import GraphIR
import M2MModel

/// An independent Double reference of the CNO step (the authors' `CNO2d` without batch
/// norm), written from its definition: convolutions as direct sums over the kernel taps
/// (zero or wrapped borders), the activation as the windowed-sinc matrices of
/// `ResampleKernel` applied axis by axis around a leaky ReLU, the U shape with its skips.
struct ReferenceCNO {
    let config: ModelConfig
    let cno: CNOConfig
    var parameters: [String: [Double]]

    init(config: ModelConfig, parameters: [String: [Double]]) {
        self.config = config
        cno = config.cno!
        self.parameters = parameters
    }

    /// A channels-last field `[n, h, w, c]`.
    struct Field {
        var n, h, w, c: Int
        var v: [Double]
    }

    /// Floats of every CNO parameter read from `store`.
    static func parameters(of config: ModelConfig, in store: PersistentStore) -> [String: [Double]] {
        var result: [String: [Double]] = [:]
        for (name, type) in CNO2d(config: config).parameterTypes {
            let p = store.pointer(name)!
            result[name] = (0..<type.floatCount).map { Double(p[$0]) }
        }
        return result
    }

    func conv(_ x: Field, _ name: String) -> Field {
        let weight = parameters[name + ".weight"]!, bias = parameters[name + ".bias"]!
        let k = cno.kernel, p = (k - 1) / 2, co = bias.count
        precondition(weight.count == k * k * x.c * co)
        var y = Field(n: x.n, h: x.h, w: x.w, c: co, v: [Double](repeating: 0, count: x.n * x.h * x.w * co))
        for s in 0..<x.n {
            for i in 0..<x.h {
                for j in 0..<x.w {
                    let out = ((s * x.h + i) * x.w + j) * co
                    for o in 0..<co { y.v[out + o] = bias[o] }
                    for dh in 0..<k {
                        for dw in 0..<k {
                            var (si, sj) = (i + dh - p, j + dw - p)
                            if cno.periodicPadding {
                                si = (si + x.h) % x.h; sj = (sj + x.w) % x.w
                            } else if si < 0 || si >= x.h || sj < 0 || sj >= x.w {
                                continue
                            }
                            let src = ((s * x.h + si) * x.w + sj) * x.c
                            for c in 0..<x.c {
                                let xv = x.v[src + c], row = ((dh * k + dw) * x.c + c) * co
                                for o in 0..<co { y.v[out + o] += xv * weight[row + o] }
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    /// `A_H x A_W^T` per sample and channel, the rows first, then the columns.
    func resample(_ x: Field, _ h: Int, _ w: Int) -> Field {
        let a = ResampleKernel.windowedSinc.matrix(from: x.h, to: h), b = ResampleKernel.windowedSinc.matrix(from: x.w, to: w)
        var rows = [Double](repeating: 0, count: x.n * h * x.w * x.c)
        for s in 0..<x.n {
            for i in 0..<h {
                for r in 0..<x.h where a[i * x.h + r] != 0 {
                    let weight = a[i * x.h + r]
                    for e in 0..<(x.w * x.c) { rows[((s * h + i) * x.w) * x.c + e] += weight * x.v[((s * x.h + r) * x.w) * x.c + e] }
                }
            }
        }
        var y = Field(n: x.n, h: h, w: w, c: x.c, v: [Double](repeating: 0, count: x.n * h * w * x.c))
        for s in 0..<x.n {
            for i in 0..<h {
                for j in 0..<w {
                    for q in 0..<x.w where b[j * x.w + q] != 0 {
                        let weight = b[j * x.w + q]
                        for c in 0..<x.c { y.v[((s * h + i) * w + j) * x.c + c] += weight * rows[((s * h + i) * x.w + q) * x.c + c] }
                    }
                }
            }
        }
        return y
    }

    /// Up to twice the larger grid, leaky ReLU, down to `(h, w)`.
    func activation(_ x: Field, _ h: Int, _ w: Int) -> Field {
        var up = resample(x, 2 * max(x.h, h), 2 * max(x.w, w))
        up.v = up.v.map { $0 > 0 ? $0 : CNO2d.slope * $0 }
        return resample(up, h, w)
    }

    func block(_ x: Field, _ name: String, level: Int) -> Field {
        activation(conv(x, name), config.grid[0] >> level, config.grid[1] >> level)
    }

    func residual(_ x: Field, _ name: String) -> Field {
        let inner = activation(conv(x, name + ".conv1"), x.h, x.w)
        var out = conv(inner, name + ".conv2")
        for i in out.v.indices { out.v[i] += x.v[i] }
        return out
    }

    func concat(_ a: Field, _ b: Field) -> Field {
        var v: [Double] = []
        v.reserveCapacity(a.v.count + b.v.count)
        for cell in 0..<(a.n * a.h * a.w) {
            v += a.v[(cell * a.c)..<((cell + 1) * a.c)]
            v += b.v[(cell * b.c)..<((cell + 1) * b.c)]
        }
        return Field(n: a.n, h: a.h, w: a.w, c: a.c + b.c, v: v)
    }

    /// One step: `x[B, H, W, t_in]` -> prediction `[B, H, W]`.
    func forward(_ x: [Double], batch: Int) -> [Double] {
        let L = cno.nLayers
        let input = Field(n: batch, h: config.grid[0], w: config.grid[1], c: config.inputChannels, v: x)
        var v = conv(block(input, "lift.block", level: 0), "lift.conv")
        var skips: [Field] = []
        for l in 0..<L {
            var y = v
            for j in 0..<cno.nRes { y = residual(y, "res.\(l).\(j)") }
            skips.append(y)
            v = block(v, "encoder.\(l)", level: l + 1)
        }
        for j in 0..<cno.nResNeck { v = residual(v, "neck.\(j)") }
        for i in 0..<L {
            let level = L - i
            let expanded = block(i == 0 ? v : skips[level], "expansion.\(level)", level: level)
            v = i == 0 ? expanded : concat(v, expanded)
            v = block(v, "decoder.\(i)", level: level - 1)
        }
        v = concat(v, block(skips[0], "expansion.0", level: 0))
        return conv(block(v, "project.block", level: 0), "project.conv").v
    }

    /// The training loss: per rollout step the relative L2 loss of the prediction against
    /// `y[B, H, W, steps]`, the prediction fed back as the newest frame.
    func trainingLoss(x: [Double], y: [Double], batch: Int, steps: Int) -> Double {
        ReferenceFNO.rolloutLoss(x: x, y: y, batch: batch, steps: steps, frames: config.inputChannels) {
            forward($0, batch: batch)
        }
    }
}
