import GraphIR

/// Routing counters summed over routing tables (`RouteTable`): slots each expert
/// received, reroutes and drops charged to each. Fixed-size storage, so accumulating
/// during training allocates nothing.
public struct RoutingStatistics: Equatable, Sendable {
    public private(set) var routed: [Int]
    public private(set) var reroutes: [Int]
    public private(set) var drops: [Int]
    /// Slots asked for: patches x k per table.
    public private(set) var slots = 0

    public init(experts: Int) {
        routed = Array(repeating: 0, count: experts)
        reroutes = routed
        drops = routed
    }

    public mutating func reset() {
        for e in routed.indices { routed[e] = 0; reroutes[e] = 0; drops[e] = 0 }
        slots = 0
    }

    /// Adds one routing table.
    public mutating func add(_ table: UnsafePointer<Int32>, layout: RouteTable) {
        for e in 0..<layout.experts {
            routed[e] += Int(table[layout.countIndex(e)])
            reroutes[e] += Int(table[layout.rerouteIndex(e)])
            drops[e] += Int(table[layout.dropIndex(e)])
        }
        slots += layout.patches * layout.k
    }

    /// Adds the slots of the first `samples` patches of a table only (a padded last batch):
    /// counted from the slots themselves. Reroutes and drops are not attributed per slot
    /// in the table, so they are counted only when every patch is real.
    public mutating func add(_ table: UnsafePointer<Int32>, layout: RouteTable, samples patches: Int) {
        guard patches < layout.patches else { add(table, layout: layout); return }
        for p in 0..<patches {
            for j in 0..<layout.k {
                let e = Int(table[layout.slot(p, j)])
                if e >= 0 { routed[e] += 1 }
            }
        }
        slots += patches * layout.k
    }

    /// Each expert's share of the slots asked for (dropped slots count in the denominator).
    public var fractions: [Double] { routed.map { slots == 0 ? 0 : Double($0) / Double(slots) } }
    /// Reroutes plus drops (M2M.md section 5's overflow).
    public var overflow: Int { reroutes.reduce(0, +) + drops.reduce(0, +) }
}

extension M2MNet {
    /// The layout of this model's routing tables.
    public var routeTable: RouteTable { RouteTable(patches: patches, k: slots, experts: m2m.experts) }
}
