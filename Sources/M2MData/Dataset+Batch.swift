import Foundation

/// Train/test split and batch assembly. Filling a batch copies from the arrays loaded at open
/// into caller-owned buffers and allocates nothing, so a training step stays allocation-free.
extension Dataset {
    /// FNO convention: the first `ntrain` samples train, the last `ntest` test.
    public func split(ntrain: Int, ntest: Int) throws -> (train: Range<Int>, test: Range<Int>) {
        guard ntrain >= 0 && ntest >= 0 else { throw DataError("--ntrain/--ntest", "must not be negative") }
        guard ntrain + ntest <= count else {
            throw DataError(path, "ntrain \(ntrain) + ntest \(ntest) = \(ntrain + ntest) exceeds the \(count) samples")
        }
        return (0..<ntrain, (count - ntest)..<count)
    }

    /// Checks a time window: input = frames 0..<tIn, target = frames tIn..<tIn + tOut. Steady
    /// problems take 1 input and 1 target channel.
    public func validateWindow(tIn: Int, tOut: Int) throws {
        if isSteady {
            guard tIn == 1 && tOut == 1 else {
                throw DataError(path, "a steady \(kind) data set maps f to u: t_in and t_out must be 1, got \(tIn) and \(tOut)")
            }
        } else {
            guard tIn >= 1 && tOut >= 1 && tIn + tOut <= frames else {
                throw DataError(path, "t_in \(tIn) + t_out \(tOut) needs \(tIn + tOut) frames, the data set has \(frames)")
            }
        }
    }

    /// Copies samples `indices` into `input` [B, H, W, tIn] and `target` [B, H, W, tOut] (steady:
    /// f and u, one channel each); B = indices.count. Call `validateWindow` once beforehand.
    public func fillBatch(indices: UnsafeBufferPointer<Int>, tIn: Int, tOut: Int,
                          input: UnsafeMutablePointer<Float>, target: UnsafeMutablePointer<Float>) {
        let pixels = height * width
        fields.withUnsafeBufferPointer { u in
            if isSteady {
                sources.withUnsafeBufferPointer { f in
                    for (b, sample) in indices.enumerated() {
                        precondition(sample >= 0 && sample < count, "sample index out of range")
                        (input + b * pixels).update(from: f.baseAddress! + sample * pixels, count: pixels)
                        (target + b * pixels).update(from: u.baseAddress! + sample * pixels, count: pixels)
                    }
                }
                return
            }
            precondition(tIn >= 1 && tOut >= 1 && tIn + tOut <= frames, "invalid window")
            for (b, sample) in indices.enumerated() {
                precondition(sample >= 0 && sample < count, "sample index out of range")
                var source = u.baseAddress! + sample * pixels * frames
                var inp = input + b * pixels * tIn
                var tgt = target + b * pixels * tOut
                for _ in 0..<pixels {
                    inp.update(from: source, count: tIn)
                    tgt.update(from: source + tIn, count: tOut)
                    source += frames
                    inp += tIn
                    tgt += tOut
                }
            }
        }
    }

    /// `fillBatch` for an array of indices (no allocation: the array's storage is borrowed).
    public func fillBatch(indices: [Int], tIn: Int, tOut: Int,
                          input: UnsafeMutablePointer<Float>, target: UnsafeMutablePointer<Float>) {
        indices.withUnsafeBufferPointer { fillBatch(indices: $0, tIn: tIn, tOut: tOut, input: input, target: target) }
    }
}
