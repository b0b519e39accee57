import Foundation
import Executor
import M2MData
import GraphIR
import Planner

/// A compiled model bound to memory: per memory domain one persistent block of weights
/// and optimizer state and one arena sized for the largest program, both shared by the
/// inference and training programs (which never run at the same time: a program's input
/// slots keep their contents only until another program of the model runs). Memory is
/// bound to the placement's NUMA nodes and workers pinned to them (`NodeMap`). Arenas
/// are allocated when first needed; FFT plans are re-created from the stored wisdom.
public final class ModelRuntime {
    public let compiled: CompiledModel
    public let store: PersistentStore
    public let pool: ThreadPool
    public let nodeMap: NodeMap
    private var programs: [String: ExecutableProgram] = [:]
    private var arenas: [AlignedBlock]?
    private var replicas: ReplicaStore?

    /// Binds `compiled` with `threads` worker threads and the config's seeded initial weights.
    /// A plan for more NUMA nodes than this machine has is refused unless `numaFallback`.
    public init(_ compiled: CompiledModel, threads: Int, numaFallback: Bool = false,
                machine: NUMATopology = .detect()) throws {
        guard threads >= 1 else { throw UserError("--threads must be >= 1") }
        // Before any thread is created (an absurd count would die in pthread_create).
        do { try SystemResources.checkThreads(threads) } catch let e as DataError { throw UserError(e.description) }
        self.compiled = compiled
        if compiled.portable, let problem = Executor.portableProblem() { throw UserError(problem) }
        let nodeMap: NodeMap
        do { nodeMap = try NodeMap(compiled.placement, machine: machine, fallback: numaFallback) } catch let e as PlanError {
            throw UserError(e.message)
        }
        self.nodeMap = nodeMap
        try FFTPlan.importWisdom(compiled.wisdom)
        store = try PersistentStore(layout: compiled.persistent,
                                    bindings: compiled.placement.domains.indices.map { nodeMap.binding(domain: $0) })
        let (groups, cpus) = nodeMap.workerGroups(threads: threads)
        pool = ThreadPool(threads: threads, groups: groups, cpus: cpus)
        initializeWeights()
    }

    /// Each domain's arena, sized for the largest program in that domain.
    private func sharedArenas() throws -> [AlignedBlock] {
        if let arenas { return arenas }
        let made = try compiled.placement.domains.indices.map { d in
            try AlignedBlock(byteCount: compiled.programs.map { $0.plan.arenas[d].arenaBytes }.max() ?? 0,
                             binding: nodeMap.binding(domain: d))
        }
        arenas = made
        return made
    }

    /// Every block of memory the runtime holds, with the domain it belongs to (nil for weight
    /// copies) and a label: persistent blocks, arenas (allocated here if not yet), replicas.
    public func memoryBlocks() throws -> [(label: String, binding: NodeBinding, block: AlignedBlock)] {
        var result: [(String, NodeBinding, AlignedBlock)] = []
        for (d, b) in store.blocks.enumerated() { result.append(("persistent block of domain \(d)", b.binding, b)) }
        for (d, b) in try sharedArenas().enumerated() { result.append(("arena of domain \(d)", b.binding, b)) }
        for (g, b) in (replicas?.blocks ?? []).enumerated() { result.append(("weight copy of worker group \(g + 1)", b.binding, b)) }
        return result
    }

    /// Placement `replicate`: the weight copies of worker groups 1... on their nodes.
    private func replicaStore() throws -> ReplicaStore {
        if let replicas { return replicas }
        let groups = pool.groups.count
        let made = try ReplicaStore(layout: compiled.persistent, groupCount: groups,
                                    bindings: (1..<max(groups, 1)).map { nodeMap.binding(domain: $0) })
        replicas = made
        return made
    }

    /// What data is divided by before it reaches the network (`normalization: rms`);
    /// set by the trainer from its training samples, or from loaded weights' metadata.
    public var scales = DataScales()

