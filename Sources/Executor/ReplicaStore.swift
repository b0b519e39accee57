import Foundation
import Planner

/// Placement `replicate`: a copy of every parameter on each worker group's node, so every
/// group reads its weights from local memory (IREE's SHARING_REPLICATE). Group 0 reads the
/// master copy in the persistent store (it lives on the batch node); groups 1... get one
/// block each. Copies are refreshed from the master before a run whenever the store has
/// been written since (`PersistentStore.generation`). Used by one thread at a time.
public final class ReplicaStore: @unchecked Sendable {
    public let blocks: [AlignedBlock]
    private let offsets: [String: Int]
    private let entries: [PersistentLayout.Entry]
    private var copiedGeneration = -1

    /// Copies for `groupCount - 1` groups, group g's block bound as `bindings[g - 1]`.
    public init(layout: PersistentLayout, groupCount: Int, bindings: [NodeBinding]) throws {
        precondition(bindings.count == max(groupCount - 1, 0))
        var offsets: [String: Int] = [:]
        var bytes = 0
        let entries = layout.entries.filter(\.isParameter)
        for e in entries {
            offsets[e.name] = bytes
            bytes += ArenaPlanner.align(e.byteCount)
        }
        self.offsets = offsets
        self.entries = entries
        blocks = try bindings.map { try AlignedBlock(byteCount: bytes, binding: $0) }
    }

    /// Group `group`'s copy of parameter `name` (nil for group 0, which reads the master).
    public func pointer(_ name: String, group: Int) -> UnsafeMutablePointer<Float>? {
        guard group >= 1, group <= blocks.count, let offset = offsets[name] else { return nil }
        return (blocks[group - 1].base + offset).assumingMemoryBound(to: Float.self)
    }

    /// Copies every parameter from `store` unless the copies are current.
    public func refresh(from store: PersistentStore) {
        guard copiedGeneration != store.generation else { return }
        for block in blocks {
            for e in entries {
                (block.base + offsets[e.name]!).copyMemory(from: store.pointer(e.name)!, byteCount: e.byteCount)
            }
        }
        copiedGeneration = store.generation
    }
}
