import Glibc

/// A read-only file with positioned reads; readers use it to check sizes before trusting headers.
struct ReadFile {
    let path: String
    let fd: Int32
    let size: Int

    init(_ path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DataError(path, "cannot open: \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw DataError(path, "cannot stat: \(reason)")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            Glibc.close(fd)
            throw DataError(path, "not a regular file")
        }
        size = Int(st.st_size)
    }

    /// Fills `buffer` from byte `offset`; a short file is reported as truncated.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
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

    func close() {
        Glibc.close(fd)
    }
}
