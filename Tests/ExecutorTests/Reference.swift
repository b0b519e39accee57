import Foundation

/// Plain Double implementations of the ops' documented semantics, written from
/// the definitions (naive loops, direct DFTs), independent of the kernels.
/// Complex tensors are interleaved (re, im) arrays.
struct Complex {
    var re = 0.0, im = 0.0
    static func + (a: Complex, b: Complex) -> Complex { Complex(re: a.re + b.re, im: a.im + b.im) }
    static func * (a: Complex, b: Complex) -> Complex {
        Complex(re: a.re * b.re - a.im * b.im, im: a.re * b.im + a.im * b.re)
    }
    var conjugate: Complex { Complex(re: re, im: -im) }
    /// e^{2 pi i numerator / denominator}, with the angle reduced exactly first.
    static func unitRoot(_ numerator: Int, _ denominator: Int) -> Complex {
        let k = ((numerator % denominator) + denominator) % denominator
        let angle = 2 * Double.pi * Double(k) / Double(denominator)
        return Complex(re: cos(angle), im: sin(angle))
    }
}

extension Array where Element == Double {
    subscript(complex i: Int) -> Complex {
        get { Complex(re: self[2 * i], im: self[2 * i + 1]) }
        set { self[2 * i] = newValue.re; self[2 * i + 1] = newValue.im }
    }
}

/// A truncated-spectrum geometry: real `[N, H, W, C]` tensors and `[M, N, C]`
/// spectra keeping rows `0..<m1` (block 0) and `H-m1..<H` (block 1), columns `0..<m2`.
struct SpectralGrid: CustomStringConvertible {
    var n, h, w, c, m1, m2: Int
    var modes: Int { 2 * m1 * m2 }
    var realCount: Int { n * h * w * c }
    var spectrumCount: Int { modes * n * c }
    var description: String { "N\(n) \(h)x\(w) C\(c) modes \(m1)x\(m2)" }

    /// Kept modes: index m = (block * m1 + r) * m2 + col, at frequency (kx, ky).
    var keptModes: [(m: Int, kx: Int, ky: Int)] {
        var result: [(Int, Int, Int)] = []
        for block in 0..<2 {
            for r in 0..<m1 {
                for col in 0..<m2 {
                    result.append(((block * m1 + r) * m2 + col, block == 0 ? r : h - m1 + r, col))
                }
            }
        }
        return result
    }

    func real(_ s: Int, _ y: Int, _ x: Int, _ ch: Int) -> Int { ((s * h + y) * w + x) * c + ch }
    func spectral(_ m: Int, _ s: Int, _ ch: Int) -> Int { (m * n + s) * c + ch }

    /// e^{+2 pi i (kx y / H + ky x / W)}.
    func phase(kx: Int, ky: Int, y: Int, x: Int) -> Complex {
        Complex.unitRoot(kx * y * w + ky * x * h, h * w)
    }
}

enum Reference {
    // MARK: Spectral

    /// Kept modes of the direct DFT `X[kx,ky] = sum x[h,w] e^{-2 pi i (kx h/H + ky w/W)}`.
    static func rfft2<T: BinaryFloatingPoint>(_ x: [T], _ g: SpectralGrid) -> [Double] {
        var out = [Double](repeating: 0, count: 2 * g.spectrumCount)
        for (m, kx, ky) in g.keptModes {
            for s in 0..<g.n {
                for ch in 0..<g.c {
                    var sum = Complex()
                    for y in 0..<g.h {
                        for xx in 0..<g.w {
                            let v = Double(x[g.real(s, y, xx, ch)])
                            let e = g.phase(kx: kx, ky: ky, y: y, x: xx).conjugate
                            sum = sum + Complex(re: v * e.re, im: v * e.im)
                        }
                    }
                    out[complex: g.spectral(m, s, ch)] = sum
                }
            }
        }
        return out
    }

