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
        let g = a.geometry
        XCTAssertEqual(a.fftSpecs, [g.realToComplexW, g.complexH(forward: true)])
        XCTAssertEqual(b.fftSpecs, [g.complexH(forward: false), g.complexToRealW])
        let mixed = SpectralForms(mode: .auto, choices: [SpectralChoice(a, .gemm), SpectralChoice(b, .fftw)])
        XCTAssertEqual(mixed.fftSpecs([a, b]), Set(b.fftSpecs))
        XCTAssertEqual(g.gemmTileFloats, (16 + 8) * 3 * 2)
        XCTAssertEqual(g.workspaceTileFloats, max(2 * 8 * 5 * 2, g.gemmTileFloats))
        // 2 m1 = H and the Nyquist column kept: the GEMM planes exceed the FFTW tile.
        let full = SpectralTransforms(height: 8, width: 8, channels: 1, modes1: 4, modes2: 5)
        XCTAssertEqual(full.workspaceTileFloats, (16 + 16) * 5)
    }
}
