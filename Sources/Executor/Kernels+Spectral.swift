import CKernels
import COpenBLAS
import Foundation
import GraphIR
import Planner

/// Geometry shared by the spectral kernels: one batch sample per tile, a
/// `[H, W/2+1, C]` complex workspace tile per sample, kept modes in `[M, N, C]`.
struct SpectralGeometry {
    let t: SpectralTransforms
    let samples: Int
    var h: Int { t.height }
    var halfWidth: Int { t.halfWidth }
    var c: Int { t.channels }

    /// Workspace row (frequency index along H) of kept-mode row `r` of block `block`.
    @inline(__always) func sourceRow(block: Int, row: Int) -> Int { block == 0 ? row : h - t.modes1 + row }

    /// Float offset of mode (block, row, col) of sample n in the `[M, N, C]` spectrum.
    @inline(__always) func modeOffset(block: Int, row: Int, col: Int, sample: Int) -> Int {
        (((block * t.modes1 + row) * t.modes2 + col) * samples + sample) * c * 2
    }

    /// Float offset of (frequency row, column) in a workspace tile.
    @inline(__always) func workspaceOffset(row: Int, col: Int) -> Int { (row * halfWidth + col) * c * 2 }

    /// Weight of a half-spectrum column in a full real transform (interior columns count twice).
    @inline(__always) func columnMultiplicity(_ col: Int) -> Float {
        col == 0 || 2 * col == t.width ? 1 : 2
    }
}

/// The transforms of an FFT op and its workspace tile per sample (the larger of the FFTW
/// form's `[H, W/2+1, C]` complex tile and the GEMM form's planes, so the arena plan does
/// not depend on the form chosen later).
enum SpectralRequirements {
    static func transforms(_ node: Node, in graph: Graph) -> SpectralTransforms {
        switch node.op {
        case .rfft2(let m1, let m2), .irfft2Grad(let m1, let m2):
            let s = graph.values[node.inputs[0]].type.shape
            return SpectralTransforms(height: s[1], width: s[2], channels: s[3], modes1: m1, modes2: m2)
        case .irfft2(let h, let w, let m1, let m2), .rfft2Grad(let h, let w, let m1, let m2):
            let s = graph.values[node.result!].type.shape
            return SpectralTransforms(height: h, width: w, channels: s[3], modes1: m1, modes2: m2)
        case .linear, .linearGelu, .mlp, .linearAdd, .linearAddGelu, .gelu, .leakyRelu, .leakyReluGrad, .conv2d,
             .conv2dGradInput, .conv2dGradWeight, .add, .sub, .mul, .div, .affine, .exp, .log, .sqrt, .tanh, .reduceSum,
             .reduceMax, .broadcast, .reshape, .stopGradient, .fill, .appendCoordinates, .sliceChannels,
             .padChannels, .concatChannels, .spectralMix, .bandEnergies, .spectralCentroid, .extractPatches,
             .mergePatches, .route, .dispatch, .gatherGates, .combine, .relativeL2Loss, .linearGradInput,
             .linearGradInputGelu, .linearGradInputAdd, .linearGradInputAddGelu, .linearGradWeight, .sumRows, .mlpGrad, .sliceFlat, .geluGrad, .spectralMixGradInput,
             .spectralMixGradWeight, .bandEnergiesGrad, .extractPatchesGrad, .mergePatchesGrad, .dispatchGrad,
             .gatherGatesGrad, .combineGradGates, .combineGradExpert, .relativeL2LossGrad, .adam, .resample,
             .resampleGrad:
            preconditionFailure("\(node.op.name) is not an FFT op")
        }
    }

    /// One workspace tile per sample (the transforms run per sample).
    static func workspaceBytes(_ node: Node, in graph: Graph) -> Int {
        let n = node.op.code == .rfft2 || node.op.code == .irfft2_grad
            ? graph.values[node.inputs[0]].type.shape[0] : graph.values[node.result!].type.shape[0]
        return n * transforms(node, in: graph).workspaceTileFloats * 4
    }

