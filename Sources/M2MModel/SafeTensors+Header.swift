import M2MData

/// Validating a safetensors header as the reference (Rust) reader does, before any tensor data
/// is read: a header of at most 100 MB that is a JSON object without repeated keys; F32 entries
/// whose sizes, computed with checked arithmetic, match their data ranges; ranges that, sorted
/// by start, tile the data section exactly; metadata that maps strings to strings.
extension SafeTensors {
    /// The reference reader's limit on the header length.
    static let maxHeaderLength = 100_000_000

    /// One tensor's place in the data section (offsets relative to its start).
    struct Entry {
        var name: String
        var shape: [Int]
        var start: Int
        var end: Int
        var count: Int
    }

    /// A validated header: where the data starts, the tensors by data offset, the metadata.
    struct Layout {
        var dataStart: Int
        var entries: [Entry]
        var metadata: [String: String]
    }

    /// Reads and validates the header of `file`; every problem is one `UserError` line.
    static func layout(of file: ReadFile) throws -> Layout {
        func fail(_ why: String) -> UserError { UserError("\(file.path): not a valid safetensors file: \(why)") }
        guard file.size >= 8 else { throw fail("shorter than its 8-byte header length") }
        var length: UInt64 = 0
        try withUnsafeMutableBytes(of: &length) { try file.read(into: $0, at: 0) }
        let headerLength = UInt64(littleEndian: length)
        guard headerLength <= UInt64(file.size - 8) else { throw fail("truncated (header length \(headerLength) exceeds the file)") }
        guard headerLength <= UInt64(maxHeaderLength) else {
            throw fail("header length \(headerLength) exceeds the \(maxHeaderLength)-byte limit")
        }
        var bytes = [UInt8](repeating: 0, count: Int(headerLength))
        try bytes.withUnsafeMutableBytes { try file.read(into: $0, at: 8) }
        let json: HeaderJSON
        do {
            json = try HeaderJSON.parse(bytes)
        } catch let e as HeaderJSON.SyntaxError {
            switch (e.duplicateKey, e.keyPath.first) {
            case (let key?, nil): throw fail("tensor \(quoted(key)) appears twice in the header")
            case (let key?, let tensor?): throw fail("tensor \(quoted(tensor)) has key \(quoted(key)) twice")
            case (nil, _): throw fail("header is not a JSON object (header byte \(e.offset): \(e.why))")
            }
        }
        guard case .object(let pairs) = json else { throw fail("header is not a JSON object (it is \(json.kind))") }
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (name, value) in pairs {
            if name == "__metadata__" {
                metadata = try parseMetadata(value, fail: fail)
            } else {
                entries.append(try parseEntry(name, value, fail: fail))
            }
        }
        let dataLength = file.size - 8 - Int(headerLength)
        try checkTiling(&entries, dataLength: dataLength, fail: fail)
        return Layout(dataStart: 8 + Int(headerLength), entries: entries, metadata: metadata)
    }

    private static func parseMetadata(_ value: HeaderJSON, fail: (String) -> UserError) throws -> [String: String] {
        switch value {
        case .null: return [:]
        case .object(let pairs):
            var metadata: [String: String] = [:]
            for (key, v) in pairs {
                guard case .string(let s) = v else {
                    throw fail("__metadata__ value of \(quoted(key)) is \(v.kind), expected a string")
                }
                metadata[key] = s
            }
            return metadata
        case .array, .string, .number, .bool:
            throw fail("__metadata__ is \(value.kind), expected an object mapping strings to strings")
        }
    }

