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

    /// Plans with each order (by size, by lifetime, by size x lifetime, by first use),
    /// keeps the smallest arena (the earlier order on ties), and when that is above the
    /// lower bound refines its order by a seeded local search. Deterministic.
    public static func plan(_ requests: [BufferRequest]) -> ArenaLayout {
        let orders = [(sortedBySize(requests), "greedy-by-size"), (sortedByLifetime(requests), "greedy-by-lifetime"),
                      (sortedByArea(requests), "greedy-by-area"), (sortedByFirstUse(requests), "greedy-by-first-use")]
        var best = (order: orders[0].0, layout: place(requests, order: orders[0].0, strategy: orders[0].1))
        for (order, name) in orders.dropFirst() {
            let layout = place(requests, order: order, strategy: name)
            if layout.arenaBytes < best.layout.arenaBytes { best = (order, layout) }
        }
        return refine(requests, order: best.order, layout: best.layout)
    }

    /// Hill climbing on the placement order: swap two buffers (seeded choice), keep the
    /// swap unless the arena grows; stops at the lower bound or after a work budget
    /// (each placement costs about n^2), so planning stays well under a second.
    static func refine(_ requests: [BufferRequest], order: [Int], layout: ArenaLayout) -> ArenaLayout {
        let n = requests.count, bound = lowerBound(requests)
        guard n >= 2, layout.arenaBytes > bound else { return layout }
        let iterations = min(1000, 50_000_000 / (n * n))
        var order = order, best = layout
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        for _ in 0..<iterations where best.arenaBytes > bound {
            let (i, j) = (next() % n, next() % n)
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
    static func place(_ requests: [BufferRequest], order: [Int], strategy: String) -> ArenaLayout {
        var offsets = [Int](repeating: 0, count: requests.count)
        var ends = [Int](repeating: 0, count: requests.count)
        // Placed buffers ordered by (offset, end): the scan below meets the occupied
        // intervals of the time-overlapping ones in address order, without sorting.
        var byOffset: [Int] = []
        byOffset.reserveCapacity(requests.count)
        var arena = 0
        for i in order {
            let need = align(requests[i].size)
            var best: (offset: Int, gap: Int)?
            var cursor = 0
            for j in byOffset where requests[j].overlapsInTime(requests[i]) {
                let start = offsets[j]
                if start - cursor >= need, start - cursor < (best?.gap ?? Int.max) {
                    best = (cursor, start - cursor)
                }
                cursor = max(cursor, ends[j])
            }
            let offset = best?.offset ?? cursor
            offsets[i] = offset
            ends[i] = offset + need
            arena = max(arena, offset + need)
            var low = 0, high = byOffset.count
            while low < high {
                let mid = (low + high) / 2, j = byOffset[mid]
                if (offsets[j], ends[j]) <= (offset, ends[i]) { low = mid + 1 } else { high = mid }
            }
            byOffset.insert(i, at: low)
        }
        return ArenaLayout(offsets: offsets, arenaBytes: arena, strategy: strategy)
    }
}
