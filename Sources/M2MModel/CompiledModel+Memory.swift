import M2MData
import Planner
import Executor

extension CompiledModel {
    /// The bytes a runtime of this model allocates up front: one arena sized for its largest
    /// program plus the persistent block (weights and Adam moments).
    public var requiredBytes: Int? {
        Self.requiredBytes(arenas: programs.map(\.plan.arenaBytes), persistent: persistent.totalBytes)
    }

    /// The autoregressive steps the training program unrolls (the last axis of its target `y`).
    public var trainingRollout: Int {
        training.graph.values[training.graph.value(named: Programs.target)!].type.shape[3]
    }

    /// Under a memory limit, the training arena this model plans without it (one more plan of the
    /// plain training program, made on demand: `inspect` and `compile` report it); nil without a limit.
    public func arenaBytesWithoutLimit() throws -> Int? {
        guard memoryLimit != nil else { return nil }
        var plain = config
        plain.memoryLimit = nil
        return try ProgramPlanner.plan(try Programs.training(plain, rollout: trainingRollout), placement: placement).arenaBytes
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
                            + "width or projection_hidden, or set a memory limit (--memory-limit) to recompute activations")
        }
    }

    /// Under a memory limit, the runtime's bytes (its one arena, sized for the larger program,
    /// plus the persistent block) must fit it. The training arena was fitted by recomputation;
    /// this refuses what recomputation cannot change (the inference arena, another placement's
    /// per-domain arenas), naming the sizes and `name`, the flag or key that set the limit.
    static func requireMemoryLimit(_ limit: Int?, programs: [CompiledProgram], persistent: Int, source: String,
                                   name: String) throws {
        guard let limit else { return }
        let needed = requiredBytes(arenas: programs.map(\.plan.arenaBytes), persistent: persistent)
        guard let needed, needed > limit else { return }
        func size(_ bytes: Int) -> String { SystemResources.describe(bytes: bytes) }
        let arenas = programs.map { "\($0.name) \(size($0.plan.arenaBytes))" }.joined(separator: ", ")
        throw UserError("\(source): \(name) \(size(limit)) cannot be met: the arenas (\(arenas)) plus "
                        + "\(size(persistent)) of weights and optimizer state need \(size(needed))")
    }
}
