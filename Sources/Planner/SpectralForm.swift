import GraphIR

/// How a truncated spectral transform is computed: FFTW's pruned FFTs, or two dense
/// real products with DFT matrices that keep only the `2 m1 x m2` modes (`sgemm`).
public enum SpectralForm: String, Sendable, Hashable, Codable, CaseIterable {
    case fftw, gemm
}

/// Which forms the planner may pick (`m2mc compile --spectral-transform`): `auto` times
/// both for each transform at compile time and keeps the faster; `fftw` and `gemm` force
/// one form for every transform (the GEMM form does not depend on FFTW's codelets).
public enum SpectralTransformMode: String, Sendable, Hashable, Codable, CaseIterable {
    case auto, fftw, gemm
}

/// One truncated transform a program executes: its geometry and direction. The forward
/// direction (x -> kept modes) serves rfft2 and irfft2_grad, the inverse irfft2 and
/// rfft2_grad (each gradient is the transpose of the other direction's products).
public struct SpectralTransform: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public enum Direction: String, Sendable, Hashable, Codable { case forward, inverse }
    public var geometry: SpectralTransforms
    public var direction: Direction

    public init(_ geometry: SpectralTransforms, _ direction: Direction) {
        (self.geometry, self.direction) = (geometry, direction)
    }

    public var description: String {
        let g = geometry
        return "\(direction.rawValue) \(g.height)x\(g.width)x\(g.channels) modes \(g.modes1)x\(g.modes2)"
    }

    public static func < (a: Self, b: Self) -> Bool {
        let ka = [a.geometry.height, a.geometry.width, a.geometry.channels, a.geometry.modes1, a.geometry.modes2,
                  a.direction == .forward ? 0 : 1]
        let kb = [b.geometry.height, b.geometry.width, b.geometry.channels, b.geometry.modes1, b.geometry.modes2,
                  b.direction == .forward ? 0 : 1]
        return ka.lexicographicallyPrecedes(kb)
    }

    /// The FFTW plans the FFTW form of this transform executes.
    public var fftSpecs: [FFTPlanSpec] {
        switch direction {
        case .forward: return geometry.fftwForwardSpecs
        case .inverse: return geometry.fftwInverseSpecs
        }
    }
}

extension SpectralTransforms {
    /// Floats of the GEMM form's DFT matrices (made once at bind time, shared by both
    /// directions): along W the twice folded cosines and sines, `m2 W / 2` floats, twice
    /// (forward, and the inverse's scaled ones), along H the folded cosines of frequencies
    /// `0 ... m1` `[m1 + 1, H/2 + 1]` and sines of `1 ... m1` `[m1, (H-1)/2]`, and the
    /// transpose of each.
    public var gemmTableFloats: Int { 2 * (modes2 * width + (modes1 + 1) * (height / 2 + 1) + modes1 * ((height - 1) / 2)) }

    /// Whether the GEMM form's H-stage cosine sums `[m1 + 1, 2 m2 C]` fit in the place of
    /// the W stage's folded odd rows `[(H-1)/2, 2 m2 C]`, dead once the sine sums are made.
    public var cosineSumsFitOddRows: Bool { modes1 + 1 <= (height - 1) / 2 }

    /// Floats of one sample's GEMM workspace: the W stage's rows `[H, 2 m2 C]`, then the H
    /// stage's sine sums `[m1, 2 m2 C]` (and its cosine sums `[m1 + 1, 2 m2 C]` unless they
    /// fit in the W stage's odd rows), or the folded image row `[W, C]` if larger.
    public var gemmTileFloats: Int {
        let row = 2 * modes2 * channels
        let sums = (modes1 + (cosineSumsFitOddRows ? 0 : modes1 + 1)) * row
        return height * row + max(sums, width * channels)
    }

    /// Floats of one sample's workspace tile in either form (the larger of the two).
    public var workspaceTileFloats: Int { max(fftwTileFloats, gemmTileFloats) }
}

/// The form chosen for each transform, with the compile-time timings that decided it
/// (stored in the `.m2m` file next to the FFTW wisdom).
public struct SpectralChoice: Sendable, Hashable, Codable {
    public var transform: SpectralTransform
    public var form: SpectralForm
    /// Seconds per sample of each form as measured at compile time (nil when not timed).
    public var fftwSeconds: Double?
    public var gemmSeconds: Double?

    public init(_ transform: SpectralTransform, _ form: SpectralForm, fftwSeconds: Double? = nil,
                gemmSeconds: Double? = nil) {
        (self.transform, self.form, self.fftwSeconds, self.gemmSeconds) = (transform, form, fftwSeconds, gemmSeconds)
    }
}

