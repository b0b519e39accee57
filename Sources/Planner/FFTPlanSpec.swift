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
///   so complex FFTs along W (FFTW's SIMD codelets, vectorized across the pairs) and along
///   H on the kept columns and their mirrors transform two channels at once into a
///   complex `[H, W, C/2]` workspace tile; each channel's spectrum is then
///   `(Z[k] +- conj Z[-k]) / 2` (`Kernels+SpectralPaired.swift`). 2.3x faster than the
///   r2c layout for fno-ns64's forward transform (measured, Benchmarks README).
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

    /// Floats of one sample's FFTW-form workspace tile: `[H, W, C/2]` complex when pairing
    /// channels, else `[H, W/2+1, C]` complex.
    public var fftwTileFloats: Int { pairsChannels ? height * width * channels : 2 * workspaceTileElements }

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

    /// Paired layout: complex FFT along W of the `C/2` channel pairs, out of place between
    /// the real tile read as complex `[H, W, C/2]` and the workspace tile (forward: tile ->
    /// workspace; backward: workspace -> tile).
    public func pairedAlongW(forward: Bool) -> FFTPlanSpec {
        let pairs = channels / 2
        return FFTPlanSpec(kind: forward ? .complexForward : .complexBackward, dims: [.init(width, pairs, pairs)],
                           loops: [.init(height, width * pairs, width * pairs), .init(pairs, 1, 1)], inPlace: false,
                           unaligned: !samplesAligned)
    }

    /// The columns the paired layout transforms along H: `(first column, count)` of each
    /// block, the kept columns `0..<modes2` and their mirrors `W - modes2 + 1 ..< W`
    /// (the block starts one column early, at `W - modes2`, so both blocks have one
    /// shape); one block of all W columns when the two would overlap.
    public var pairedColumnBlocks: [(first: Int, count: Int)] {
        2 * modes2 <= width ? [(0, modes2), (width - modes2, modes2)] : [(0, width)]
    }

    /// Paired layout: complex FFT along H, in place in the workspace, on `pairedColumnBlocks`.
    public func pairedAlongH(forward: Bool) -> FFTPlanSpec {
        let pairs = channels / 2, rowStride = width * pairs, blocks = pairedColumnBlocks
        let blockStride = blocks.count == 2 ? blocks[1].first * pairs : 0
        return FFTPlanSpec(kind: forward ? .complexForward : .complexBackward, dims: [.init(height, rowStride, rowStride)],
                           loops: [.init(blocks.count, blockStride, blockStride), .init(blocks[0].count * pairs, 1, 1)],
                           inPlace: true, unaligned: !samplesAligned)
    }

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
