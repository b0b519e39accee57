import Foundation
import GraphIR

/// The M2M model (M2M.md sections 3-6) as graph nodes: the newest frame's patches feed
/// a router (log band energies, mean, std -> MLP -> softmax(logits / T)); top-k routing
/// with static capacity dispatches each patch to its experts (FNO2d networks on the
/// extended patch grid) which run only on their routed patches; `combine` gathers each
/// patch's gated expert outputs and `merge_patches` puts the cores back in place.
/// Dense mode runs every expert on every patch, weighted by p. Parameter names:
/// `router.*`, `experts.E.*` (FNO2d names), `global.*` (ARCHITECTURE.md lists them).
public struct M2MNet: OperatorModel {
    public let config: ModelConfig
    public let m2m: M2MConfig

    public init(config: ModelConfig) {
        self.config = config
        m2m = config.m2m ?? M2MConfig()
    }

    // MARK: Geometry

    public var patchesPerSample: Int { m2m.scale * m2m.scale }
    /// Patches per step: batch x scale^2.
    public var patches: Int { config.batch * patchesPerSample }
    public var coreSize: (rows: Int, cols: Int) { (config.grid[0] / m2m.scale, config.grid[1] / m2m.scale) }
    public var extendedSize: (rows: Int, cols: Int) {
        (coreSize.rows + 2 * m2m.halo, coreSize.cols + 2 * m2m.halo)
    }
    /// Slots per patch: k, or every expert in dense mode.
    public var slots: Int { m2m.dense ? m2m.experts : m2m.k }
    public var capacity: Int { m2m.capacity(patches: patches) }
    public var features: Int { m2m.bands + 2 }

    /// Expert e's FNO2d on the extended patch grid.
    public func expert(_ e: Int) -> FNO2d {
        FNO2d(config: config, shape: .init(inputChannels: config.inputChannels, width: m2m.expertWidths[e],
                                           modes1: m2m.expertModes[e], modes2: m2m.expertModes[e],
                                           layers: config.layers, projectionHidden: config.projectionHidden,
                                           coordinatesSupplied: m2m.expertCoordinates == "global"),
              prefix: "experts.\(e).", expert: e)
    }

    /// The global expert on the whole field, if configured.
    public var globalExpert: FNO2d? {
        guard m2m.globalExpert else { return nil }
        return FNO2d(config: config, shape: .init(inputChannels: config.inputChannels, width: m2m.globalWidth,
                                                  modes1: m2m.globalModes, modes2: m2m.globalModes,
                                                  layers: config.layers, projectionHidden: config.projectionHidden),
                     prefix: "global.", expert: nil)
    }

    /// Each expert's cut-off as a fraction of the extended patch's Nyquist (M2M.md section 6).
    public var expertCutoffs: [Double] {
        let (pe, qe) = extendedSize
        return m2m.expertModes.map { m in max(Double(m) / (Double(pe) / 2), Double(m) / (Double(qe) / 2)) }
    }

    // MARK: Parameters

    public var parameters: [ParameterSpec] {
        let (f, h, e) = (features, m2m.routerHidden, m2m.experts)
        var list = [ParameterSpec("router.hidden.weight", .f32(f, h), .linear(fanIn: f)),
                    ParameterSpec("router.hidden.bias", .f32(h), .linear(fanIn: f)),
                    ParameterSpec("router.out.weight", .f32(h, e), .linear(fanIn: h)),
                    ParameterSpec("router.out.bias", .f32(e), .linear(fanIn: h))]
        for i in 0..<e { list += expert(i).parameters }
        if let g = globalExpert { list += g.parameters }
        return list
    }

    // MARK: Forward

    public func forward(_ b: inout GraphBuilder, _ x: ValueID, _ p: [String: ValueID]) throws -> ModelStep {
        let (s, h) = (m2m.scale, m2m.halo)
        let newest = try b(.sliceChannels(start: config.inputChannels - 1, count: 1), x)
        let cores = try b(.extractPatches(scale: s, halo: 0), newest)
        let (probabilities, logP) = try router(&b, cores, p)

        // Dispatch, experts on their routed patches, combine.
        let route = try b(.route(k: slots, capacity: capacity), probabilities)
        let gates = try b(.gatherGates(k: slots, renormalize: m2m.renormalizeGates), probabilities, route)
        // `expert_coordinates: global`: each cell carries its position in the whole field,
        // appended before the cut so the halo wraps the coordinates with the field.
        let source = m2m.expertCoordinates == "global" ? try b(.appendCoordinates, x) : x
        let extended = try b(.extractPatches(scale: s, halo: h), source)
        var outputs: [ValueID] = []
        for e in 0..<m2m.experts {
            let routed = try b(.dispatch(expert: e, k: slots, capacity: capacity), extended, route)
            outputs.append(try expert(e).predict(&b, routed, p))
        }
        let combined = try b.apply(.combine(k: slots, capacity: capacity, halo: h), [gates, route] + outputs)!
        var prediction = try b(.mergePatches(scale: s, halo: 0), combined)
        if let g = globalExpert { prediction = try b(.add, prediction, try g.predict(&b, x, p)) }

        let (routerLoss, kl) = try routerLoss(&b, probabilities, logP, cores: cores)
        return ModelStep(prediction: prediction, routing: RoutingStep(routerLoss: routerLoss, kl: kl, route: route))
    }

