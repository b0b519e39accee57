/// Reading a `.npy` header as numpy does: the length-prefixed text is a Python dict literal with
/// exactly the keys 'descr', 'fortran_order' and 'shape'. Every size is checked against the file
/// before anything the size of the data is allocated.
extension Npy {
    /// Longest header text accepted (numpy's own `max_header_size` default is 10 000).
    static let maxHeaderLength = 1 << 20
    /// Most dimensions accepted (numpy's `NPY_MAXDIMS`).
    static let maxDimensions = 64

    static func parseHeader(_ file: ReadFile) throws -> Header {
        let path = file.path
        guard file.size >= 10 else { throw DataError(path, "truncated: \(file.size) bytes is too short for a .npy header") }
        var lead = [UInt8](repeating: 0, count: 12)
        try lead.withUnsafeMutableBytes {
            try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<min(12, file.size)]), at: 0)
        }
        guard Array(lead[0..<6]) == magic else { throw DataError(path, "not a .npy file (wrong magic bytes)") }
        let (major, minor) = (lead[6], lead[7])
        let lenBytes: Int
        let headerLen: Int
        switch (major, minor) {
        case (1, 0):
            lenBytes = 2
            headerLen = Int(lead[8]) | Int(lead[9]) << 8
        case (2, 0), (3, 0):
            guard file.size >= 12 else { throw DataError(path, "truncated: \(file.size) bytes is too short for a .npy header") }
            lenBytes = 4
            headerLen = Int(lead[8]) | Int(lead[9]) << 8 | Int(lead[10]) << 16 | Int(lead[11]) << 24
        default:
            throw DataError(path, "unsupported .npy format version \(major).\(minor) (need 1.0, 2.0 or 3.0)")
        }
        let dataOffset = 8 + lenBytes + headerLen
        guard file.size >= dataOffset else {
            throw DataError(path, "truncated: header claims \(headerLen) bytes, file has \(file.size)")
        }
        guard headerLen <= maxHeaderLength else {
            throw DataError(path, "header of \(headerLen) bytes exceeds the \(maxHeaderLength)-byte limit")
        }
        var raw = [UInt8](repeating: 0, count: headerLen)
        try raw.withUnsafeMutableBytes { try file.read(into: $0, at: 8 + lenBytes) }
        let text: String
        if major == 3 {
            guard let utf8 = String(validating: raw, as: UTF8.self) else { throw DataError(path, "header is not valid UTF-8") }
            text = utf8
        } else {
            text = String(String.UnicodeScalarView(raw.map { Unicode.Scalar($0) }))  // latin-1
        }
        let literal: PythonLiteral
        do {
            literal = try PythonLiteral.parse(text, longSuffix: major < 3)
        } catch let e as PythonLiteral.SyntaxError {
            throw DataError(path, "malformed .npy header: \(e.why) at character \(e.offset)")
        }
        let (dtype, shape) = try fields(of: literal, path: path)
        let header = Header(dtype: dtype, shape: shape, dataOffset: dataOffset)
        try checkDataSize(header, fileSize: file.size, path: path)
        return header
    }

    /// Element type and shape from the header dict, which must hold exactly the three keys.
    private static func fields(of literal: PythonLiteral, path: String) throws -> (DType, [Int]) {
        guard case .dict(let pairs) = literal else {
            throw DataError(path, "malformed .npy header: \(literal.repr) is not a dict")
        }
        let required = ["descr", "fortran_order", "shape"]
        if let extra = pairs.first(where: { !required.contains($0.key) }) {
            throw DataError(path, "malformed .npy header: unexpected key \(PythonLiteral.quoted(extra.key)) "
                            + "(need exactly 'descr', 'fortran_order', 'shape')")
        }
        var values: [String: PythonLiteral] = [:]
        for pair in pairs { values[pair.key] = pair.value }
        if let missing = required.first(where: { values[$0] == nil }) {
            throw DataError(path, "malformed .npy header: no '\(missing)'")
        }
        guard case .string(let descr) = values["descr"]!, let dtype = DType(rawValue: descr) else {
            throw DataError(path, "unsupported dtype \(values["descr"]!.repr) "
                            + "(need little-endian float32 '<f4' or float64 '<f8')")
        }
        guard case .bool(let fortran) = values["fortran_order"]! else {
            throw DataError(path, "malformed .npy header: fortran_order \(values["fortran_order"]!.repr) is not True or False")
        }
        guard !fortran else {
            throw DataError(path, "Fortran-order arrays are not supported (fortran_order is True; "
                            + "save with np.ascontiguousarray for C order)")
        }
        let shapeValue = values["shape"]!
        guard case .tuple(let dims) = shapeValue else {
            throw DataError(path, "malformed .npy header: shape \(shapeValue.repr) is not a tuple")
        }
        guard dims.count <= maxDimensions else {
            throw DataError(path, "shape has \(dims.count) dimensions, more than numpy's \(maxDimensions)")
        }
        var shape: [Int] = []
        for dim in dims {
            guard case .int(let d) = dim, d >= 0 else {
                throw DataError(path, "bad shape \(shapeValue.repr): dimensions must be non-negative integers")
            }
            shape.append(d)
        }
        return (dtype, shape)
    }

    /// The data after the header must be exactly the shape's bytes; computed without overflow.
    private static func checkDataSize(_ header: Header, fileSize: Int, path: String) throws {
        var count = 1
        for d in header.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw DataError(path, "shape \(header.shape) is too large (element count overflows)") }
            count = product
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: header.dtype.size)
        guard !overflow else { throw DataError(path, "shape \(header.shape) is too large (byte count overflows)") }
        let available = fileSize - header.dataOffset
        guard available >= bytes else {
            throw DataError(path, "truncated: shape \(header.shape) needs \(bytes) data bytes, file has \(available)")
        }
        guard available == bytes else {
            throw DataError(path, "\(available - bytes) unexpected bytes after the data of shape \(header.shape)")
        }
    }
}
