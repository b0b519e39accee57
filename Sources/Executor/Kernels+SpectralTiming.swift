import Dispatch
import Foundation
import GraphIR
import Planner

/// Times one truncated transform in one form on scratch arrays laid out as a program's
/// (the kernels' own per-sample code, single-threaded), for `SpectralFormPlanner` at
/// compile time, as FFTW's planner measures its candidates.
public enum SpectralFormTimer {
    /// The best seconds per sample over at least 3 passes (and up to 20 ms of passes) of
    /// `samples` samples. FFTW plans are made with `rigor` (from the wisdom already
    /// accumulated when the compile has planned them).
    public static func secondsPerSample(_ t: SpectralTransform, _ form: SpectralForm, rigor: FFTRigor,
                                        samples: Int = 4) throws -> Double {
        let geometry = t.geometry
        let g = SpectralGeometry(t: geometry, samples: samples)
        let realFloats = geometry.height * geometry.width * geometry.channels
        let spectrumFloats = 2 * (2 * geometry.modes1 * geometry.modes2) * samples * geometry.channels
        let real = scratch(samples * realFloats), spectrum = scratch(spectrumFloats)
        let workspace = scratch(samples * geometry.workspaceTileFloats)
        defer { for p in [real, spectrum, workspace] { p.deallocate() } }
        var state: UInt32 = 12345
        for i in 0..<(samples * realFloats) { state = state &* 1_664_525 &+ 1_013_904_223; real[i] = Float(state >> 8) / 16_777_216 - 0.5 }
        for i in 0..<spectrumFloats { state = state &* 1_664_525 &+ 1_013_904_223; spectrum[i] = Float(state >> 8) / 16_777_216 - 0.5 }

        var plans: [FFTPlanSpec: FFTPlan] = [:]
        switch form {
        case .fftw: for spec in t.fftSpecs { plans[spec] = try FFTPlan(spec, rigor: rigor) }
        case .gemm: break
        }
        let tables = SpectralTables(form == .gemm ? [geometry] : [])
        let engine = SpectralEngine(g, t.direction, plans: plans,
                                    spectral: SpectralExecution(forms: .everywhere(form), tables: tables))
        func pass() {
            for n in 0..<samples {
                let x = real + n * realFloats, ws = workspace + n * engine.tileFloats
                switch (engine, t.direction) {
                case (.fftw(let f), .forward): f.forward(x, into: spectrum, sample: n, workspace: ws, adjoint: false)
                case (.fftw(let f), .inverse): f.inverse(spectrum, sample: n, into: x, workspace: ws, adjoint: false)
                case (.gemm(let m), .forward):
                    m.forward(x, into: spectrum, sample: n, samples: samples, workspace: ws, adjoint: false)
                case (.gemm(let m), .inverse):
                    m.inverse(spectrum, sample: n, samples: samples, into: x, workspace: ws, adjoint: false)
                }
            }
        }
        pass()      // warm-up: caches, and OpenBLAS's and FFTW's first-call set-up
        var best = Double.infinity, total = 0.0, passes = 0
        while passes < 3 || (total < 0.02 && passes < 200) {
            let start = DispatchTime.now().uptimeNanoseconds
            pass()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            (best, total, passes) = (min(best, seconds), total + seconds, passes + 1)
        }
        return best / Double(samples)
    }

    private static func scratch(_ floats: Int) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer.allocate(byteCount: max(floats, 16) * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: max(floats, 16))
    }
}
