import Foundation
import Glibc

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
    /// Generates all samples and writes the data set folder `directory` as one unit: the
    /// arrays (`<name>.npy`) and `meta.json` are written into a new hidden sibling folder,
    /// which then replaces `directory` with one rename (an atomic exchange when it exists),
    /// so a data set is never a mix of two runs and a failure at any point leaves the old
    /// set as it was. An existing `directory` is replaced only when it is empty or holds
    /// nothing but data set files; the old set is removed after the swap.
    public func write(to directory: String, threads: Int = 2,
                      progress: ((Int, Int) -> Void)? = nil) throws -> GenerationReport {
        let target = try DataSetFolder(directory)
        let start = Date()
        let outputs = try generate(samples: 0..<count, threads: threads, progress: progress)
        let seconds = Date().timeIntervalSince(start)
        var names: [String] = []
        try target.replace { staging in
            for output in outputs {
                let name = output.name + ".npy"
                try Npy.write(output.data.buffer, shape: output.data.shape, to: (staging as NSString).appendingPathComponent(name))
                names.append(name)
            }
            try AtomicFile.write(Data((MetaValue.object(meta) + "\n").utf8),
                                 to: (staging as NSString).appendingPathComponent("meta.json"))
            names.append("meta.json")
        }
        return GenerationReport(files: names.map { (directory as NSString).appendingPathComponent($0) }, meta: meta,
                                generateSeconds: seconds, sampleCount: count)
    }
}

/// A data set folder replaced as one unit (`SampleGenerator.write`).
struct DataSetFolder {
    /// Files a data set folder may hold; anything else makes an existing folder off limits.
    static let dataSetFiles: Set<String> = ["u.npy", "a.npy", "f.npy", "meta.json"]

    /// The folder as given, its real path (links resolved), parent and last component.
    let given: String, path: String, parent: String, name: String
    let exists: Bool

    /// Checks `directory` before any sample is generated: it must be missing, or a folder
    /// that is empty or holds only data set files (and temporary files of killed writes).
    init(_ directory: String) throws {
        given = directory
        guard !directory.isEmpty else { throw DataError("-o", "the output folder name is empty") }
        var isDir: ObjCBool = false
        exists = FileManager.default.fileExists(atPath: directory, isDirectory: &isDir)
        if exists {
            guard isDir.boolValue else { throw DataError(directory, "exists and is not a folder") }
            // Replace the folder a link points to, not the link.
            guard let real = realpath(directory, nil) else {
                throw DataError(directory, "cannot resolve the folder: \(FileSystem.reason())")
            }
            path = String(cString: real)
            free(real)
            guard path != "/" else { throw DataError(directory, "is the root folder: choose a data set folder") }
            for entry in FileSystem.entries(path).sorted()
            where !Self.dataSetFiles.contains(entry) && AtomicFile.temporaryOwner(entry) == nil {
                throw DataError(directory, "holds '\(entry)', which is not a data set file (u.npy, a.npy, f.npy, "
                                + "meta.json): refusing to replace the folder; choose another -o or empty it")
            }
        } else {
            path = URL(fileURLWithPath: directory).standardizedFileURL.path
        }
        parent = (path as NSString).deletingLastPathComponent
        name = (path as NSString).lastPathComponent
        guard !name.isEmpty, name != ".", name != ".." else {
            throw DataError(directory, "is not a folder name a data set can be written to")
        }
        // The parent is where the new set is staged: make sure it exists before generating.
        try FileSystem.createDirectories(parent)
    }

    /// Hidden siblings: the staging folder of a write, and the old set during a swap.
    var stagingStem: String { "." + name + ".datagen-" }
    var retiredStem: String { "." + name + ".old-" }

    /// Writes a new folder with `fill` (given the staging folder's path) and puts it in
    /// place of `path`; on any error the staging folder is removed and `path` is untouched.
    func replace(_ fill: (String) throws -> Void) throws {
        removeStaleSiblings()
        let suffix = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let staging = (parent as NSString).appendingPathComponent(stagingStem + suffix)
        guard mkdir(staging, 0o755) == 0 else {
            throw DataError(given, "cannot create the staging folder \(staging): \(FileSystem.reason())")
        }
        do {
            try fill(staging)
            FileSystem.syncDirectory(staging)
            try swap(staging, suffix: suffix)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
        FileSystem.syncDirectory(parent)
    }

    /// Puts `staging` at `path`. An existing folder is exchanged with it in one renameat2
    /// (RENAME_EXCHANGE), then removed from the staging name; where the file system cannot
    /// exchange, the old folder is renamed aside first and restored if the second rename fails.
    private func swap(_ staging: String, suffix: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            guard rename(staging, path) == 0 else {
                throw DataError(given, "cannot move the new data set into place: \(FileSystem.reason())")
            }
            return
        }
        guard isDir.boolValue else { throw DataError(given, "exists and is not a folder") }
        if let exchange = Self.renameat2, exchange(AT_FDCWD, staging, AT_FDCWD, path, 2 /* RENAME_EXCHANGE */) == 0 {
            try? FileManager.default.removeItem(atPath: staging)   // now the old set
            return
        } else if Self.renameat2 != nil && errno != EINVAL && errno != ENOSYS && errno != ENOTSUP {
            throw DataError(given, "cannot swap in the new data set: \(FileSystem.reason())")
        }
        let retired = (parent as NSString).appendingPathComponent(retiredStem + suffix)
        guard rename(path, retired) == 0 else {
            throw DataError(given, "cannot move the old data set aside: \(FileSystem.reason())")
        }
        guard rename(staging, path) == 0 else {
            let reason = FileSystem.reason()
            rename(retired, path)
            throw DataError(given, "cannot move the new data set into place: \(reason)")
        }
        try? FileManager.default.removeItem(atPath: retired)
    }

    /// Staging and retired folders of this data set left by killed datagen runs.
    private func removeStaleSiblings() {
        for entry in FileSystem.entries(parent) {
            guard let pid = FileSystem.temporaryOwner(entry, stem: stagingStem)
                    ?? FileSystem.temporaryOwner(entry, stem: retiredStem),
                  !FileSystem.processMayBeAlive(pid) else { continue }
            let sibling = (parent as NSString).appendingPathComponent(entry)
            var info = stat()
            guard lstat(sibling, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { continue }
            try? FileManager.default.removeItem(atPath: sibling)
        }
    }

    /// glibc's renameat2, looked up at run time (the Glibc module does not export it).
    typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    static let renameat2: RenameAt2? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "renameat2") else { return nil }
        return unsafeBitCast(symbol, to: RenameAt2.self)
    }()
}
