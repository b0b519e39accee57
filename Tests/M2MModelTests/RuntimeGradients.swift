import Executor
import GraphIR
import M2MModel
import Planner
import XCTest

/// The runtime's side of a whole-model gradient check: the rollout loss of `steps` steps
/// (forward, relative L2, autodiff; no Adam) of `model` with its seeded initial weights, run
/// once on `x` and `y`. Returns the loss, every parameter's gradient (complex as pairs) and
/// the store holding the weights, from which a Double reference reads the same parameters.
enum RuntimeGradients {
    static func run(_ model: any OperatorModel, steps: Int, x: [Float], y: [Float], threads: Int = 2)
        throws -> (loss: Float, grads: [String: [Float]], store: PersistentStore) {
        let (program, store) = try program(try graph(model, steps: steps), model: model, threads: threads)
        try XCTUnwrap(program.buffer(Programs.input)).update(from: x, count: x.count)
        try XCTUnwrap(program.buffer(Programs.target)).update(from: y, count: y.count)
        program.run()
        var result: [String: [Float]] = [:]
        for (name, type) in model.parameterTypes {
            result[name] = Array(UnsafeBufferPointer(start: try XCTUnwrap(program.buffer("g." + name)), count: type.floatCount))
        }
        return (try XCTUnwrap(program.buffer(Programs.loss))[0], result, store)
    }

    /// The rollout loss of `steps` steps, its gradient with respect to every parameter
    /// output as "g.<name>", and the loss as `Programs.loss`.
    static func graph(_ model: any OperatorModel, steps: Int) throws -> Graph {
        var b = GraphBuilder(name: "gradcheck")
        let params = model.declareParameters(&b)
        let total = try Programs.rolloutLoss(&b, model: model, parameters: params, steps: steps).total
        let names = model.parameterNames
        let grads = try Autodiff.appendBackward(to: &b, loss: total, wrt: names.map { params[$0]! })
        b.output(Programs.loss, total)
        for (name, g) in zip(names, grads) { b.output("g." + name, g) }
        return b.graph
    }

    /// `graph` planned and bound, with `model`'s seeded initial weights in its store.
    static func program(_ graph: Graph, model: any OperatorModel, threads: Int = 2)
        throws -> (program: ExecutableProgram, store: PersistentStore) {
        let store = try PersistentStore(layout: try PersistentLayout([graph]))
        WeightInit.initialize({ name, values in store.pointer(name)!.update(from: values, count: values.count) },
                              parameters: model.parameters, seed: model.config.seed)
        let program = try ExecutableProgram(graph: graph, plan: try ProgramPlanner.plan(graph), store: store,
                                            pool: ThreadPool(threads: threads), rigor: .estimate, wisdomOnly: false)
        return (program, store)
    }
}
