import Foundation
import M2MData

/// The scales data is divided by before it reaches the network (config key
/// `normalization: rms`): the root mean square of the training inputs and targets,
/// in Double over the training samples in index order. Scale-only (no shift), so the
/// relative L2 loss on scaled targets is the relative L2 error of the unscaled
/// prediction. A time-stepping model feeds its predictions back as inputs, so input
/// and target share one scale there. Saved with the weights (checkpoint metadata).
public struct DataScales: Equatable, Sendable {
    public var input: Float = 1
    public var target: Float = 1

    public init() {}
    public init(input: Float, target: Float) { (self.input, self.target) = (input, target) }

    public var isIdentity: Bool { input == 1 && target == 1 }

    /// The RMS scales of the training samples `samples` of `data`.
    public static func measure(_ data: Dataset, samples: Range<Int>) throws -> DataScales {
        func rms(_ values: [Float], from: Int, count: Int) -> Double {
            var sum = 0.0
            for i in from..<(from + count) { sum += Double(values[i]) * Double(values[i]) }
            return (sum / Double(max(count, 1))).squareRoot()
        }
        let pixels = data.height * data.width
        let perSample = data.isSteady ? pixels : pixels * data.frames
        let target = rms(data.fields, from: samples.lowerBound * perSample, count: samples.count * perSample)
        let input = data.isSteady ? rms(data.sources, from: samples.lowerBound * pixels, count: samples.count * pixels) : target
        guard input > 0, target > 0, input.isFinite, target.isFinite else {
            throw UserError("\(data.path): the training samples are all zero or not finite: normalization 'rms' needs data")
        }
        return DataScales(input: Float(input), target: Float(target))
    }

    static let inputKey = "data_scale.input", targetKey = "data_scale.target"

    /// Checkpoint metadata (Float `description` reads back to the same bits).
    public var metadata: [String: String] { [Self.inputKey: input.description, Self.targetKey: target.description] }

    /// The scales in `metadata`, nil when it has none (weights trained without normalization).
    public init?(metadata: [String: String], source: String) throws {
        guard let i = metadata[Self.inputKey], let t = metadata[Self.targetKey] else { return nil }
        guard let input = Float(i), let target = Float(t), input > 0, target > 0, input.isFinite, target.isFinite else {
            throw UserError("\(source): metadata '\(Self.inputKey)'/'\(Self.targetKey)' are not positive numbers")
        }
        self.init(input: input, target: target)
    }

    /// Divides `count` floats at `p` by `scale` in place (nothing when it is 1).
    static func divide(_ p: UnsafeMutablePointer<Float>, count: Int, by scale: Float) {
        guard scale != 1 else { return }
        for i in 0..<count { p[i] /= scale }
    }
}
