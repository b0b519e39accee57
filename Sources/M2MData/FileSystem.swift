import Foundation
import Glibc

/// Folder operations with one-line errors (`DataError` naming the path and the `strerror`
/// reason) instead of Foundation's error dumps.
public enum FileSystem {
    /// `strerror(errno)` as a String.
    static func reason(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    /// Creates `path` and its missing parents (`mkdir -p`); an existing folder is fine.
    public static func createDirectories(_ path: String) throws {
        guard !path.isEmpty else { throw DataError("(empty path)", "cannot create a folder with an empty name") }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw DataError(path, "exists and is not a folder") }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try createDirectories(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw DataError(path, "cannot create folder: \(reason())")
        }
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw DataError(path, "exists and is not a folder")
        }
    }

    /// fsyncs a folder so that renames inside it survive a crash (best effort).
    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }

    /// Names in a folder (without `.` and `..`); empty when it cannot be read.
    static func entries(_ folder: String) -> [String] {
        guard let dir = opendir(folder) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Whether the process `pid` may still be running (kill(pid, 0) does not say ESRCH).
    /// A reused pid only delays a clean-up, never removes a live writer's file.
    static func processMayBeAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        if pid == getpid() { return true }
        return kill(pid, 0) == 0 || errno != ESRCH
    }

    /// The pid in a temporary name `<stem><pid>-<random>` (both decimal), or nil when
    /// `name` is not of that form.
    static func temporaryOwner(_ name: String, stem: String) -> Int32? {
        guard name.hasPrefix(stem) else { return nil }
        let parts = name.dropFirst(stem.count).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let pid = Int32(parts[0]), UInt32(parts[1]) != nil else { return nil }
        return pid
    }
}

/// An exclusive advisory lock on `FOLDER/.lock` (flock), held until `release()` or deinit:
/// a second writer of the same folder (another process, or another lock in this one) is
/// refused at once with one line instead of interleaving its files with the first one's.
public final class FolderLock {
    public let path: String
    private var fd: Int32

    /// Locks `folder` (which must exist); `what` names the holder in the error ("m2mc train").
    public init(folder: String, what: String) throws {
        path = (folder as NSString).appendingPathComponent(".lock")
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DataError(path, "cannot open the lock file: \(FileSystem.reason())") }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            close(fd)
            fd = -1
            if code == EWOULDBLOCK {
                throw DataError(folder, "another \(what) is using this folder (it holds \(path)); wait for it "
                                + "to finish or choose another folder")
            }
            throw DataError(path, "cannot lock: \(FileSystem.reason(code))")
        }
    }

    /// Releases the lock (the file stays; it is empty and harmless).
    public func release() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
    }

    deinit { release() }
}