/// Every transform's form for a model (or a lone program).
public struct SpectralForms: Sendable, Hashable, Codable {
    public var mode: SpectralTransformMode
    /// One choice per transform, sorted by transform.
    public var choices: [SpectralChoice]

    public init(mode: SpectralTransformMode, choices: [SpectralChoice]) {
        self.mode = mode
        self.choices = choices.sorted { $0.transform < $1.transform }
    }

    /// One form for every transform, whatever transforms there are (tests, and programs
    /// bound without a compiled model).
    public static func everywhere(_ form: SpectralForm) -> SpectralForms {
        SpectralForms(mode: form == .fftw ? .fftw : .gemm, choices: [])
    }

    /// The chosen form of `t`; with no choice recorded, the forced form (`fftw` for auto).
    public func form(of t: SpectralTransform) -> SpectralForm {
        if let c = choices.first(where: { $0.transform == t }) { return c.form }
        switch mode {
        case .auto, .fftw: return .fftw
        case .gemm: return .gemm
        }
    }

    /// The FFTW plans needed by the transforms in `transforms` that run in the FFTW form.
    public func fftSpecs(_ transforms: [SpectralTransform]) -> Set<FFTPlanSpec> {
        Set(transforms.filter { form(of: $0) == .fftw }.flatMap(\.fftSpecs))
    }

    /// FFTW plans of these transforms' geometries (either direction: a spectral kernel
    /// declares both) that no FFTW-form transform executes: never planned nor made.
    public func unusedFFTSpecs(_ transforms: [SpectralTransform]) -> Set<FFTPlanSpec> {
        let all = transforms.flatMap { t in [SpectralTransform.Direction.forward, .inverse].flatMap {
            SpectralTransform(t.geometry, $0).fftSpecs } }
        return Set(all).subtracting(fftSpecs(transforms))
    }
}

/// Chooses the form of every transform (FFTW's own planner is the model: measure, keep the faster).
public enum SpectralFormPlanner {
    /// `mode` `fftw` / `gemm` forces that form; `auto` calls `time(t, form)` (seconds per
    /// sample) `rounds` times for both forms of each transform, alternating, and keeps the
    /// form with the smaller best time (FFTW on a tie).
    public static func choose(_ transforms: [SpectralTransform], mode: SpectralTransformMode, rounds: Int = 3,
                              time: (SpectralTransform, SpectralForm) throws -> Double) rethrows -> SpectralForms {
        var choices: [SpectralChoice] = []
        for t in Set(transforms).sorted() {
            switch mode {
            case .fftw: choices.append(SpectralChoice(t, .fftw))
            case .gemm: choices.append(SpectralChoice(t, .gemm))
            case .auto:
                var (fftw, gemm) = (Double.infinity, Double.infinity)
                for _ in 0..<rounds {       // alternating, the best of each: robust to a noisy machine
                    fftw = min(fftw, try time(t, .fftw))
                    gemm = min(gemm, try time(t, .gemm))
                }
                choices.append(SpectralChoice(t, gemm < fftw ? .gemm : .fftw, fftwSeconds: fftw, gemmSeconds: gemm))
            }
        }
        return SpectralForms(mode: mode, choices: choices)
    }

    /// Checks stored choices against the transforms a model's programs execute: exactly one
    /// choice per transform, and forced modes hold only their form. Returns a one-line problem.
    public static func problem(_ forms: SpectralForms, transforms: [SpectralTransform]) -> String? {
        let expected = Set(transforms).sorted(), stored = forms.choices.map(\.transform)
        guard stored == expected else {
            return "spectral_transform choices cover \(stored.count) transforms, the programs execute \(expected.count)"
                + " (\(expected.map(\.description).joined(separator: "; ")))"
        }
        for c in forms.choices {
            switch (forms.mode, c.form) {
            case (.fftw, .gemm), (.gemm, .fftw):
                return "spectral_transform mode '\(forms.mode.rawValue)' with form '\(c.form.rawValue)' for \(c.transform)"
            case (.auto, _), (.fftw, .fftw), (.gemm, .gemm): break
            }
            for s in [c.fftwSeconds, c.gemmSeconds].compactMap({ $0 }) where !(s.isFinite && s >= 0) {
                return "spectral_transform timing \(s) for \(c.transform) is not a duration"
            }
        }
        return nil
    }
}

extension ProgramPlanner {
    /// Every distinct truncated spectral transform `graph` executes, in schedule order
    /// (declared by its kernels, like the FFT plans).
    public static func spectralTransforms(_ graph: Graph, kernels: KernelRequirements) -> [SpectralTransform] {
        var result: [SpectralTransform] = []
        for node in graph.nodes {
            for t in kernels.spectralTransforms(node, in: graph) where !result.contains(t) { result.append(t) }
        }
        return result
    }
}
