import CNUMA
import Foundation

/// The NUMA nodes a plan is made for: each node's CPUs and memory, and the
/// node distance matrix (ACPI SLIT units: 10 = local). Read from libnuma, or
/// given (`--topology 2x8` or a JSON file) to plan for a machine you are not on.
/// A value type; thread-safe.
public struct NUMATopology: Sendable, Hashable, Codable, CustomStringConvertible {
    public struct Node: Sendable, Hashable, Codable {
        /// The kernel's node number (may skip numbers on real machines).
        public var id: Int
        public var cpus: [Int]
        /// Total memory of the node in bytes (0 when unknown, as in `NxC` specs).
        public var memoryBytes: Int

        public init(id: Int, cpus: [Int], memoryBytes: Int) {
            self.id = id
            self.cpus = cpus
            self.memoryBytes = memoryBytes
        }
    }

    public var nodes: [Node]
    /// distances[i][j] between nodes[i] and nodes[j].
    public var distances: [[Int]]

    public init(nodes: [Node], distances: [[Int]]) throws {
        guard !nodes.isEmpty else { throw PlanError("a topology needs at least one node") }
        guard nodes.count <= Self.maxNodes else { throw PlanError("a topology has at most \(Self.maxNodes) nodes, got \(nodes.count)") }
        guard Set(nodes.map(\.id)).count == nodes.count, nodes.allSatisfy({ $0.id >= 0 && $0.id < 4096 }) else {
            throw PlanError("node ids must be distinct and in 0..<4096")
        }
        for n in nodes {
            guard !n.cpus.isEmpty else { throw PlanError("node \(n.id) has no CPUs") }
            guard n.cpus.count <= 4096, n.cpus.allSatisfy({ $0 >= 0 && $0 < 65536 }) else {
                throw PlanError("node \(n.id): CPU numbers must be in 0..<65536 (at most 4096 per node)")
            }
            guard n.memoryBytes >= 0 else { throw PlanError("node \(n.id): memory_bytes must be >= 0") }
        }
        let allCPUs = nodes.flatMap(\.cpus)
        guard Set(allCPUs).count == allCPUs.count else { throw PlanError("a CPU is listed on two nodes") }
        guard distances.count == nodes.count, distances.allSatisfy({ $0.count == nodes.count }) else {
            throw PlanError("distances must be a \(nodes.count)x\(nodes.count) matrix")
        }
        guard distances.joined().allSatisfy({ $0 >= 1 && $0 <= 255 }) else { throw PlanError("distances must be in 1...255") }
        self.nodes = nodes
        self.distances = distances
    }

    public static let maxNodes = 64

    private enum CodingKeys: String, CodingKey { case nodes, distances }

