import Foundation

/// What a finished `datagen` run produced, for the CLI's report.
public struct GenerationReport {
    /// Written files: one .npy per array, then meta.json.
    public let files: [String]
    /// The meta.json keys and values (the settings actually used).
    public let meta: [(String, MetaValue)]
    /// Wall-clock seconds spent generating (excluding writing).
    public let generateSeconds: Double
    /// Wall-clock seconds per sample (all threads together).
    public var secondsPerSample: Double { generateSeconds / Double(max(1, sampleCount)) }
    public let sampleCount: Int
}

extension SampleGenerator {
    /// Generates all samples and writes the data set folder `directory` (created if missing):
    /// `<name>.npy` per array and `meta.json`, each file atomically.
    public func write(to directory: String, threads: Int = 2,
                      progress: ((Int, Int) -> Void)? = nil) throws -> GenerationReport {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) {
            guard isDir.boolValue else { throw DataError(directory, "exists and is not a folder") }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw DataError(directory, "cannot create folder: \(error.localizedDescription)")
            }
        }
        let start = Date()
        let outputs = try generate(samples: 0..<count, threads: threads, progress: progress)
        let seconds = Date().timeIntervalSince(start)
        var files: [String] = []
        for output in outputs {
            let path = (directory as NSString).appendingPathComponent(output.name + ".npy")
            try Npy.write(output.data.buffer, shape: output.data.shape, to: path)
            files.append(path)
        }
        let metaPath = (directory as NSString).appendingPathComponent("meta.json")
        try AtomicFile.write(Data((MetaValue.object(meta) + "\n").utf8), to: metaPath)
        files.append(metaPath)
        return GenerationReport(files: files, meta: meta, generateSeconds: seconds, sampleCount: count)
    }
}
