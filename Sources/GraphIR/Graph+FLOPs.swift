import Foundation

extension Graph {
    /// Analytic floating-point operations of one run, counted as the peers count
    /// them (../shared/peers/common.py): matmuls 2mnk, complex MACs 8, each real
    /// 2-D FFT 2.5 N log2 N (dense, although our transforms are pruned), Adam 10
    /// per real parameter; elementwise ops and copies are not counted. Bounded tensors
    /// count at their capacity (an upper bound; see `analyticFLOPs(routedCounts:)`).
    public var analyticFLOPs: Double { nodes.indices.reduce(0) { $0 + flops(ofNode: $1) } }

    /// The FLOPs of one run in which each bounded extent held `routedCounts[extent]` rows
    /// (a node over a bounded tensor costs its capacity FLOPs times count / capacity):
    /// what a routed model actually computed.
    public func analyticFLOPs(routedCounts: [BoundedExtent: Int]) throws -> Double {
        let extents = try boundedExtents()
        var total = 0.0
        for k in nodes.indices {
            var f = flops(ofNode: k)
            if let extent = extents.nodes[k], let count = routedCounts[extent] {
                let node = nodes[k]
                let bounded = (node.inputs + (node.result.map { [$0] } ?? [])).map { values[$0].type }.first { $0.isBounded }!
                f *= Double(count) / Double(bounded.shape[bounded.boundedAxis!])
            }
            total += f
        }
        return total
    }

    /// Analytic FLOPs of node `k` at full capacity.
    public func flops(ofNode k: Int) -> Double {
        let node = nodes[k]
        var total = 0.0
        let t = node.inputs.map { values[$0].type }
        switch node.op {
        case .linear, .linearGelu, .linearAdd, .linearAddGelu:
            let k = Double(t[0].shape.last!), rows = Double(t[0].elementCount) / k
            total += 2 * rows * k * Double(t[1].shape[1])
        case .linearGradInput, .linearGradInputGelu, .linearGradInputAdd, .linearGradInputAddGelu:
            let k = Double(t[0].shape.last!), rows = Double(t[0].elementCount) / k
            total += 2 * rows * k * Double(t[1].shape[0])
        case .mlp:
            let k = Double(t[0].shape.last!), rows = Double(t[0].elementCount) / k
            let hidden = Double(t[1].shape[1])
            total += 2 * rows * k * hidden + 2 * rows * hidden * Double(t[3].shape[1])
        case .mlpGrad:
            // The recomputed z = x w1 + b1, then dz, dw2, dw1 and dx: five products.
            let k = Double(t[1].shape.last!), rows = Double(t[1].elementCount) / k
            let (hidden, n) = (Double(t[2].shape[1]), Double(t[4].shape[1]))
            total += 2 * rows * hidden * (3 * k + 2 * n)
        case .linearGradWeight:
            let k = Double(t[0].shape.last!), rows = Double(t[0].elementCount) / k
            total += 2 * rows * k * Double(t[1].shape.last!)
        case .conv2d(let k, _), .conv2dGradInput(let k, _):
            // 2 k^2 C_in per output element (C_in: x's channels, or dy's for the input gradient).
            total += 2 * Double(k * k * t[0].shape[3]) * Double(values[node.result!].type.elementCount)
        case .conv2dGradWeight(let k, _):
            total += 2 * Double(k * k) * Double(t[0].elementCount) * Double(t[1].shape[3])
        case .rfft2, .irfft2Grad:
            total += Self.fftFLOPs(t[0].shape)
        case .irfft2, .rfft2Grad:
            total += Self.fftFLOPs(values[node.result!].type.shape)
        case .spectralMix, .spectralMixGradInput:
            let (m, n, k) = (Double(t[0].shape[0]), Double(t[0].shape[1]), Double(t[0].shape[2]))
            total += 8 * m * n * k * Double(values[node.result!].type.shape[2])
        case .spectralMixGradWeight:
            let (m, n, ci) = (Double(t[0].shape[0]), Double(t[0].shape[1]), Double(t[0].shape[2]))
            total += 8 * m * n * ci * Double(t[1].shape[2])
        case .resample(let kernel, _, _), .resampleGrad(let kernel, _, _):
            // Two banded passes per sample: along H (each larger-grid row from `support` rows),
            // then along W per cell (the forward op's grids; the adjoint does the same work).
            let (x, y) = (t[0].shape, values[node.result!].type.shape)
            let (a, b) = node.op.code == .resample ? (x, y) : (y, x)
            let (samples, c) = (Double(x[0]), Double(x[3]))
            let (hIn, wIn, hOut, wOut) = (a[1], a[2], Double(b[1]), Double(b[2]))
            let (kH, kW) = (Double(kernel.support(from: hIn, to: b[1])), Double(kernel.support(from: wIn, to: b[2])))
            total += 2 * samples * c * (hOut * kH * Double(wIn) + hOut * wOut * kW)
        case .adam:
            total += 10 * Double(t[0].floatCount)
        case .bandEnergies, .spectralCentroid:
            total += Self.patchDFTFLOPs(t[0].shape)
        case .bandEnergiesGrad:
            total += 2 * Self.patchDFTFLOPs(t[0].shape)
        case .gelu, .leakyRelu, .leakyReluGrad, .add, .sub, .mul, .div, .affine, .exp, .log, .sqrt, .tanh, .reduceSum, .reduceMax, .broadcast,
             .reshape, .stopGradient, .fill, .appendCoordinates, .sliceChannels, .padChannels, .concatChannels,
             .extractPatches, .mergePatches, .route, .dispatch, .gatherGates, .combine, .relativeL2Loss, .sumRows, .sliceFlat,
             .geluGrad, .extractPatchesGrad, .mergePatchesGrad, .dispatchGrad, .gatherGatesGrad,
             .combineGradGates, .combineGradExpert, .relativeL2LossGrad:
            break   // elementwise, copies and reductions are not counted
        }
        return total
    }

    /// The direct separable DFT of `[Np, P, Q, 1]` patches: real rows (4 flops per
    /// complex-by-real MAC), then complex columns (8 per MAC).
    static func patchDFTFLOPs(_ shape: [Int]) -> Double {
        let (n, p, q) = (Double(shape[0]), Double(shape[1]), Double(shape[2]))
        return n * (4 * p * q * q + 8 * p * q * p)
    }

    /// 2.5 N log2 N per channel and sample of a `[N, H, W, C]` real field.
    static func fftFLOPs(_ shape: [Int]) -> Double {
        let points = Double(shape[1] * shape[2])
        return 2.5 * points * log2(points) * Double(shape[0] * shape[3])
    }
}
