import GraphIR

/// The two programs every model compiles: inference (one step) and training
/// (rollout forward, loss, backward, Adam), with the names they exchange data by.
public enum Programs {
    public static let input = "x"
    public static let target = "y"
    public static let prediction = "prediction"
    public static let loss = "loss"
    /// Runtime optimizer scalars `[learning rate, step]`: fed each step, never compiled in.
    public static let optimizerScalars = "optimizer"
    /// Routed models: the runtime scalar lambda(t) weighting the router loss (M2M.md section 7).
    public static let routingWeight = "routing_weight"
    /// Routed models: the summed data loss, router loss and KL term of a training step.
    public static let dataLoss = "loss_data"
    public static let routerLoss = "loss_router"
    public static let klLoss = "kl"
    /// Models with an auxiliary loss (the KNO's reconstruction term): its weighted sum over the rollout.
    public static let auxiliaryLoss = "loss_auxiliary"
    /// Routed models: the routing table (`RouteTable`) of rollout step `step` (inference: "route").
    public static func route(_ step: Int) -> String { "route.\(step)" }
    public static let inferenceRoute = "route"

    public static func adamMoment1(_ parameter: String) -> String { "adam.m." + parameter }
    public static func adamMoment2(_ parameter: String) -> String { "adam.v." + parameter }

    /// One autoregressive step: `x[B, H, W, t_in]` -> `prediction[B, H, W, 1]` (and a routed
    /// model's routing table), with the inference fusions applied.
    public static func inference(_ config: ModelConfig) throws -> Graph {
        let model = Models.make(config)
        var b = GraphBuilder(name: "\(config.name).infer")
        let params = model.declareParameters(&b)
        let x = b.input(input, .f32(config.batch, config.grid[0], config.grid[1], config.inputChannels))
        let step = try model.forward(&b, x, params)
        b.output(prediction, step.prediction)
        if let routing = step.routing { b.output(inferenceRoute, routing.route) }
        // The forward step also builds the router loss, which inference does not output:
        // dead-code elimination removes it (a no-op for the FNO).
        return try b.graph.removingUnused().fusingForInference()
    }

    /// A training step: the rollout loss (`rolloutLoss`), its gradient, and an Adam
    /// update of every weight, with the training fusion applied; under the config's
    /// `memory_limit`, with the recomputation that fits it (`trainingProgram`).
    public static func training(_ config: ModelConfig, rollout: Int? = nil) throws -> Graph {
        try trainingProgram(config, rollout: rollout).graph
    }

    /// The training program and, when the config sets `memory_limit`, what the planner
    /// recomputes to fit it (`RecomputePlanner`): the limit bounds the training arena plus the
    /// persistent block (weights and Adam moments). Without a limit, or when the program fits
    /// it as it is, the graph is the plain training graph. Throws `MemoryLimitError` when no
    /// recomputation fits.
    public static func trainingProgram(_ config: ModelConfig, rollout: Int? = nil) throws
        -> (graph: Graph, recompute: MemoryLimitReport?) {
        let model = Models.make(config)
        var b = GraphBuilder(name: "\(config.name).train")
        let params = model.declareParameters(&b)
        let losses = try rolloutLoss(&b, model: model, parameters: params, steps: rollout ?? config.rolloutTrain)
        let forwardNodes = b.graph.nodes.count
        let scalars = b.input(optimizerScalars, .f32(2))
        let names = model.parameterNames
        let ids = names.map { params[$0]! }
        let gradients = try Autodiff.appendBackward(to: &b, loss: losses.total, wrt: ids)
        let o = config.optimizer
        for (i, name) in names.enumerated() {
            let type = b.type(of: ids[i])
            let m = b.state(adamMoment1(name), type), v = b.state(adamMoment2(name), type)
            try b.apply(.adam(beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, weightDecay: o.weightDecay,
                              decoupled: o.decoupledWeightDecay), [ids[i], gradients[i], m, v, scalars])
        }
        b.output(loss, losses.total)
        losses.declareOutputs(&b)
        guard let limit = config.memoryLimit else { return (try b.graph.fusingForTraining(), nil) }
        return try MemoryLimitReport.fit(b.graph, forwardNodes: forwardNodes, losses: losses, limit: limit)
    }

