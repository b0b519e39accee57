import Foundation
import GraphIR

/// The whole sparse path of M2M.md sections 3-5 on a `[2, 8, 8, 2]` field: extract_patches
/// (scale 2, halo 1) -> route -> dispatch -> three experts on bounded rows (linear + gelu;
/// mul + affine; rfft2 + spectral_mix + irfft2) -> gather_gates -> combine (halo 1) ->
/// merge_patches, differentiated with respect to the field, the router's probabilities and
/// the experts' weights.
enum PipelineCases {
    static let field = [2, 8, 8, 2]
    static let patchRows = 6, rowFloats = 6 * 6 * 2, patches = 8, experts = 3

    struct Setup {
        var label: String
        var rankings: [[Int]]
        var k, capacity: Int
        var renormalize: Bool
        /// Inputs whose gradient must be exactly zero (an expert that gets no patch).
        var zero: Set<String> = []
    }

    static let setups = [
        // k = 2, capacity 5: expert 2 fills, patch 5 is rerouted twice, patch 7 loses a slot.
        Setup(label: "k2 cap5 renormalized", rankings: [[2, 0, 1], [2, 1, 0], [0, 2, 1], [2, 0, 1], [1, 2, 0], [2, 0, 1],
                                                       [0, 1, 2], [2, 1, 0]], k: 2, capacity: 5, renormalize: true),
        // k = 1, capacity 4: one reroute to expert 1; expert 2 gets no patch (count 0).
        Setup(label: "k1 cap4", rankings: [[0, 1, 2], [1, 0, 2], [0, 1, 2], [0, 2, 1], [0, 1, 2], [1, 0, 2], [0, 1, 2], [1, 2, 0]],
              k: 1, capacity: 4, renormalize: false, zero: ["w2"]),
        // k = 1, capacity 8: every patch picks expert 1; experts 0 (linear) and 2 (spectral) get none.
        Setup(label: "k1 cap8 one expert", rankings: [[1, 0, 2], [1, 2, 0], [1, 0, 2], [1, 2, 0], [1, 0, 2], [1, 2, 0],
                                                     [1, 0, 2], [1, 2, 0]], k: 1, capacity: 8, renormalize: false,
              zero: ["w0", "b0", "w2"]),
        // k = 2, capacity 8 = patches: no overflow, every expert below its capacity.
        Setup(label: "k2 cap8 renormalized", rankings: [[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 2, 1], [1, 0, 2], [2, 1, 0],
                                                       [0, 1, 2], [1, 0, 2]], k: 2, capacity: 8, renormalize: true),
    ]

    static var all: [GradientCase] { setups.map(gradientCase) }

    static func gradientCase(_ s: Setup) -> GradientCase {
        let p = rankedProbabilities(s.rankings, levels: RoutingCases.levels, seed: 800)
        var c = GradientCase("pipeline \(s.label)",
                             inputs: [("field", TensorType(.f32, field), randomFloats(field.reduce(1, *), seed: 801)),
                                      ("p", .f32(patches, experts), p),
                                      ("w0", .f32(2, 2), randomFloats(4, seed: 802)), ("b0", .f32(2), randomFloats(2, seed: 803)),
                                      ("w2", .c64(8, 2, 2), randomFloats(64, seed: 804, in: -0.5...0.5))],
                             wrt: ["field", "p", "w0", "b0", "w2"],
                             body: { b, v in try body(&b, v, s) }, reference: { reference($0, s) })
        c.zeroGradients = s.zero
        // Every third element (3 is prime to the 2 channels and 8 columns: all patches, channels,
        // core and halo cells are hit).
        c.strides = ["field": 3, "w2": 3]
        return c
    }

    static func body(_ b: inout GraphBuilder, _ v: [String: ValueID], _ s: Setup) throws -> ValueID {
        let x = try b(.extractPatches(scale: 2, halo: 1), v["field"]!)
        let route = try b(.route(k: s.k, capacity: s.capacity), v["p"]!)
        var outs: [ValueID] = []
        for e in 0..<experts {
            let d = try b(.dispatch(expert: e, k: s.k, capacity: s.capacity), x, route)
            switch e {
            case 0: outs.append(try b(.gelu, try b(.linear, d, v["w0"]!, v["b0"]!)))
            case 1: outs.append(try b(.affine(scale: 0.5, shift: 0.1), try b(.mul, d, d)))
            default:
                let spectrum = try b(.spectralMix, try b(.rfft2(modes1: 2, modes2: 2), d), v["w2"]!)
                outs.append(try b(.irfft2(height: patchRows, width: patchRows, modes1: 2, modes2: 2), spectrum))
            }
        }
        let gates = try b(.gatherGates(k: s.k, renormalize: s.renormalize), v["p"]!, route)
        let cores = try b.apply(.combine(k: s.k, capacity: s.capacity, halo: 1), [gates, route] + outs)!
        return try b(.mergePatches(scale: 2, halo: 0), cores)
    }

    static func reference(_ v: [String: [Double]], _ s: Setup) -> [Double] {
        let x = Oracle.extractPatches(v["field"]!, field: field, scale: 2, halo: 1)
        let r = Oracle.route(v["p"]!, patches: patches, experts: experts, k: s.k, capacity: s.capacity)
        let (w0, b0) = (v["w0"]!, v["b0"]!)
        var outs: [[Double]] = []
        for e in 0..<experts {
            let d = Oracle.dispatch(x, rowFloats: rowFloats, r, expert: e), count = r.counts[e]
            var y = [Double](repeating: 0, count: s.capacity * rowFloats)
            switch e {
            case 0:
                for cell in 0..<(count * rowFloats / 2) {
                    for o in 0..<2 {
                        y[cell * 2 + o] = Reference.gelu(b0[o] + d[cell * 2] * w0[o] + d[cell * 2 + 1] * w0[2 + o])
                    }
                }
            case 1:
                for i in 0..<(count * rowFloats) { y[i] = 0.5 * d[i] * d[i] + 0.1 }
            default:
                guard count > 0 else { break }
                let grid = SpectralGrid(n: count, h: patchRows, w: patchRows, c: 2, m1: 2, m2: 2)
                let spectrum = Reference.rfft2(Array(d.prefix(count * rowFloats)), grid)
                let mixed = Reference.spectralMix(spectrum, v["w2"]!, modes: 8, batch: count, ci: 2, co: 2)
                y.replaceSubrange(0..<(count * rowFloats), with: Reference.irfft2(mixed, grid))
            }
            outs.append(y)
        }
        let gates = Oracle.gates(v["p"]!, r, renormalize: s.renormalize)
        let cores = Oracle.combine(gates, r, outs, Oracle.Extended(rows: patchRows, cols: patchRows, channels: 2, halo: 1))
        return Oracle.mergePatches(cores, field: field, scale: 2, halo: 0)
    }
}