    /// One tensor's entry: dtype F32, a shape of non-negative integers whose byte size does not
    /// overflow, and data_offsets [start, end] with end - start equal to that size.
    private static func parseEntry(_ name: String, _ value: HeaderJSON, fail: (String) -> UserError) throws -> Entry {
        let tensor = "tensor \(quoted(name))"
        guard !name.unicodeScalars.contains(where: { unprintable.contains($0.properties.generalCategory) }) else {
            throw fail("\(tensor) has a control or line-break character in its name")
        }
        guard case .object(let pairs) = value else { throw fail("\(tensor) has a malformed entry (\(value.kind), expected an object)") }
        var fields: [String: HeaderJSON] = [:]
        for (key, v) in pairs { fields[key] = v }
        guard case .string(let dtype)? = fields["dtype"] else { throw fail("\(tensor) has a malformed entry (no string dtype)") }
        guard dtype == "F32" else { throw fail("\(tensor) has dtype \(oneLine(dtype)), expected F32") }
        guard case .array(let dims)? = fields["shape"] else { throw fail("\(tensor) has a malformed entry (no shape array)") }
        let ints = dims.compactMap(\.int)
        guard ints.count == dims.count else { throw fail("\(tensor) has a malformed entry (shape must hold integers)") }
        guard ints.count <= 64 else { throw fail("\(tensor) has a shape of \(ints.count) dimensions, more than 64") }
        let shape = ints
        guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("\(tensor) has a negative dimension in shape \(shape)") }
        guard case .array(let offsetValues)? = fields["data_offsets"], offsetValues.count == 2,
              let start = offsetValues[0].int, let end = offsetValues[1].int else {
            throw fail("\(tensor) has a malformed entry (data_offsets must be two integers)")
        }
        guard start >= 0, end >= 0 else { throw fail("\(tensor) has negative data_offsets [\(start), \(end)]") }
        guard end >= start else { throw fail("\(tensor) has data_offsets [\(start), \(end)] that end before they start") }
        var count = 1
        for d in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail("\(tensor) shape \(shape) is too large (element count overflows)") }
            count = product
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: 4)
        guard !overflow else { throw fail("\(tensor) shape \(shape) is too large (byte count overflows)") }
        guard end - start == bytes else {
            throw fail("\(tensor) data range [\(start), \(end)] holds \(end - start) bytes, its F32 shape \(shape) needs \(bytes)")
        }
        return Entry(name: name, shape: shape, start: start, end: end, count: count)
    }

    /// Sorts `entries` by data range and checks that the ranges cover `0..<dataLength` exactly:
    /// no overlap, no gap, nothing past the end and nothing left over.
    private static func checkTiling(_ entries: inout [Entry], dataLength: Int, fail: (String) -> UserError) throws {
        entries.sort { ($0.start, $0.end, $0.name) < ($1.start, $1.end, $1.name) }
        var covered = 0
        var previous: Entry?
        for e in entries {
            let range = "data range [\(e.start), \(e.end)]"
            if e.start < covered, let p = previous {
                throw fail("tensor \(quoted(e.name)) \(range) overlaps tensor \(quoted(p.name)) [\(p.start), \(p.end)]")
            }
            if e.start > covered {
                let after = previous.map { "tensor \(quoted($0.name)) ends at \(covered)" } ?? "the data section starts at 0"
                throw fail("tensor \(quoted(e.name)) \(range) leaves a gap (\(after))")
            }
            guard e.end <= dataLength else {
                throw fail("truncated: tensor \(quoted(e.name)) \(range) ends past the \(dataLength)-byte data section")
            }
            covered = e.end
            if e.end > e.start { previous = e }
        }
        guard covered == dataLength else {
            throw fail("\(dataLength - covered) bytes after the last tensor's data (ranges must cover the data section)")
        }
    }

    /// Characters that would break an error message's single line.
    static let unprintable: [Unicode.GeneralCategory] = [.control, .lineSeparator, .paragraphSeparator]

    /// `s` on one line: control characters escaped, at most 120 characters.
    static func oneLine(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            if unprintable.contains(scalar.properties.generalCategory) || scalar == "\\" {
                out += scalar == "\\" ? "\\\\" : "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out.count <= 120 ? out : String(out.prefix(117)) + "..."
    }

    /// `s` in single quotes, on one line.
    static func quoted(_ s: String) -> String { "'" + oneLine(s) + "'" }
}