    /// The terms of a rollout's loss: the total (what is differentiated) and, for routed
    /// models, the data and router sums, the KL sum and each step's routing table.
    public struct RolloutLosses {
        public var total: ValueID
        public var data: ValueID
        public var router: ValueID?
        public var kl: ValueID?
        public var routes: [ValueID]
        /// The weighted auxiliary terms summed over the rollout, for models that have one.
        public var auxiliary: ValueID? = nil
        /// The nodes each rollout step appended (its forward pass, loss terms and the next window).
        public var stepNodes: [Range<Int>] = []
        /// Each step's input window (`x` for step 0): the values a checkpointed step is recomputed from.
        public var windows: [ValueID] = []

        /// Declares the routed and auxiliary terms as outputs (the training loop reports them).
        func declareOutputs(_ b: inout GraphBuilder) {
            if auxiliary != nil || router != nil { b.output(dataLoss, data) }
            if let auxiliary { b.output(auxiliaryLoss, auxiliary) }
            guard let router, let kl else { return }
            b.output(routerLoss, router)
            b.output(klLoss, kl)
            for (i, r) in routes.enumerated() { b.output(route(i), r) }
        }
    }

    /// Declares the inputs `x[B, H, W, t_in]` and `y[B, H, W, steps]` (and, for a routed model,
    /// the runtime scalar `routing_weight`) and returns the sum over `steps` autoregressive
    /// steps (shared weights; each prediction becomes the newest frame) of the per-step
    /// relative L2 loss against `y`, plus `lambda x` the summed router loss for routed
    /// models, plus the summed auxiliary terms of models that have one (the KNO's weighted
    /// reconstruction loss). This is the one definition of the training rollout.
    public static func rolloutLoss(_ b: inout GraphBuilder, model: any OperatorModel, parameters: [String: ValueID],
                                   steps: Int) throws -> RolloutLosses {
        let config = model.config
        let (n, h, w, t) = (config.batch, config.grid[0], config.grid[1], config.inputChannels)
        let x = b.input(input, .f32(n, h, w, t))
        let y = b.input(target, .f32(n, h, w, steps))
        var window = x
        var dataTerms: [ValueID] = [], routerTerms: [ValueID] = [], klTerms: [ValueID] = [], routes: [ValueID] = []
        var auxiliaryTerms: [ValueID] = []
        var stepNodes: [Range<Int>] = [], windows: [ValueID] = []
        for step in 0..<steps {
            let firstNode = b.graph.nodes.count
            windows.append(window)
            let forward = try model.forward(&b, window, parameters)
            let truth = steps == 1 ? y : try b(.sliceChannels(start: step, count: 1), y)
            dataTerms.append(try b(.relativeL2Loss, forward.prediction, truth))
            if let auxiliary = forward.auxiliaryLoss { auxiliaryTerms.append(auxiliary) }
            if let routing = forward.routing {
                routerTerms.append(routing.routerLoss)
                klTerms.append(routing.kl)
                routes.append(routing.route)
            }
            if step < steps - 1 {
                window = t == 1 ? forward.prediction
                    : try b(.concatChannels, try b(.sliceChannels(start: 1, count: t - 1), window), forward.prediction)
            }
            stepNodes.append(firstNode..<b.graph.nodes.count)
        }
        let data = try b.sum(dataTerms)
        let auxiliary = auxiliaryTerms.isEmpty ? nil : try b.sum(auxiliaryTerms)
        let withAuxiliary = try auxiliary.map { try b(.add, data, $0) } ?? data
        guard !routerTerms.isEmpty else {
            return RolloutLosses(total: withAuxiliary, data: data, router: nil, kl: nil, routes: [], auxiliary: auxiliary,
                                 stepNodes: stepNodes, windows: windows)
        }
        let router = try b.sum(routerTerms), kl = try b.sum(klTerms)
        let lambda = b.input(routingWeight, .f32())
        let total = try b(.add, withAuxiliary, try b(.mul, lambda, router))
        return RolloutLosses(total: total, data: data, router: router, kl: kl, routes: routes, auxiliary: auxiliary,
                             stepNodes: stepNodes, windows: windows)
    }
}
