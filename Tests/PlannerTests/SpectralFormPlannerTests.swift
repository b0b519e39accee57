import Planner
import XCTest

/// The per-transform choice between FFTW and the GEMM form.
final class SpectralFormPlannerTests: XCTestCase {
    let a = SpectralTransform(SpectralTransforms(height: 8, width: 8, channels: 2, modes1: 2, modes2: 3), .forward)
    let b = SpectralTransform(SpectralTransforms(height: 8, width: 8, channels: 2, modes1: 2, modes2: 3), .inverse)

    func testAutoKeepsTheFasterFormPerTransform() {
        var calls: [String] = []
        let forms = SpectralFormPlanner.choose([b, a, b], mode: .auto, rounds: 2) { t, form in
            calls.append("\(t.direction.rawValue) \(form.rawValue)")
            // forward: FFTW faster; inverse: GEMM faster, but only in its second round.
            switch (t.direction, form) {
            case (.forward, .fftw): return 1
            case (.forward, .gemm): return 2
            case (.inverse, .fftw): return 3
            case (.inverse, .gemm): return calls.count > 6 ? 2.5 : 4
            }
        }
        XCTAssertEqual(forms.choices.map(\.transform), [a, b], "one choice per distinct transform, sorted")
        XCTAssertEqual(forms.choices.map(\.form), [.fftw, .gemm])
        XCTAssertEqual(forms.choices[1].gemmSeconds, 2.5, "the best of the rounds")
        XCTAssertEqual(calls, ["forward fftw", "forward gemm", "forward fftw", "forward gemm",
                               "inverse fftw", "inverse gemm", "inverse fftw", "inverse gemm"], "alternating rounds")
        XCTAssertNil(SpectralFormPlanner.problem(forms, transforms: [a, b]))
    }

    func testForcedModesTimeNothing() {
        for (mode, form) in [(SpectralTransformMode.fftw, SpectralForm.fftw), (.gemm, .gemm)] {
            let forms = SpectralFormPlanner.choose([a, b], mode: mode) { _, _ in
                XCTFail("forced mode \(mode) must not time"); return 0
            }
            XCTAssertEqual(forms.choices.map(\.form), [form, form])
            XCTAssertEqual(forms.form(of: a), form)
        }
        XCTAssertEqual(SpectralForms.everywhere(.gemm).form(of: b), .gemm)
        XCTAssertEqual(SpectralForms.everywhere(.fftw).form(of: b), .fftw)
    }

    func testProblemsAreReported() {
        let forms = SpectralFormPlanner.choose([a, b], mode: .gemm) { _, _ in 0 }
        XCTAssertNotNil(SpectralFormPlanner.problem(forms, transforms: [a]), "a choice for a transform not executed")
        XCTAssertNotNil(SpectralFormPlanner.problem(SpectralForms(mode: .gemm, choices: [forms.choices[0]]),
                                                    transforms: [a, b]), "a transform without a choice")
        let mixed = SpectralForms(mode: .gemm, choices: [SpectralChoice(a, .fftw), SpectralChoice(b, .gemm)])
        XCTAssertEqual(SpectralFormPlanner.problem(mixed, transforms: [a, b]),
                       "spectral_transform mode 'gemm' with form 'fftw' for \(a)")
    }

    /// The FFTW form's plans of each direction, and the workspace that fits both forms.
    func testFFTSpecsAndWorkspace() {
        let g = a.geometry      // 2 channels: the paired layout
        XCTAssertTrue(g.pairsChannels)
        XCTAssertEqual(a.fftSpecs, [g.pairedAlongW(forward: true), g.pairedAlongH(forward: true)])
        XCTAssertEqual(b.fftSpecs, [g.pairedAlongH(forward: false), g.pairedAlongW(forward: false)])
        let mixed = SpectralForms(mode: .auto, choices: [SpectralChoice(a, .gemm), SpectralChoice(b, .fftw)])
        XCTAssertEqual(mixed.fftSpecs([a, b]), Set(b.fftSpecs))
        XCTAssertEqual(g.gemmTileFloats, (16 + 8) * 3 * 2)
        XCTAssertEqual(g.fftwTileFloats, 8 * 8 * 2)            // complex [H, W, C/2]
        XCTAssertEqual(g.workspaceTileFloats, max(8 * 8 * 2, g.gemmTileFloats))
        let odd = SpectralTransforms(height: 8, width: 8, channels: 3, modes1: 2, modes2: 3)   // the r2c layout
        XCTAssertFalse(odd.pairsChannels)
        XCTAssertEqual(SpectralTransform(odd, .forward).fftSpecs, [odd.realToComplexW, odd.complexH(forward: true)])
        XCTAssertEqual(SpectralTransform(odd, .inverse).fftSpecs, [odd.complexH(forward: false), odd.complexToRealW])
        XCTAssertEqual(odd.fftwTileFloats, 2 * 8 * 5 * 3)
        // 2 m1 = H and the Nyquist column kept: the GEMM planes exceed the FFTW tile.
        let full = SpectralTransforms(height: 8, width: 8, channels: 1, modes1: 4, modes2: 5)
        XCTAssertEqual(full.workspaceTileFloats, (16 + 16) * 5)
    }

    /// The paired layout transforms along H the kept columns and their mirrors: two blocks
    /// of `modes2` columns, or all W columns when those would overlap.
    func testPairedColumnBlocks() {
        let narrow = SpectralTransforms(height: 64, width: 64, channels: 32, modes1: 12, modes2: 12)
        XCTAssertEqual(narrow.pairedColumnBlocks.map(\.first), [0, 52])
        XCTAssertEqual(narrow.pairedColumnBlocks.map(\.count), [12, 12])
        let h = narrow.pairedAlongH(forward: true)
        XCTAssertEqual(h.loops, [.init(2, 52 * 16, 52 * 16), .init(12 * 16, 1, 1)])
        XCTAssertEqual(h.dims, [.init(64, 64 * 16, 64 * 16)])
        let wide = SpectralTransforms(height: 8, width: 8, channels: 2, modes1: 4, modes2: 5)    // Nyquist kept
        XCTAssertEqual(wide.pairedColumnBlocks.map(\.first), [0])
        XCTAssertEqual(wide.pairedColumnBlocks.map(\.count), [8])
        // Even W and C: the paired tiles (H W C floats) always start on 16-byte boundaries.
        XCTAssertTrue(SpectralTransforms(height: 5, width: 6, channels: 2, modes1: 2, modes2: 3).samplesAligned)
    }
}
