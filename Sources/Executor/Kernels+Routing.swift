import GraphIR
import Planner

/// route: the greedy top-k capacity assignment (`RouteTable.assign`), one tile:
/// patch order decides who gets a full expert's last slot.
final class RouteKernel: KernelDeclaration {
    let p: UnsafeMutablePointer<Float>
    let table: UnsafeMutablePointer<Int32>
    let rank: UnsafeMutablePointer<Int32>
    let layout: RouteTable
    let capacity: Int
    static func workspaceBytes(_ node: Node, in graph: Graph) -> Int { graph.values[node.inputs[0]].type.shape[1] * 4 }
    init(_ bind: KernelBinding) {
        guard case .route(let k, let capacity) = bind.node.op else { preconditionFailure("RouteKernel bound to \(bind.node.op.name)") }
        let s = bind.type(ofInput: 0).shape
        layout = RouteTable(patches: s[0], k: k, experts: s[1])
        self.capacity = capacity
        (p, table, rank) = (bind.input(0), bind.indexOutput, bind.indexScratch)
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { 1 }
    func run(phase: Int, tile: Int) { layout.assign(probabilities: p, capacity: capacity, rank: rank, into: table) }
}

/// dispatch (patches -> one expert's capacity buffer, in patch order) and dispatch_grad
/// (its adjoint: each patch reads back its slot's gradient, zero if not routed there).
/// One patch per tile; slots are written by exactly one patch each.
final class DispatchKernel: KernelDeclaration {
    let x, y: UnsafeMutablePointer<Float>
    let table: UnsafeMutablePointer<Int32>
    let layout: RouteTable
    let expert, rowFloats: Int
    let isGradient: Bool
    /// `patches`: the patch count (dispatch_grad's attribute; dispatch reads it from x).
    init(_ bind: KernelBinding, expert: Int, k: Int, patches: Int?) {
        (self.expert, isGradient) = (expert, patches != nil)
        let patches = patches ?? bind.type(ofInput: 0).shape[0]
        layout = RouteTable(length: bind.type(ofInput: 1).shape[0], patches: patches, k: k)!
        (x, table, y) = (bind.input(0), bind.indexInput(1), bind.output)
        let t = bind.type(ofInput: 0)
        rowFloats = t.elementCount / t.shape[0]
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { layout.patches }
    func run(phase: Int, tile patch: Int) {
        var position = -1
        for j in 0..<layout.k {
            let s = layout.slot(patch, j)
            if Int(table[s]) == expert { position = Int(table[s + 1]) }
        }
        if isGradient {
            let dst = y + patch * rowFloats
            if position >= 0 { dst.update(from: x + position * rowFloats, count: rowFloats) } else {
                dst.update(repeating: 0, count: rowFloats)
            }
        } else if position >= 0 {
            (y + position * rowFloats).update(from: x + patch * rowFloats, count: rowFloats)
        }
    }
}

/// gather_gates and gather_gates_grad, one patch per tile. Gates are the selected
/// probabilities (0 for a dropped slot), optionally divided by their sum S over the kept
/// slots; the gradient of `p_e / S` is `(delta S - p_e) / S^2`.
final class GatesKernel: KernelDeclaration {
    let p, out: UnsafeMutablePointer<Float>
    let dgates: UnsafeMutablePointer<Float>?
    let table: UnsafeMutablePointer<Int32>
    let layout: RouteTable
    let renormalize: Bool
    init(_ bind: KernelBinding, k: Int, renormalize: Bool) {
        self.renormalize = renormalize
        let s = bind.type(ofInput: 0).shape
        layout = RouteTable(patches: s[0], k: k, experts: s[1])
        (p, table, out) = (bind.input(0), bind.indexInput(1), bind.output)
        dgates = bind.inputs.count > 2 ? bind.input(2) : nil
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { layout.patches }
    func run(phase: Int, tile patch: Int) {
        let row = p + patch * layout.experts
        var sum: Float = 0
        for j in 0..<layout.k {
            let e = Int(table[layout.slot(patch, j)])
            if e >= 0 { sum += row[e] }
        }
        let scale: Float = renormalize && sum > 0 ? 1 / sum : 1
        guard let dgates else {
            let g = out + patch * layout.k
            for j in 0..<layout.k {
                let e = Int(table[layout.slot(patch, j)])
                g[j] = e >= 0 ? row[e] * scale : 0
            }
            return
        }
        let dg = dgates + patch * layout.k, dp = out + patch * layout.experts
        dp.update(repeating: 0, count: layout.experts)
        var weighted: Float = 0   // sum_j dg_j p_{e_j}
        for j in 0..<layout.k {
            let e = Int(table[layout.slot(patch, j)])
            if e >= 0 { weighted += dg[j] * row[e] }
        }
        for j in 0..<layout.k {
            let e = Int(table[layout.slot(patch, j)])
            guard e >= 0 else { continue }
            dp[e] += renormalize && sum > 0 ? dg[j] * scale - weighted * scale * scale : dg[j]
        }
    }
}

/// combine (each patch: the sum over its selected experts, in expert-index order, of gate x
/// the expert output's core), combine_grad_gates (core dot products) and combine_grad_expert (an
/// expert's slots get gate x dy on the core, zero halo). One patch per tile: every
/// write goes to memory that tile alone owns, so nothing races.
final class CombineKernel: KernelDeclaration {
    enum Form { case combine, gradGates, gradExpert(Int) }
    let form: Form
    let layout: RouteTable
    let table: UnsafeMutablePointer<Int32>
    let gates, dy, out: UnsafeMutablePointer<Float>
    /// Each expert's output `[capacity, Pe, Qe, C]` (combine and its gate gradient).
    let experts: [UnsafeMutablePointer<Float>]
    let halo, rows, cols, channels: Int
    var coreRows: Int { rows - 2 * halo }
    var coreCols: Int { cols - 2 * halo }
    var extendedFloats: Int { rows * cols * channels }
    var coreFloats: Int { coreRows * coreCols * channels }

