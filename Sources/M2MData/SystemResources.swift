import Foundation

/// What this machine can hold and run, and checked arithmetic on sizes: sizes and counts that
/// users write (flags, config keys, file metadata) are multiplied only through these helpers,
/// so an absurd value becomes a one-line error instead of an overflow trap or an allocation
/// that cannot succeed.
public enum SystemResources {
    /// Physical memory in bytes: `sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE)`.
    public static let physicalMemoryBytes: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return Int.max }
        return checkedProduct([pages, pageSize]) ?? Int.max
    }()

    /// Online CPUs (at least 1).
    public static let onlineCPUs: Int = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))

    /// The most worker threads a command accepts: 4 x the online CPUs, at least 64, at most 1024.
    public static var maxThreads: Int { min(1024, max(64, 4 * onlineCPUs)) }

    /// Checks a thread count before any thread is created; `flag` names it in the error.
    public static func checkThreads(_ threads: Int, flag: String = "--threads") throws {
        guard threads >= 1 else { throw DataError(flag, "must be >= 1, got \(threads)") }
        guard threads <= maxThreads else {
            throw DataError(flag, "\(threads) threads is more than this machine's limit of \(maxThreads) "
                            + "(4 x \(onlineCPUs) online CPUs, at least 64, at most 1024)")
        }
    }

    /// The product of `factors` (all >= 0), or nil when it does not fit an `Int`.
    public static func checkedProduct(_ factors: [Int]) -> Int? {
        var result = 1
        for f in factors {
            guard f >= 0 else { return nil }
            let (p, overflow) = result.multipliedReportingOverflow(by: f)
            if overflow { return nil }
            result = p
        }
        return result
    }

    /// The sum of `terms` (all >= 0), or nil when it does not fit an `Int`.
    public static func checkedSum(_ terms: [Int]) -> Int? {
        var result = 0
        for t in terms {
            guard t >= 0 else { return nil }
            let (s, overflow) = result.addingReportingOverflow(t)
            if overflow { return nil }
            result = s
        }
        return result
    }

    /// Bytes in words: "3.2 GB (3200000000 bytes)"; nil (an overflowed size) reads "over 9.2 EB".
    public static func describe(bytes: Int?, exact: Bool = true) -> String {
        guard let bytes else { return "over 9.2 EB (a size beyond 64-bit integers)" }
        let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"]
        var value = Double(bytes), unit = 0
        while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
        guard unit > 0 else { return "\(bytes) bytes" }
        return String(format: "%.1f ", value) + units[unit] + (exact ? " (\(bytes) bytes)" : "")
    }

    /// Throws unless `bytes` (nil: overflowed) fits in physical memory; `subject` names the
    /// flags or keys that decide the size, `what` says what would be allocated.
    public static func requireMemory(_ bytes: Int?, for what: String, subject: String) throws {
        guard let bytes, bytes <= physicalMemoryBytes else {
            throw DataError(subject, "\(what) need \(describe(bytes: bytes)), more than this machine's "
                            + "\(describe(bytes: physicalMemoryBytes)) of physical memory")
        }
    }
}
