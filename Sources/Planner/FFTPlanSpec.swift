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

/// The transforms behind the truncated spectral ops, for one batch sample of a
/// channels-last `[H, W, C]` tile and a `[H, W/2+1, C]` complex workspace tile.
/// The H-direction transforms touch only the `modes2` kept columns (pruned FFT).
public struct SpectralTransforms: Sendable, Hashable, Codable {
    public var height: Int, width: Int, channels: Int, modes1: Int, modes2: Int

    public var halfWidth: Int { width / 2 + 1 }
    /// Complex elements of one sample's workspace tile.
    public var workspaceTileElements: Int { height * halfWidth * channels }

    public init(height: Int, width: Int, channels: Int, modes1: Int, modes2: Int) {
        self.height = height; self.width = width; self.channels = channels
        self.modes1 = modes1; self.modes2 = modes2
    }

    /// Whether every sample's tiles start on a 16-byte boundary (the arena aligns each
    /// buffer to 64 bytes): the real `[H, W, C]` tile (floats) and the complex
    /// `[H, W/2+1, C]` workspace tile. Odd sizes make every other sample 8 bytes off.
    public var samplesAligned: Bool { (height * width * channels) % 4 == 0 && workspaceTileElements % 2 == 0 }

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
