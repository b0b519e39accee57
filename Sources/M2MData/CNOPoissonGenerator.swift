import Foundation

/// The `cno-poisson` data set (DATA.md section 3, Raonic et al. 2023): -lap u = f on [0, 1]^2
/// with zero Dirichlet boundary, from closed-form sine series; no solver involved.
/// Grid: res points per side including both boundaries, x_m = m / (res - 1).
public struct CNOPoissonGenerator: SampleGenerator {
    public let count: Int
    public let res: Int
    /// Modes per direction K (16; 20 for the out-of-distribution set).
    public let modes: Int
    /// Exponent r of the (i^2 + j^2)^r weights.
    public let exponent: Double
    public let seed: UInt64
    public let kind = "cno-poisson"
    /// The most modes per direction K (`--modes`); a sample costs O(K^2 res + K res^2).
    public static let maxModes = 1024
    /// sin(pi i x_m) for i = 1...K (rows) and grid index m (columns).
    private let sines: [Double]

    public init(count: Int, res: Int = 64, modes: Int = 16, exponent: Double = -0.5, seed: UInt64 = 0) throws {
        guard count >= 1 else { throw DataError("--n", "need at least 1 sample, got \(count)") }
        guard res >= 3 else { throw DataError("--res", "must be >= 3, got \(res)") }
        guard modes >= 1 else { throw DataError("--modes", "must be >= 1, got \(modes)") }
        guard modes <= Self.maxModes else { throw DataError("--modes", "must be <= \(Self.maxModes), got \(modes)") }
        try SystemResources.requireMemory(SystemResources.checkedProduct([count, res, res, 2 * 4]),
                                          for: "the arrays f and u [\(count), \(res), \(res)]", subject: "--n/--res")
        // The sine table [modes, res] and each sample's [modes, res] partial sums and fields, in float64.
        try SystemResources.requireMemory(SystemResources.checkedProduct([res, max(res, modes), 8 * 8]),
                                          for: "a \(res)-point grid's workspaces", subject: "--res")
        self.count = count
        self.res = res
        self.modes = modes
        self.exponent = exponent
        self.seed = seed
        var sines = [Double](repeating: 0, count: modes * res)
        for i in 1...modes {
            for m in 0..<res { sines[(i - 1) * res + m] = sin(Double.pi * Double(i) * Double(m) / Double(res - 1)) }
        }
        self.sines = sines
    }

    public var arrays: [(name: String, sampleShape: [Int])] { [("f", [res, res]), ("u", [res, res])] }

    public var meta: [(String, MetaValue)] {
        [("kind", .string(kind)), ("n", .int(count)), ("res", .int(res)), ("seed", .int(Int(truncatingIfNeeded: seed))),
         ("modes", .int(modes)), ("r", .double(exponent)),
         ("equation", .string("-lap u = f on [0,1]^2, u = 0 on the boundary; f = pi/K^2 sum a_ij (i^2+j^2)^r sin(pi i x) sin(pi j y), a_ij ~ U[-1,1]")),
         ("grid", .string("x_m = m/(res-1), boundaries included")),
         ("layout", .string("f, u [n, y, x]"))]
    }

    public func makeWorkspace() {}

    /// a_ij ~ U[-1, 1] of sample `index` from stream (seed, index), at [(i - 1) * K + (j - 1)].
    public func coefficients(sample index: Int) -> [Double] {
        var rng = SeededGenerator(seed: seed, stream: UInt64(index))
        return (0..<(modes * modes)).map { _ in 2 * rng.nextUniform() - 1 }
    }

    /// f and u of the closed form at (x, y) for coefficients `a`: the reference the grid matches.
    public func evaluate(_ a: [Double], x: Double, y: Double) -> (f: Double, u: Double) {
        var f = 0.0, u = 0.0
        for i in 1...modes {
            for j in 1...modes {
                let w = Double(i * i + j * j)
                let s = a[(i - 1) * modes + (j - 1)] * sin(Double.pi * Double(i) * x) * sin(Double.pi * Double(j) * y)
                f += pow(w, exponent) * s
                u += pow(w, exponent - 1) * s
            }
        }
        let k2 = Double(modes * modes)
        return (Double.pi / k2 * f, u / (Double.pi * k2))
    }

    /// Separable evaluation on the grid: for each j, t_j(x) = sum_i a_ij w_ij sin(pi i x), then
    /// sum_j sin(pi j y) t_j(x); O(K^2 res + K res^2) per field.
    public func generate(sample index: Int, into outputs: [UnsafeMutablePointer<Float>], workspace: Void) throws {
        let a = coefficients(sample: index)
        let k2 = Double(modes * modes)
        for (output, shift, factor) in [(outputs[0], 0.0, Double.pi / k2), (outputs[1], -1.0, 1 / (Double.pi * k2))] {
            var t = [Double](repeating: 0, count: modes * res)
            for j in 1...modes {
                for i in 1...modes {
                    let weight = a[(i - 1) * modes + (j - 1)] * pow(Double(i * i + j * j), exponent + shift)
                    for m in 0..<res { t[(j - 1) * res + m] += weight * sines[(i - 1) * res + m] }
                }
            }
            for n in 0..<res {
                for m in 0..<res {
                    var v = 0.0
                    for j in 1...modes { v += sines[(j - 1) * res + n] * t[(j - 1) * res + m] }
                    output[n * res + m] = Float(factor * v)
                }
            }
        }
    }
}
