import M2MData

/// Bounds on a config's sizes, checked before any graph is built: every product of sizes
/// here is computed with checked arithmetic, so absurd values (batch 2^40, width 1e9) are an
/// error naming the keys instead of an overflow trap in the graph builder or the planner, and
/// the graph's size (what compiling and loading take time for) stays bounded.
extension ModelConfig {
    /// The most FNO layers (per network: the FNO, or each expert).
    public static let maxLayers = 64
    /// The most frames in `t_in` and `t_out`.
    public static let maxFrames = 1000
    /// The most training epochs (`epochs`, `train --epochs`).
    public static let maxEpochs = 1_000_000
    /// The most FNO layers the training graph unrolls: layers x rollout_train x networks (the
    /// experts, plus the global expert). Compiling takes seconds at this bound.
    public static let maxUnrolledLayers = 512
    /// The largest tensor (activation or parameter) a config may imply: 1 TiB. The compiled
    /// model is then also compared with this machine's physical memory (`CompiledModel.compile`).
    public static let maxTensorBytes = 1 << 40

    /// The networks one training step runs per rollout step (FNO: 1; m2m: the experts, plus the global one).
    var networks: Int {
        guard kind == .m2m, let m = m2m else { return 1 }
        return m.experts + (m.globalExpert ? 1 : 0)
    }

