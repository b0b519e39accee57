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
        let lock = NSLock()
        var next = range.lowerBound
        var done = 0
        var failure: Error?
        DispatchQueue.concurrentPerform(iterations: max(1, min(threads, range.count))) { _ in
            let workspace = makeWorkspace()
            while true {
                lock.lock()
                let index = next
                next += 1
                let stop = failure != nil || index >= range.upperBound
                lock.unlock()
                if stop { return }
                let slot = index - range.lowerBound
                let pointers = zip(outputs, strides).map { $0.data.pointer + slot * $1 }
                do {
                    try generate(sample: index, into: pointers, workspace: workspace)
                } catch {
                    lock.lock()
                    if failure == nil { failure = error }
                    lock.unlock()
                    return
                }
                lock.lock()
                done += 1
                progress?(done, range.count)
                lock.unlock()
            }
        }
        if let failure { throw failure }
        return outputs
    }
}
