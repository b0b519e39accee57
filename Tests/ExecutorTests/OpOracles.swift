import Foundation

/// Double references for the shape, patch, band-energy and routing ops, written from the
/// ops' doc comments (Sources/GraphIR/Op.swift, RouteTable's layout table) and
/// ../shared/spec/M2M.md sections 3-5 with naive loops. They share nothing with the
/// kernels (no `RouteTable`, no `PatchDFT`, no `RadialBands`).
enum Oracle {
    // MARK: Shape primitives

    /// `shape` viewed around `axis` as (outer, length, inner).
    static func split(_ shape: [Int], _ axis: Int) -> (outer: Int, length: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    static func reduce(_ x: [Double], shape: [Int], axis: Int, max isMax: Bool) -> [Double] {
        let (outer, length, inner) = split(shape, axis)
        var out = [Double](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                var acc = isMax ? -Double.infinity : 0
                for a in 0..<length {
                    let v = x[(o * length + a) * inner + i]
                    acc = isMax ? Swift.max(acc, v) : acc + v
                }
                out[o * inner + i] = acc
            }
        }
        return out
    }

    /// `x` of `shape` repeated `size` times along a new `axis`.
    static func broadcast(_ x: [Double], shape: [Int], axis: Int, size: Int) -> [Double] {
        let outer = shape[..<axis].reduce(1, *), inner = shape[axis...].reduce(1, *)
        var out = [Double](repeating: 0, count: outer * size * inner)
        for o in 0..<outer {
            for a in 0..<size {
                for i in 0..<inner { out[(o * size + a) * inner + i] = x[o * inner + i] }
            }
        }
        return out
    }

    // MARK: Multi-scale patches (M2M.md section 3)

    /// Index of field cell (n, row, col, ch) of an `[N, H, W, C]` field, rows and columns wrapped.
    private static func fieldIndex(_ f: [Int], _ n: Int, _ row: Int, _ col: Int, _ ch: Int) -> Int {
        let r = ((row % f[1]) + f[1]) % f[1], c = ((col % f[2]) + f[2]) % f[2]
        return ((n * f[1] + r) * f[2] + c) * f[3] + ch
    }

    /// Calls `body(patchIndex, cellIndex, fieldIndex, isCore)` for every cell of every extended
    /// patch, patches in order sample, patch row, patch column.
    private static func forEachPatchCell(field f: [Int], scale s: Int, halo h: Int,
                                         _ body: (Int, Int, Int, Bool) -> Void) {
        let (p, q) = (f[1] / s, f[2] / s), (pe, qe) = (f[1] / s + 2 * h, f[2] / s + 2 * h)
        for n in 0..<f[0] {
            for pr in 0..<s {
                for pc in 0..<s {
                    let patch = (n * s + pr) * s + pc
                    for i in 0..<pe {
                        for j in 0..<qe {
                            let core = i >= h && i < h + p && j >= h && j < h + q
                            for ch in 0..<f[3] {
                                body(patch, ((patch * pe + i) * qe + j) * f[3] + ch,
                                     fieldIndex(f, n, pr * p - h + i, pc * q - h + j, ch), core)
                            }
                        }
                    }
                }
            }
        }
    }

    static func patchCount(field f: [Int], scale s: Int, halo h: Int) -> Int {
        f[0] * s * s * (f[1] / s + 2 * h) * (f[2] / s + 2 * h) * f[3]
    }

    static func extractPatches(_ x: [Double], field f: [Int], scale s: Int, halo h: Int) -> [Double] {
        var out = [Double](repeating: .nan, count: patchCount(field: f, scale: s, halo: h))
        forEachPatchCell(field: f, scale: s, halo: h) { _, cell, field, _ in out[cell] = x[field] }
        return out
    }

    /// The adjoint of `extractPatches`: every field cell sums the patch cells that copied it.
    static func extractPatchesGrad(_ dy: [Double], field f: [Int], scale s: Int, halo h: Int) -> [Double] {
        var out = [Double](repeating: 0, count: f.reduce(1, *))
        forEachPatchCell(field: f, scale: s, halo: h) { _, cell, field, _ in out[field] += dy[cell] }
        return out
    }

