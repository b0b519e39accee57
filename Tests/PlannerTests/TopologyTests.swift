import Foundation
import Planner
import XCTest

/// The topology parser (`--topology NxC` or a JSON file) and its validation.
final class TopologyTests: XCTestCase {
    func testUniformSpec() throws {
        let t = try NUMATopology.parse("2x8")
        XCTAssertEqual(t.nodes.map(\.id), [0, 1])
        XCTAssertEqual(t.nodes[0].cpus, Array(0..<8))
        XCTAssertEqual(t.nodes[1].cpus, Array(8..<16))
        XCTAssertEqual(t.distances, [[10, 21], [21, 10]])
        XCTAssertEqual(t.description, "2 nodes (CPUs 0-7 | 8-15), distances 10/21")
        XCTAssertEqual(try NUMATopology.parse("4x1").nodes.count, 4)
    }

    func testBadSpecsAreOneLineErrors() {
        for spec in ["0x4", "2x0", "65x1", "2x", "x2", "two", "2x8x1", "-1x2"] {
            XCTAssertThrowsError(try NUMATopology.parse(spec), spec) { error in
                XCTAssertFalse("\(error)".contains("\n"), "\(error)")
                XCTAssertFalse("\(error)".isEmpty)
            }
        }
    }

    func testJSONFile() throws {
        let path = NSTemporaryDirectory() + "topology-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(#"{"nodes": [{"id": 0, "cpus": [0, 2], "memory_bytes": 1024}, {"id": 3, "cpus": [1, 3]}], "distances": [[10, 32], [32, 10]]}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        let t = try NUMATopology.parse(path)
        XCTAssertEqual(t.nodes.map(\.id), [0, 3])
        XCTAssertEqual(t.nodes[1].cpus, [1, 3])
        XCTAssertEqual(t.nodes[0].memoryBytes, 1024)
        XCTAssertEqual(t.distances[0][1], 32)
        // Round trip through the plan file's Codable form, which validates like the parser.
        XCTAssertEqual(try JSONDecoder().decode(NUMATopology.self, from: try JSONEncoder().encode(t)), t)
    }

    func testInvalidFilesAreRefusedNamingTheFile() throws {
        let path = NSTemporaryDirectory() + "topology-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bad = [
            #"{"nodes": []}"#,
            #"{"nodes": [{"id": 0, "cpus": [0]}, {"id": 1, "cpus": [0]}]}"#,            // CPU on two nodes
            #"{"nodes": [{"id": 0, "cpus": [0]}, {"id": 0, "cpus": [1]}]}"#,            // duplicate id
            #"{"nodes": [{"id": 0, "cpus": []}]}"#,                                      // no CPUs
            #"{"nodes": [{"id": 0, "cpus": [0]}], "distances": [[10, 20]]}"#,            // not square
            #"{"nodes": [{"id": 0, "cpus": [0]}], "distances": [[0]]}"#,                 // distance out of range
            #"not json"#,
        ]
        for text in bad {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try NUMATopology.parse(path), text) { error in
                XCTAssertTrue("\(error)".hasPrefix(path), "\(error)")
            }
        }
        // A tampered topology in a plan file fails to decode instead of being trusted.
        let tampered = Data(#"{"nodes": [{"id": 0, "cpus": [0], "memoryBytes": 0}, {"id": 1, "cpus": [0], "memoryBytes": 0}], "distances": [[10, 21], [21, 10]]}"#.utf8)
        XCTAssertThrowsError(try JSONDecoder().decode(NUMATopology.self, from: tampered))
    }

    func testDetectedTopologyCoversThisMachine() {
        let t = NUMATopology.detect()
        XCTAssertGreaterThanOrEqual(t.nodes.count, 1)
        XCTAssertEqual(t.distances.count, t.nodes.count)
        XCTAssertFalse(t.nodes.flatMap(\.cpus).isEmpty)
        print("this machine: \(t)")
    }
}
