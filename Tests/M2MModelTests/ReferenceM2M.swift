import Foundation
import M2MModel

/// An independent Double-precision M2M forward pass and training loss (M2M.md
/// sections 3-6), written from the spec text only: naive DFTs, its own patching,
/// features, router MLP, ranking and greedy capacity assignment, gates, combine and
/// losses. Each expert (and the global expert) is a `ReferenceFNO` on its own grid with
/// its parameters under the `experts.E.` (`global.`) prefix stripped.
struct ReferenceM2M {
    let config: ModelConfig
    var parameters: [String: [Double]]

    init(config: ModelConfig, parameters: [String: [Double]]) {
        precondition(config.m2m != nil, "ReferenceM2M needs an m2m config")
        self.config = config
        self.parameters = parameters
    }

    var m2m: M2MConfig { config.m2m! }
    var H: Int { config.grid[0] }
    var W: Int { config.grid[1] }
    var scale: Int { m2m.scale }
    var halo: Int { m2m.halo }
    /// Core patch size P x Q and the extended patch Pe x Qe.
    var P: Int { H / scale }
    var Q: Int { W / scale }
    var Pe: Int { P + 2 * halo }
    var Qe: Int { Q + 2 * halo }
    var E: Int { m2m.expertModes.count }
    var frames: Int { config.inputChannels }

    // MARK: Routing table

    /// What the greedy assignment decided for one router invocation.
    struct Routing: Equatable, CustomStringConvertible {
        /// Per patch, per slot: the expert and its position in that expert's buffer (-1, -1: dropped).
        var experts: [[Int]]
        var positions: [[Int]]
        var counts: [Int]
        var reroutes: [Int]
        var drops: [Int]
        var description: String { "experts \(experts) counts \(counts) reroutes \(reroutes) drops \(drops)" }
    }

    /// Experts of one patch ordered by probability, descending; ties to the lower index.
    static func ranking(_ p: [Double]) -> [Int] {
        p.indices.sorted { a, b in p[a] != p[b] ? p[a] > p[b] : a < b }
    }

    /// Capacity per expert and router invocation (section 5), for `patches` patches.
    func capacity(patches: Int, k: Int) -> Int {
        if m2m.dense { return patches }
        guard let c = m2m.capacityFactor else { return patches }
        return Int((((c * Double(patches)) * Double(k)) / Double(E)).rounded(.up))
    }

    /// Section 5: slot j of each patch (patches in order) asks for its j-th ranked expert; a
    /// full expert (or one this patch already took) sends it to the highest-ranked expert
    /// not yet taken with room (a reroute charged to the one asked), else it is dropped.
    func assign(_ probabilities: [[Double]], k: Int) -> Routing {
        let n = probabilities.count
        let cap = capacity(patches: n, k: k)
        var r = Routing(experts: [], positions: [], counts: Array(repeating: 0, count: E),
                        reroutes: Array(repeating: 0, count: E), drops: Array(repeating: 0, count: E))
        for patch in 0..<n {
            let rank = Self.ranking(probabilities[patch])
            var taken: [Int] = [], slots: [Int] = [], positions: [Int] = []
            for j in 0..<k {
                let asked = rank[j]
                var chosen: Int?
                if !taken.contains(asked) && r.counts[asked] < cap {
                    chosen = asked
                } else {
                    chosen = rank.first { !taken.contains($0) && r.counts[$0] < cap }
                    if chosen != nil { r.reroutes[asked] += 1 } else { r.drops[asked] += 1 }
                }
                if let e = chosen {
                    taken.append(e)
                    slots.append(e)
                    positions.append(r.counts[e])
                    r.counts[e] += 1
                } else {
                    slots.append(-1)
                    positions.append(-1)
                }
            }
            r.experts.append(slots)
            r.positions.append(positions)
        }
        return r
    }

    // MARK: Patches

    /// Field row/column of extended-patch cell (i, j) of patch row/column (pr, pc), wrapped.
    func wrapped(_ v: Int, _ n: Int) -> Int { ((v % n) + n) % n }

