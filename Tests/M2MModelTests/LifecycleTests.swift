import Executor
import M2MModel
import XCTest

/// Runtimes and their thread pools are created and released freely (tests, tools
/// that load several models): releasing one must never race its worker threads.
final class LifecycleTests: XCTestCase {
    /// A pool released right after creation: its workers may not have started yet.
    func testThreadPoolReleasedImmediately() {
        for _ in 0..<300 { _ = ThreadPool(threads: 3) }
    }

    func testRuntimesReleasedRepeatedly() throws {
        let compiled = try CompiledModel.compile(try TestSupport.tinyConfig(), rigor: .estimate, threads: 2)
        for _ in 0..<20 {
            let runtime = try ModelRuntime(compiled, threads: 2)
            try runtime.program(CompiledModel.inferenceName).run()
        }
    }
}