    /// Decoded topologies are validated like constructed ones (a plan file is untrusted input).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(nodes: try c.decode([Node].self, forKey: .nodes), distances: try c.decode([[Int]].self, forKey: .distances))
    }

    /// `2 nodes x 8 CPUs (0-7 | 8-15), distances 10/21`
    public var description: String {
        let cpus = nodes.map { Self.ranges($0.cpus) }.joined(separator: " | ")
        let memory = nodes.allSatisfy { $0.memoryBytes > 0 }
            ? ", " + nodes.map { String(format: "%.1f", Double($0.memoryBytes) / 1_073_741_824) }.joined(separator: "/") + " GiB"
            : ""
        let far = nodes.count > 1 ? "/\(distances[0][1])" : ""
        return "\(nodes.count) node\(nodes.count == 1 ? "" : "s") (CPUs \(cpus)\(memory)), distances \(distances[0][0])\(far)"
    }

    static func ranges(_ cpus: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        let s = cpus.sorted()
        while i < s.count {
            var j = i
            while j + 1 < s.count && s[j + 1] == s[j] + 1 { j += 1 }
            parts.append(i == j ? "\(s[i])" : "\(s[i])-\(s[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    /// N nodes of C CPUs each (CPUs numbered 0..<N*C node by node), distances 10 local, 21 remote.
    public static func uniform(nodes n: Int, cpusPerNode c: Int) throws -> NUMATopology {
        guard n >= 1 && n <= maxNodes else { throw PlanError("node count must be in 1...\(maxNodes), got \(n)") }
        guard c >= 1 && c <= 1024 else { throw PlanError("CPUs per node must be in 1...1024, got \(c)") }
        return try NUMATopology(
            nodes: (0..<n).map { Node(id: $0, cpus: Array($0 * c..<($0 + 1) * c), memoryBytes: 0) },
            distances: (0..<n).map { i in (0..<n).map { $0 == i ? 10 : 21 } })
    }

    /// `NxC` (e.g. `2x8`) or the path of a JSON file
    /// `{"nodes": [{"id": 0, "cpus": [0, 1], "memory_bytes": 0}, ...], "distances": [[10, 21], [21, 10]]}`.
    public static func parse(_ spec: String) throws -> NUMATopology {
        let parts = spec.split(separator: "x", omittingEmptySubsequences: false)
        if parts.count == 2, let n = Int(parts[0]), let c = Int(parts[1]) {
            return try uniform(nodes: n, cpusPerNode: c)
        }
        guard FileManager.default.fileExists(atPath: spec) else {
            throw PlanError("'\(spec)' is neither NxC (e.g. 2x8) nor a topology file")
        }
        guard let data = FileManager.default.contents(atPath: spec), data.count <= 1 << 20 else {
            throw PlanError("\(spec): cannot read the topology file (or it is over 1 MiB)")
        }
        struct File: Decodable {
            struct FileNode: Decodable {
                var id: Int
                var cpus: [Int]
                var memory_bytes: Int?
            }
            var nodes: [FileNode]
            var distances: [[Int]]?
        }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw PlanError("\(spec): not a topology file (expected {\"nodes\": [{\"id\", \"cpus\", \"memory_bytes\"}], \"distances\"})")
        }
        let n = file.nodes.count
        do {
            return try NUMATopology(
                nodes: file.nodes.map { Node(id: $0.id, cpus: $0.cpus, memoryBytes: $0.memory_bytes ?? 0) },
                distances: file.distances ?? (0..<n).map { i in (0..<n).map { $0 == i ? 10 : 21 } })
        } catch let e as PlanError {
            throw PlanError("\(spec): \(e.message)")
        }
    }

    /// This machine's topology from libnuma; one node holding every online CPU where
    /// libnuma reports NUMA unavailable.
    public static func detect() -> NUMATopology {
        let online = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let fallback = try! NUMATopology(
            nodes: [Node(id: 0, cpus: Array(0..<online), memoryBytes: Int(ProcessInfo.processInfo.physicalMemory))],
            distances: [[10]])
        guard numa_available() >= 0 else { return fallback }
        let maxNode = Int(numa_max_node())
        let cpuCount = Int(numa_num_possible_cpus())
        guard maxNode >= 0, cpuCount > 0, let mask = numa_allocate_cpumask() else { return fallback }
        defer { numa_free_cpumask(mask) }
        var nodes: [Node] = []
        for id in 0...min(maxNode, 4095) where numa_bitmask_isbitset(m2m_numa_all_nodes(), UInt32(id)) != 0 {
            guard numa_node_to_cpus(Int32(id), mask) == 0 else { continue }
            let cpus = (0..<cpuCount).filter { numa_bitmask_isbitset(mask, UInt32($0)) != 0 }
            guard !cpus.isEmpty else { continue }   // memory-only nodes run no workers
            let size = numa_node_size64(Int32(id), nil)
            nodes.append(Node(id: id, cpus: cpus, memoryBytes: max(0, Int(size))))
        }
        guard !nodes.isEmpty, nodes.count <= maxNodes else { return fallback }
        let distances = nodes.map { a in nodes.map { b in Int(numa_distance(Int32(a.id), Int32(b.id))) } }
        return (try? NUMATopology(nodes: nodes, distances: distances.map { $0.map { $0 >= 1 && $0 <= 255 ? $0 : 10 } }))
            ?? fallback
    }
}
