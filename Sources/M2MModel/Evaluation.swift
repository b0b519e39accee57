import Foundation
import M2MData

/// Relative L2 error of predictions against the truth, per rollout step and overall
/// (M2M.md section 1: ||pred - true|| / ||true|| per sample, averaged over samples).
public struct Evaluation: Equatable {
    public var perStep: [Double]
    public var samples: Int
    public var overall: Double { perStep.reduce(0, +) / Double(max(perStep.count, 1)) }

    public var json: [String: Any] {
        ["test_rel_l2": overall, "test_rel_l2_per_step": perStep, "test_samples": samples]
    }
}

extension ModelRuntime {
    /// Evaluates `samples` of `data`: `t_out` autoregressive steps for time series, one for steady data.
    public func evaluate(_ data: Dataset, samples: Range<Int>) throws -> Evaluation {
        let (tIn, steps) = (config.tIn, config.tOut)
        try data.validateWindow(tIn: tIn, tOut: steps)
        let pixels = data.height * data.width
        let n = samples.count
        var inputs = [Float](repeating: 0, count: n * pixels * tIn)
        var truth = [Float](repeating: 0, count: n * pixels * steps)
        data.fillBatch(indices: Array(samples), tIn: tIn, tOut: steps, input: &inputs, target: &truth)
        let predicted = try inputs.withUnsafeBufferPointer { try predict($0, count: n, rollout: steps) }
        var perStep = [Double](repeating: 0, count: steps)
        for s in 0..<n {
            for k in 0..<steps {
                var diff = 0.0, ref = 0.0
                for p in 0..<pixels {
                    let i = (s * pixels + p) * steps + k
                    let d = Double(predicted[i]) - Double(truth[i])
                    diff += d * d
                    ref += Double(truth[i]) * Double(truth[i])
                }
                perStep[k] += (diff / max(ref, .leastNormalMagnitude)).squareRoot() / Double(n)
            }
        }
        return Evaluation(perStep: perStep, samples: n)
    }
}
