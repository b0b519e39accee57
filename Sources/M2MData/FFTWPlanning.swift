import CFFTW
import Foundation

/// FFTW's planner is not thread-safe: every plan creation and destruction in M2MData goes
/// through this lock, while executing distinct plans concurrently is safe.
enum FFTWPlanning {
    static let lock = NSLock()

    /// Runs `body` (plan creation or destruction) while holding the planner lock.
    static func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }
}
