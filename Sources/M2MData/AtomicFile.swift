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

    /// Creates a temporary file next to `path`, lets `body` fill it, syncs it and renames it
    /// over `path`; on any error the temporary file is removed and `path` is untouched.
    public static func write(to path: String, _ body: (Sink) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let tmp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
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
}