    static func mergePatches(_ patches: [Double], field f: [Int], scale s: Int, halo h: Int) -> [Double] {
        var out = [Double](repeating: .nan, count: f.reduce(1, *))
        forEachPatchCell(field: f, scale: s, halo: h) { _, cell, field, core in if core { out[field] = patches[cell] } }
        return out
    }

    static func mergePatchesGrad(_ dy: [Double], field f: [Int], scale s: Int, halo h: Int) -> [Double] {
        var out = [Double](repeating: 0, count: patchCount(field: f, scale: s, halo: h))
        forEachPatchCell(field: f, scale: s, halo: h) { _, cell, field, core in if core { out[cell] = dy[field] } }
        return out
    }

    // MARK: Band energies (M2M.md section 4)

    /// One non-DC mode of a P x Q patch: its frequencies, radius and band.
    struct Mode { var ky, kx: Int; var rho: Double; var band: Int }

    /// The non-DC modes with rho = sqrt((2 ky / P)^2 + (2 kx / Q)^2) on signed frequencies and
    /// half-open dyadic bands [0, 1/2^(b-1)), ..., [1/4, 1/2), [1/2, inf).
    static func modes(p: Int, q: Int, bands: Int) -> [Mode] {
        var result: [Mode] = []
        for ky in 0..<p {
            for kx in 0..<q where ky != 0 || kx != 0 {
                let fy = Double(min(ky, p - ky)), fx = Double(min(kx, q - kx))
                let rho = ((2 * fy / Double(p)) * (2 * fy / Double(p)) + (2 * fx / Double(q)) * (2 * fx / Double(q))).squareRoot()
                let edges = (1..<max(bands, 1)).map { pow(0.5, Double(bands - $0)) }   // 1/2^(b-1) ... 1/2
                result.append(Mode(ky: ky, kx: kx, rho: rho, band: edges.filter { rho >= $0 }.count))
            }
        }
        return result
    }

    /// The DFT `F(ky, kx) = sum x[r, c] e^{-2 pi i (ky r / P + kx c / Q)}`, straight from the definition.
    static func dft(_ x: ArraySlice<Double>, p: Int, q: Int, ky: Int, kx: Int) -> (re: Double, im: Double) {
        var re = 0.0, im = 0.0
        let base = x.startIndex
        for r in 0..<p {
            for c in 0..<q {
                let turns = Double((ky * r * q + kx * c * p) % (p * q)) / Double(p * q)
                re += x[base + r * q + c] * cos(2 * .pi * turns)
                im -= x[base + r * q + c] * sin(2 * .pi * turns)
            }
        }
        return (re, im)
    }

    static func bandEnergies(_ x: [Double], patches: Int, p: Int, q: Int, bands: Int) -> [Double] {
        let modes = modes(p: p, q: q, bands: bands), norm = Double(p * q * p * q)
        var out = [Double](repeating: 0, count: patches * bands)
        for n in 0..<patches {
            let patch = x[(n * p * q)..<((n + 1) * p * q)]
            for m in modes {
                let f = dft(patch, p: p, q: q, ky: m.ky, kx: m.kx)
                out[n * bands + m.band] += (f.re * f.re + f.im * f.im) / norm
            }
        }
        return out
    }

    /// `dx = sum_b dE_b dE_b/dx` with `d|F|^2/dx[r, c] = 2 (Re F cos t - Im F sin t)`, t the mode's phase at (r, c).
    static func bandEnergiesGrad(_ x: [Double], _ dE: [Double], patches: Int, p: Int, q: Int, bands: Int) -> [Double] {
        let modes = modes(p: p, q: q, bands: bands), norm = Double(p * q * p * q)
        var out = [Double](repeating: 0, count: patches * p * q)
        for n in 0..<patches {
            let patch = x[(n * p * q)..<((n + 1) * p * q)]
            for m in modes {
                let f = dft(patch, p: p, q: q, ky: m.ky, kx: m.kx), weight = dE[n * bands + m.band]
                for r in 0..<p {
                    for c in 0..<q {
                        let t = 2 * Double.pi * Double((m.ky * r * q + m.kx * c * p) % (p * q)) / Double(p * q)
                        out[n * p * q + r * q + c] += weight * 2 * (f.re * cos(t) - f.im * sin(t)) / norm
                    }
                }
            }
        }
        return out
    }

