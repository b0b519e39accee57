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
        // [H, 2 m2 C] rows, then the sine sums [m1, 2 m2 C] (the cosine sums fit the odd rows)
        // or, as large here, the folded image row [W, C]
        XCTAssertTrue(g.cosineSumsFitOddRows)
        XCTAssertEqual(g.gemmTileFloats, 8 * 2 * 3 * 2 + max(2 * 2 * 3 * 2, 8 * 2))
        XCTAssertEqual(g.fftwTileFloats, 2 * (8 + 8 * 5))       // complex [W, C/2] row, [H, 2 m2 - 1, C/2]
        XCTAssertEqual(g.workspaceTileFloats, max(2 * (8 + 8 * 5), g.gemmTileFloats))
        let odd = SpectralTransforms(height: 8, width: 8, channels: 3, modes1: 2, modes2: 3)   // the r2c layout
        XCTAssertFalse(odd.pairsChannels)
        XCTAssertEqual(SpectralTransform(odd, .forward).fftSpecs, [odd.realToComplexW, odd.complexH(forward: true)])
        XCTAssertEqual(SpectralTransform(odd, .inverse).fftSpecs, [odd.complexH(forward: false), odd.complexToRealW])
        XCTAssertEqual(odd.fftwTileFloats, 2 * 8 * 5 * 3)
        // 2 m1 = H and the Nyquist column kept: the cosine sums do not fit the 3 odd rows, and
        // the GEMM rows and sums exceed the FFTW tile.
        let full = SpectralTransforms(height: 8, width: 8, channels: 1, modes1: 4, modes2: 5)
        XCTAssertFalse(full.cosineSumsFitOddRows)
        XCTAssertEqual(full.workspaceTileFloats, (8 + 4 + 5) * 2 * 5)
    }

    /// The paired layout keeps, after the W transforms, the kept columns and their mirrors
    /// (2 m2 - 1 of them, or all W when they cover the row), compactly, and transforms
    /// those along H.
    func testPairedCompactColumns() {
        let narrow = SpectralTransforms(height: 64, width: 64, channels: 32, modes1: 12, modes2: 12)
        XCTAssertEqual(narrow.pairedColumns, 23)
        XCTAssertEqual((0..<64).filter { $0 < 12 || $0 > 52 }.map(narrow.pairedColumn(of:)), Array(0..<23))
        XCTAssertEqual(narrow.pairedAlongH(forward: true).dims, [.init(64, 23 * 16, 23 * 16)])
        XCTAssertEqual(narrow.pairedAlongH(forward: true).loops, [.init(23 * 16, 1, 1)])
        XCTAssertEqual(narrow.pairedAlongW(forward: false).loops, [.init(16, 1, 1)])
        XCTAssertEqual(narrow.fftwTileFloats, 32 * (64 + 64 * 23))
        let wide = SpectralTransforms(height: 8, width: 8, channels: 2, modes1: 4, modes2: 5)    // Nyquist kept
        XCTAssertEqual(wide.pairedColumns, 8)
        XCTAssertEqual((0..<8).map(wide.pairedColumn(of:)), Array(0..<8))
        // Odd H and K with C = 2: every other sample's workspace tile is 8 bytes off.
        let odd = SpectralTransforms(height: 5, width: 6, channels: 2, modes1: 2, modes2: 3)
        XCTAssertEqual(odd.fftwTileFloats, 2 * (6 + 5 * 5))
        XCTAssertFalse(odd.samplesAligned)
        XCTAssertTrue(odd.pairedAlongW(forward: true).unaligned && odd.pairedAlongH(forward: true).unaligned)
    }
}