    /// c2r semantics: with `A[h,ky] = sum_kx Y[kx,ky] e^{+2 pi i kx h/H}` over the kept rows,
    /// `y = (Re A[h,0] + Re A[h,W/2] (-1)^w + 2 sum_{0<ky<W/2} Re(A[h,ky] e^{2 pi i ky w/W})) / (H W)`.
    static func irfft2(_ spectrum: [Double], _ g: SpectralGrid) -> [Double] {
        var out = [Double](repeating: 0, count: g.realCount)
        let modes = g.keptModes
        for s in 0..<g.n {
            for ch in 0..<g.c {
                for y in 0..<g.h {
                    var a = [Complex](repeating: Complex(), count: g.m2)
                    for (m, kx, ky) in modes {
                        a[ky] = a[ky] + spectrum[complex: g.spectral(m, s, ch)] * Complex.unitRoot(kx * y, g.h)
                    }
                    for x in 0..<g.w {
                        var sum = a[0].re
                        for ky in 1..<g.m2 {
                            if 2 * ky == g.w {
                                sum += a[ky].re * (x % 2 == 0 ? 1 : -1)
                            } else {
                                sum += 2 * (a[ky] * Complex.unitRoot(ky * x, g.w)).re
                            }
                        }
                        out[g.real(s, y, x, ch)] = sum / Double(g.h * g.w)
                    }
                }
            }
        }
        return out
    }

    /// Gradient of `L(x) = sum_kept Re(G) Re(rfft2(x)) + Im(G) Im(rfft2(x))`:
    /// `dx[h,w] = Re(sum_k G_k e^{+2 pi i (kx h/H + ky w/W)})`.
    static func rfft2Gradient<T: BinaryFloatingPoint>(_ gradient: [T], _ g: SpectralGrid) -> [Double] {
        var out = [Double](repeating: 0, count: g.realCount)
        for s in 0..<g.n {
            for ch in 0..<g.c {
                for y in 0..<g.h {
                    for x in 0..<g.w {
                        var sum = 0.0
                        for (m, kx, ky) in g.keptModes {
                            let gk = Complex(re: Double(gradient[2 * g.spectral(m, s, ch)]),
                                             im: Double(gradient[2 * g.spectral(m, s, ch) + 1]))
                            sum += (gk * g.phase(kx: kx, ky: ky, y: y, x: x)).re
                        }
                        out[g.real(s, y, x, ch)] = sum
                    }
                }
            }
        }
        return out
    }

    /// Gradient of `L(Y) = sum g * irfft2(Y)`: `dY[k] = mult(ky) / (H W) * sum g[h,w] e^{-i theta}`,
    /// where columns 0 and W/2 count once and the interior columns, mirrored in a real signal, twice.
    static func irfft2Gradient<T: BinaryFloatingPoint>(_ gradient: [T], _ g: SpectralGrid) -> [Double] {
        var out = rfft2(gradient, g)
        for (m, _, ky) in g.keptModes {
            let scale = (ky == 0 || 2 * ky == g.w ? 1 : 2) / Double(g.h * g.w)
            for s in 0..<g.n {
                for ch in 0..<g.c {
                    let i = g.spectral(m, s, ch)
                    out[2 * i] *= scale; out[2 * i + 1] *= scale
                }
            }
        }
        return out
    }

    /// `values` as Doubles, by a loop: a closure such as `map(Double.init)` over the generic `T`
    /// captures its metatype, which Swift 6 wants Sendable.
    static func doubles<T: BinaryFloatingPoint>(_ values: [T]) -> [Double] {
        var out = [Double]()
        out.reserveCapacity(values.count)
        for v in values { out.append(Double(v)) }
        return out
    }

    /// `Y[m, n, o] = sum_i X[m, n, i] W[m, i, o]`.
    static func spectralMix<T: BinaryFloatingPoint>(_ x: [T], _ w: [T], modes: Int, batch: Int, ci: Int, co: Int) -> [Double] {
        let (x, w) = (doubles(x), doubles(w))
        var out = [Double](repeating: 0, count: 2 * modes * batch * co)
        for m in 0..<modes {
            for s in 0..<batch {
                for o in 0..<co {
                    var sum = Complex()
                    for i in 0..<ci { sum = sum + x[complex: (m * batch + s) * ci + i] * w[complex: (m * ci + i) * co + o] }
                    out[complex: (m * batch + s) * co + o] = sum
                }
            }
        }
        return out
    }

