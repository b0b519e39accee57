/// The interpolation kernel of a `resample` op: how one axis of `n` samples becomes `m`
/// samples. A resample is separable, `Y = A_H X A_W^T` per sample and channel, with the
/// per-axis matrices `A = kernel.matrix(from: n, to: m)` built once when the kernel is
/// bound (never per step); its gradient is the transposed map `A_H^T dY A_W`.
///
/// A new kernel is a case here, its text name, its support and its matrix: the op, its
/// gradient, the executor and the planner need no change.
public enum ResampleKernel: Sendable, Hashable, CaseIterable {
    /// PyTorch's `F.interpolate(mode="bicubic", align_corners=True)` (no antialias), which
    /// neuraloperator's `resample` uses on 2-D fields: output sample `i` reads the source
    /// position `s = i (n - 1)/(m - 1)` (0 when `m = 1`) with Keys' cubic convolution
    /// (`A = -0.75`) on the four samples `floor(s) - 1 ... floor(s) + 2`, indices clamped
    /// to `0..<n` (the border sample repeated). Rows sum to 1; downsampling is plain
    /// sampling (no low-pass).
    case bicubic
    /// The CNO's anti-aliased resampling: a periodic windowed-sinc (Kaiser) low-pass at the
    /// coarser grid's rate (`ResampleKernel+WindowedSinc.swift`). Rows sum to 1; downsampling
    /// removes the frequencies the coarser grid cannot hold.
    case windowedSinc

    /// The name in the IR text form (`resample(%3) {kernel = bicubic, ...}`).
    public var name: String {
        switch self {
        case .bicubic: return "bicubic"
        case .windowedSinc: return "windowed_sinc"
        }
    }

    /// The most source samples one output sample reads along an axis of `n` samples resampled
    /// to `m` (the band width of its matrix, circular for a periodic kernel): what a resample costs.
    public func support(from n: Int, to m: Int) -> Int {
        switch self {
        case .bicubic: return min(4, n)
        case .windowedSinc:
            // Source samples (spacing 1/n) within the window of half width S = filter_size / (2 min(n, m)).
            return min(n, Self.sincFilterSize * n / min(n, m) + 1)
        }
    }

    public init?(name: String) {
        guard let kernel = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = kernel
    }

    /// The row-major `[m, n]` matrix taking `n` samples along one axis to `m`, in Double
    /// (the executor rounds it to Float once). `n, m >= 1`.
    public func matrix(from n: Int, to m: Int) -> [Double] {
        precondition(n >= 1 && m >= 1, "resample: sizes must be positive")
        var a = [Double](repeating: 0, count: m * n)
        switch self {
        case .windowedSinc:
            return Self.windowedSincMatrix(from: n, to: m)
        case .bicubic:
            // PyTorch's area_pixel_compute_scale with align_corners, then guard_index_and_lambda.
            let scale = m > 1 ? Double(n - 1) / Double(m - 1) : 0
            for i in 0..<m {
                let source = scale * Double(i)
                let index = min(Int(source.rounded(.down)), n - 1)
                let t = min(max(source - Double(index), 0), 1)
                let weights = Self.cubicWeights(t)
                for k in 0..<4 {
                    let j = min(max(index - 1 + k, 0), n - 1)
                    a[i * n + j] += weights[k]
                }
            }
        }
        return a
    }

    /// Keys' cubic convolution weights (`A = -0.75`, PyTorch's `get_cubic_upsample_coefficients`)
    /// of the samples at offsets -1, 0, 1, 2 from `floor(s)`, for the fraction `t = s - floor(s)`.
    static func cubicWeights(_ t: Double) -> [Double] {
        let a = -0.75
        func near(_ x: Double) -> Double { ((a + 2) * x - (a + 3)) * x * x + 1 }        // |x| <= 1
        func far(_ x: Double) -> Double { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }   // 1 < |x| < 2
        return [far(t + 1), near(t), near(1 - t), far(2 - t)]
    }
}
