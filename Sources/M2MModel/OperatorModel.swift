import GraphIR

/// How a parameter's initial values are drawn (each parameter from its own seeded stream).
public enum Initializer: Sendable, Hashable {
    /// `U(-1/sqrt(fanIn), 1/sqrt(fanIn))`: PyTorch's `nn.Linear` default, weights and biases.
    case linear(fanIn: Int)
    /// `scale * U[0, 1)` for real and imaginary parts: the FNO reference's spectral weights.
    case spectral(scale: Double)
}

/// One trainable tensor: its safetensors name, type, initializer, and the part of the
/// model it belongs to (`nil`: shared; an expert index: that expert), which a placement
/// policy may use to choose its memory domain.
public struct ParameterSpec: Sendable, Hashable {
    public var name: String
    public var type: TensorType
    public var initializer: Initializer
    public var expert: Int?

    public init(_ name: String, _ type: TensorType, _ initializer: Initializer, expert: Int? = nil) {
        self.name = name
        self.type = type
        self.initializer = initializer
        self.expert = expert
    }
}

/// What one forward step of a model produces: the prediction, for routed models the
/// routing terms of the loss (M2M.md section 6) and the step's routing table, and for
/// models with one an auxiliary loss term added to the training loss as it is (already
/// weighted: the KNO's reconstruction loss).
public struct ModelStep {
    public var prediction: ValueID
    public var routing: RoutingStep?
    public var auxiliaryLoss: ValueID? = nil
}

/// The routing part of one M2M step.
public struct RoutingStep {
    /// `KL(pbar || prior) + gamma * mean H(p)`, a scalar.
    public var routerLoss: ValueID
    /// The KL term alone (what the PI controller measures), a scalar.
    public var kl: ValueID
    /// The i32 routing table (`RouteTable`) of this step.
    public var route: ValueID
}

/// A model the runtime can compile: parameters with their initializers, and a forward
/// step as graph nodes. `model: fno | m2m | kno | cno | uno` in the config chooses the implementation.
public protocol OperatorModel {
    var config: ModelConfig { get }
    /// Every parameter, in a fixed order (the order of the seeded streams).
    var parameters: [ParameterSpec] { get }
    /// One step: `x[N, H, W, t_in]` -> `prediction[N, H, W, 1]` (and routing terms).
    func forward(_ b: inout GraphBuilder, _ x: ValueID, _ p: [String: ValueID]) throws -> ModelStep
}

extension OperatorModel {
    public var parameterNames: [String] { parameters.map(\.name) }
    public var parameterTypes: [(name: String, type: TensorType)] { parameters.map { ($0.name, $0.type) } }
    /// Real scalars in all trainable parameters (complex counts twice).
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.type.floatCount } }

    /// Declares the parameters in `builder`; returns their values by name.
    public func declareParameters(_ builder: inout GraphBuilder) -> [String: ValueID] {
        var ids: [String: ValueID] = [:]
        for spec in parameters { ids[spec.name] = builder.parameter(spec.name, spec.type) }
        return ids
    }
}

/// The model a config names.
public enum Models {
    public static func make(_ config: ModelConfig) -> any OperatorModel {
        switch config.kind {
        case .fno: return FNO2d(config: config)
        case .m2m: return M2MNet(config: config)
        case .kno: return KNO2d(config: config)
        case .cno: return CNO2d(config: config)
        case .uno: return UNO2d(config: config)
        }
    }
}
