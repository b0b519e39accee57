import Executor
import Foundation
import M2MModel

/// An independent Double reference of the UNO step, written from neuraloperator's `UNO`
/// forward pass (its order of operations, not the runtime's): lifting MLP on the frames
/// and the grid, then per layer the horizontal skip (1x1 convolution, bicubic resample to
/// the layer's grid, concatenated), the spectral convolution by naive DFTs on the input
/// grid evaluated on the output grid, the two skip convolutions applied on the input grid
/// and each resampled (PyTorch's bicubic with `align_corners=True`, cell by cell), the
/// channel MLP; then the projection MLP.
struct ReferenceUNO {
    let config: ModelConfig
    let uno: UNOConfig
    var parameters: [String: [Double]]

    init(config: ModelConfig, parameters: [String: [Double]]) {
        self.config = config
        uno = config.uno!
        self.parameters = parameters
    }

    /// Floats of every UNO parameter read from `store` (complex as (re, im) pairs).
    static func parameters(of config: ModelConfig, in store: PersistentStore) -> [String: [Double]] {
        var result: [String: [Double]] = [:]
        for (name, type) in UNO2d(config: config).parameterTypes {
            let p = store.pointer(name)!
            result[name] = (0..<type.floatCount).map { Double(p[$0]) }
        }
        return result
    }

    /// A field `[B, H, W, C]` with its sizes.
    struct Field {
        var values: [Double]
        var batch, h, w, c: Int
    }

    func linear(_ f: Field, _ weight: String, _ bias: String?, out: Int) -> Field {
        let zeros = [Double](repeating: 0, count: out)
        let y = ReferenceFNO.linear(f.values, rows: f.batch * f.h * f.w, k: f.c, n: out, parameters[weight]!,
                                    bias.map { parameters[$0]! } ?? zeros)
        return Field(values: y, batch: f.batch, h: f.h, w: f.w, c: out)
    }

    func mlp(_ f: Field, _ prefix: String, hidden: Int, out: Int) -> Field {
        var h = linear(f, prefix + "hidden.weight", prefix + "hidden.bias", out: hidden)
        h.values = h.values.map(ReferenceFNO.gelu)
        return linear(h, prefix + "out.weight", prefix + "out.bias", out: out)
    }

    /// PyTorch's bicubic taps (Keys, a = -0.75, align_corners) of output sample i, n -> m.
    static func taps(_ i: Int, from n: Int, to m: Int) -> [(Int, Double)] {
        let s = m > 1 ? Double(i) * Double(n - 1) / Double(m - 1) : 0
        let f = min(Int(s.rounded(.down)), n - 1), t = min(max(s - Double(f), 0), 1)
        func keys(_ d: Double) -> Double {
            let (x, a) = (abs(d), -0.75)
            return x <= 1 ? (a + 2) * x * x * x - (a + 3) * x * x + 1 : x < 2 ? a * (x * x * x - 5 * x * x + 8 * x - 4) : 0
        }
        return (-1...2).map { (min(max(f + $0, 0), n - 1), keys(Double($0) - t)) }
    }

    static func resample(_ f: Field, to grid: [Int]) -> Field {
        let (h2, w2) = (grid[0], grid[1])
        if h2 == f.h && w2 == f.w { return f }
        var y = [Double](repeating: 0, count: f.batch * h2 * w2 * f.c)
        for b in 0..<f.batch {
            for i in 0..<h2 {
                for j in 0..<w2 {
                    for (p, a) in taps(i, from: f.h, to: h2) {
                        for (q, wq) in taps(j, from: f.w, to: w2) {
                            for ch in 0..<f.c {
                                y[((b * h2 + i) * w2 + j) * f.c + ch] += a * wq * f.values[((b * f.h + p) * f.w + q) * f.c + ch]
                            }
                        }
                    }
                }
            }
        }
        return Field(values: y, batch: f.batch, h: h2, w: w2, c: f.c)
    }

