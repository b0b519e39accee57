/// One buffer the arena must hold: a byte size and the inclusive range of
/// schedule steps during which it is live (TFLite Micro's "buffer requirement").
public struct BufferRequest: Sendable, Hashable, Codable {
    public var size: Int
    public var firstUse: Int
    public var lastUse: Int

    public init(size: Int, firstUse: Int, lastUse: Int) {
        precondition(size >= 0 && firstUse <= lastUse)
        self.size = size
        self.firstUse = firstUse
        self.lastUse = lastUse
    }

    /// True when both buffers are live at some common step.
    public func overlapsInTime(_ other: BufferRequest) -> Bool {
        firstUse <= other.lastUse && other.firstUse <= lastUse
    }
}

/// Offsets assigned to a list of requests, and the arena size they need.
public struct ArenaLayout: Sendable, Hashable, Codable {
    public var offsets: [Int]
    public var arenaBytes: Int
    /// Which placement strategy produced this layout.
    public var strategy: String
}

/// Greedy offline arena planning (as TFLite Micro's GreedyMemoryPlanner and
/// XLA's heap simulator): place buffers one by one, each at the lowest aligned
/// offset that does not collide with an already placed, time-overlapping buffer.
public enum ArenaPlanner {
    /// Arena offsets are multiples of this (cache line, and FFTW's SIMD alignment).
    public static let alignment = 64

