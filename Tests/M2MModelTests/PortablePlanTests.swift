import Executor
import Foundation
import M2MModel
import Planner
import XCTest

/// Portable plans (issue 7): every kernel choice pinned to one that any x86-64-v3 machine
/// makes alike, so AVX2 and AVX-512 hosts compute the same bits. Tested here by forcing
/// each kernel ISA this CPU has (`M2MC_ISA`) on one portable plan; OpenBLAS is pinned to
/// its Haswell kernels by m2mc itself.
final class PortablePlanTests: XCTestCase {
    var folder: String!

    override func setUpWithError() throws {
        folder = try TestSupport.temporaryDirectory(self).path
    }

    func testPortablePlanUsesTheGEMMFormAndRoundTrips() throws {
        let model = try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .measure, threads: 2, portable: true)
        XCTAssertTrue(model.portable)
        XCTAssertEqual(model.spectral.mode, .gemm)
        XCTAssertEqual(Set(model.spectral.choices.map(\.form)), [.gemm])
        let loaded = try CompiledModel.decode(try model.serialized(), source: "p.m2m")
        XCTAssertTrue(loaded.portable)
        XCTAssertFalse(try CompiledModel.decode(try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .estimate,
                                                                          threads: 2).serialized(), source: "q.m2m").portable)
        XCTAssertThrowsError(try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .estimate, threads: 2,
                                                       spectralMode: .fftw, portable: true)) { error in
            XCTAssertTrue("\(error)".contains("GEMM spectral form"), "\(error)")
        }
    }

    /// In this process OpenBLAS chose its kernels at load: a portable plan runs only where
    /// that choice is the pinned one, else it is refused naming OPENBLAS_CORETYPE.
    func testRuntimeRequiresThePinnedBLASKernels() throws {
        let model = try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .estimate, threads: 2, portable: true)
        if Executor.blasCoreName.lowercased() == Executor.portableBLASCore.lowercased() {
            XCTAssertNoThrow(try ModelRuntime(model, threads: 2))
        } else {
            XCTAssertThrowsError(try ModelRuntime(model, threads: 2)) { error in
                XCTAssertTrue("\(error)".contains("OPENBLAS_CORETYPE=Haswell"), "\(error)")
            }
        }
    }

    /// `verify-placement --steps 3` of tiny-m2m compiled `--portable --fftw estimate`.
    static let recordedDigest = "digest: bf873c2472b8bff8 (inference 7474e5f88fab25b3)"

    func testEveryKernelISAGivesTheSameBits() throws {
        guard KernelISA.avx2.isSupported else { throw XCTSkip("this CPU has no AVX2: portable plans do not run here") }
        let plan = folder + "/portable.m2m"
        let config = TestSupport.repoRoot.appendingPathComponent("configs/tiny-m2m.json").path
        let compiled = try TestSupport.runM2MC(["compile", config, "-o", plan, "--portable", "--fftw", "estimate"])
        XCTAssertEqual(compiled.status, 0, compiled.stderr)
        var digests: [String: String] = [:]
        for isa in KernelISA.allCases {
            guard isa.isSupported else {
                print("notice: this CPU lacks \(isa): its path of the portable plan is not run here")
                continue
            }
            let run = try TestSupport.runM2MC(["verify-placement", plan, "--steps", "3"], environment: ["M2MC_ISA": "\(isa)"])
            XCTAssertEqual(run.status, 0, run.stderr)
            digests["\(isa)"] = run.stdout.split(separator: "\n").first { $0.hasPrefix("digest:") }.map(String.init)
        }
        XCTAssertGreaterThanOrEqual(digests.count, 2)
        XCTAssertEqual(Set(digests.values).count, 1, "\(digests)")
        XCTAssertNotNil(digests.values.first ?? nil)
        // Across machines: the digest an AVX-512 host (AMD EPYC, Zen 4: baseline, AVX2 and
        // AVX-512 paths, debug and release builds alike) computed on 2026-11-28. Any x86-64-v3
        // host must reproduce it. A change that alters the numerics on purpose records the
        // new digest here and says so in its commit.
        XCTAssertEqual(digests.values.first ?? nil, Self.recordedDigest,
                       "this host's portable bits differ from those recorded on another machine")
        // m2mc pinned OpenBLAS itself (it relaunches with OPENBLAS_CORETYPE set).
        let bench = try TestSupport.runM2MC(["bench", plan, "--steps", "1", "--warmup", "0", "--json"])
        XCTAssertEqual(bench.status, 0, bench.stderr)
        XCTAssertTrue(bench.stdout.contains(#""blas_core" : "Haswell""#) || bench.stdout.contains(#""blas_core":"Haswell""#),
                      bench.stdout)
    }
}
