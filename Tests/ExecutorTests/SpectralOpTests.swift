import GraphIR
import XCTest

/// Geometries with the edge cases of truncation.
let spectralGrids = [
    SpectralGrid(n: 2, h: 8, w: 8, c: 3, m1: 4, m2: 5),    // 2*m1 = H, Nyquist column kept
    SpectralGrid(n: 2, h: 6, w: 10, c: 3, m1: 2, m2: 3),   // generic
    SpectralGrid(n: 1, h: 5, w: 6, c: 2, m1: 2, m2: 4),    // odd H, Nyquist column kept
    SpectralGrid(n: 2, h: 8, w: 8, c: 3, m1: 1, m2: 1),    // DC row pair only
    SpectralGrid(n: 3, h: 5, w: 6, c: 1, m1: 1, m2: 2),    // sample tiles 8-byte aligned only
    // Even channel counts: the FFTW form's paired layout (two channels per complex FFT).
    SpectralGrid(n: 2, h: 8, w: 8, c: 4, m1: 4, m2: 5),    // 2*m1 = H, Nyquist column kept: all W columns
    SpectralGrid(n: 2, h: 6, w: 10, c: 2, m1: 2, m2: 3),   // generic: 5 of 10 columns along H
    SpectralGrid(n: 3, h: 5, w: 6, c: 2, m1: 2, m2: 3),    // odd H, workspace tiles 8-byte aligned only
    SpectralGrid(n: 2, h: 4, w: 8, c: 2, m1: 1, m2: 1),    // the DC column alone (K = 1)
    SpectralGrid(n: 1, h: 6, w: 8, c: 4, m1: 3, m2: 4),    // m2 = W/2: K = W - 1, Nyquist neither kept nor a mirror
]

extension SpectralGrid {
    var realType: TensorType { .f32(n, h, w, c) }
    var spectrumType: TensorType { .c64(modes, n, c) }
    var forward: Op { .rfft2(modes1: m1, modes2: m2) }
    var inverse: Op { .irfft2(height: h, width: w, modes1: m1, modes2: m2) }
}

/// rfft2, irfft2 and spectral_mix (with its gradients) against direct DFTs and loops.
final class SpectralOpTests: XCTestCase {
    func testRfft2MatchesDirectDFT() throws {
        for (i, g) in spectralGrids.enumerated() {
            let x = Tensor(g.realType, seed: 30 + UInt64(i))
            assertClose(try runOp(g.forward, [x]), Reference.rfft2(x.data, g), "rfft2 \(g)")
        }
    }

    func testIrfft2MatchesC2RSemantics() throws {
        for (i, g) in spectralGrids.enumerated() {
            let spectrum = Tensor(g.spectrumType, seed: 40 + UInt64(i))
            assertClose(try runOp(g.inverse, [spectrum]), Reference.irfft2(spectrum.data.map(Double.init), g),
                        "irfft2 \(g)")
        }
    }

    private let (modes, batch, ci, co) = (12, 2, 3, 4)

    func testSpectralMix() throws {
        let x = Tensor(.c64(modes, batch, ci), seed: 50), w = Tensor(.c64(modes, ci, co), seed: 51)
        assertClose(try runOp(.spectralMix, [x, w]),
                    Reference.spectralMix(x.data, w.data, modes: modes, batch: batch, ci: ci, co: co), "spectral_mix")
    }

    func testSpectralMixGradInput() throws {
        let dy = Tensor(.c64(modes, batch, co), seed: 52), w = Tensor(.c64(modes, ci, co), seed: 53)
        assertClose(try runOp(.spectralMixGradInput, [dy, w]),
                    Reference.spectralMixGradInput(dy.data, w.data, modes: modes, batch: batch, ci: ci, co: co),
                    "spectral_mix_grad_input")
    }

    func testSpectralMixGradWeight() throws {
        let x = Tensor(.c64(modes, batch, ci), seed: 54), dy = Tensor(.c64(modes, batch, co), seed: 55)
        assertClose(try runOp(.spectralMixGradWeight, [x, dy]),
                    Reference.spectralMixGradWeight(x.data, dy.data, modes: modes, batch: batch, ci: ci, co: co),
                    "spectral_mix_grad_weight")
    }
}