    static func plans(_ node: Node, in graph: Graph) -> [FFTPlanSpec] {
        let t = transforms(node, in: graph)
        return t.fftwForwardSpecs + t.fftwInverseSpecs
    }

    static func spectral(_ node: Node, in graph: Graph, _ direction: SpectralTransform.Direction) -> [SpectralTransform] {
        [SpectralTransform(transforms(node, in: graph), direction)]
    }
}

/// The FFTW form of one transform on one sample: pruned transforms on a workspace tile
/// (`SpectralTransforms` describes its two layouts), and the gather or scatter of the
/// kept modes. Even channel counts run the paired layout (`Kernels+SpectralPaired.swift`).
struct SpectralFFTW {
    let g: SpectralGeometry
    /// The direction's two plans in execution order: along W then H going forward, along H
    /// then W going back.
    let first, second: FFTPlan

    /// The plans of `direction` from `plans` (the other direction's are not needed).
    init(_ g: SpectralGeometry, direction: SpectralTransform.Direction, plans: [FFTPlanSpec: FFTPlan]) {
        self.g = g
        let specs = direction == .forward ? g.t.fftwForwardSpecs : g.t.fftwInverseSpecs
        (first, second) = (plans[specs[0]]!, plans[specs[1]]!)
    }

    /// x `[H, W, C]` -> kept modes of sample n; `adjoint` (irfft2_grad) scales by mult(col)/(HW).
    func forward(_ x: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>, sample n: Int,
                 workspace ws: UnsafeMutablePointer<Float>, adjoint: Bool) {
        if g.t.pairsChannels {
            pairedForward(x, into: y, sample: n, workspace: ws, adjoint: adjoint)
        } else {
            realToComplexForward(x, into: y, sample: n, workspace: ws, adjoint: adjoint)
        }
    }

    /// Kept modes of sample n -> x `[H, W, C]`: irfft2 (scaled 1/(HW)), or with `adjoint`
    /// the exact adjoint of rfft2 (rfft2_grad).
    func inverse(_ spectrum: UnsafeMutablePointer<Float>, sample n: Int, into x: UnsafeMutablePointer<Float>,
                 workspace ws: UnsafeMutablePointer<Float>, adjoint: Bool) {
        if g.t.pairsChannels {
            pairedInverse(spectrum, sample: n, into: x, workspace: ws, adjoint: adjoint)
        } else {
            complexToRealInverse(spectrum, sample: n, into: x, workspace: ws, adjoint: adjoint)
        }
    }

    /// The r2c layout (odd C): r2c along W, complex FFT along H on the kept columns.
    private func realToComplexForward(_ x: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>, sample n: Int,
                                      workspace ws: UnsafeMutablePointer<Float>, adjoint: Bool) {
        first.execute(x, ws)
        second.execute(ws, ws)
        let normalization = 1 / Float(g.h * g.t.width)
        for block in 0..<2 {
            for row in 0..<g.t.modes1 {
                for col in 0..<g.t.modes2 {
                    let src = ws + g.workspaceOffset(row: g.sourceRow(block: block, row: row), col: col)
                    let dst = y + g.modeOffset(block: block, row: row, col: col, sample: n)
                    if adjoint {
                        let scale = normalization * g.columnMultiplicity(col)
                        for i in 0..<(2 * g.c) { dst[i] = scale * src[i] }
                    } else {
                        dst.update(from: src, count: 2 * g.c)
                    }
                }
            }
        }
    }

