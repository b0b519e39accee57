import Executor
import Foundation

/// Portable plans pin OpenBLAS to its Haswell kernels, which OpenBLAS picks only when it
/// loads (from `OPENBLAS_CORETYPE`, read by its library constructor before `main`). So when
/// a command will run a portable plan (`--portable`, or a `.m2m` argument whose payload says
/// `"portable":true`) and the variable is not set, m2mc sets it and executes itself again,
/// once. Where the CPU lacks AVX2 nothing is pinned and the runtime refuses the plan.
enum PortableLaunch {
    static let marker = "M2MC_PORTABLE_RELAUNCHED"

    static func relaunchIfNeeded(_ arguments: [String]) {
        let environment = ProcessInfo.processInfo.environment
        guard environment["OPENBLAS_CORETYPE"] == nil, environment[marker] == nil,
              KernelISA.avx2.isSupported, arguments.dropFirst().contains(where: requestsPortable) else { return }
        setenv("OPENBLAS_CORETYPE", Executor.portableBLASCore, 1)
        setenv(marker, "1", 1)
        var argv = arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &argv)
        // execv returns only on failure: go on unpinned; the runtime then says why it refuses.
    }

    /// `--portable`, or a plan file compiled with it (its JSON payload is written with sorted
    /// keys and no spaces; the embedded config is a string, so its quotes are escaped).
    static func requestsPortable(_ argument: String) -> Bool {
        if argument == "--portable" { return true }
        guard argument.hasSuffix(".m2m"), let handle = FileHandle(forReadingAtPath: argument) else { return false }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: 1 << 26) else { return false }
        return data.range(of: Data(#""portable":true"#.utf8)) != nil
    }
}
