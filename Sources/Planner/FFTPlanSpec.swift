import GraphIR

/// One strided FFTW transform, described by FFTW's guru interface: transform
/// dimensions and loop ("howmany") dimensions, each `(n, input stride, output stride)`
/// in elements of the respective array's type.
public struct FFTPlanSpec: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        case realToComplex, complexToReal, complexForward, complexBackward
    }
    public struct Dim: Sendable, Hashable, Codable {
        public var n: Int, inputStride: Int, outputStride: Int
        public init(_ n: Int, _ inputStride: Int, _ outputStride: Int) {
            self.n = n; self.inputStride = inputStride; self.outputStride = outputStride
        }
    }
    public var kind: Kind
    public var dims: [Dim]
    public var loops: [Dim]
    /// In-place transforms read and write the same array.
    public var inPlace: Bool
    /// Planned with `FFTW_UNALIGNED`: the arrays it is executed on (per-sample tiles) are
    /// not all on the 16-byte boundary FFTW's SIMD codelets may assume.
    public var unaligned: Bool

    public init(kind: Kind, dims: [Dim], loops: [Dim], inPlace: Bool, unaligned: Bool = false) {
        (self.kind, self.dims, self.loops, self.inPlace, self.unaligned) = (kind, dims, loops, inPlace, unaligned)
    }

    enum CodingKeys: String, CodingKey { case kind, dims, loops, inPlace, unaligned }

    /// Plans stored before `unaligned` existed read as aligned.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(kind: try c.decode(Kind.self, forKey: .kind), dims: try c.decode([Dim].self, forKey: .dims),
                  loops: try c.decode([Dim].self, forKey: .loops), inPlace: try c.decode(Bool.self, forKey: .inPlace),
                  unaligned: try c.decodeIfPresent(Bool.self, forKey: .unaligned) ?? false)
    }

    /// Elements the input and output arrays must hold (of their own type).
    public var inputElements: Int { Self.extent(dims + loops, \.inputStride) }
    public var outputElements: Int { Self.extent(dims + loops, \.outputStride) }

    private static func extent(_ d: [Dim], _ stride: KeyPath<Dim, Int>) -> Int {
        d.reduce(1) { $0 + ($1.n - 1) * $1[keyPath: stride] }
    }

    public var description: String {
        let f = { (d: [Dim]) in d.map { "\($0.n):\($0.inputStride)/\($0.outputStride)" }.joined(separator: ",") }
        return "\(kind.rawValue) dims[\(f(dims))] loops[\(f(loops))]\(inPlace ? " in-place" : "")\(unaligned ? " unaligned" : "")"
    }
}

/// The transforms behind the truncated spectral ops (the FFTW form), for one batch sample
/// of a channels-last `[H, W, C]` tile. Two layouts, chosen by the channel count:
/// - even C (`pairsChannels`): channels `2j` and `2j + 1` are read as the real and
///   imaginary parts of one complex signal (the tile *is* a complex `[H, W, C/2]` array),
///   so complex FFTs along W (row by row; FFTW's SIMD codelets, vectorized across the
///   pairs) and along H on the K kept columns and their mirrors transform two channels at
///   once; each channel's spectrum is then `(Z[k] +- conj Z[-k]) / 2`
///   (`Kernels+SpectralPaired.swift`). About 2x faster than the r2c layout for fno-ns64's
///   transforms (measured, Benchmarks README).
/// - odd C: r2c along W into a `[H, W/2+1, C]` complex workspace tile, then complex FFTs
///   along H on the `modes2` kept columns only.
/// Either way the H-direction transforms touch only the columns they need (pruned FFT).
public struct SpectralTransforms: Sendable, Hashable, Codable {
    public var height: Int, width: Int, channels: Int, modes1: Int, modes2: Int

    public var halfWidth: Int { width / 2 + 1 }
    /// Complex elements of one sample's workspace tile in the r2c layout (odd C).
    public var workspaceTileElements: Int { height * halfWidth * channels }

    /// Whether the FFTW form transforms channel pairs as complex signals (even C).
    public var pairsChannels: Bool { channels % 2 == 0 }

    /// Floats of one sample's FFTW-form workspace tile: a complex `[W, C/2]` row buffer and
    /// the compact complex `[H, K, C/2]` columns when pairing channels, else complex
    /// `[H, W/2+1, C]`.
    public var fftwTileFloats: Int { pairsChannels ? channels * (width + height * pairedColumns) : 2 * workspaceTileElements }

