/// A data set kind that makes independent, seeded samples (DATA.md): sample i depends only on
/// the settings and i, so batches and threads never change the result. Generators are values
/// shared by the worker threads (Sendable); each thread makes its own `Workspace`.
public protocol SampleGenerator: Sendable {
    /// Per-thread state (FFT plans, buffers), made once per worker thread.
    associatedtype Workspace

    /// DATA.md name: "ns", "mscale" or "cno-poisson".
    var kind: String { get }
    /// Number of samples the data set holds.
    var count: Int { get }
    /// File stem and per-sample shape of every array, e.g. ("u", [64, 64, 50]).
    var arrays: [(name: String, sampleShape: [Int])] { get }
    /// The keys written to `meta.json`.
    var meta: [(String, MetaValue)] { get }

    func makeWorkspace() -> Workspace
    /// Writes sample `index` to `outputs[a]` (one pointer per entry of `arrays`); throws when the
    /// sample cannot be made (e.g. the solver became unstable).
    func generate(sample index: Int, into outputs: [UnsafeMutablePointer<Float>], workspace: Workspace) throws
}
