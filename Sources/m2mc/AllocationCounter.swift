import MallocInterposerSwift

/// Counts heap allocations in a region through ordo-one's malloc interposer.
/// The interposer only sees allocations when its library's malloc is the one the
/// process resolved; `isActive` checks that with a deliberate allocation.
enum AllocationCounter {
    static let isActive: Bool = {
        MallocInterposerSwift.initialize()
        MallocInterposerSwift.hook()
        let probe = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 16)
        probe.deallocate()
        MallocInterposerSwift.unhook()
        return MallocInterposerSwift.getStatistics().mallocCount > 0
    }()

    /// Runs `body` and returns (allocations, bytes allocated) during it, nil when not measurable.
    static func measure(_ body: () -> Void) -> (count: Int, bytes: Int)? {
        guard isActive else { body(); return nil }
        MallocInterposerSwift.initialize()
        MallocInterposerSwift.hook()
        body()
        MallocInterposerSwift.unhook()
        let s = MallocInterposerSwift.getStatistics()
        return (Int(s.mallocCount), Int(s.mallocBytesCount))
    }
}