    public static func align(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// Plans with each order (by size, by lifetime, by size x lifetime, by first use) and
    /// keeps the smallest arena (the earlier order on ties). When that is above the lower
    /// bound, skyline dives (`skyline`) look for a layout at the bound; when none finds one
    /// within their budget, the best order is refined by a seeded
    /// local search, and if that stops above the bound the other orders are refined too
    /// (while the total work stays within the budget) and the smallest result is kept.
    /// Deterministic.
    public static func plan(_ requests: [BufferRequest]) -> ArenaLayout {
        let placed = greedy(requests)
        // Stable: the earlier order wins ties.
        let ranked = placed.indices.sorted { (placed[$0].layout.arenaBytes, $0) < (placed[$1].layout.arenaBytes, $1) }
        let bound = lowerBound(requests)
        guard placed[ranked[0]].layout.arenaBytes > bound else { return placed[ranked[0]].layout }
        if let found = skyline(requests, capacity: bound) {
            return ArenaLayout(offsets: found.offsets, arenaBytes: bound, strategy: "skyline-by-\(found.rule.rawValue)")
        }
        var best = refine(requests, order: placed[ranked[0]].order, layout: placed[ranked[0]].layout)
        let n = max(requests.count, 1)
        guard n * n * 1000 * placed.count <= 200_000_000 else { return best }   // small programs only
        for k in ranked.dropFirst() where best.arenaBytes > bound {
            let candidate = refine(requests, order: placed[k].order, layout: placed[k].layout)
            if candidate.arenaBytes < best.arenaBytes { best = candidate }
        }
        return best
    }

    /// Each greedy order (by size, by lifetime, by size x lifetime, by first use) and its layout.
    static func greedy(_ requests: [BufferRequest]) -> [(order: [Int], layout: ArenaLayout)] {
        [(sortedBySize(requests), "greedy-by-size"), (sortedByLifetime(requests), "greedy-by-lifetime"),
         (sortedByArea(requests), "greedy-by-area"), (sortedByFirstUse(requests), "greedy-by-first-use")]
            .map { (order: $0.0, layout: place(requests, order: $0.0, strategy: $0.1)) }
    }

    /// Hill climbing on the placement order: swap two buffers (seeded choice), keep the
    /// swap unless the arena grows; stops at the lower bound or after a work budget
    /// (each placement costs about n^2), so planning stays well under a second.
    static func refine(_ requests: [BufferRequest], order: [Int], layout: ArenaLayout) -> ArenaLayout {
        let n = requests.count, bound = lowerBound(requests)
        guard n >= 2, layout.arenaBytes > bound else { return layout }
        let iterations = min(1000, 50_000_000 / (n * n))
        var order = order, best = layout
        var random = PlannerRandom(state: 0x9E37_79B9_7F4A_7C15)
        for _ in 0..<iterations where best.arenaBytes > bound {
            let (i, j) = (random.index(n), random.index(n))
            order.swapAt(i, j)
            let candidate = place(requests, order: order, strategy: layout.strategy + "+local-search")
            if candidate.arenaBytes <= best.arenaBytes { best = candidate } else { order.swapAt(i, j) }
        }
        return best
    }

    /// Largest total of (aligned) bytes live at any one step: no arena can be smaller.
    public static func lowerBound(_ requests: [BufferRequest]) -> Int {
        guard let end = requests.map(\.lastUse).max() else { return 0 }
        var delta = [Int](repeating: 0, count: end + 2)
        for r in requests {
            delta[r.firstUse] += align(r.size)
            delta[r.lastUse + 1] -= align(r.size)
        }
        var live = 0, peak = 0
        for d in delta { live += d; peak = max(peak, live) }
        return peak
    }

    /// Largest first, ties by earlier first use, then by index (deterministic).
    static func sortedBySize(_ r: [BufferRequest]) -> [Int] {
        r.indices.sorted { a, b in
            (r[a].size, -r[a].firstUse, -a) > (r[b].size, -r[b].firstUse, -b)
        }
    }

    /// Longest-lived first, ties by size, then by index.
    static func sortedByLifetime(_ r: [BufferRequest]) -> [Int] {
        r.indices.sorted { a, b in
            (r[a].lastUse - r[a].firstUse, r[a].size, -a) > (r[b].lastUse - r[b].firstUse, r[b].size, -b)
        }
    }

    /// Largest size x lifetime first (the buffers that block the most), then by index.
    static func sortedByArea(_ r: [BufferRequest]) -> [Int] {
        r.indices.sorted { a, b in
            (align(r[a].size) * (r[a].lastUse - r[a].firstUse + 1), -a) > (align(r[b].size) * (r[b].lastUse - r[b].firstUse + 1), -b)
        }
    }

    /// In schedule order (earliest first use first), larger first on ties: a stack-like layout.
    static func sortedByFirstUse(_ r: [BufferRequest]) -> [Int] {
        r.indices.sorted { a, b in (-r[a].firstUse, r[a].size, -a) > (-r[b].firstUse, r[b].size, -b) }
    }

    /// Places buffers in `order`, each in the smallest gap between time-overlapping
    /// placed buffers that fits it (best fit), else above them all.
    ///
    /// The local search calls this about a thousand times per program, so it works on
    /// flat scratch arrays (no per-buffer allocation or closure): the placed buffers'
    /// lifetimes and intervals, and the overlapping intervals kept sorted by
    /// (start, end) by insertion.
    static func place(_ requests: [BufferRequest], order: [Int], strategy: String) -> ArenaLayout {
        let n = requests.count
        var offsets = [Int](repeating: 0, count: n)
        var arena = 0
        var scratch = [Int](repeating: 0, count: 6 * n)
        scratch.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }   // no requests
            // Placed buffers: first use, last use, start, end; then the busy intervals.
            let first = base, last = base + n, start = base + 2 * n, end = base + 3 * n
            let busyStart = base + 4 * n, busyEnd = base + 5 * n
            var placed = 0
            for i in order {
                let r = requests[i]
                let need = align(r.size)
                var busy = 0
                for p in 0..<placed where first[p] <= r.lastUse && r.firstUse <= last[p] {
                    let (s, e) = (start[p], end[p])
                    var k = busy
                    while k > 0 && (busyStart[k - 1] > s || (busyStart[k - 1] == s && busyEnd[k - 1] > e)) {
                        busyStart[k] = busyStart[k - 1]
                        busyEnd[k] = busyEnd[k - 1]
                        k -= 1
                    }
                    busyStart[k] = s
                    busyEnd[k] = e
                    busy += 1
                }
                var bestOffset = -1, bestGap = Int.max
                var cursor = 0
                for b in 0..<busy {
                    let gap = busyStart[b] - cursor
                    if gap >= need, gap < bestGap { (bestOffset, bestGap) = (cursor, gap) }
                    cursor = max(cursor, busyEnd[b])
                }
                let offset = bestOffset >= 0 ? bestOffset : cursor
                offsets[i] = offset
                arena = max(arena, offset + need)
                (first[placed], last[placed], start[placed], end[placed]) = (r.firstUse, r.lastUse, offset, offset + need)
                placed += 1
            }
        }
        return ArenaLayout(offsets: offsets, arenaBytes: arena, strategy: strategy)
    }
}
