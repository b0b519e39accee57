/// Branch-free float approximations that the loop vectorizer can turn into SIMD
/// code (Swift has no fast-math; libm calls block vectorization).
enum FastMath {
    /// e^x, relative error below 2e-7 for x in [-87, 88]; saturates outside.
    /// Rounds with the 1.5 * 2^23 trick and builds 2^k from bits, so no libm call or
    /// trapping conversion blocks vectorization.
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        var t = x * 1.442695041                                // x / ln 2
        t = t < -126 ? -126 : (t > 127 ? 127 : t)
        let shifted = t + 12_582_912                           // 1.5 * 2^23: rounds t to an integer
        let k = shifted - 12_582_912
        let f = (t - k) * 0.6931471806                         // |f| <= ln2 / 2
        // Taylor series of e^f to degree 7 (error < 3e-9 on |f| <= 0.347).
        var p: Float = 1.0 / 5040
        p = p * f + 1.0 / 720
        p = p * f + 1.0 / 120
        p = p * f + 1.0 / 24
        p = p * f + 1.0 / 6
        p = p * f + 0.5
        p = p * f + 1
        p = p * f + 1
        let exponent = (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23
        return p * Float(bitPattern: exponent)
    }

    /// tanh x as a rational function of x (odd degree-13 numerator over even degree-6
    /// denominator, the coefficients of Eigen's `generic_fast_tanh_float`), x clamped to
    /// +-7.90531 where it rounds to +-1, and x itself below 4e-4: relative error below 4e-7
    /// (checked against a double tanh over [-9, 9] in the op table tests). Branch-free
    /// selects only, so the loop vectorizes; NaN passes through.
    @inline(__always)
    static func tanh(_ x: Float) -> Float {
        let bound: Float = 7.90531110763549805
        let c = x < -bound ? -bound : (x > bound ? bound : x)
        let x2 = c * c
        var p: Float = -2.76076847742355e-16
        p = p * x2 + 2.00018790482477e-13
        p = p * x2 - 8.60467152213735e-11
        p = p * x2 + 5.12229709037114e-08
        p = p * x2 + 1.48572235717979e-05
        p = p * x2 + 6.37261928875436e-04
        p = p * x2 + 4.89352455891786e-03
        p = p * c
        var q: Float = 1.19825839466702e-06
        q = q * x2 + 1.18534705686654e-04
        q = q * x2 + 2.26843463243900e-03
        q = q * x2 + 4.89352518554385e-03
        let small = (x < 0 ? -x : x) < 0.0004
        return small ? x : p / q
    }

    static let geluScale: Float = 0.7978845608    // sqrt(2 / pi)
    static let geluCubic: Float = 0.044715

    /// GELU, tanh form, written as x * sigmoid(2u) with u = sqrt(2/pi) (x + 0.044715 x^3)
    /// (since (1 + tanh u) / 2 = sigmoid(2u)): one exp and one division (the sigmoid, which the derivative shares), no cancellation near 0.
    @inline(__always)
    static func gelu(_ x: Float) -> Float {
        let u = geluScale * (x + geluCubic * x * x * x)
        return x * (1 / (1 + exp(-2 * u)))
    }

    /// d gelu / dx of the tanh form: s + 2 x s (1 - s) u'(x), s = sigmoid(2u).
    @inline(__always)
    static func geluDerivative(_ x: Float) -> Float {
        let u = geluScale * (x + geluCubic * x * x * x)   // as gelu: one exp serves both (m2m_gelu_and_grad)
        let s = 1 / (1 + exp(-2 * u))
        return s + 2 * x * s * (1 - s) * geluScale * (1 + 3 * geluCubic * (x * x))
    }
}