    /// `dX[m, n, i] = sum_o dY[m, n, o] conj(W[m, i, o])`.
    static func spectralMixGradInput<T: BinaryFloatingPoint>(_ dy: [T], _ w: [T], modes: Int, batch: Int, ci: Int, co: Int) -> [Double] {
        let (dy, w) = (doubles(dy), doubles(w))
        var out = [Double](repeating: 0, count: 2 * modes * batch * ci)
        for m in 0..<modes {
            for s in 0..<batch {
                for i in 0..<ci {
                    var sum = Complex()
                    for o in 0..<co {
                        sum = sum + dy[complex: (m * batch + s) * co + o] * w[complex: (m * ci + i) * co + o].conjugate
                    }
                    out[complex: (m * batch + s) * ci + i] = sum
                }
            }
        }
        return out
    }

    /// `dW[m, i, o] = sum_n conj(X[m, n, i]) dY[m, n, o]`.
    static func spectralMixGradWeight<T: BinaryFloatingPoint>(_ x: [T], _ dy: [T], modes: Int, batch: Int, ci: Int, co: Int) -> [Double] {
        let (x, dy) = (doubles(x), doubles(dy))
        var out = [Double](repeating: 0, count: 2 * modes * ci * co)
        for m in 0..<modes {
            for i in 0..<ci {
                for o in 0..<co {
                    var sum = Complex()
                    for s in 0..<batch {
                        sum = sum + x[complex: (m * batch + s) * ci + i].conjugate * dy[complex: (m * batch + s) * co + o]
                    }
                    out[complex: (m * ci + i) * co + o] = sum
                }
            }
        }
        return out
    }

    // MARK: Dense

    /// `y[r, j] = b[j] + sum_k x[r, k] w[k, j]` for `rows` rows.
    static func linear<T: BinaryFloatingPoint>(_ x: [T], _ w: [T], _ b: [T], rows: Int, k: Int, n: Int) -> [Double] {
        var out = [Double](repeating: 0, count: rows * n)
        for r in 0..<rows {
            for j in 0..<n {
                var sum = Double(b[j])
                for i in 0..<k { sum += Double(x[r * k + i]) * Double(w[i * n + j]) }
                out[r * n + j] = sum
            }
        }
        return out
    }

    /// `dx[r, i] = sum_j dy[r, j] w[i, j]`.
    static func linearGradInput<T: BinaryFloatingPoint>(_ dy: [T], _ w: [T], rows: Int, k: Int, n: Int) -> [Double] {
        var out = [Double](repeating: 0, count: rows * k)
        for r in 0..<rows {
            for i in 0..<k {
                var sum = 0.0
                for j in 0..<n { sum += Double(dy[r * n + j]) * Double(w[i * n + j]) }
                out[r * k + i] = sum
            }
        }
        return out
    }

    /// `dw[i, j] = sum_r x[r, i] dy[r, j]`.
    static func linearGradWeight<T: BinaryFloatingPoint>(_ x: [T], _ dy: [T], rows: Int, k: Int, n: Int) -> [Double] {
        var out = [Double](repeating: 0, count: k * n)
        for i in 0..<k {
            for j in 0..<n {
                var sum = 0.0
                for r in 0..<rows { sum += Double(x[r * k + i]) * Double(dy[r * n + j]) }
                out[i * n + j] = sum
            }
        }
        return out
    }

    /// Column sums of a `[rows, n]` matrix.
    static func sumRows<T: BinaryFloatingPoint>(_ dy: [T], rows: Int, n: Int) -> [Double] {
        (0..<n).map { j in (0..<rows).reduce(0.0) { $0 + Double(dy[$1 * n + j]) } }
    }

    /// `mlp`: `gelu(x w1 + b1) w2 + b2` for `rows` rows.
    static func mlp<T: BinaryFloatingPoint>(_ x: [T], _ w1: [T], _ b1: [T], _ w2: [T], _ b2: [T],
                                            rows: Int, k: Int, hidden: Int, n: Int) -> [Double] {
        let h = linear(x, w1, b1, rows: rows, k: k, n: hidden).map { gelu($0) }
        return linear(h, w2.map(Double.init), b2.map(Double.init), rows: rows, k: hidden, n: n)
    }

