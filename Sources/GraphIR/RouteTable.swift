/// Layout of the `i32` routing table that `route` writes and `dispatch`, `gather_gates`,
/// `combine` and their gradients read (one table per router invocation):
///
/// | elements | content |
/// | --- | --- |
/// | `2 (patch k + slot)`, `+1` | expert and position in its capacity buffer of each slot; `-1, -1` when dropped |
/// | `2 Np k + e` | routed count of expert e: the run-time extent of its bounded buffers |
/// | `2 Np k + E + e` | reroutes charged to expert e (its rank asked for, it was full) |
/// | `2 Np k + 2E + e` | drops charged to expert e |
public struct RouteTable: Sendable, Hashable {
    public var patches: Int
    public var k: Int
    public var experts: Int

    public init(patches: Int, k: Int, experts: Int) {
        self.patches = patches
        self.k = k
        self.experts = experts
    }

    /// Elements of the table.
    public var count: Int { 2 * patches * k + 3 * experts }
    public func slot(_ patch: Int, _ j: Int) -> Int { 2 * (patch * k + j) }
    public func countIndex(_ expert: Int) -> Int { 2 * patches * k + expert }
    public func rerouteIndex(_ expert: Int) -> Int { 2 * patches * k + experts + expert }
    public func dropIndex(_ expert: Int) -> Int { 2 * patches * k + 2 * experts + expert }

    /// The table a rank-1 `i32` tensor of `length` elements holds for `patches` and `k`, if any.
    public init?(length: Int, patches: Int, k: Int) {
        let rest = length - 2 * patches * k
        guard patches > 0, k > 0, rest > 0, rest % 3 == 0 else { return nil }
        self.init(patches: patches, k: k, experts: rest / 3)
    }

    /// The greedy capacity assignment of M2M.md section 5, written into `table`.
    /// `probabilities` is `[patches, experts]`; ranks order experts by probability,
    /// descending, ties to the lower index. Slot j of each patch (patches in order) asks
    /// for its j-th ranked expert; a full one (or one this patch already took) sends it to
    /// the highest-ranked expert not yet taken that has room (a reroute charged to the
    /// expert first asked), else the slot is dropped (a drop charged likewise).
    /// `rank` is scratch for `experts` indices. Deterministic; allocates nothing.
    public func assign(probabilities p: UnsafePointer<Float>, capacity: Int, rank: UnsafeMutablePointer<Int32>,
                       into table: UnsafeMutablePointer<Int32>) {
        table.update(repeating: 0, count: count)
        for patch in 0..<patches {
            let row = p + patch * experts
            for e in 0..<experts { rank[e] = Int32(e) }
            // Insertion sort: descending probability, ties to the lower index (stable).
            for i in 1..<max(experts, 1) {
                let e = rank[i]
                var j = i
                while j > 0 && row[Int(rank[j - 1])] < row[Int(e)] { rank[j] = rank[j - 1]; j -= 1 }
                rank[j] = e
            }
            for j in 0..<k {
                let asked = Int(rank[j])
                var chosen = -1
                if !taken(asked, patch: patch, before: j, table) && Int(table[countIndex(asked)]) < capacity {
                    chosen = asked
                } else {
                    for r in 0..<experts {
                        let e = Int(rank[r])
                        if !taken(e, patch: patch, before: j, table) && Int(table[countIndex(e)]) < capacity {
                            chosen = e
                            break
                        }
                    }
                    table[chosen >= 0 ? rerouteIndex(asked) : dropIndex(asked)] += 1
                }
                let s = slot(patch, j)
                if chosen >= 0 {
                    table[s] = Int32(chosen)
                    table[s + 1] = table[countIndex(chosen)]
                    table[countIndex(chosen)] += 1
                } else {
                    table[s] = -1
                    table[s + 1] = -1
                }
            }
        }
    }

    private func taken(_ expert: Int, patch: Int, before j: Int, _ table: UnsafeMutablePointer<Int32>) -> Bool {
        for i in 0..<j where Int(table[slot(patch, i)]) == expert { return true }
        return false
    }
}