    init(_ bind: KernelBinding, _ form: Form, k: Int, halo: Int) {
        (self.form, self.halo) = (form, halo)
        let extended: [Int]
        switch form {
        case .combine:
            extended = bind.type(ofInput: 2).shape
            (gates, dy) = (bind.input(0), bind.input(0))
            table = bind.indexInput(1)
            experts = (2..<bind.inputs.count).map { bind.input($0) }
            layout = RouteTable(length: bind.type(ofInput: 1).shape[0], patches: bind.type(ofInput: 0).shape[0], k: k)!
        case .gradGates:
            extended = bind.type(ofInput: 2).shape
            table = bind.indexInput(0)
            (gates, dy) = (bind.input(1), bind.input(1))
            experts = (2..<bind.inputs.count).map { bind.input($0) }
            layout = RouteTable(length: bind.type(ofInput: 0).shape[0], patches: bind.type(ofInput: 1).shape[0], k: k)!
        case .gradExpert:
            extended = bind.resultType.shape
            (gates, dy) = (bind.input(0), bind.input(2))
            table = bind.indexInput(1)
            experts = []
            layout = RouteTable(length: bind.type(ofInput: 1).shape[0], patches: bind.type(ofInput: 0).shape[0], k: k)!
        }
        (rows, cols, channels) = (extended[1], extended[2], extended[3])
        out = bind.output
    }

    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { layout.patches }

    /// Float offset of core cell (i, j) inside an extended patch.
    @inline(__always) private func coreOffset(_ i: Int, _ j: Int) -> Int { ((i + halo) * cols + j + halo) * channels }

    func run(phase: Int, tile patch: Int) {
        let rowFloats = coreCols * channels
        switch form {
        case .combine:
            let y = out + patch * coreFloats
            y.update(repeating: 0, count: coreFloats)
            // The selected experts in expert-index order (M2M.md section 5), not in rank order:
            // with k >= 3 the float sum depends on the order.
            for e in 0..<layout.experts {
                var j = 0
                while j < layout.k && Int(table[layout.slot(patch, j)]) != e { j += 1 }
                guard j < layout.k else { continue }
                let s = layout.slot(patch, j)
                let g = gates[patch * layout.k + j]
                let src = experts[e] + Int(table[s + 1]) * extendedFloats
                for i in 0..<coreRows {
                    let a = src + coreOffset(i, 0), b = y + i * rowFloats
                    for c in 0..<rowFloats { b[c] += g * a[c] }
                }
            }
        case .gradGates:
            let d = dy + patch * coreFloats
            for j in 0..<layout.k {
                let s = layout.slot(patch, j), e = Int(table[s])
                var dot = 0.0
                if e >= 0 {
                    let src = experts[e] + Int(table[s + 1]) * extendedFloats
                    for i in 0..<coreRows {
                        let a = src + coreOffset(i, 0), b = d + i * rowFloats
                        for c in 0..<rowFloats { dot += Double(a[c]) * Double(b[c]) }
                    }
                }
                out[patch * layout.k + j] = Float(dot)
            }
        case .gradExpert(let expert):
            for j in 0..<layout.k {
                let s = layout.slot(patch, j)
                guard Int(table[s]) == expert else { continue }
                let g = gates[patch * layout.k + j], d = dy + patch * coreFloats
                let dst = out + Int(table[s + 1]) * extendedFloats
                if halo > 0 { dst.update(repeating: 0, count: extendedFloats) }
                for i in 0..<coreRows {
                    let a = d + i * rowFloats, b = dst + coreOffset(i, 0)
                    for c in 0..<rowFloats { b[c] = g * a[c] }
                }
            }
        }
    }
}
