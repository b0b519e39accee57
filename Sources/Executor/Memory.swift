import CNUMA
import Foundation
import Planner

/// Where a block's pages go on this machine.
public enum NodeBinding: Sendable, Hashable {
    /// Ordinary memory (one-node machine): wherever the kernel puts it.
    case anywhere
    /// Bound to this machine node id (mbind MPOL_BIND) before the first touch.
    case node(Int)
    /// Interleaved page by page over these machine node ids (MPOL_INTERLEAVE).
    case interleaved([Int])
}

/// One block of memory for a memory domain, zeroed. A bound block is mapped with mmap
/// (page-aligned), bound with mbind before any page is touched, then touched in full,
/// so every page is on its node before the first step. Thread-safe to read and write
/// from kernels' disjoint tiles; the block itself is immutable.
/// Thread safety: `base` and `byteCount` never change; threads may write disjoint bytes
/// concurrently (the kernels' disjoint-tile convention), and the block adds no synchronization.
public final class AlignedBlock: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let byteCount: Int
    public let binding: NodeBinding
    private let mapped: Bool

    public init(byteCount: Int, binding: NodeBinding = .anywhere) throws {
        let size = max(byteCount, ArenaPlanner.alignment)
        self.byteCount = size
        self.binding = binding
        let mode: Int32
        let nodes: [Int]
        switch binding {
        case .anywhere:
            var p: UnsafeMutableRawPointer?
            guard posix_memalign(&p, ArenaPlanner.alignment, self.byteCount) == 0, let p else {
                throw PlanError("cannot allocate \(self.byteCount) bytes")
            }
            base = p
            mapped = false
            memset(base, 0, self.byteCount)   // touch every page now, not during the first step
            return
        case .node(let id): mode = Int32(MPOL_BIND); nodes = [id]
        case .interleaved(let ids): mode = Int32(MPOL_INTERLEAVE); nodes = ids
        }
        guard let p = mmap(nil, self.byteCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              p != MAP_FAILED else {
            throw PlanError("cannot map \(self.byteCount) bytes")
        }
        let bits = 64
        let maxNode = (nodes.max() ?? 0) + 1
        var mask = [UInt](repeating: 0, count: (maxNode + bits - 1) / bits)
        for n in nodes { mask[n / bits] |= 1 << UInt(n % bits) }
        let status = mask.withUnsafeBufferPointer { m in
            mbind(p, UInt(size), mode, m.baseAddress, UInt(mask.count * bits + 1), 0)
        }
        guard status == 0 else {
            let why = String(cString: strerror(errno))
            munmap(p, self.byteCount)
            throw PlanError("cannot bind \(self.byteCount) bytes to NUMA node(s) \(nodes.map(String.init).joined(separator: ",")): \(why)")
        }
        base = p
        mapped = true
        memset(base, 0, self.byteCount)   // first touch: every page now lands on its node
    }

    deinit {
        if mapped { munmap(base, byteCount) } else { free(base) }
    }

    /// The node of each page (machine node id; negative errno for pages not present), queried
    /// with move_pages(2) in query mode. For verification, not for the step loop.
    public func pageNodes() -> [Int] {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = UInt(bitPattern: base) / UInt(page) * UInt(page)
        let end = UInt(bitPattern: base) + UInt(byteCount)
        let count = Int((end - start + UInt(page) - 1) / UInt(page))
        var pages = (0..<count).map { UnsafeMutableRawPointer(bitPattern: start + UInt($0 * page)) }
        var status = [Int32](repeating: Int32.min, count: count)
        let rc = pages.withUnsafeMutableBufferPointer { p in
            status.withUnsafeMutableBufferPointer { s in
                move_pages(0, UInt(count), p.baseAddress, nil, s.baseAddress, 0)
            }
        }
        guard rc == 0 else { return Array(repeating: -Int(errno), count: count) }
        return status.map(Int.init)
    }
}

/// Parameters and optimizer state of a model: one persistent block per memory domain,
/// laid out by `PersistentLayout`, shared by all programs of the model.
/// Thread safety: the layout and blocks never change; the tensors are written by one program's
/// kernels at a time (disjoint tiles) or by loading/initializing weights, which must not overlap
/// a running program.
public final class PersistentStore: @unchecked Sendable {
    public let layout: PersistentLayout
    public let blocks: [AlignedBlock]
    /// Bumped by every write through `markWritten()` (training steps, loads, restores):
    /// how weight replicas know they are stale.
    public private(set) var generation = 0

    public func markWritten() { generation &+= 1 }

    public init(layout: PersistentLayout, bindings: [NodeBinding]? = nil) throws {
        self.layout = layout
        let bindings = bindings ?? Array(repeating: .anywhere, count: layout.blockBytes.count)
        blocks = try layout.blockBytes.indices.map { try AlignedBlock(byteCount: layout.blockBytes[$0], binding: bindings[$0]) }
    }

    /// Start of the named parameter or state tensor (float32 view; complex as pairs).
    public func pointer(_ name: String) -> UnsafeMutablePointer<Float>? {
        guard let e = layout.entry(named: name) else { return nil }
        return (blocks[e.domain].base + e.offset).assumingMemoryBound(to: Float.self)
    }

    /// Every block's bytes, concatenated in domain order (weights and optimizer state).
    public func snapshot() -> [UInt8] {
        blocks.flatMap { Array(UnsafeRawBufferPointer(start: $0.base, count: $0.byteCount)) }
    }

    /// Puts back a `snapshot()` of this store.
    public func restore(_ bytes: [UInt8]) {
        precondition(bytes.count == blocks.reduce(0) { $0 + $1.byteCount })
        var at = 0
        bytes.withUnsafeBytes { b in
            for block in blocks {
                block.base.copyMemory(from: b.baseAddress! + at, byteCount: block.byteCount)
                at += block.byteCount
            }
        }
        markWritten()
    }

    /// Zeroes every block.
    public func zero() {
        for b in blocks { memset(b.base, 0, b.byteCount) }
        markWritten()
    }
}
