import CNUMA
import Foundation
import Planner

/// One block of memory for a memory domain, 64-byte aligned and zeroed. On a
/// multi-node machine it is bound to its NUMA node; else ordinary aligned memory.
/// Thread safety: `base` and `byteCount` never change; threads may write disjoint bytes
/// concurrently (the kernels' disjoint-tile convention), and the block adds no synchronization.
public final class AlignedBlock: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let byteCount: Int
    private let numaBound: Bool

    public init(byteCount: Int, numaNode: Int? = nil) {
        self.byteCount = max(byteCount, ArenaPlanner.alignment)
        if let node = numaNode, numa_available() >= 0, numa_max_node() > 0,
           let p = numa_alloc_onnode(self.byteCount, Int32(node)) {
            base = p            // page-aligned, zero-filled by the kernel
            numaBound = true
        } else {
            var p: UnsafeMutableRawPointer?
            precondition(posix_memalign(&p, ArenaPlanner.alignment, self.byteCount) == 0, "out of memory")
            base = p!
            numaBound = false
        }
        memset(base, 0, self.byteCount)   // touch every page now, not during the first step
    }

    deinit {
        if numaBound { numa_free(base, byteCount) } else { free(base) }
    }
}

/// Parameters and optimizer state of a model: one persistent block laid out by
/// `PersistentLayout`, shared by all programs of the model.
/// Thread safety: the layout and block never change; the tensors are written by one program's
/// kernels at a time (disjoint tiles) or by loading/initializing weights, which must not overlap
/// a running program.
public final class PersistentStore: @unchecked Sendable {
    public let layout: PersistentLayout
    public let block: AlignedBlock

    public init(layout: PersistentLayout) {
        self.layout = layout
        block = AlignedBlock(byteCount: layout.totalBytes, numaNode: 0)
    }

    /// Start of the named parameter or state tensor (float32 view; complex as pairs).
    public func pointer(_ name: String) -> UnsafeMutablePointer<Float>? {
        guard let e = layout.entry(named: name) else { return nil }
        return (block.base + e.offset).assumingMemoryBound(to: Float.self)
    }
}
