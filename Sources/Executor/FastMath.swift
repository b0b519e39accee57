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

    /// tanh(x) = sign(x) (1 - e) / (1 + e) with e = exp(-2|x|); absolute error below 3e-7.
    @inline(__always)
    static func tanh(_ x: Float) -> Float {
        let e = exp(-2 * abs(x))
        let t = (1 - e) / (1 + e)
        return x < 0 ? -t : t
    }

    static let geluScale: Float = 0.7978845608    // sqrt(2 / pi)
    static let geluCubic: Float = 0.044715

    /// GELU, tanh form.
    @inline(__always)
    static func gelu(_ x: Float) -> Float {
        let t = tanh(geluScale * (x + geluCubic * x * x * x))
        return 0.5 * x * (1 + t)
    }

    /// d gelu / dx of the tanh form.
    @inline(__always)
    static func geluDerivative(_ x: Float) -> Float {
        let t = tanh(geluScale * (x + geluCubic * x * x * x))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * geluScale * (1 + 3 * geluCubic * x * x)
    }
}