    /// The |F|^2-weighted mean rho over the non-DC modes; 0 when the non-DC energy is below 1e-12.
    static func spectralCentroid(_ x: [Double], patches: Int, p: Int, q: Int) -> [Double] {
        let modes = modes(p: p, q: q, bands: 4), norm = Double(p * q * p * q)
        return (0..<patches).map { n in
            let patch = x[(n * p * q)..<((n + 1) * p * q)]
            var weighted = 0.0, total = 0.0
            for m in modes {
                let f = dft(patch, p: p, q: q, ky: m.ky, kx: m.kx), power = f.re * f.re + f.im * f.im
                weighted += power * m.rho; total += power
            }
            return total / norm < 1e-12 ? 0 : weighted / total
        }
    }

    // MARK: Sparse routing (M2M.md section 5)

    /// The greedy top-k capacity assignment, as M2M.md section 5 states it.
    struct Routing {
        var patches, k, experts, capacity: Int
        /// Expert and position in its capacity buffer per (patch, slot); -1 when dropped.
        var expert: [[Int]], position: [[Int]]
        var counts, reroutes, drops: [Int]

        /// The i32 table as `RouteTable`'s doc comment lays it out: (expert, position) per slot,
        /// then counts, reroutes and drops per expert.
        var table: [Int32] {
            var t: [Int32] = []
            for n in 0..<patches {
                for j in 0..<k { t += [Int32(expert[n][j]), Int32(position[n][j])] }
            }
            return t + (counts + reroutes + drops).map { Int32($0) }
        }

        /// The slot of `patch` routed to expert `e`, if any.
        func slot(_ patch: Int, to e: Int) -> Int? { expert[patch].firstIndex(of: e) }
    }

    static func route(_ p: [Double], patches: Int, experts: Int, k: Int, capacity: Int) -> Routing {
        var r = Routing(patches: patches, k: k, experts: experts, capacity: capacity,
                        expert: Array(repeating: Array(repeating: -1, count: k), count: patches),
                        position: Array(repeating: Array(repeating: -1, count: k), count: patches),
                        counts: Array(repeating: 0, count: experts), reroutes: Array(repeating: 0, count: experts),
                        drops: Array(repeating: 0, count: experts))
        for n in 0..<patches {
            let row = Array(p[(n * experts)..<((n + 1) * experts)])
            // Descending p, ties to the lower index.
            let ranking = (0..<experts).sorted { row[$0] != row[$1] ? row[$0] > row[$1] : $0 < $1 }
            var taken: Set<Int> = []
            for j in 0..<k {
                let asked = ranking[j]
                let hasRoom = { (e: Int) in !taken.contains(e) && r.counts[e] < capacity }
                var chosen: Int?
                if hasRoom(asked) {
                    chosen = asked
                } else {
                    chosen = ranking.first(where: hasRoom)
                    if chosen != nil { r.reroutes[asked] += 1 } else { r.drops[asked] += 1 }
                }
                guard let e = chosen else { continue }
                r.expert[n][j] = e
                r.position[n][j] = r.counts[e]
                r.counts[e] += 1
                taken.insert(e)
            }
        }
        return r
    }

    /// Expert `e`'s capacity buffer: row `position` holds its patch; rows past the count stay 0.
    static func dispatch(_ x: [Double], rowFloats: Int, _ r: Routing, expert e: Int) -> [Double] {
        var out = [Double](repeating: 0, count: r.capacity * rowFloats)
        for n in 0..<r.patches {
            guard let j = r.slot(n, to: e) else { continue }
            for i in 0..<rowFloats { out[r.position[n][j] * rowFloats + i] = x[n * rowFloats + i] }
        }
        return out
    }

    static func dispatchGrad(_ dy: [Double], rowFloats: Int, _ r: Routing, expert e: Int) -> [Double] {
        var out = [Double](repeating: 0, count: r.patches * rowFloats)
        for n in 0..<r.patches {
            guard let j = r.slot(n, to: e) else { continue }
            for i in 0..<rowFloats { out[n * rowFloats + i] = dy[r.position[n][j] * rowFloats + i] }
        }
        return out
    }

