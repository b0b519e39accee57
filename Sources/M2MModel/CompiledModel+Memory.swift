import M2MData
import Planner

extension CompiledModel {
    /// The bytes a runtime of this model allocates up front: one arena sized for its largest
    /// program plus the persistent block (weights and Adam moments).
    public var requiredBytes: Int? {
        Self.requiredBytes(arenas: programs.map(\.plan.arenaBytes), persistent: persistent.totalBytes)
    }

    static func requiredBytes(arenas: [Int], persistent: Int) -> Int? {
        SystemResources.checkedSum([max(0, arenas.max() ?? 0), max(0, persistent)])
    }

    /// Refuses a model whose arena and persistent block cannot exist on this machine (more than
    /// its physical memory), before anything of that size is allocated or FFT-planned.
    static func requireMemory(programs: [(name: String, arenaBytes: Int)], persistent: Int, source: String) throws {
        let needed = requiredBytes(arenas: programs.map(\.arenaBytes), persistent: persistent)
        let physical = SystemResources.physicalMemoryBytes
        guard let needed, needed <= physical else {
            let largest = programs.max { $0.arenaBytes < $1.arenaBytes }
            func size(_ bytes: Int) -> String { SystemResources.describe(bytes: bytes, exact: false) }
            throw UserError("\(source): the model needs \(SystemResources.describe(bytes: needed)): the arena of "
                            + "program '\(largest?.name ?? "?")' (\(size(largest?.arenaBytes ?? 0))) and the weights "
                            + "with optimizer state (\(size(persistent))), more than this machine's "
                            + "\(SystemResources.describe(bytes: physical)) of physical memory; reduce batch, grid, "
                            + "width or projection_hidden")
        }
    }
}