    /// Checks the unrolled graph size and an upper estimate of the largest activation and
    /// parameter tensors; run by `validate` after the keys' own ranges are checked.
    func validateSizes(source: String) throws {
        if let k = kno, kind == .kno {
            let unrolled = k.decompose * rolloutTrain   // each factor bounded above: no overflow
            if unrolled > Self.maxUnrolledLayers {
                throw UserError("\(source): keys 'kno.decompose' \(k.decompose) x 'rollout_train' \(rolloutTrain) unroll "
                                + "\(unrolled) Koopman steps into the training graph; at most \(Self.maxUnrolledLayers)")
            }
        }
        if let c = cno, kind == .cno {
            let unrolled = c.blocksPerStep * rolloutTrain   // each factor bounded above: no overflow
            if unrolled > Self.maxUnrolledLayers {
                throw UserError("\(source): keys 'cno.n_layers', 'cno.n_res', 'cno.n_res_neck' (\(c.blocksPerStep) blocks a step) x "
                                + "'rollout_train' \(rolloutTrain) unroll \(unrolled) CNO blocks into the training graph; "
                                + "at most \(Self.maxUnrolledLayers)")
            }
        }
        let networkLayers = kind == .kno || kind == .cno ? 1 : kind == .uno ? (uno ?? UNOConfig()).layers : layers
        let unrolled = networkLayers * rolloutTrain * networks   // each factor bounded above: no overflow
        if unrolled > Self.maxUnrolledLayers {
            let parts = kind == .m2m ? "'layers' \(layers) x 'rollout_train' \(rolloutTrain) x \(networks) experts"
                : kind == .uno ? "'uno.out_channels' (\(networkLayers) layers) x 'rollout_train' \(rolloutTrain)"
                : "'layers' \(layers) x 'rollout_train' \(rolloutTrain)"
            throw UserError("\(source): keys \(parts) unroll \(unrolled) FNO layers into the training graph; "
                            + "at most \(Self.maxUnrolledLayers)")
        }
        let grid = "'grid' \(self.grid[0])x\(self.grid[1])"
        func limit(_ bytes: Int?, _ what: String) throws {
            guard let bytes, bytes <= Self.maxTensorBytes else {
                throw UserError("\(source): \(what) make a tensor of \(SystemResources.describe(bytes: bytes)); "
                                + "at most \(SystemResources.describe(bytes: Self.maxTensorBytes)) per tensor")
            }
        }
        // Channel counts a full-field activation can have, with the key that sets each.
        var channels: [(String, Int)] = [("t_in", tIn + 2), ("rollout_train", rolloutTrain)]
        if kind != .kno && kind != .cno && kind != .uno { channels.append(("projection_hidden", projectionHidden)) }
        if kind == .fno { channels.append(("width", width)) }
        if let k = kno, kind == .kno { channels.append(("kno.op_size", k.opSize)) }
        if let u = uno, kind == .uno {
            channels += [("uno.lifting_channels", u.liftingChannels), ("uno.projection_channels", u.projectionChannels),
                         ("uno.out_channels", (u.inChannels + u.outChannels + (0..<u.layers).map(u.mlpChannels)).max()!)]
        }
        if let c = cno, kind == .cno {
            // The deepest level's channels doubled by its skip. The activation's fine grid (twice the grid per
            // axis) is 4x larger again; compile checks the planned arena against memory.
            channels.append(("cno.latent_dim", c.latentDim))
            channels.append(("cno.channel_multiplier", c.channelMultiplier << c.nLayers))
        }
        if let m = m2m, kind == .m2m {
            channels.append(("m2m.expert_widths", m.expertWidths.max() ?? 1))
            channels.append(("m2m.router_hidden", m.routerHidden))
            if m.globalExpert { channels.append(("m2m.global_width", m.globalWidth)) }
        }
        let widest = channels.max { $0.1 < $1.1 }!
        // Activations [batch, H, W, C], complex spectra at most as large in bytes as twice that;
        // m2m: extended patches (a halo up to the patch size: at most 9 x the field) in k slots.
        var factors = [batch, self.grid[0], self.grid[1], widest.1, 8]
        var what = "keys 'batch' \(batch) x \(grid) x '\(widest.0)' \(widest.1)"
        if let u = uno, kind == .uno {
            // The largest grid of any layer (a U may go up before it comes down).
            let cells = u.grids(self.grid).map { $0[0] * $0[1] }.max()!
            factors = [batch, cells, widest.1, 8]
            what = "keys 'batch' \(batch) x the largest layer grid (\(cells) cells, 'uno.scalings') x '\(widest.0)' \(widest.1)"
        }
        if let m = m2m, kind == .m2m {
            let (pe, qe) = (self.grid[0] / m.scale + 2 * m.halo, self.grid[1] / m.scale + 2 * m.halo)
            factors = [batch, m.scale * m.scale, pe, qe, widest.1, m.k, 8]
            what += " with 'm2m.scale' \(m.scale), 'm2m.halo' \(m.halo) and 'm2m.k' \(m.k)"
        }
        try limit(SystemResources.checkedProduct(factors), what)
        // Parameters: spectral weights c64 [2 m1 m2, w, w], dense weights f32 [a, b].
        if kind == .fno {
            try limit(SystemResources.checkedProduct([2, modes[0], modes[1], width, width, 8]),
                      "keys 'width' \(width) and 'modes' \(modes)")
        }
        if let k = kno, kind == .kno {
            try limit(SystemResources.checkedProduct([k.modes[0], k.modes[1], k.opSize, k.opSize, 8]),
                      "keys 'kno.op_size' \(k.opSize) and 'kno.modes' \(k.modes)")
        }
        if let m = m2m, kind == .m2m {
            for e in 0..<m.experts {
                try limit(SystemResources.checkedProduct([2, m.expertModes[e], m.expertModes[e], m.expertWidths[e],
                                                          m.expertWidths[e], 8]),
                          "keys 'm2m.expert_widths' \(m.expertWidths[e]) and 'm2m.expert_modes' \(m.expertModes[e]) of expert \(e)")
            }
            if m.globalExpert {
                try limit(SystemResources.checkedProduct([2, m.globalModes, m.globalModes, m.globalWidth, m.globalWidth, 8]),
                          "keys 'm2m.global_width' \(m.globalWidth) and 'm2m.global_modes' \(m.globalModes)")
            }
        }
        if let c = cno, kind == .cno {
            let widestWeight = max(c.latentDim, c.channelMultiplier << c.nLayers)
            try limit(SystemResources.checkedProduct([c.kernel, c.kernel, widestWeight, widestWeight, 4]),
                      "keys 'cno.kernel' \(c.kernel), 'cno.channel_multiplier' \(c.channelMultiplier), 'cno.n_layers' \(c.nLayers) "
                      + "and 'cno.latent_dim' \(c.latentDim)")
            return
        }
        if let u = uno, kind == .uno {
            for i in 0..<u.layers {
                let (m1, m2) = u.modes(i)
                try limit(SystemResources.checkedProduct([2, m1, m2, u.inChannels[i], u.outChannels[i], 8]),
                          "keys 'uno.out_channels' and 'uno.n_modes' of layer \(i)")
            }
        }
        if kind == .kno || kind == .uno {
            try limit(SystemResources.checkedProduct([widest.1, widest.1, 4]), "key '\(widest.0)' \(widest.1)")
            return
        }
        try limit(SystemResources.checkedProduct([widest.1, max(widest.1, projectionHidden), 4]),
                  widest.0 == "projection_hidden" ? "key 'projection_hidden' \(projectionHidden)"
                      : "keys '\(widest.0)' \(widest.1) and 'projection_hidden' \(projectionHidden)")
    }
}
