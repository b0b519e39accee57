import Planner

/// How a plan's placement lands on this machine: which machine node each of the plan's
/// nodes is, how memory domains bind, and which threads form each node's worker group.
/// Memory is bound and workers pinned only where the machine has more than one node;
/// on one node every policy runs unplaced, with a note. A value type; thread-safe.
public struct NodeMap: Sendable {
    public let placement: Placement
    public let machine: NUMATopology
    /// Index into `machine.nodes` of each node of the plan's topology.
    public let machineNodes: [Int]
    /// Memory is bound (mbind) and workers pinned: the machine has several nodes.
    public let isPlaced: Bool
    /// One line for the user where placement is not what the plan says (nil when it is).
    public let note: String?

    /// Fails when the plan needs more nodes than the machine has, unless `fallback` folds
    /// plan node i onto machine node i mod M.
    public init(_ placement: Placement, machine: NUMATopology = .detect(), fallback: Bool) throws {
        self.placement = placement
        self.machine = machine
        let n = placement.topology.nodes.count
        let m = machine.nodes.count
        // Nodes the placement puts memory or workers on (`local`: the first only).
        let used = placement.policy == .local ? 1 : n
        if m == 1 {
            isPlaced = false
            note = used == 1 ? nil
                : "note: this machine has one NUMA node: policy \(placement.policy.rawValue) runs with all memory "
                  + "and workers on it (placement not exercised)"
            guard used == 1 || fallback else {
                throw PlanError("the plan is made for \(n) NUMA nodes, this machine has 1: recompile with its "
                                + "topology, or pass --numa-fallback to fold the domains onto it")
            }
        } else {
            isPlaced = true
            guard used <= m || fallback else {
                throw PlanError("the plan is made for \(n) NUMA nodes, this machine has \(m): recompile with its "
                                + "topology, or pass --numa-fallback to fold the domains onto the nodes present")
            }
            note = used > m ? "note: plan for \(n) NUMA nodes folded onto this machine's \(m)" : nil
        }
        machineNodes = (0..<n).map { $0 % m }
    }

    /// A one-node placement on an unplaced machine (what tests and plain plans use).
    public static let unplaced = try! NodeMap(.single, machine: .uniform(nodes: 1, cpusPerNode: 1), fallback: false)

    /// How memory of domain `d` is bound.
    public func binding(domain d: Int) -> NodeBinding {
        guard isPlaced else { return .anywhere }
        switch placement.domains[d] {
        case .node(let i): return .node(machine.nodes[machineNodes[i]].id)
        case .interleaved: return .interleaved(Array(Set(machineNodes)).sorted().map { machine.nodes[$0].id })
        }
    }

    /// Worker groups for `threads` threads: policy `local` has one group (all threads on
    /// node 0); the others one group per plan node (thread t in group t mod G, G = min(threads,
    /// nodes), so thread 0, the caller, is in group 0). Returns the groups and, where placed,
    /// the CPUs each group is pinned to.
    public func workerGroups(threads: Int) -> (groups: [[Int]], cpus: [[Int]]?) {
        let g = placement.policy == .local ? 1 : max(1, min(threads, placement.topology.nodes.count))
        let groups = (0..<g).map { k in Array(stride(from: k, to: threads, by: g)) }
        guard isPlaced else { return (groups, nil) }
        return (groups, (0..<g).map { machine.nodes[machineNodes[$0]].cpus })
    }

    /// The worker group that runs a node of domain `d` (-1: every thread).
    public func group(domain d: Int, groupCount: Int) -> Int {
        switch placement.domains[d] {
        case .node(let i): return i % groupCount
        case .interleaved: return -1
        }
    }
}
