import Foundation

/// The `mscale` data set (DATA.md section 2): periodic -lap u = f where f is a sum of smooth
/// bumps, each carrying a random Fourier series of its own frequency band, so different regions
/// of one sample oscillate at different scales.
public struct MultiScalePoissonGenerator: SampleGenerator {
    public let count: Int
    public let res: Int
    /// Number of bump regions J.
    public let bumps: Int
    public let seed: UInt64
    public let kind = "mscale"
    /// The most bump regions J (`--bumps`); each costs a grid synthesis per sample.
    public static let maxBumps = 1000

    /// Band tops K_j are drawn from these; each band is [K/2, K] in |k|, capped at Nyquist.
    public static let bandTops = [2, 4, 8, 16, 32]
    /// Bump widths sigma_j are uniform in this range.
    public static let widthRange = 0.08...0.2

    public init(count: Int, res: Int = 64, bumps: Int = 4, seed: UInt64 = 0) throws {
        guard count >= 1 else { throw DataError("--n", "need at least 1 sample, got \(count)") }
        guard res >= 8 && res % 2 == 0 else { throw DataError("--res", "must be even and >= 8, got \(res)") }
        guard bumps >= 1 else { throw DataError("bumps", "need at least 1 region, got \(bumps)") }
        guard bumps <= Self.maxBumps else { throw DataError("--bumps", "must be <= \(Self.maxBumps) regions, got \(bumps)") }
        try SystemResources.requireMemory(SystemResources.checkedProduct([count, res, res, 2 * 4]),
                                          for: "the arrays f and u [\(count), \(res), \(res)]", subject: "--n/--res")
        // Each thread's spectral grid and per-sample fields: a few float64 grids (at most 16 bytes a point).
        try SystemResources.requireMemory(SystemResources.checkedProduct([res, res, 16 * 8]),
                                          for: "a \(res) x \(res) grid's workspaces", subject: "--res")
        self.count = count
        self.res = res
        self.bumps = bumps
        self.seed = seed
    }

    public var arrays: [(name: String, sampleShape: [Int])] { [("f", [res, res]), ("u", [res, res])] }

    public var meta: [(String, MetaValue)] {
        [("kind", .string(kind)), ("n", .int(count)), ("res", .int(res)), ("seed", .int(Int(truncatingIfNeeded: seed))),
         ("bumps", .int(bumps)), ("band_tops", .string(MultiScalePoissonGenerator.bandTops.map(String.init).joined(separator: ","))),
         ("bump_width", .string("\(MultiScalePoissonGenerator.widthRange.lowerBound)..\(MultiScalePoissonGenerator.widthRange.upperBound)")),
         ("equation", .string("-lap u = f, periodic unit square, mean(f) = mean(u) = 0, u by spectral division")),
         ("layout", .string("f, u [n, y, x]"))]
    }

    public func makeWorkspace() -> SpectralGrid { SpectralGrid(size: res) }

    /// Draws the J regions of sample `index` from stream (seed, index), builds f on the grid,
    /// removes its mean and solves for u spectrally.
    public func generate(sample index: Int, into outputs: [UnsafeMutablePointer<Float>], workspace grid: SpectralGrid) throws {
        var rng = SeededGenerator(seed: seed, stream: UInt64(index))
        let n = res
        let coefficients = SpectralGrid.allocate(2 * grid.modes)
        let series = SpectralGrid.allocate(n * n)
        let f = SpectralGrid.allocate(n * n)
        defer { for p in [coefficients, series, f] { SpectralGrid.free(p) } }
        for _ in 0..<bumps {
            let top = min(MultiScalePoissonGenerator.bandTops[rng.nextInt(below: MultiScalePoissonGenerator.bandTops.count)], n / 2)
            let width = MultiScalePoissonGenerator.widthRange.lowerBound
                + (MultiScalePoissonGenerator.widthRange.upperBound - MultiScalePoissonGenerator.widthRange.lowerBound) * rng.nextUniform()
            let (cx, cy) = (rng.nextUniform(), rng.nextUniform())
            drawBand(top: top, into: coefficients, grid: grid, rng: &rng)
            grid.synthesize(coefficients, into: series)
            for r in 0..<n {
                for c in 0..<n {
                    let b = MultiScalePoissonGenerator.bump(x: Double(c) / Double(n), y: Double(r) / Double(n), cx: cx, cy: cy, width: width)
                    f[r * n + c] += b * series[r * n + c]
                }
            }
        }
        // f_h with the mean removed, then u_h = f_h / |2 pi k|^2.
        grid.transform(f, into: coefficients)
        coefficients[0] = 0
        coefficients[1] = 0
        grid.synthesize(coefficients, into: f)
        for r in 0..<n {
            for c in 0..<grid.columns {
                let m = r * grid.columns + c
                let k2 = grid.kx[c] * grid.kx[c] + grid.ky[r] * grid.ky[r]
                let inv = k2 > 0 ? 1 / k2 : 0
                coefficients[2 * m] *= inv
                coefficients[2 * m + 1] *= inv
            }
        }
        grid.synthesize(coefficients, into: series)
        for j in 0..<(n * n) {
            outputs[0][j] = Float(f[j])
            outputs[1][j] = Float(series[j])
        }
    }

    /// Random real Fourier series with N(0, 1) coefficients on the modes K/2 <= |k| <= K
    /// (below Nyquist), scaled to unit mean square (Parseval: sum over all k of |c_k|^2 = 1).
    private func drawBand(top: Int, into coefficients: UnsafeMutablePointer<Double>, grid: SpectralGrid,
                          rng: inout SeededGenerator) {
        coefficients.update(repeating: 0, count: 2 * grid.modes)
        let limit = grid.size / 2
        var power = 0.0
        for kx in 0..<limit {
            for ky in (1 - limit)..<limit where kx > 0 || ky > 0 {
                let norm = Double(kx * kx + ky * ky).squareRoot()
                guard norm >= Double(top) / 2 && norm <= Double(top) else { continue }
                let (re, im) = (rng.nextGaussian(), rng.nextGaussian())
                grid.setHermitian(coefficients, kx: kx, ky: ky, re: re, im: im)
                power += 2 * (re * re + im * im)  // c_k and its mirror c_-k
            }
        }
        let scale = 1 / power.squareRoot()
        for j in 0..<(2 * grid.modes) { coefficients[j] *= scale }
    }

    /// Periodic Gaussian bump: the sum of the 3 x 3 nearest periodic images of
    /// exp(-|x - c|^2 / (2 width^2)), smooth across the boundary (farther images are < 1e-12).
    static func bump(x: Double, y: Double, cx: Double, cy: Double, width: Double) -> Double {
        var total = 0.0
        for i in -1...1 {
            for j in -1...1 {
                let dx = x - cx + Double(i), dy = y - cy + Double(j)
                total += exp(-(dx * dx + dy * dy) / (2 * width * width))
            }
        }
        return total
    }
}
