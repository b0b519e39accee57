import Foundation
import Glibc

/// Crash-safe file writes: data goes to a temporary file in the target's folder, is synced,
/// then renamed over the target, so an interrupted write never destroys the old file.
public enum AtomicFile {
    /// Incremental writer handed to `write(to:_:)`; lets large arrays stream out without a copy.
    public struct Sink {
        fileprivate let fd: Int32
        fileprivate let path: String

        /// Appends `bytes`, retrying short writes.
        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw DataError(path, "write failed: \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }

        /// Appends raw bytes.
        public func write(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try write($0) }
        }
    }

    /// Writes `data` to `path` atomically.
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { sink in try data.withUnsafeBytes { try sink.write($0) } }
    }

    /// Marks a temporary file: `.<name>.tmp-<pid>-<random>` next to the target `<name>`.
    static let temporaryMarker = ".tmp-"

    /// Creates a temporary file next to `path`, lets `body` fill it, syncs it and renames it
    /// over `path`; on any error the temporary file is removed and `path` is untouched.
    /// Temporary files that killed writers left in the folder are removed first.
    public static func write(to path: String, _ body: (Sink) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        removeStaleTemporaries(in: dir)
        let tmp = dir + "/." + url.lastPathComponent + temporaryMarker + "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw DataError(path, "cannot create temporary file in \(dir): \(String(cString: strerror(errno)))")
        }
        do {
            try body(Sink(fd: fd, path: path))
            guard fsync(fd) == 0 else { throw DataError(path, "fsync failed: \(String(cString: strerror(errno)))") }
            guard close(fd) == 0 else { throw DataError(path, "close failed: \(String(cString: strerror(errno)))") }
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        guard rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw DataError(path, "rename failed: \(reason)")
        }
        // Sync the folder so the rename itself survives a crash.
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    /// Whether `name` is a temporary file name of this writer, and the pid that made it.
    static func temporaryOwner(_ name: String) -> Int32? {
        guard name.hasPrefix("."), let marker = name.range(of: temporaryMarker, options: .backwards),
              marker.lowerBound > name.index(after: name.startIndex) else { return nil }
        return FileSystem.temporaryOwner(String(name[marker.lowerBound...]), stem: temporaryMarker)
    }

    /// Removes the temporary files (regular files named `.<name>.tmp-<pid>-<random>`) in
    /// `folder` whose writing process no longer exists: what a killed write left behind.
    /// Files of live processes (concurrent writers) are kept. Best effort, never throws.
    public static func removeStaleTemporaries(in folder: String) {
        for name in FileSystem.entries(folder) {
            guard let pid = temporaryOwner(name), !FileSystem.processMayBeAlive(pid) else { continue }
            let path = (folder as NSString).appendingPathComponent(name)
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            unlink(path)
        }
    }
}
