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

    public static func adamMoment1(_ parameter: String) -> String { "adam.m." + parameter }
    public static func adamMoment2(_ parameter: String) -> String { "adam.v." + parameter }

    /// One autoregressive step: `x[B, H, W, t_in]` -> `prediction[B, H, W, 1]`, with the
    /// inference fusions applied (nothing here needs the pre-activations).
    public static func inference(_ config: ModelConfig) throws -> Graph {
        let model = FNO2d(config: config)
        var b = GraphBuilder(name: "\(config.name).infer")
        let params = model.declareParameters(&b)
        let x = b.input(input, .f32(config.batch, config.grid[0], config.grid[1], config.inputChannels))
        b.output(prediction, try model.forward(&b, x, params))
        return try b.graph.fusingForInference()
    }

    /// A training step: the rollout loss (`rolloutLoss`), its gradient, and an Adam
    /// update of every weight, with the training fusion applied.
    public static func training(_ config: ModelConfig, rollout: Int? = nil) throws -> Graph {
        let model = FNO2d(config: config)
        var b = GraphBuilder(name: "\(config.name).train")
        let params = model.declareParameters(&b)
        let total = try rolloutLoss(&b, model: model, parameters: params, steps: rollout ?? config.rolloutTrain)
        let scalars = b.input(optimizerScalars, .f32(2))
        let names = model.parameterNames
        let ids = names.map { params[$0]! }
        let gradients = try Autodiff.appendBackward(to: &b, loss: total, wrt: ids)
        let o = config.optimizer
        for (i, name) in names.enumerated() {
            let type = b.type(of: ids[i])
            let m = b.state(adamMoment1(name), type), v = b.state(adamMoment2(name), type)
            try b.apply(.adam(beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, weightDecay: o.weightDecay,
                              decoupled: o.decoupledWeightDecay), [ids[i], gradients[i], m, v, scalars])
        }
        b.output(loss, total)
        return try b.graph.fusingForTraining()
    }

    /// Declares the inputs `x[B, H, W, t_in]` and `y[B, H, W, steps]` and returns the
    /// sum over `steps` autoregressive steps (shared weights; each prediction becomes
    /// the newest frame) of the per-step relative L2 loss against `y`.
    public static func rolloutLoss(_ b: inout GraphBuilder, model: FNO2d, parameters: [String: ValueID],
                                   steps: Int) throws -> ValueID {
        let config = model.config
        let (n, h, w, t) = (config.batch, config.grid[0], config.grid[1], config.inputChannels)
        let x = b.input(input, .f32(n, h, w, t))
        let y = b.input(target, .f32(n, h, w, steps))
        var window = x
        var total: ValueID?
        for step in 0..<steps {
            let p = try model.forward(&b, window, parameters)
            let truth = steps == 1 ? y : try b(.sliceChannels(start: step, count: 1), y)
            let stepLoss = try b(.relativeL2Loss, p, truth)
            total = try total.map { try b(.add, $0, stepLoss) } ?? stepLoss
            if step < steps - 1 {
                window = t == 1 ? p : try b(.concatChannels, try b(.sliceChannels(start: 1, count: t - 1), window), p)
            }
        }
        return total!
    }
}