    /// Features per patch core (M2M.md section 4) -> MLP -> softmax(logits / T):
    /// `p[Np, E]` and `log p`.
    func router(_ b: inout GraphBuilder, _ cores: ValueID, _ p: [String: ValueID]) throws -> (ValueID, ValueID) {
        let n = patches, cells = coreSize.rows * coreSize.cols
        let energies = try b(.bandEnergies(bands: m2m.bands), cores)
        let logEnergies = try b(.log, try b(.affine(scale: 1, shift: 1e-6), energies))
        let flat = try b(.reshape(shape: [n, cells]), cores)
        let mean = try b.mean(flat, axis: 1)
        let centered = try b.subtractBroadcast(flat, mean, axis: 1)
        let variance = try b.mean(try b(.mul, centered, centered), axis: 1)
        let std = try b(.sqrt, try b(.affine(scale: 1, shift: 1e-12), variance))
        let features = try b(.concatChannels, try b(.concatChannels, logEnergies, try b(.reshape(shape: [n, 1]), mean)),
                             try b(.reshape(shape: [n, 1]), std))
        let hidden = try b(.gelu, try b(.linear, features, p["router.hidden.weight"]!, p["router.hidden.bias"]!))
        let logits = try b(.linear, hidden, p["router.out.weight"]!, p["router.out.bias"]!)
        return try b.softmax(try b(.affine(scale: 1 / m2m.temperature, shift: 0), logits), axis: 1)
    }

    /// `KL(pbar || prior) + gamma * mean_patches H(p)` and the KL alone (M2M.md section 6);
    /// with `prior_match: patch` the KL is the mean over patches of `KL(p_patch || q_patch)`.
    func routerLoss(_ b: inout GraphBuilder, _ probabilities: ValueID, _ logP: ValueID,
                    cores: ValueID) throws -> (loss: ValueID, kl: ValueID) {
        let e = m2m.experts
        // The prior: one log q for all patches ([E]), or one per patch ([patches, E]). A constant.
        let logPrior: ValueID
        var perPatch = false
        switch m2m.prior {
        case .uniform:
            logPrior = try b(.fill(value: -Foundation.log(Double(e)), shape: [e]))
        case .weights(let w):
            let total = w.reduce(0, +)
            logPrior = try b.constant(w.map { Foundation.log($0 / total) })
        case .frequency:
            // q = softmax(-|c_patch - c_e| / tau) per patch; averaged over patches for `mean`.
            let centroid = try b(.broadcast(axis: 1, size: e), try b(.spectralCentroid, cores))
            let cutoffs = try b(.broadcast(axis: 0, size: patches), try b.constant(expertCutoffs))
            let difference = try b(.sub, centroid, cutoffs)
            let distance = try b(.sqrt, try b(.mul, difference, difference))
            let q = try b.softmaxProbabilities(try b(.affine(scale: -1 / m2m.tau, shift: 0), distance), axis: 1)
            switch m2m.priorMatch {
            case .mean: logPrior = try b(.log, try b.mean(q, axis: 0))
            case .patch: logPrior = try b(.log, q); perPatch = true
            }
        }
        let kl: ValueID
        switch m2m.priorMatch {
        case .mean:
            let pbar = try b.mean(probabilities, axis: 0)
            kl = try b.dot(pbar, try b(.sub, try b(.log, pbar), logPrior), axis: 0)
        case .patch:
            let logQ = perPatch ? logPrior : try b(.broadcast(axis: 0, size: patches), logPrior)
            kl = try b.mean(try b.dot(probabilities, try b(.sub, logP, logQ), axis: 1), axis: 0)
        }
        let entropy = try b(.affine(scale: -1, shift: 0), try b.mean(try b.dot(probabilities, logP, axis: 1), axis: 0))
        let loss = try b(.add, kl, try b(.affine(scale: m2m.gamma, shift: 0), entropy))
        return (loss, kl)
    }
}
