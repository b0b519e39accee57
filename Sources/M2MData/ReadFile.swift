import Glibc

/// A read-only regular file with positioned reads; readers use it to check sizes before trusting
/// headers. Opening never blocks: a FIFO, device or directory is refused as "not a regular file"
/// (the open is non-blocking, so a FIFO with no writer cannot hang it).
public struct ReadFile {
    /// The path as given, for error messages.
    public let path: String
    let fd: Int32
    /// Size in bytes when opened.
    public let size: Int

    public init(_ path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { throw DataError(path, "cannot open: \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw DataError(path, "cannot stat: \(reason)")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            Glibc.close(fd)
            throw DataError(path, "not a regular file (\(ReadFile.kind(st.st_mode)))")
        }
        // Regular files ignore O_NONBLOCK; clear it anyway so reads have their usual meaning.
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        size = Int(st.st_size)
    }

    /// What kind of file `mode` describes, in words.
    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        default: return "file type \(String(mode & S_IFMT, radix: 8))"
        }
    }

    /// Fills `buffer` from byte `offset`; a short file is reported as truncated.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw DataError(path, "read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { throw DataError(path, "truncated: expected \(buffer.count) bytes at offset \(offset)") }
            done += n
        }
    }

    public func close() {
        Glibc.close(fd)
    }
}
