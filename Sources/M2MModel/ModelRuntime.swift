import Foundation
import Executor
import M2MData
import GraphIR
import Planner

/// A compiled model bound to memory: one persistent block of weights and optimizer
/// state, and one arena sized for the largest program, both shared by the inference
/// and training programs (which never run at the same time: a program's input slots
/// keep their contents only until another program of the model runs). Allocated
/// when first needed; FFT plans are re-created from the stored wisdom.
public final class ModelRuntime {
    public let compiled: CompiledModel
    public let store: PersistentStore
    public let pool: ThreadPool
    private var programs: [String: ExecutableProgram] = [:]
    private lazy var arena = AlignedBlock(byteCount: compiled.programs.map(\.plan.arenaBytes).max() ?? 0, numaNode: 0)

    /// Binds `compiled` with `threads` worker threads and the config's seeded initial weights.
    public init(_ compiled: CompiledModel, threads: Int) throws {
        guard threads >= 1 else { throw UserError("--threads must be >= 1") }
        // Before any thread is created (an absurd count would die in pthread_create).
        do { try SystemResources.checkThreads(threads) } catch let e as DataError { throw UserError(e.description) }
        self.compiled = compiled
        try FFTPlan.importWisdom(compiled.wisdom)
        store = PersistentStore(layout: compiled.persistent)
        pool = ThreadPool(threads: threads)
        initializeWeights()
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
        memset(store.block.base, 0, store.block.byteCount)
        WeightInit.initialize({ name, values in
            self.store.pointer(name)!.update(from: values, count: values.count)
        }, parameters: model.parameters, seed: config.seed)
    }

    /// The executable program `name` ("infer" or "train"), built on first use.
    public func program(_ name: String) throws -> ExecutableProgram {
        if let p = programs[name] { return p }
        guard let c = compiled.program(name) else { throw UserError("the model has no program '\(name)'") }
        let p = try ExecutableProgram(graph: c.graph, plan: c.plan, store: store, pool: pool,
                                      rigor: compiled.fftRigor, wisdomOnly: compiled.fftRigor.needsWisdom, arena: arena,
                                      spectral: compiled.spectral)
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
        if config.normalization == .rms, let loadedScales { scales = loadedScales }
        return metadata
    }
}
