import Foundation

/// Seeded SplitMix64 generator: reproducible on every machine, so data sets, shuffles and
/// weight initialisation depend only on the seed (never on the platform's RNG).
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    /// A generator for `seed`.
    public init(seed: UInt64) {
        state = SeededGenerator.mix(seed)
    }

    /// An independent stream `stream` of `seed` (e.g. one per sample), so sample i does not
    /// depend on how many samples were drawn before it.
    public init(seed: UInt64, stream: UInt64) {
        state = SeededGenerator.mix(seed ^ SeededGenerator.mix(stream &+ 0x632B_E59B_D9B4_E019))
    }

    /// Next 64 random bits (SplitMix64).
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SeededGenerator.mix(state)
    }

    /// Uniform Double in [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Standard normal Double by Box-Muller (one of the pair is used, keeping the state small).
    public mutating func nextGaussian() -> Double {
        let u1 = Double((next() >> 11) + 1) * 0x1p-53  // (0, 1]: log is finite
        let u2 = nextUniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Uniform integer in 0..<bound without modulo bias (Lemire's method), defined here rather
    /// than by the standard library so the sequence never changes with the toolchain.
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let n = UInt64(bound)
        var m = next().multipliedFullWidth(by: n)
        if m.low < n {
            let threshold = (0 &- n) % n
            while m.low < threshold { m = next().multipliedFullWidth(by: n) }
        }
        return Int(m.high)
    }

    /// In-place Fisher-Yates shuffle; allocates nothing, so a training loop may call it per epoch.
    public mutating func shuffle(_ values: UnsafeMutableBufferPointer<Int>) {
        var i = values.count - 1
        while i > 0 {
            values.swapAt(i, nextInt(below: i + 1))
            i -= 1
        }
    }

    /// In-place Fisher-Yates shuffle of an array (no allocation when the array is uniquely held).
    public mutating func shuffle(_ values: inout [Int]) {
        values.withUnsafeMutableBufferPointer { shuffle($0) }
    }

    /// SplitMix64 finaliser: a bijective 64-bit mix.
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