    /// The spectral convolution of layer i: forward DFT on the input grid at the kept
    /// frequencies (rows `0..<m1` and `-m1..<0`, columns `0..<m2`), per-mode complex
    /// matrix `w[M, Cin, Cout]`, and the real inverse evaluated on the output grid
    /// (`1 / (H2 W2)`, columns other than DC and the output's Nyquist counted twice).
    func spectralConv(_ f: Field, _ w: [Double], m1: Int, m2: Int, out: Int, grid: [Int]) -> Field {
        let (h2, w2) = (grid[0], grid[1])
        let (cin, modes) = (f.c, 2 * m1 * m2)
        var y = [Double](repeating: 0, count: f.batch * h2 * w2 * out)
        for b in 0..<f.batch {
            var xr = [Double](repeating: 0, count: modes * cin), xi = xr
            for row in 0..<(2 * m1) {
                let kx = row < m1 ? row : row - 2 * m1   // signed frequency
                for ky in 0..<m2 {
                    let m = row * m2 + ky
                    for h in 0..<f.h {
                        for x in 0..<f.w {
                            let angle = -2 * Double.pi * (Double(kx * h) / Double(f.h) + Double(ky * x) / Double(f.w))
                            let (c, sn) = (cos(angle), sin(angle))
                            for ch in 0..<cin {
                                let v = f.values[((b * f.h + h) * f.w + x) * cin + ch]
                                xr[m * cin + ch] += v * c
                                xi[m * cin + ch] += v * sn
                            }
                        }
                    }
                }
            }
            for row in 0..<(2 * m1) {
                let kx = row < m1 ? row : row - 2 * m1
                for ky in 0..<m2 {
                    let m = row * m2 + ky
                    let factor: Double = ky == 0 || 2 * ky == w2 ? 1 : 2
                    var sr = [Double](repeating: 0, count: out), si = sr
                    for co in 0..<out {
                        for ci in 0..<cin {
                            let (wr, wi) = (w[((m * cin + ci) * out + co) * 2], w[((m * cin + ci) * out + co) * 2 + 1])
                            sr[co] += xr[m * cin + ci] * wr - xi[m * cin + ci] * wi
                            si[co] += xr[m * cin + ci] * wi + xi[m * cin + ci] * wr
                        }
                    }
                    for h in 0..<h2 {
                        for x in 0..<w2 {
                            let angle = 2 * Double.pi * (Double(kx * h) / Double(h2) + Double(ky * x) / Double(w2))
                            let (c, sn) = (factor * cos(angle) / Double(h2 * w2), factor * sin(angle) / Double(h2 * w2))
                            let cell = ((b * h2 + h) * w2 + x) * out
                            for co in 0..<out { y[cell + co] += sr[co] * c - si[co] * sn }
                        }
                    }
                }
            }
        }
        return Field(values: y, batch: f.batch, h: h2, w: w2, c: out)
    }

    /// One step: `x[B, H, W, t_in]` -> `[B, H, W]`.
    func forward(_ x: [Double], batch: Int) -> [Double] {
        let (H, W, t) = (config.grid[0], config.grid[1], config.inputChannels)
        var input = [Double](repeating: 0, count: batch * H * W * (t + 2))
        for p in 0..<(batch * H * W) {
            let (h, w) = (p / W % H, p % W)
            for f in 0..<t { input[p * (t + 2) + f] = x[p * t + f] }
            input[p * (t + 2) + t] = Double(w) / Double(W)
            input[p * (t + 2) + t + 1] = Double(h) / Double(H)
        }
        var v = mlp(Field(values: input, batch: batch, h: H, w: W, c: t + 2), "lifting.", hidden: uno.liftingChannels,
                    out: uno.hiddenChannels)
        let grids = uno.grids([H, W])
        var skipOutputs: [Int: Field] = [:]
        for i in 0..<uno.layers {
            if let a = uno.skips[i] {
                let s = Self.resample(skipOutputs[a]!, to: grids[i])
                var joined = [Double]()
                for p in 0..<(v.batch * v.h * v.w) {
                    joined += v.values[(p * v.c)..<((p + 1) * v.c)]
                    joined += s.values[(p * s.c)..<((p + 1) * s.c)]
                }
                v = Field(values: joined, batch: v.batch, h: v.h, w: v.w, c: v.c + s.c)
            }
            let (cout, q) = (uno.outChannels[i], "blocks.\(i).")
            let (m1, m2) = (uno.nModes[i][0] / 2, uno.nModes[i][1] / 2 + 1)
            let fnoSkip = Self.resample(linear(v, q + "fno_skip.weight", nil, out: cout), to: grids[i + 1])
            let mlpSkip = Self.resample(linear(v, q + "channel_mlp_skip.weight", nil, out: cout), to: grids[i + 1])
            var u = spectralConv(v, parameters[q + "spectral.weight"]!, m1: m1, m2: m2, out: cout, grid: grids[i + 1])
            let bias = parameters[q + "spectral.bias"]!
            for k in u.values.indices { u.values[k] += bias[k % cout] + fnoSkip.values[k] }
            v = mlp(u, q + "channel_mlp.", hidden: uno.mlpChannels(i), out: cout)
            for k in v.values.indices { v.values[k] += mlpSkip.values[k] }
            if Set(uno.skips.values).contains(i) { skipOutputs[i] = linear(v, "horizontal_skips.\(i).weight", nil, out: cout) }
        }
        return mlp(v, "projection.", hidden: uno.projectionChannels, out: 1).values
    }

    /// The training loss: per rollout step the relative L2 loss against `y[B, H, W, steps]`,
    /// each prediction fed back as the newest frame.
    func trainingLoss(x: [Double], y: [Double], batch: Int, steps: Int) -> Double {
        ReferenceFNO.rolloutLoss(x: x, y: y, batch: batch, steps: steps, frames: config.inputChannels) {
            forward($0, batch: batch)
        }
    }
}