    public init(height: Int, width: Int, channels: Int, modes1: Int, modes2: Int) {
        self.height = height; self.width = width; self.channels = channels
        self.modes1 = modes1; self.modes2 = modes2
    }

    /// Whether every sample's tiles start on a 16-byte boundary (the arena aligns each
    /// buffer to 64 bytes): the real `[H, W, C]` tile (floats) and the FFTW-form workspace
    /// tile. Odd sizes make every other sample 8 bytes off.
    public var samplesAligned: Bool { (height * width * channels) % 4 == 0 && fftwTileFloats % 4 == 0 }

    /// The FFTW plans of each direction: forward (x -> kept modes) and inverse.
    public var fftwForwardSpecs: [FFTPlanSpec] {
        pairsChannels ? [pairedAlongW(forward: true), pairedAlongH(forward: true)]
                      : [realToComplexW, complexH(forward: true)]
    }
    public var fftwInverseSpecs: [FFTPlanSpec] {
        pairsChannels ? [pairedAlongH(forward: false), pairedAlongW(forward: false)]
                      : [complexH(forward: false), complexToRealW]
    }

    /// Paired layout: complex FFT along W of one row's `C/2` channel pairs, out of place
    /// between a row of the real tile read as complex `[W, C/2]` and the workspace's row
    /// buffer (forward: tile row -> buffer; backward: buffer -> tile row), one call per row
    /// so that only the columns kept along H leave the cache.
    public func pairedAlongW(forward: Bool) -> FFTPlanSpec {
        let pairs = channels / 2
        return FFTPlanSpec(kind: forward ? .complexForward : .complexBackward, dims: [.init(width, pairs, pairs)],
                           loops: [.init(pairs, 1, 1)], inPlace: false, unaligned: !samplesAligned)
    }

    /// Paired layout: complex FFT along H, in place, on the compact `[H, K, C/2]` columns.
    public func pairedAlongH(forward: Bool) -> FFTPlanSpec {
        let row = pairedColumns * (channels / 2)
        return FFTPlanSpec(kind: forward ? .complexForward : .complexBackward, dims: [.init(height, row, row)],
                           loops: [.init(row, 1, 1)], inPlace: true, unaligned: !samplesAligned)
    }

    /// Columns K the paired layout keeps after the W transform: the kept columns
    /// `0..<modes2` and their mirrors `W - modes2 + 1 ..< W` (`2 modes2 - 1`), or all W
    /// when those cover the row.
    public var pairedColumns: Int { min(2 * modes2 - 1, width) }
    /// The kept block's low columns `0..<pairedLowColumns`; the rest are the row's last
    /// `pairedColumns - pairedLowColumns` columns.
    public var pairedLowColumns: Int { pairedColumns == width ? width : modes2 }
    /// The compact column of frequency column `f` (one of the K kept).
    @inline(__always) public func pairedColumn(of f: Int) -> Int { f < pairedLowColumns ? f : f - (width - pairedColumns) }

    /// r2c along W: real tile -> workspace.
    public var realToComplexW: FFTPlanSpec {
        let c = channels
        return FFTPlanSpec(kind: .realToComplex, dims: [.init(width, c, c)],
                           loops: [.init(height, width * c, halfWidth * c), .init(c, 1, 1)], inPlace: false,
                           unaligned: !samplesAligned)
    }
    /// c2r along W: workspace -> real tile (destroys the workspace).
    public var complexToRealW: FFTPlanSpec {
        let c = channels
        return FFTPlanSpec(kind: .complexToReal, dims: [.init(width, c, c)],
                           loops: [.init(height, halfWidth * c, width * c), .init(c, 1, 1)], inPlace: false,
                           unaligned: !samplesAligned)
    }
    /// Complex FFT along H over the kept columns, in place in the workspace.
    public func complexH(forward: Bool) -> FFTPlanSpec {
        let c = channels, rowStride = halfWidth * c
        return FFTPlanSpec(kind: forward ? .complexForward : .complexBackward, dims: [.init(height, rowStride, rowStride)],
                           loops: [.init(modes2, c, c), .init(c, 1, 1)], inPlace: true, unaligned: !samplesAligned)
    }
}