    static func gates(_ p: [Double], _ r: Routing, renormalize: Bool) -> [Double] {
        var out = [Double](repeating: 0, count: r.patches * r.k)
        for n in 0..<r.patches {
            let kept = (0..<r.k).filter { r.expert[n][$0] >= 0 }
            let sum = kept.reduce(0.0) { $0 + p[n * r.experts + r.expert[n][$1]] }
            for j in kept {
                let v = p[n * r.experts + r.expert[n][j]]
                out[n * r.k + j] = renormalize ? v / sum : v
            }
        }
        return out
    }

    /// `dp_e = sum_j dg_j d(gate_j)/dp_e`, with `d(p_a / S)/dp_e = [a = e] / S - p_a / S^2` over kept experts e.
    static func gatesGrad(_ p: [Double], _ dg: [Double], _ r: Routing, renormalize: Bool) -> [Double] {
        var out = [Double](repeating: 0, count: r.patches * r.experts)
        for n in 0..<r.patches {
            let kept = (0..<r.k).filter { r.expert[n][$0] >= 0 }
            let sum = kept.reduce(0.0) { $0 + p[n * r.experts + r.expert[n][$1]] }
            for j in kept {
                let a = r.expert[n][j]
                for i in kept {
                    let e = r.expert[n][i]
                    let d = renormalize ? (a == e ? 1 / sum : 0) - p[n * r.experts + a] / (sum * sum) : (a == e ? 1 : 0)
                    out[n * r.experts + e] += dg[n * r.k + j] * d
                }
            }
        }
        return out
    }

    /// Geometry of expert outputs `[capacity, Pe, Qe, C]` whose cores `[P, Q, C]` are combined.
    struct Extended {
        var rows, cols, channels, halo: Int
        var floats: Int { rows * cols * channels }
        var coreFloats: Int { (rows - 2 * halo) * (cols - 2 * halo) * channels }
        /// Float offset inside an extended patch of core float `i` (row-major over the core).
        func offset(core i: Int) -> Int {
            let c = i % channels, j = (i / channels) % (cols - 2 * halo), row = i / channels / (cols - 2 * halo)
            return ((row + halo) * cols + j + halo) * channels + c
        }
    }

    static func combine(_ gates: [Double], _ r: Routing, _ outputs: [[Double]], _ g: Extended) -> [Double] {
        var out = [Double](repeating: 0, count: r.patches * g.coreFloats)
        for n in 0..<r.patches {
            for j in 0..<r.k where r.expert[n][j] >= 0 {
                let y = outputs[r.expert[n][j]], base = r.position[n][j] * g.floats
                for i in 0..<g.coreFloats { out[n * g.coreFloats + i] += gates[n * r.k + j] * y[base + g.offset(core: i)] }
            }
        }
        return out
    }

    static func combineGradGates(_ dy: [Double], _ r: Routing, _ outputs: [[Double]], _ g: Extended) -> [Double] {
        var out = [Double](repeating: 0, count: r.patches * r.k)
        for n in 0..<r.patches {
            for j in 0..<r.k where r.expert[n][j] >= 0 {
                let y = outputs[r.expert[n][j]], base = r.position[n][j] * g.floats
                for i in 0..<g.coreFloats { out[n * r.k + j] += dy[n * g.coreFloats + i] * y[base + g.offset(core: i)] }
            }
        }
        return out
    }

    /// Expert e's output gradient: `gate x dy` on the cores of its routed rows, halos 0.
    static func combineGradExpert(_ gates: [Double], _ r: Routing, _ dy: [Double], _ g: Extended, expert e: Int) -> [Double] {
        var out = [Double](repeating: 0, count: r.capacity * g.floats)
        for n in 0..<r.patches {
            guard let j = r.slot(n, to: e) else { continue }
            for i in 0..<g.coreFloats {
                out[r.position[n][j] * g.floats + g.offset(core: i)] = gates[n * r.k + j] * dy[n * g.coreFloats + i]
            }
        }
        return out
    }
}
