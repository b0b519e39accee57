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

    /// Plans with both orders (by size, by lifetime) and keeps the smaller arena.
    public static func plan(_ requests: [BufferRequest]) -> ArenaLayout {
        let bySize = place(requests, order: sortedBySize(requests), strategy: "greedy-by-size")
        let byLifetime = place(requests, order: sortedByLifetime(requests), strategy: "greedy-by-lifetime")
        return byLifetime.arenaBytes < bySize.arenaBytes ? byLifetime : bySize
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

    /// Places buffers in `order`, each in the smallest gap between time-overlapping
    /// placed buffers that fits it (best fit), else above them all.
    static func place(_ requests: [BufferRequest], order: [Int], strategy: String) -> ArenaLayout {
        var offsets = [Int](repeating: 0, count: requests.count)
        var placed: [Int] = []
        var arena = 0
        for i in order {
            let need = align(requests[i].size)
            // Occupied intervals of the buffers live at the same time, by offset.
            let busy = placed.filter { requests[$0].overlapsInTime(requests[i]) }
                .map { (offsets[$0], offsets[$0] + align(requests[$0].size)) }
                .sorted { $0 < $1 }
            var best: (offset: Int, gap: Int)?
            var cursor = 0
            for (start, end) in busy {
                if start - cursor >= need, start - cursor < (best?.gap ?? Int.max) {
                    best = (cursor, start - cursor)
                }
                cursor = max(cursor, end)
            }
            let offset = best?.offset ?? cursor
            offsets[i] = offset
            arena = max(arena, offset + need)
            placed.append(i)
        }
        return ArenaLayout(offsets: offsets, arenaBytes: arena, strategy: strategy)
    }
}
