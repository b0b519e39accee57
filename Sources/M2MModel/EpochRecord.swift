import Foundation

/// One line of `metrics.jsonl` (keys are the snake_case of the property names; absent
/// fields are omitted: the routing fields appear for routed models only).
public struct EpochRecord: Codable, Equatable, Sendable {
    public var epoch: Int
    public var step: Int
    public var lr: Double
    /// Mean over batches of the training loss (for a routed model: L_data + lambda L_router).
    public var trainLoss: Double
    public var trainLossPerRolloutStep: Double
    public var seconds: Double
    public var testRelL2: Double
    public var testRelL2PerStep: [Double]
    public var testSamples: Int

    // Routed models (M2M.md section 8).
    /// Mean over batches of the summed data loss and router loss.
    public var lossData: Double?
    public var lossRouter: Double?
    /// Mean over batches of the step's KL term averaged over its rollout steps.
    public var kl: Double?
    /// lambda(t) after the epoch's last step (the next step's), and the controller's integral.
    public var lambda: Double?
    public var controllerIntegral: Double?
    /// Each expert's share of the epoch's training slots, and reroutes + drops in total and per expert.
    public var routedFraction: [Double]?
    public var overflow: Int?
    public var overflowPerExpert: [Int]?
    /// Each expert's share of the slots in the test rollout.
    public var testRoutedFraction: [Double]?

    /// The JSON line (sorted keys).
    public func jsonLine() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }
}
