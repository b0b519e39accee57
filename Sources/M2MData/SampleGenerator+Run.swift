import Foundation

/// Parallel generation: worker threads pull sample indices from a shared counter, each with its
/// own workspace, and write into disjoint slices of the output buffers.
extension SampleGenerator {
    /// Generates samples `range` on `threads` threads; `progress(done, total)` is called after
    /// every sample, one call at a time. The result holds one buffer per entry of `arrays`,
    /// shaped [range.count] + sampleShape.
    public func generate(samples range: Range<Int>, threads: Int = 2,
                         progress: ((Int, Int) -> Void)? = nil) throws -> [(name: String, data: FloatBuffer)] {
        let outputs = arrays.map { (name: $0.name, data: FloatBuffer(shape: [range.count] + $0.sampleShape)) }
        let strides = arrays.map { $0.sampleShape.reduce(1, *) }
        let queue = SampleQueue(range, progress: progress)
        DispatchQueue.concurrentPerform(iterations: max(1, min(threads, range.count))) { _ in
            let workspace = makeWorkspace()
            while let index = queue.next() {
                let slot = index - range.lowerBound
                let pointers = zip(outputs, strides).map { $0.data.pointer + slot * $1 }
                do {
                    try generate(sample: index, into: pointers, workspace: workspace)
                } catch {
                    queue.fail(error)
                    return
                }
                queue.finished()
            }
        }
        if let failure = queue.failure { throw failure }
        return outputs
    }
}

/// The generator threads' shared state: the next sample index, the count done, the first
/// failure and the progress callback. Thread-safe: every access holds `lock`, and `progress` is
/// called under it, one call at a time (so it need not be Sendable itself).
private final class SampleQueue: @unchecked Sendable {
    private let lock = NSLock()
    private let range: Range<Int>
    private let progress: ((Int, Int) -> Void)?
    private var nextIndex: Int
    private var done = 0
    private var firstFailure: Error?

    init(_ range: Range<Int>, progress: ((Int, Int) -> Void)?) {
        self.range = range
        self.progress = progress
        nextIndex = range.lowerBound
    }

    /// The next sample to generate, or nil when all are taken or one has failed.
    func next() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard firstFailure == nil, nextIndex < range.upperBound else { return nil }
        defer { nextIndex += 1 }
        return nextIndex
    }

    /// Records a generated sample and reports progress.
    func finished() {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        progress?(done, range.count)
    }

    /// Records a failure; the first one is kept and stops the other threads.
    func fail(_ error: Error) {
        lock.lock()
        defer { lock.unlock() }
        if firstFailure == nil { firstFailure = error }
    }

    var failure: Error? {
        lock.lock()
        defer { lock.unlock() }
        return firstFailure
    }
}
