/// Branch-free float approximations that the loop vectorizer can turn into SIMD
/// code (Swift has no fast-math; libm calls block vectorization).
enum FastMath {
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

    /// 2^t for t in [-126, 127]: 2^k by the 1.5 * 2^23 rounding trick, then 2^g on |g| <= 1/2 as
    /// a degree-6 polynomial fitted to the relative error of 2^g (below 2e-9 in exact arithmetic),
    /// evaluated in Estrin's scheme (a dependency chain half as long as Horner's) with fused
    /// multiply-adds; 2^k is added to p's exponent field (exact where the result is normal; below
    /// 2^-125 the result only meets 1 + e, which rounds to 1 either way). The C kernels
    /// (`kernels_body.h`) compute the same operations. No libm call or trapping conversion.
    @inline(__always)
    static func exp2Clamped(_ t: Float) -> Float {
        let shifted = t + 12_582_912                           // 1.5 * 2^23: rounds t to an integer
        let k = shifted - 12_582_912
        let g = t - k
        let g2 = g * g, g4 = g2 * g2
        let q01 = Float(1).addingProduct(0.6931471825, g)
        let q23 = Float(0.2402264625).addingProduct(0.05550328642, g)
        let q45 = Float(0.009618483484).addingProduct(0.001339994371, g)
        let p = q01.addingProduct(g2, q23).addingProduct(g4, q45.addingProduct(g2, 0.0001534728071))
        return Float(bitPattern: p.bitPattern &+ (shifted.bitPattern &<< 23))   // 0x4B40_0000 << 23 wraps to 0
    }

    /// sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3), the factor GELU and its derivative share:
    /// 1 / (1 + 2^t) with t = -2u / ln 2 = x (a + b x^2), clamped to [-126, 127].
    @inline(__always)
    static func geluSigmoid(_ x: Float) -> Float {
        var t = x * Float(-2.302208198).addingProduct(-0.1029432396, x * x)   // a = -2 sqrt(2/pi) / ln 2, b = 0.044715 a
        t = t > -126 ? t : -126   // max then min (a NaN becomes -126; gelu still returns the NaN of x)
        t = t < 127 ? t : 127
        return 1 / (1 + exp2Clamped(t))
    }

    /// GELU, tanh form, written as x * sigmoid(2u) (since (1 + tanh u) / 2 = sigmoid(2u)):
    /// no cancellation near 0.
    @inline(__always)
    static func gelu(_ x: Float) -> Float { x * geluSigmoid(x) }

    /// d gelu / dx of the tanh form: s + 2 x s (1 - s) u'(x), s = sigmoid(2u), computed as
    /// s + h (1 - s) (2 sqrt(2/pi) + 6 sqrt(2/pi) 0.044715 x^2) with h = x s = gelu(x).
    @inline(__always)
    static func geluDerivative(_ x: Float) -> Float {
        let s = geluSigmoid(x)
        return s.addingProduct(x * s * (1 - s), Float(1.5957691216).addingProduct(0.2140644488, x * x))
    }
}
