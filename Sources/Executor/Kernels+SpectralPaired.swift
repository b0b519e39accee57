/// The paired layout of the FFTW form (even channel counts): channels `2j` and `2j + 1`
/// of the real `[H, W, C]` tile are the real and imaginary parts of one complex signal
/// `z = a + i b`, so one complex 2-D FFT transforms both. With `Z = F(z)` and `a`, `b`
/// real, `F(a)[k] = (Z[k] + conj Z[-k]) / 2` and `F(b)[k] = (Z[k] - conj Z[-k]) / (2i)`
/// (indices modulo H and W). Going back, each channel's kept modes are spread into a
/// Hermitian array `S` whose inverse FFT is real, and `S_a + i S_b` is inverted at once.
/// The workspace tile is a complex `[W, C/2]` row buffer, then the compact complex
/// `[H, K, C/2]` columns (the K = `pairedColumns` kept columns and their mirrors): the W
/// transforms run row by row through the buffer, so only those K columns leave the cache.
extension SpectralFFTW {
    private var pairs: Int { g.c / 2 }

    /// Float offset in the workspace tile of compact frequency (row, column) for pair 0
    /// (after the `[W, C/2]` row buffer).
    @inline(__always) private func compactOffset(row: Int, col: Int) -> Int {
        2 * pairs * (g.t.width + row * g.t.pairedColumns + g.t.pairedColumn(of: col))
    }

    /// Calls `body` for every kept mode (block, row, col) of sample n with that mode's
    /// floats in the `[M, N, C]` spectrum and, in the workspace tile, the compact
    /// frequency (kh, k) and its mirror (-kh, -k).
    @inline(__always) private func forEachKeptMode(
        sample n: Int, spectrum: UnsafeMutablePointer<Float>, workspace ws: UnsafeMutablePointer<Float>,
        _ body: (_ col: Int, _ mode: UnsafeMutablePointer<Float>, _ z: UnsafeMutablePointer<Float>,
                 _ mirror: UnsafeMutablePointer<Float>) -> Void
    ) {
        for block in 0..<2 {
            for row in 0..<g.t.modes1 {
                let kh = g.sourceRow(block: block, row: row)
                for col in 0..<g.t.modes2 {
                    body(col, spectrum + g.modeOffset(block: block, row: row, col: col, sample: n),
                         ws + compactOffset(row: kh, col: col),
                         ws + compactOffset(row: (g.h - kh) % g.h, col: (g.t.width - col) % g.t.width))
                }
            }
        }
    }

    /// Copies the kept columns of one row between the row buffer and the compact columns
    /// (`toCompact`: buffer -> compact).
    @inline(__always) private func moveKeptColumns(row h: Int, _ ws: UnsafeMutablePointer<Float>, toCompact: Bool) {
        let t = g.t, columnFloats = 2 * pairs
        let low = t.pairedLowColumns, high = t.pairedColumns - low
        let compact = ws + compactOffset(row: h, col: 0)
        let highBuffer = ws + (t.width - high) * columnFloats, highCompact = compact + low * columnFloats
        if toCompact {
            compact.update(from: ws, count: low * columnFloats)
            highCompact.update(from: highBuffer, count: high * columnFloats)
        } else {
            ws.update(from: compact, count: low * columnFloats)
            highBuffer.update(from: highCompact, count: high * columnFloats)
        }
    }

    func pairedForward(_ x: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>, sample n: Int,
                       workspace ws: UnsafeMutablePointer<Float>, adjoint: Bool) {
        let rowFloats = g.t.width * g.c
        for h in 0..<g.h {          // along W: a tile row read as complex [W, C/2] -> the row buffer
            first.execute(x + h * rowFloats, ws)
            moveKeptColumns(row: h, ws, toCompact: true)
        }
        let compact = ws + compactOffset(row: 0, col: 0)
        second.execute(compact, compact)        // along H, in place, on the compact columns
        let normalization = 1 / Float(g.h * g.t.width)
        forEachKeptMode(sample: n, spectrum: y, workspace: ws) { col, dst, z, zm in
            let scale: Float = adjoint ? normalization * g.columnMultiplicity(col) : 1
            for j in 0..<pairs {
                let (ar, ai, br, bi) = (z[2 * j], z[2 * j + 1], zm[2 * j], zm[2 * j + 1])
                dst[4 * j] = scale * (0.5 * (ar + br))          // (Z[k] + conj Z[-k]) / 2
                dst[4 * j + 1] = scale * (0.5 * (ai - bi))
                dst[4 * j + 2] = scale * (0.5 * (ai + bi))      // (Z[k] - conj Z[-k]) / (2i)
                dst[4 * j + 3] = scale * (0.5 * (br - ar))
            }
        }
    }

    /// x = Re(sum over kept (kh, k) of V e^{+i(...)}), V = mult(k) G / (HW) for irfft2 (the
    /// c2r semantics) and V = G for the adjoint of rfft2: each V adds V/2 at (kh, k) and
    /// conj(V)/2 at (-kh, -k), which meet on the DC and Nyquist columns.
    func pairedInverse(_ spectrum: UnsafeMutablePointer<Float>, sample n: Int, into x: UnsafeMutablePointer<Float>,
                       workspace ws: UnsafeMutablePointer<Float>, adjoint: Bool) {
        ws.update(repeating: 0, count: g.t.fftwTileFloats)
        let scale: Float = adjoint ? 1 : 1 / Float(g.h * g.t.width)
        forEachKeptMode(sample: n, spectrum: spectrum, workspace: ws) { col, src, z, zm in
            let half: Float = 0.5 * scale * (adjoint ? 1 : g.columnMultiplicity(col))
            for j in 0..<pairs {
                let (ar, ai) = (half * src[4 * j], half * src[4 * j + 1])
                let (br, bi) = (half * src[4 * j + 2], half * src[4 * j + 3])
                z[2 * j] += ar - bi; z[2 * j + 1] += ai + br        // V_a/2 + i V_b/2
                zm[2 * j] += ar + bi; zm[2 * j + 1] += br - ai      // conj(V_a)/2 + i conj(V_b)/2
            }
        }
        let compact = ws + compactOffset(row: 0, col: 0)
        first.execute(compact, compact)         // along H, in place, on the compact columns
        // Along W, row by row: the buffer's other columns stay zero (FFTW's out-of-place
        // complex transforms preserve their input).
        let rowFloats = g.t.width * g.c
        for h in 0..<g.h {
            moveKeptColumns(row: h, ws, toCompact: false)
            second.execute(ws, x + h * rowFloats)
        }
    }
}