    public var config: ModelConfig { compiled.config }
    /// The model the config names (its parameters and forward step).
    public var model: any OperatorModel { Models.make(config) }
    public var parameterTypes: [(name: String, type: TensorType)] { model.parameterTypes }

    /// Real scalars in all trainable parameters (complex counts twice).
    public var parameterCount: Int { model.parameterCount }

    /// Seeded initialization of every weight; Adam moments zero.
    public func initializeWeights() {
        store.zero()
        WeightInit.initialize({ name, values in
            self.store.pointer(name)!.update(from: values, count: values.count)
        }, parameters: model.parameters, seed: config.seed)
        store.markWritten()
    }

    /// The executable program `name` ("infer" or "train"), built on first use.
    public func program(_ name: String) throws -> ExecutableProgram {
        if let p = programs[name] { return p }
        guard let c = compiled.program(name) else { throw UserError("the model has no program '\(name)'") }
        let p = try ExecutableProgram(graph: c.graph, plan: c.plan, store: store, pool: pool,
                                      rigor: compiled.fftRigor, wisdomOnly: compiled.fftRigor.needsWisdom,
                                      arenas: try sharedArenas(), nodeMap: nodeMap,
                                      replicaStore: compiled.readsWeightCopies(name) ? try replicaStore() : nil, spectral: compiled.spectral)
        programs[name] = p
        return p
    }

    // MARK: Weights and checkpoints

    /// The persistent tensors saved in a file: parameters, plus Adam moments for checkpoints.
    func persistentEntries(includeOptimizer: Bool) -> [PersistentLayout.Entry] {
        compiled.persistent.entries.filter { $0.isParameter || includeOptimizer }
    }

    /// Shape in the safetensors file: complex tensors get a trailing (re, im) dimension.
    static func fileShape(_ e: PersistentLayout.Entry) -> [Int] { e.dtype == .c64 ? e.shape + [2] : e.shape }

    /// Saves weights (and optimizer state when `includeOptimizer`) with metadata, atomically.
    public func save(to path: String, includeOptimizer: Bool, metadata: [String: String]) throws {
        let tensors = persistentEntries(includeOptimizer: includeOptimizer).map { e in
            let shape = Self.fileShape(e)
            return (e.name, shape, UnsafeBufferPointer(start: store.pointer(e.name)!, count: shape.reduce(1, *)))
        }
        try SafeTensors.write(tensors, metadata: metadata, to: path)
    }

    /// Loads weights (and optimizer state when `includeOptimizer`) after checking
    /// that every tensor is present with the right shape; returns the metadata.
    /// Nothing is modified unless the whole file is valid.
    @discardableResult
    public func load(from path: String, includeOptimizer: Bool) throws -> [String: String] {
        let (tensors, metadata) = try SafeTensors.read(path)
        let wanted = persistentEntries(includeOptimizer: includeOptimizer)
        for e in wanted {
            guard let t = tensors[e.name] else { throw UserError("\(path): missing tensor '\(e.name)'") }
            guard t.shape == Self.fileShape(e) else {
                throw UserError("\(path): tensor '\(e.name)' has shape \(t.shape), the model expects \(Self.fileShape(e))")
            }
        }
        if let extra = tensors.keys.sorted().first(where: { compiled.persistent.entry(named: $0) == nil }) {
            throw UserError("\(path): tensor '\(extra)' is not part of this model")
        }
        let loadedScales = try DataScales(metadata: metadata, source: path)
        if config.normalization == .rms && loadedScales == nil {
            throw UserError("\(path): the model normalizes its data (normalization: rms) but these weights carry no "
                            + "data scales (metadata 'data_scale.*'): they were not trained with this config")
        }
        for e in wanted { store.pointer(e.name)!.update(from: tensors[e.name]!.values, count: tensors[e.name]!.values.count) }
        store.markWritten()
        if config.normalization == .rms, let loadedScales { scales = loadedScales }
        return metadata
    }
}
