import Foundation
import GraphIR
import M2MData

/// Relative L2 error of predictions against the truth, per rollout step and overall
/// (M2M.md section 1: ||pred - true|| / ||true|| per sample, averaged over samples).
public struct Evaluation: Equatable {
    public var perStep: [Double]
    public var samples: Int
    /// Routed models: routing counters over every step of every evaluated sample.
    public var routing: RoutingStatistics?
    /// Routed models: the expert of each patch's first kept slot (-1: dropped) for every
    /// evaluated sample and rollout step: `[sample][step][patch row * scale + patch column]`.
    public var patchExperts: [[[Int]]]?
    /// The first evaluated sample's routing maps, `[step][patch]`.
    public var routingMap: [[Int]]? { patchExperts?.first }
    /// The first evaluated sample's prediction and truth, `[H * W * steps]` with the step
    /// fastest (as `predict` returns them).
    public var firstPrediction: [Float]
    public var firstTruth: [Float]
    public var overall: Double { perStep.reduce(0, +) / Double(max(perStep.count, 1)) }

    public var json: [String: Any] {
        var figures: [String: Any] = ["test_rel_l2": overall, "test_rel_l2_per_step": perStep, "test_samples": samples]
        if let routing, let patchExperts {
            figures["routed_fraction"] = routing.fractions
            figures["overflow"] = routing.overflow
            figures["patch_experts"] = patchExperts
        }
        return figures
    }
}

extension ModelRuntime {
    /// Evaluates `samples` of `data`: `t_out` autoregressive steps for time series, one for steady data.
    public func evaluate(_ data: Dataset, samples: Range<Int>) throws -> Evaluation {
        let (tIn, steps) = (config.tIn, config.tOut)
        try data.validateGrid(config.grid)
        try data.validateWindow(tIn: tIn, tOut: steps)
        try data.validateNonzeroTargets(samples: samples, tIn: tIn, tOut: steps, role: "test")
        let pixels = data.height * data.width
        let n = samples.count
        var inputs = [Float](repeating: 0, count: n * pixels * tIn)
        var truth = [Float](repeating: 0, count: n * pixels * steps)
        data.fillBatch(indices: Array(samples), tIn: tIn, tOut: steps, input: &inputs, target: &truth)
        var routing: RoutingStatistics?, patchExperts: [[[Int]]]?
        var routes: ((UnsafePointer<Int32>, Int, Int, Int) -> Void)?
        if let m2m = model as? M2MNet {
            let full = m2m.routeTable, perSample = m2m.patchesPerSample
            routing = RoutingStatistics(experts: full.experts)
            patchExperts = Array(repeating: Array(repeating: [], count: steps), count: n)
            routes = { table, first, count, step in
                // Only the batch's real samples count (a last partial batch is padded).
                routing!.add(table, layout: full, samples: count * perSample)
                for s in 0..<count {
                    patchExperts![first + s][step] = (0..<perSample).map { p in
                        (0..<full.k).lazy.map { Int(table[full.slot(s * perSample + p, $0)]) }.first { $0 >= 0 } ?? -1
                    }
                }
            }
        }
        let predicted = try inputs.withUnsafeBufferPointer { try predict($0, count: n, rollout: steps, routes: routes) }
        if let bad = NonFinitePrediction.first(in: predicted, pixels: pixels, rollout: steps) {
            throw NonFinitePrediction(sample: samples.lowerBound + bad.sample, step: bad.step, value: bad.value)
        }
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
                // ref > 0: samples with an all-zero target were refused above.
                perStep[k] += (diff / ref).squareRoot() / Double(n)
            }
        }
        return Evaluation(perStep: perStep, samples: n, routing: routing, patchExperts: patchExperts,
                          firstPrediction: Array(predicted[0..<(pixels * steps)]),
                          firstTruth: Array(truth[0..<(pixels * steps)]))
    }
}

/// A prediction that is NaN or infinite: the first one, by sample (an index into the caller's
/// samples) and rollout step (0-based). Callers add what it was predicted from.
public struct NonFinitePrediction: Error, CustomStringConvertible {
    public var sample: Int, step: Int, value: Float

    public var description: String {
        "the model's prediction is \(value) for sample \(sample) at rollout step \(step + 1)"
    }

    /// The first non-finite value of `values` laid out `[sample, pixel, step]` (as `predict` returns them).
    public static func first(in values: [Float], pixels: Int, rollout: Int) -> NonFinitePrediction? {
        guard let i = values.firstIndex(where: { !$0.isFinite }) else { return nil }
        return NonFinitePrediction(sample: i / (pixels * rollout), step: i % rollout, value: values[i])
    }
}