    /// The r2c layout's inverse: complex FFT along H on the kept columns, c2r along W.
    private func complexToRealInverse(_ spectrum: UnsafeMutablePointer<Float>, sample n: Int, into x: UnsafeMutablePointer<Float>,
                                      workspace ws: UnsafeMutablePointer<Float>, adjoint: Bool) {
        ws.update(repeating: 0, count: g.t.workspaceTileElements * 2)
        let scale: Float = adjoint ? 1 : 1 / Float(g.h * g.t.width)
        for block in 0..<2 {
            for row in 0..<g.t.modes1 {
                for col in 0..<g.t.modes2 {
                    let src = spectrum + g.modeOffset(block: block, row: row, col: col, sample: n)
                    let dst = ws + g.workspaceOffset(row: g.sourceRow(block: block, row: row), col: col)
                    for i in 0..<(2 * g.c) { dst[i] = scale * src[i] }
                }
            }
        }
        if adjoint { makeAdjointOfRealTransform(ws) }
        first.execute(ws, ws)
        second.execute(ws, x)
    }

    /// Turns a gradient G of the half spectrum into Z with c2r(Z) = Re(sum G e^{+i theta}):
    /// interior columns are halved (c2r counts them twice); the DC and Nyquist
    /// columns are made Hermitian along H, Z[k] = (G[k] + conj G[-k]) / 2.
    private func makeAdjointOfRealTransform(_ ws: UnsafeMutablePointer<Float>) {
        for col in 0..<g.t.modes2 {
            if g.columnMultiplicity(col) == 2 {
                for row in 0..<g.h {
                    let p = ws + g.workspaceOffset(row: row, col: col)
                    for i in 0..<(2 * g.c) { p[i] *= 0.5 }
                }
                continue
            }
            for row in 0...(g.h / 2) {
                let a = ws + g.workspaceOffset(row: row, col: col)
                let b = ws + g.workspaceOffset(row: (g.h - row) % g.h, col: col)
                for ch in 0..<g.c {
                    let re = 0.5 * (a[2 * ch] + b[2 * ch]), im = 0.5 * (a[2 * ch + 1] - b[2 * ch + 1])
                    a[2 * ch] = re; a[2 * ch + 1] = im
                    b[2 * ch] = re; b[2 * ch + 1] = -im
                }
            }
        }
    }
}

/// The form one spectral kernel runs, fixed at bind time from the program's `SpectralForms`.
enum SpectralEngine {
    case fftw(SpectralFFTW)
    case gemm(SpectralGEMM)

    init(_ g: SpectralGeometry, _ direction: SpectralTransform.Direction, plans: [FFTPlanSpec: FFTPlan],
         spectral: SpectralExecution) {
        switch spectral.forms.form(of: SpectralTransform(g.t, direction)) {
        case .fftw: self = .fftw(SpectralFFTW(g, direction: direction, plans: plans))
        case .gemm: self = .gemm(SpectralGEMM(d: spectral.tables.matrices[g.t]!))
        }
    }

    /// Floats between consecutive samples' workspace tiles.
    var tileFloats: Int {
        switch self {
        case .fftw(let f): return f.g.t.fftwTileFloats
        case .gemm(let m): return m.t.gemmTileFloats
        }
    }
}