    /// `mlp_grad`: the gradients of `mlp(x, w1, b1, w2, b2)` for output gradient `dy`, packed in
    /// input order (dx, dw1, db1, dw2, db2), from the unfused rules in Double.
    static func mlpGrad<T: BinaryFloatingPoint>(_ dy: [T], _ x: [T], _ w1: [T], _ b1: [T], _ w2: [T],
                                                rows: Int, k: Int, hidden: Int, n: Int) -> [Double] {
        let (dy, x, w1, b1, w2) = (dy.map(Double.init), x.map(Double.init), w1.map(Double.init), b1.map(Double.init),
                                   w2.map(Double.init))
        let z = linear(x, w1, b1, rows: rows, k: k, n: hidden)
        let h = z.map { gelu($0) }
        let dz = zip(linearGradInput(dy, w2, rows: rows, k: hidden, n: n), z).map { $0 * geluDerivative($1) }
        let dx = linearGradInput(dz, w1, rows: rows, k: k, n: hidden)
        let dw1 = linearGradWeight(x, dz, rows: rows, k: k, n: hidden), db1 = sumRows(dz, rows: rows, n: hidden)
        return dx + dw1 + db1 + linearGradWeight(h, dy, rows: rows, k: hidden, n: n) + sumRows(dy, rows: rows, n: n)
    }

    // MARK: Elementwise

    static let geluScale = (2 / Double.pi).squareRoot()

    static func gelu<T: BinaryFloatingPoint>(_ x: T) -> Double {
        let x = Double(x)
        return 0.5 * x * (1 + tanh(geluScale * (x + 0.044715 * x * x * x)))
    }

    static func geluDerivative<T: BinaryFloatingPoint>(_ x: T) -> Double {
        let x = Double(x)
        let t = tanh(geluScale * (x + 0.044715 * x * x * x))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * geluScale * (1 + 3 * 0.044715 * x * x)
    }

    // MARK: Loss

    /// Per-sample `(||p - y||, ||y||)`.
    static func norms<T: BinaryFloatingPoint>(_ p: [T], _ y: [T], samples: Int) -> [(diff: Double, target: Double)] {
        let per = p.count / samples
        return (0..<samples).map { s in
            var d = 0.0, t = 0.0
            for i in (s * per)..<((s + 1) * per) {
                d += (Double(p[i]) - Double(y[i])) * (Double(p[i]) - Double(y[i]))
                t += Double(y[i]) * Double(y[i])
            }
            return (d.squareRoot(), t.squareRoot())
        }
    }

    /// `mean_n ||p_n - y_n|| / ||y_n||`.
    static func relativeL2Loss<T: BinaryFloatingPoint>(_ p: [T], _ y: [T], samples: Int) -> Double {
        norms(p, y, samples: samples).reduce(0) { $0 + $1.diff / $1.target } / Double(samples)
    }

    /// `dL * (p - y) / (N ||p_n - y_n|| ||y_n||)`.
    static func relativeL2LossGrad<T: BinaryFloatingPoint>(_ p: [T], _ y: [T], seed: T, samples: Int) -> [Double] {
        let per = p.count / samples, n = norms(p, y, samples: samples)
        return p.indices.map { i in
            let (d, t) = n[i / per]
            return Double(seed) * (Double(p[i]) - Double(y[i])) / (Double(samples) * d * t)
        }
    }

    // MARK: Optimizer

    /// One Adam step (torch.optim.Adam, L2 decay) or AdamW (decoupled decay).
    static func adam(param: [Float], grad: [Float], m: [Float], v: [Float], lr: Double, step: Double,
                     beta1: Double, beta2: Double, epsilon: Double, weightDecay: Double, decoupled: Bool)
        -> (param: [Double], m: [Double], v: [Double]) {
        var (p, mm, vv) = (param.map(Double.init), m.map(Double.init), v.map(Double.init))
        for i in p.indices {
            var g = Double(grad[i])
            if decoupled { p[i] *= 1 - lr * weightDecay } else { g += weightDecay * p[i] }
            mm[i] = beta1 * mm[i] + (1 - beta1) * g
            vv[i] = beta2 * vv[i] + (1 - beta2) * g * g
            let mHat = mm[i] / (1 - pow(beta1, step)), vHat = vv[i] / (1 - pow(beta2, step))
            p[i] -= lr * mHat / (vHat.squareRoot() + epsilon)
        }
        return (p, mm, vv)
    }
}
