import Foundation
import M2MData
import M2MModel
import XCTest

/// Run-folder helpers of the tests that train tiny-m2m or tiny-kno end to end: a small data
/// set, trainers writing into `folder`, and the runs' outputs.
protocol TinyTrainingRuns: XCTestCase {
    var folder: String! { get }
    /// The tiny model, compiled once per test class.
    static func compiled() throws -> CompiledModel
}

extension TinyTrainingRuns {
    /// A small Navier-Stokes data set on tiny-m2m's 8 x 8 grid: t_in + t_out = 6 frames.
    func writeNSData(samples: Int = 6) throws -> Dataset {
        let gen = try NavierStokesGenerator(count: samples, res: 8, solverRes: 16, dt: 0.05, frames: 6, interval: 0.1,
                                            seed: 3)
        _ = try gen.write(to: folder + "/data", threads: 2)
        return try Dataset(path: folder + "/data")
    }

    func trainer(_ run: String, threads: Int, data: Dataset, ntrain: Int = 4) throws -> Trainer {
        let t = try Trainer(runtime: try ModelRuntime(try Self.compiled(), threads: threads), data: data,
                            ntrain: ntrain, ntest: 2, runDirectory: folder + "/" + run)
        t.checkpointEvery = 2
        return t
    }

    func bytes(_ path: String) throws -> Data {
        try XCTUnwrap(FileManager.default.contents(atPath: folder + "/" + path), path)
    }

    /// metrics.jsonl of a run with each line's `seconds` field removed (wall time, the only
    /// field allowed to differ).
    func metricsWithoutSeconds(_ run: String) throws -> [String] {
        let text = String(decoding: try bytes(run + "/metrics.jsonl"), as: UTF8.self)
        let seconds = try NSRegularExpression(pattern: #""seconds":[^,}]*,?"#)
        return text.split(separator: "\n").map { line in
            let s = String(line)
            XCTAssertEqual(seconds.numberOfMatches(in: s, range: NSRange(s.startIndex..., in: s)), 1, s)
            return seconds.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: "")
        }
    }
}
