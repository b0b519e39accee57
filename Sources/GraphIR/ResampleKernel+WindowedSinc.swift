import Foundation

/// The CNO's anti-aliased resampling (Raonic et al. 2023, whose filters are StyleGAN3's):
/// a low-pass windowed sinc at the lower of the two grids' rates, with the authors' defaults.
extension ResampleKernel {
    /// The cutoff is the lower grid's size over this (just below its Nyquist frequency).
    public static let sincCutoffDenominator = 2.0001
    /// The transition band's half width is `this x size - cutoff` (CNO's `half_width_mult`).
    public static let sincHalfWidthMultiplier = 0.8
    /// Filter taps per sample of the lower grid (CNO's `filter_size`).
    public static let sincFilterSize = 6

    /// The periodic windowed-sinc resampling matrix `[m, n]`. On the unit period, input sample
    /// `a` sits at `a / n` and output sample `i` at `i / m`; with `s = min(n, m)`,
    ///
    ///     A[i, a] ~ sum over periodic images k of  h(i/m - a/n - k)
    ///     h(t) = 2 fc sinc(2 fc t) kaiser(t / L),   fc = s / 2.0001,  L = filter_size / (2 s)
    ///
    /// each row then divided by its sum (unit gain at DC, as `scipy.signal.firwin` scales its
    /// taps). The Kaiser window's beta is `scipy.signal.firwin`'s for `filter_size x (max/min)`
    /// taps at the higher rate and a transition band `2 (0.8 s - fc)` wide (CNO's
    /// `design_lowpass_filter`). Upsampling interpolates below the input's Nyquist frequency;
    /// downsampling low-passes below the output's, so no frequency aliases.
    static func windowedSincMatrix(from n: Int, to m: Int) -> [Double] {
        let low = Double(min(n, m)), high = Double(max(n, m))
        let cutoff = low / sincCutoffDenominator
        let halfWidth = sincHalfWidthMultiplier * low - cutoff
        let taps = Double(sincFilterSize) * (high / low).rounded()
        let support = Double(sincFilterSize) / (2 * low)
        let beta = kaiserBeta(taps: taps, width: 2 * halfWidth, rate: high)
        var a = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            var sum = 0.0
            for j in 0..<n {
                let d = Double(i) / Double(m) - Double(j) / Double(n)
                var value = 0.0
                // Every periodic image of the source sample within the filter's support.
                var k = (d - support).rounded(.up)
                while k <= d + support {
                    let t = d - k
                    value += 2 * cutoff * sinc(2 * cutoff * t) * kaiser(t / support, beta: beta)
                    k += 1
                }
                a[i * n + j] = value
                sum += value
            }
            for j in 0..<n { a[i * n + j] /= sum }
        }
        return a
    }

    /// `sin(pi x) / (pi x)`, 1 at 0.
    static func sinc(_ x: Double) -> Double { x == 0 ? 1 : Foundation.sin(Double.pi * x) / (Double.pi * x) }

    /// The Kaiser window on `[-1, 1]`: `I0(beta sqrt(1 - r^2)) / I0(beta)`, 0 outside.
    static func kaiser(_ r: Double, beta: Double) -> Double {
        guard abs(r) <= 1 else { return 0 }
        return besselI0(beta * (1 - r * r).squareRoot()) / besselI0(beta)
    }

    /// `scipy.signal.kaiser_beta(kaiser_atten(taps, width / (rate / 2)))`.
    static func kaiserBeta(taps: Double, width: Double, rate: Double) -> Double {
        let attenuation = 2.285 * (taps - 1) * Double.pi * (width / (rate / 2)) + 7.95
        if attenuation > 50 { return 0.1102 * (attenuation - 8.7) }
        if attenuation > 21 { return 0.5842 * pow(attenuation - 21, 0.4) + 0.07886 * (attenuation - 21) }
        return 0
    }

    /// The modified Bessel function of the first kind, order 0 (its power series).
    static func besselI0(_ x: Double) -> Double {
        var sum = 1.0, term = 1.0, k = 1.0
        while term > 1e-17 * sum {
            term *= (x / (2 * k)) * (x / (2 * k))
            sum += term
            k += 1
        }
        return sum
    }
}
