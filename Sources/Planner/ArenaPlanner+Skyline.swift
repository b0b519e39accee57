/// Skyline dives for a layout at a given capacity (in the spirit of MiniMalloc's canonical
/// solutions, with restarts instead of its backtracking): buffers are placed bottom up, each
/// at the lowest offset its lifetime allows (the skyline: the top of the buffers already
/// placed at any step it is live) and never below the previous placement. Of the buffers
/// whose lowest offset is least, a rule picks one. A dive fails as soon as some step cannot
/// hold what remains live there above the current level.
///
/// `skyline` dives once with each rule, then again with each rule in turn, its keys scaled by
/// seeded noise, until a dive succeeds or the work budget is spent. It counts work, never
/// time, so it returns the same layout on every machine. A dive costs O(buffers x (buffers +
/// steps)).
extension ArenaPlanner {
    enum SkylineRule: String, CaseIterable {
        /// Largest aligned size x lifetime first: the buffers that block the most.
        case area
        /// Longest-lived first, ties by size.
        case lifetime
        /// Largest first, ties by lifetime.
        case size

        /// Whether buffer `a` is picked before buffer `b` (ties by index: deterministic).
        func precedes(_ a: Int, _ b: Int, _ r: [BufferRequest]) -> Bool {
            let (la, lb) = (r[a].lastUse - r[a].firstUse, r[b].lastUse - r[b].firstUse)
            switch self {
            case .area: return (align(r[a].size) * (la + 1), -a) > (align(r[b].size) * (lb + 1), -b)
            case .lifetime: return (la, r[a].size, -a) > (lb, r[b].size, -b)
            case .size: return (r[a].size, la, -a) > (r[b].size, lb, -b)
            }
        }

        /// The rule's order as one number (for the noisy dives): the primary key, plus the
        /// secondary one scaled below 1.
        func key(_ i: Int, _ r: [BufferRequest], steps: Int, largest: Int) -> Double {
            let life = Double(r[i].lastUse - r[i].firstUse + 1), size = Double(r[i].size)
            switch self {
            case .area: return Double(align(r[i].size)) * life
            case .lifetime: return life + size / Double(largest + 1)
            case .size: return size + life / Double(steps + 1)
            }
        }
    }

    /// Work units (buffer visits and step checks) all dives of one `skyline` call may spend.
    static let skylineWorkBudget = 400_000_000
    /// The most dives of one `skyline` call.
    static let skylineDives = 200

    /// Offsets (in request order) that keep every buffer below `capacity`, and the rule of the
    /// dive that found them; nil when no dive does within the budget.
    static func skyline(_ requests: [BufferRequest], capacity: Int) -> (offsets: [Int], rule: SkylineRule)? {
        let n = requests.count
        guard n > 0 else { return ([], .area) }
        let steps = (requests.map(\.lastUse).max() ?? 0) + 1
        let costPerDive = n * (2 * n + steps)
        var random = PlannerRandom(state: 0x5EED)
        let rules = SkylineRule.allCases
        for dive in 0..<skylineDives where dive * costPerDive <= skylineWorkBudget {
            let rule = rules[dive % rules.count]
            if let offsets = skylineDive(requests, capacity: capacity, steps: steps, rule: rule,
                                         noise: dive < rules.count ? 0 : 0.5, random: &random) {
                return (offsets, rule)
            }
        }
        return nil
    }

    /// One dive. A `noise` above 0 scales each candidate's key by 1 + noise x u, u uniform in
    /// [0, 1) drawn from `random`; at 0 the rule's exact order picks.
    static func skylineDive(_ requests: [BufferRequest], capacity: Int, steps: Int, rule: SkylineRule,
                            noise: Double, random: inout PlannerRandom) -> [Int]? {
        let n = requests.count
        let sizes = requests.map { align($0.size) }
        let largest = requests.map(\.size).max() ?? 0
        // floor[t]: top of the buffers placed at step t; remaining[t]: bytes still to place there.
        var floor = [Int](repeating: 0, count: steps)
        var remaining = [Int](repeating: 0, count: steps)
        for (r, size) in zip(requests, sizes) {
            for t in r.firstUse...r.lastUse { remaining[t] += size }
        }
        var lowest = [Int](repeating: 0, count: n)   // the skyline's height over each lifetime
        var offsets = [Int](repeating: -1, count: n)   // -1: not placed
        var level = 0
        for _ in 0..<n {
            var least = Int.max, pick = -1, pickKey = -Double.infinity
            for i in 0..<n where offsets[i] < 0 {
                let offset = max(lowest[i], level)
                if offset > least { continue }
                if noise > 0 {
                    let key = rule.key(i, requests, steps: steps, largest: largest) * (1 + noise * random.unit())
                    if offset < least || key > pickKey { (least, pick, pickKey) = (offset, i, key) }
                } else if offset < least || rule.precedes(i, pick, requests) {
                    (least, pick) = (offset, i)
                }
            }
            let r = requests[pick], top = least + sizes[pick]
            guard top <= capacity else { return nil }
            for t in r.firstUse...r.lastUse {
                floor[t] = top
                remaining[t] -= sizes[pick]
            }
            for j in 0..<n where offsets[j] < 0 && lowest[j] < top
                && requests[j].firstUse <= r.lastUse && r.firstUse <= requests[j].lastUse {
                lowest[j] = top
            }
            offsets[pick] = least
            // Every later buffer sits at `least` or above: each step must hold what remains.
            let checked = least > level ? 0...(steps - 1) : r.firstUse...r.lastUse
            level = least
            for t in checked where max(floor[t], level) + remaining[t] > capacity { return nil }
        }
        return offsets
    }
}

/// The arena searches' generator (a 64-bit LCG): seeded, so every run draws the same numbers.
struct PlannerRandom {
    var state: UInt64
    private mutating func step() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state
    }
    /// A number in 0 ..< n (the high 31 bits of the state, modulo n).
    mutating func index(_ n: Int) -> Int { Int(truncatingIfNeeded: step() >> 33) % n }
    /// A number uniform in [0, 1).
    mutating func unit() -> Double { Double(step() >> 11) * 0x1p-53 }
}