/// The truncated spectral transforms, one sample per tile. Forward: rfft2 (x -> kept modes)
/// and irfft2_grad (dy -> its adjoint spectrum). Inverse: irfft2 (kept modes -> x, scaled
/// 1/(HW)) and rfft2_grad (the exact adjoint of rfft2).
final class TruncatedSpectralKernel: KernelDeclaration {
    let g: SpectralGeometry
    let direction: SpectralTransform.Direction
    let x, y, workspace: UnsafeMutablePointer<Float>
    let engine: SpectralEngine
    let isAdjoint: Bool
    let samples: ValidCount
    static func workspaceBytes(_ node: Node, in graph: Graph) -> Int { SpectralRequirements.workspaceBytes(node, in: graph) }
    /// One tile per sample: sample n of the field, and the sample-n entries of the spectrum.
    static func sampleTiles(_ node: Node, in graph: Graph) -> Int? {
        (direction(of: node) == .forward ? graph.values[node.inputs[0]].type : graph.values[node.result!].type).shape[0]
    }
    static func transforms(_ node: Node, in graph: Graph) -> [FFTPlanSpec] { SpectralRequirements.plans(node, in: graph) }
    static func spectralTransforms(_ node: Node, in graph: Graph) -> [SpectralTransform] {
        SpectralRequirements.spectral(node, in: graph, direction(of: node))
    }
    static func direction(of node: Node) -> SpectralTransform.Direction {
        node.op.code == .rfft2 || node.op.code == .irfft2_grad ? .forward : .inverse
    }
    init(_ bind: KernelBinding) {
        let t = SpectralRequirements.transforms(bind.node, in: bind.graph)
        direction = Self.direction(of: bind.node)
        // The sample axis: the field's, which is the input going forward and the result going back.
        let field = direction == .forward ? bind.type(ofInput: 0) : bind.resultType
        g = SpectralGeometry(t: t, samples: field.shape[0])
        samples = bind.validCount(capacity: g.samples)
        (x, y, workspace) = (bind.input(0), bind.output, bind.scratch)
        engine = SpectralEngine(g, direction, plans: bind.fftPlans, spectral: bind.spectral)
        isAdjoint = bind.node.op.code == .irfft2_grad || bind.node.op.code == .rfft2_grad
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int { samples.value }
    func run(phase: Int, tile n: Int) {
        let ws = workspace + n * engine.tileFloats
        let fieldOffset = n * g.h * g.t.width * g.c
        switch (direction, engine) {
        case (.forward, .fftw(let f)): f.forward(x + fieldOffset, into: y, sample: n, workspace: ws, adjoint: isAdjoint)
        case (.forward, .gemm(let m)):
            m.forward(x + fieldOffset, into: y, sample: n, samples: g.samples, workspace: ws, adjoint: isAdjoint)
        case (.inverse, .fftw(let f)): f.inverse(x, sample: n, into: y + fieldOffset, workspace: ws, adjoint: isAdjoint)
        case (.inverse, .gemm(let m)):
            m.inverse(x, sample: n, samples: g.samples, into: y + fieldOffset, workspace: ws, adjoint: isAdjoint)
        }
    }
}

/// Per-mode complex matrix products: spectral_mix `Y = X W` and its input gradient `dY W^H`
/// by `m2m_linear_rows` on the real form of each mode's product (tiles: groups of
/// `modesPerTile` modes), the weight gradient `X^H dY` by one cgemm per mode (each a tile).
///
/// The real form: with `B` the mode's `[K, N]` complex right factor (`W`, or `W^H` for the
/// input gradient), a row `a` of the left factor read as the reals `(re a_0, im a_0, re a_1, ...)`
/// times the `[2K, 2N]` real matrix whose row `2q` is `B_q` (interleaved re, im) and row
/// `2q + 1` is `i B_q` (`-im, re`) is the complex row `a B`, interleaved. Each tile expands one
/// mode's `B` at a time into its workspace (16 KiB at 32 x 32 channels, in L1) and runs one
/// product per mode: each complex product as four fused multiply-adds in a fixed order.
/// On fno-ns64 (4 nodes each per training step) spectral_mix went from 4.8-5.3 to 4.4-4.6 ms with
/// this and its input gradient stayed at 5.0-5.4 (its expansion reads `W` transposed); the same
/// real form of the weight gradient (`P = A^T D` on the reals by
/// `m2m_transposed_product_accumulate`, then the complex sums) gained nothing over cgemm (4.76
/// against 4.71 ms: 20 rows per product), so that stays.
final class SpectralMixKernel: KernelDeclaration {
    enum Form { case mix, gradInput, gradWeight }
    let a, b, y: UnsafeMutablePointer<Float>
    /// Per tile the expanded `[2K, 2N]` right factor (`mix`, `gradInput`).
    let expanded: UnsafeMutablePointer<Float>?
    let modes, batch, rowsA, colsA, rowsB, colsB, colsY: Int
    let form: Form
    /// Valid rows of the (possibly bounded) batch axis, read per run.
    let rows: ValidCount
    private var validRows = 0
    private let constants = UnsafeMutablePointer<Float>.allocate(capacity: 4)   // alpha = 1, beta = 0
    /// Modes per tile of the `mix` and `gradInput` forms.
    static let modesPerTile = 8
    init(_ bind: KernelBinding, _ form: Form) {
        (a, b, y) = (bind.input(0), bind.input(1), bind.output)
        self.form = form
        let sa = bind.type(ofInput: 0).shape, sb = bind.type(ofInput: 1).shape
        modes = sa[0]; batch = sa[1]
        rows = bind.validCount(capacity: batch)
        (rowsA, colsA, rowsB, colsB) = (sa[1], sa[2], sb[1], sb[2])
        colsY = bind.resultType.shape[2]
        expanded = form == .gradWeight ? nil : bind.scratch
        constants.update(from: [1, 0, 0, 0], count: 4)
    }
    deinit { constants.deallocate() }
    /// One expanded right factor (`4 K N` floats) per tile for `spectral_mix` and its input gradient.
    static func workspaceBytes(_ node: Node, in graph: Graph) -> Int {
        guard node.op == .spectralMix || node.op == .spectralMixGradInput else { return 0 }
        let a = graph.values[node.inputs[0]].type.shape, y = graph.values[node.result!].type.shape
        return (a[0] + modesPerTile - 1) / modesPerTile * 4 * a[2] * y[2] * 4
    }
    var phaseCount: Int { 1 }
    func tileCount(phase: Int) -> Int {
        validRows = rows.value
        return form == .gradWeight ? modes : (modes + Self.modesPerTile - 1) / Self.modesPerTile
    }
    func run(phase: Int, tile: Int) {
        guard let expanded else { return gradWeight(mode: tile) }
        guard validRows > 0 else { return }
        let (k, n) = (colsA, colsY)           // the complex product [rows, k] x [k, n]
        let ext = expanded + tile * 4 * k * n
        // B[q][j]: W[q][j] for mix, conj(W[j][q]) for the input gradient (complex strides of q and j in W).
        let conjugate = form == .gradInput
        let (qStride, jStride) = conjugate ? (1, colsB) : (colsB, 1)
        for m in tile * Self.modesPerTile..<min(modes, (tile + 1) * Self.modesPerTile) {
            let bm = b + 2 * m * rowsB * colsB
            for q in 0..<k {
                let row = ext + 4 * q * n, iRow = ext + (4 * q + 2) * n
                if conjugate {
                    for j in 0..<n {
                        let w = bm + 2 * (q * qStride + j * jStride)
                        row[2 * j] = w[0]; row[2 * j + 1] = -w[1]
                        iRow[2 * j] = w[1]; iRow[2 * j + 1] = w[0]
                    }
                } else {     // W's row q as it is, and i times it
                    let w = bm + 2 * q * qStride
                    row.update(from: w, count: 2 * n)
                    for j in 0..<n { iRow[2 * j] = -w[2 * j + 1]; iRow[2 * j + 1] = w[2 * j] }
                }
            }
            m2m_linear_rows(a + 2 * m * rowsA * colsA, ext, nil, nil, 0, nil, y + 2 * m * batch * colsY,
                            validRows, 2 * k, 2 * n)
        }
    }
    private func gradWeight(mode m: Int) {  // [N, Ci]^H x [N, Co]
        let alpha = UnsafeRawPointer(constants), beta = UnsafeRawPointer(constants + 2)
        let am = a + 2 * m * rowsA * colsA, bm = b + 2 * m * rowsB * colsB
        let ym = y + 2 * m * colsA * colsB
        guard validRows > 0 else { ym.update(repeating: 0, count: 2 * colsA * colsB); return }
        cblas_cgemm(CblasRowMajor, CblasConjTrans, CblasNoTrans, Int32(colsA), Int32(colsB), Int32(validRows),
                    alpha, am, Int32(colsA), bm, Int32(colsB), beta, ym, Int32(colsB))
    }
}
