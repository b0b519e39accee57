/// Checks of a data set against what a model and its error measure need, each one line
/// naming the data set and the sample, key or frame at fault.
extension Dataset {
    /// The grid must be the model's `grid` config key.
    public func validateGrid(_ grid: [Int]) throws {
        guard grid.count == 2, height == grid[0], width == grid[1] else {
            throw DataError(path, "grid \(height)x\(width) does not match the model's config key 'grid' \(grid)")
        }
    }

    /// The first of `samples` whose target (frames tIn..<tIn + tOut of u; u itself for a steady
    /// data set) has a frame that is zero everywhere, with that frame.
    public func firstZeroTarget(samples: Range<Int>, tIn: Int, tOut: Int) -> (sample: Int, frame: Int)? {
        let pixels = height * width
        if isSteady {
            for s in samples where !(s * pixels..<(s + 1) * pixels).contains(where: { fields[$0] != 0 }) {
                return (s, 0)
            }
            return nil
        }
        let targetFrames = tIn..<min(tIn + tOut, frames)
        var nonzero = [Bool](repeating: false, count: frames)
        for s in samples {
            for f in targetFrames { nonzero[f] = false }
            var base = s * pixels * frames
            for _ in 0..<pixels {
                for f in targetFrames where fields[base + f] != 0 { nonzero[f] = true }
                base += frames
            }
            if let f = targetFrames.first(where: { !nonzero[$0] }) { return (s, f) }
        }
        return nil
    }

    /// Refuses samples whose target is zero everywhere in a frame: their relative L2 error
    /// ||pred - true|| / ||true|| (the loss and the evaluation measure) is undefined.
    /// `role` names the samples' use ("training", "test").
    public func validateNonzeroTargets(samples: Range<Int>, tIn: Int, tOut: Int, role: String) throws {
        guard let (s, f) = firstZeroTarget(samples: samples, tIn: tIn, tOut: tOut) else { return }
        let which = isSteady ? "u" : "frame \(f) of u"
        throw DataError(path, "\(role) sample \(s) is zero everywhere in its target (\(which)): its relative L2 error "
                        + "||pred - true|| / ||true|| is undefined; leave it out (--ntrain/--ntest) or regenerate the data")
    }
}