    /// `x[B, H, W, C]` -> patches `[B s^2, P + 2h, Q + 2h, C]` (sample, patch row, patch column).
    func extract(_ x: [Double], batch: Int, channels c: Int, halo h: Int) -> [Double] {
        let (rows, cols) = (P + 2 * h, Q + 2 * h)
        var out = [Double](repeating: 0, count: batch * scale * scale * rows * cols * c)
        var o = 0
        for b in 0..<batch {
            for pr in 0..<scale {
                for pc in 0..<scale {
                    for i in 0..<rows {
                        let y = wrapped(pr * P - h + i, H)
                        for j in 0..<cols {
                            let xx = wrapped(pc * Q - h + j, W)
                            for ch in 0..<c {
                                out[o] = x[((b * H + y) * W + xx) * c + ch]
                                o += 1
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    // MARK: Router

    /// `|F[ky, kx]|^2` of a real `P x Q` patch by a naive 2-D DFT, with each mode's radius
    /// rho = sqrt((2 ky / P)^2 + (2 kx / Q)^2) over signed integer frequencies.
    func powerSpectrum(_ patch: ArraySlice<Double>) -> [(power: Double, rho: Double)] {
        let base = patch.startIndex
        var result: [(Double, Double)] = []
        for ky in 0..<P {
            for kx in 0..<Q {
                var re = 0.0, im = 0.0
                for r in 0..<P {
                    for c in 0..<Q {
                        let angle = -2 * Double.pi * (Double(ky * r) / Double(P) + Double(kx * c) / Double(Q))
                        re += patch[base + r * Q + c] * cos(angle)
                        im += patch[base + r * Q + c] * sin(angle)
                    }
                }
                let sy = Double(ky <= P / 2 ? ky : ky - P), sx = Double(kx <= Q / 2 ? kx : kx - Q)
                let rho = ((2 * sy / Double(P)) * (2 * sy / Double(P)) + (2 * sx / Double(Q)) * (2 * sx / Double(Q))).squareRoot()
                result.append((re * re + im * im, rho))
            }
        }
        return result
    }

    /// Band of a non-DC mode: the number of dyadic edges 1/2^(b-1), ..., 1/4, 1/2 at or below rho
    /// (half-open bands, a mode on an edge belongs to the upper band).
    func band(_ rho: Double) -> Int {
        let bands = m2m.bands
        var index = 0
        for m in stride(from: bands - 1, through: 1, by: -1) where rho >= pow(0.5, Double(m)) * (1 - 1e-12) {
            index += 1
        }
        return index
    }

    /// Features of one core patch: log(E_b + 1e-6) for each band, mean, sqrt(var + 1e-12);
    /// and its spectral centroid (section 6).
    func features(_ patch: ArraySlice<Double>) -> (features: [Double], centroid: Double) {
        let cells = Double(P * Q)
        var energies = [Double](repeating: 0, count: m2m.bands)
        var weighted = 0.0, total = 0.0
        for (power, rho) in powerSpectrum(patch) where rho > 0 {
            energies[band(rho)] += power / (cells * cells)
            weighted += power * rho
            total += power
        }
        let mean = patch.reduce(0, +) / cells
        let variance = patch.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / cells
        let nonDC = energies.reduce(0, +)
        return (energies.map { log($0 + 1e-6) } + [mean, (variance + 1e-12).squareRoot()],
                nonDC < 1e-12 ? 0 : weighted / total)
    }

    static func softmax(_ z: [Double]) -> [Double] {
        let m = z.max()!
        let e = z.map { exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// The router's p for each patch (rows) from its features.
    func router(_ features: [[Double]]) -> [[Double]] {
        let f = m2m.bands + 2, hidden = m2m.routerHidden
        let w1 = parameters["router.hidden.weight"]!, b1 = parameters["router.hidden.bias"]!
        let w2 = parameters["router.out.weight"]!, b2 = parameters["router.out.bias"]!
        return features.map { x in
            let h = ReferenceFNO.linear(x, rows: 1, k: f, n: hidden, w1, b1).map(ReferenceFNO.gelu)
            let logits = ReferenceFNO.linear(h, rows: 1, k: hidden, n: E, w2, b2)
            return Self.softmax(logits.map { $0 / m2m.temperature })
        }
    }

    // MARK: Experts

    /// The parameters under `prefix`, with the prefix removed.
    func stripped(_ prefix: String) -> [String: [Double]] {
        var result: [String: [Double]] = [:]
        for (name, values) in parameters where name.hasPrefix(prefix) { result[String(name.dropFirst(prefix.count))] = values }
        return result
    }

    /// A plain FNO config with this grid, width and modes (the other keys are shared).
    func fnoConfig(grid: [Int], width: Int, modes: Int) -> ModelConfig {
        var c = config
        c.model = "fno"
        c.m2m = nil
        c.grid = grid
        c.width = width
        c.modes = [min(modes, grid[0] / 2), min(modes, grid[1] / 2)]
        return c
    }

    func expert(_ e: Int) -> ReferenceFNO {
        ReferenceFNO(config: fnoConfig(grid: [Pe, Qe], width: m2m.expertWidths[e], modes: m2m.expertModes[e]),
                     parameters: stripped("experts.\(e)."))
    }

    /// (x, y) of each cell of extended patch `patch` in the whole field, wrapped.
    func globalCoordinates(_ patch: Int) -> [Double] {
        let pr = patch / scale % scale, pc = patch % scale
        var result: [Double] = []
        for i in 0..<Pe {
            for j in 0..<Qe {
                let row = ((pr * P + i - halo) % H + H) % H, col = ((pc * Q + j - halo) % W + W) % W
                result += [Double(col) / Double(W), Double(row) / Double(H)]
            }
        }
        return result
    }

    var globalExpert: ReferenceFNO? {
        guard m2m.globalExpert else { return nil }
        return ReferenceFNO(config: fnoConfig(grid: [H, W], width: m2m.globalWidth, modes: m2m.globalModes),
                            parameters: stripped("global."))
    }

    /// Expert e's cut-off as a fraction of the extended patch's Nyquist (capped modes).
    func cutoff(_ e: Int) -> Double {
        let m = m2m.expertModes[e]
        return max(Double(min(m, Pe / 2)) / (Double(Pe) / 2), Double(min(m, Qe / 2)) / (Double(Qe) / 2))
    }

    // MARK: One step

    struct Step {
        /// `[B, H, W]`.
        var prediction: [Double]
        var routerLoss: Double
        var kl: Double
        var routing: Routing
        var probabilities: [[Double]]
        /// The prior's distribution the KL compares with: one row (uniform, explicit, or the
        /// patch mean of q) for `prior_match: mean`, one row per patch for `patch`.
        var prior: [[Double]]
    }

    /// One step on `x[B, H, W, t_in]`. `prior`, when given, replaces the step's prior
    /// distribution (the frequency prior is a constant for differentiation).
    func step(_ x: [Double], batch: Int, prior fixedPrior: [[Double]]? = nil) -> Step {
        let t = frames
        let n = batch * scale * scale
        let (pe, qe) = (Pe, Qe)
        // Newest frame's cores -> features -> p.
        let newest = (0..<(batch * H * W)).map { x[$0 * t + t - 1] }
        let cores = extract(newest, batch: batch, channels: 1, halo: 0)
        var featureRows: [[Double]] = [], centroids: [Double] = []
        for patch in 0..<n {
            let (f, c) = features(cores[(patch * P * Q)..<((patch + 1) * P * Q)])
            featureRows.append(f)
            centroids.append(c)
        }
        let p = router(featureRows)

        // Routing: top-k with capacity, or dense (every expert, in rank order).
        let k = m2m.dense ? E : m2m.k
        let routing = assign(p, k: k)

        // Gates per slot.
        var gates: [[Double]] = []
        for patch in 0..<n {
            var g = routing.experts[patch].map { $0 >= 0 ? p[patch][$0] : 0 }
            if m2m.renormalizeGates {
                let s = g.reduce(0, +)
                if s > 0 { g = g.map { $0 / s } }
            }
            gates.append(g)
        }

        // Each expert on its routed patches only (extended patches, local coordinates).
        let extended = extract(x, batch: batch, channels: t, halo: halo)
        let patchFloats = pe * qe * t
        var outputs = [[Int: ArraySlice<Double>]](repeating: [:], count: E)
        for e in 0..<E {
            let routed = (0..<n).filter { routing.experts[$0].contains(e) }
            guard !routed.isEmpty else { continue }
            var input: [Double] = [], coordinates: [Double] = []
            for patch in routed {
                input += extended[(patch * patchFloats)..<((patch + 1) * patchFloats)]
                coordinates += globalCoordinates(patch)
            }
            let y = expert(e).forward(input, batch: routed.count,
                                      coordinates: m2m.expertCoordinates == "global" ? coordinates : nil)
            for (i, patch) in routed.enumerated() { outputs[e][patch] = y[(i * pe * qe)..<((i + 1) * pe * qe)] }
        }

        // Combine on the cores, then merge the cores back into the field.
        var prediction = [Double](repeating: 0, count: batch * H * W)
        for patch in 0..<n {
            let b = patch / (scale * scale), pr = patch / scale % scale, pc = patch % scale
            for (j, e) in routing.experts[patch].enumerated() where e >= 0 {
                let y = outputs[e][patch]!, base = y.startIndex
                for i in 0..<P {
                    for jj in 0..<Q {
                        prediction[(b * H + pr * P + i) * W + pc * Q + jj] += gates[patch][j] * y[base + (i + halo) * qe + jj + halo]
                    }
                }
            }
        }
        if let g = globalExpert {
            let y = g.forward(x, batch: batch)
            for i in prediction.indices { prediction[i] += y[i] }
        }

        // Router loss: KL(pbar || prior) + gamma * mean H(p).
        let pbar = (0..<E).map { e in p.reduce(0) { $0 + $1[e] } / Double(n) }
        let prior: [[Double]]
        if let fixedPrior {
            prior = fixedPrior
        } else {
            let q: [[Double]]
            switch m2m.prior {
            case .uniform:
                q = Array(repeating: Array(repeating: 1 / Double(E), count: E), count: n)
            case .weights(let w):
                let s = w.reduce(0, +)
                q = Array(repeating: w.map { $0 / s }, count: n)
            case .frequency:
                q = centroids.map { c in Self.softmax((0..<E).map { -abs(c - cutoff($0)) / m2m.tau }) }
            }
            switch m2m.priorMatch {
            case .mean: prior = [(0..<E).map { e in q.reduce(0) { $0 + $1[e] } / Double(n) }]
            case .patch: prior = q
            }
        }
        let kl: Double
        switch m2m.priorMatch {
        case .mean:
            kl = (0..<E).reduce(0.0) { $0 + pbar[$1] * (log(pbar[$1]) - log(prior[0][$1])) }
        case .patch:
            kl = (0..<n).reduce(0.0) { total, i in
                total + (0..<E).reduce(0.0) { $0 + p[i][$1] * (log(p[i][$1]) - log(prior[i][$1])) }
            } / Double(n)
        }
        let entropy = p.reduce(0.0) { total, row in total - row.reduce(0.0) { $0 + $1 * log($1) } } / Double(n)
        return Step(prediction: prediction, routerLoss: kl + m2m.gamma * entropy, kl: kl, routing: routing,
                    probabilities: p, prior: prior)
    }

    // MARK: Training loss

    struct Loss {
        var total: Double
        var data: Double
        var router: Double
        var kl: Double
        var routings: [Routing]
        var priors: [[[Double]]]
    }

    /// Sum over `steps` autoregressive steps (each prediction becomes the newest frame) of
    /// the relative L2 loss against `y[B, H, W, steps]`, plus `lambda` x the summed router loss.
    /// `priors`, when given, fixes each step's prior distribution (see `step`).
    func trainingLoss(x: [Double], y: [Double], batch: Int, steps: Int, lambda: Double,
                      priors: [[[Double]]]? = nil) -> Loss {
        let t = frames, pixels = batch * H * W
        var window = x
        var loss = Loss(total: 0, data: 0, router: 0, kl: 0, routings: [], priors: [])
        for s in 0..<steps {
            let r = step(window, batch: batch, prior: priors?[s])
            let truth = (0..<pixels).map { y[$0 * steps + s] }
            loss.data += ReferenceFNO.relativeL2Loss(r.prediction, truth, batch: batch)
            loss.router += r.routerLoss
            loss.kl += r.kl
            loss.routings.append(r.routing)
            loss.priors.append(r.prior)
            window = ReferenceFNO.slide(window, appending: r.prediction, frames: t)
        }
        loss.total = loss.data + lambda * loss.router
        return loss
    }
}
