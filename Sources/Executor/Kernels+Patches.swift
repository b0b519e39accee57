import GraphIR
import Planner

/// Patch geometry of M2M.md section 3: `s x s` patches of `P x Q` cells with a halo of
/// `h` on each side (periodic wrap, any number of times); patch order is sample, patch
/// row, patch column.
struct PatchGeometry {
    let samples, height, width, channels, scale, halo: Int
    var coreRows: Int { height / scale }
    var coreCols: Int { width / scale }
    var rows: Int { coreRows + 2 * halo }
    var cols: Int { coreCols + 2 * halo }
    var patchFloats: Int { rows * cols * channels }
    var fieldFloats: Int { height * width * channels }

    init(field: [Int], scale: Int, halo: Int) {
        (samples, height, width, channels) = (field[0], field[1], field[2], field[3])
        (self.scale, self.halo) = (scale, halo)
    }

    /// Field row of extended-patch row `i` of patch row `pr` (wrapped).
    @inline(__always) func fieldRow(_ pr: Int, _ i: Int) -> Int { wrap(pr * coreRows - halo + i, height) }
    @inline(__always) func fieldCol(_ pc: Int, _ j: Int) -> Int { wrap(pc * coreCols - halo + j, width) }
    @inline(__always) private func wrap(_ v: Int, _ n: Int) -> Int { ((v % n) + n) % n }
}

/// extract_patches (field -> patches with periodic halo) and merge_patches_grad (field
/// gradient -> patch gradients on the cores, halos zero); one patch per tile.
final class ExtractPatchesKernel: KernelDeclaration {
    let x, y: UnsafeMutablePointer<Float>
    let g: PatchGeometry
    let coresOnly: Bool
    init(_ bind: KernelBinding, scale: Int, halo: Int, coresOnly: Bool) {
        (x, y) = (bind.input(0), bind.output)
        g = PatchGeometry(field: bind.type(ofInput: 0).shape, scale: scale, halo: halo)
        self.coresOnly = coresOnly
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { g.samples * g.scale * g.scale }
    func run(phase: Int, tile patch: Int) {
        let n = patch / (g.scale * g.scale), pr = patch / g.scale % g.scale, pc = patch % g.scale
        let field = x + n * g.fieldFloats, out = y + patch * g.patchFloats
        if coresOnly { out.update(repeating: 0, count: g.patchFloats) }
        for i in 0..<g.rows {
            if coresOnly && (i < g.halo || i >= g.halo + g.coreRows) { continue }
            let row = field + g.fieldRow(pr, i) * g.width * g.channels
            for j in 0..<g.cols {
                if coresOnly && (j < g.halo || j >= g.halo + g.coreCols) { continue }
                (out + (i * g.cols + j) * g.channels).update(from: row + g.fieldCol(pc, j) * g.channels, count: g.channels)
            }
        }
    }
}

/// merge_patches (patch cores -> field) and extract_patches_grad (each field cell the sum,
/// in patch order then cell order, of every patch cell that copied it); one sample per tile.
final class MergePatchesKernel: KernelDeclaration {
    let x, y: UnsafeMutablePointer<Float>
    let g: PatchGeometry
    let accumulates: Bool
    init(_ bind: KernelBinding, scale: Int, halo: Int, accumulates: Bool) {
        (x, y) = (bind.input(0), bind.output)
        g = PatchGeometry(field: bind.resultType.shape, scale: scale, halo: halo)
        self.accumulates = accumulates
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { g.samples }
    func run(phase: Int, tile n: Int) {
        let field = y + n * g.fieldFloats
        if accumulates { field.update(repeating: 0, count: g.fieldFloats) }
        for local in 0..<(g.scale * g.scale) {
            let pr = local / g.scale, pc = local % g.scale
            let patch = x + (n * g.scale * g.scale + local) * g.patchFloats
            let rows = accumulates ? 0..<g.rows : g.halo..<(g.halo + g.coreRows)
            let cols = accumulates ? 0..<g.cols : g.halo..<(g.halo + g.coreCols)
            for i in rows {
                let row = field + g.fieldRow(pr, i) * g.width * g.channels
                for j in cols {
                    let src = patch + (i * g.cols + j) * g.channels, dst = row + g.fieldCol(pc, j) * g.channels
                    if accumulates {
                        for c in 0..<g.channels { dst[c] += src[c] }
                    } else {
                        dst.update(from: src, count: g.channels)
                    }
                }
            }
        }
    }
}
