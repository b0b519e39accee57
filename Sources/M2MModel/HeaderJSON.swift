/// A strict JSON value for untrusted file headers: object keys keep their order and a repeated
/// key is an error (Foundation's parser keeps one silently), integers are kept exactly, and
/// nesting is limited so that hostile input cannot exhaust the stack.
enum HeaderJSON {
    case object([(key: String, value: HeaderJSON)])
    case array([HeaderJSON])
    case string(String)
    /// The number as written; `int` reads it when it is an integer that fits.
    case number(String)
    case bool(Bool)
    case null

    /// A syntax error: what is wrong and the byte offset where it was found; for a repeated
    /// key, the key and the keys of the objects around it (outermost first).
    struct SyntaxError: Error {
        var offset: Int
        var why: String
        var duplicateKey: String? = nil
        var keyPath: [String] = []
    }

    static let maxDepth = 64

    /// Parses `bytes` as one JSON value with optional surrounding whitespace.
    static func parse(_ bytes: [UInt8]) throws -> HeaderJSON {
        var parser = HeaderJSONParser(bytes)
        return try parser.parseAll()
    }

    /// The value as an `Int` when it is a JSON integer (no fraction or exponent) that fits.
    var int: Int? {
        guard case .number(let text) = self, !text.contains(where: { ".eE".contains($0) }) else { return nil }
        return Int(text)
    }

    /// A short name of the value's kind, for error messages.
    var kind: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        }
    }
}

/// Recursive-descent parser for `HeaderJSON` over UTF-8 bytes.
struct HeaderJSONParser {
    private let bytes: [UInt8]
    private var at = 0
    private var depth = 0
    /// Keys of the objects being parsed, outermost first.
    private var keyPath: [String] = []

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseAll() throws -> HeaderJSON {
        let value = try parseValue()
        skipSpace()
        guard at == bytes.count else { throw error("unexpected text after the JSON value") }
        return value
    }

    private func error(_ why: String) -> HeaderJSON.SyntaxError { .init(offset: at, why: why) }

    private mutating func skipSpace() {
        while at < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[at]) { at += 1 }
    }

    private mutating func expect(_ c: UInt8) throws {
        skipSpace()
        guard at < bytes.count, bytes[at] == c else {
            throw error("expected '\(Character(Unicode.Scalar(c)))'")
        }
        at += 1
    }

    private mutating func parseValue() throws -> HeaderJSON {
        skipSpace()
        guard at < bytes.count else { throw error("unexpected end of text") }
        switch bytes[at] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            depth += 1
            defer { depth -= 1 }
            guard depth <= HeaderJSON.maxDepth else { throw error("nested more than \(HeaderJSON.maxDepth) levels deep") }
            return bytes[at] == UInt8(ascii: "{") ? try parseObject() : try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default:
            for (word, value) in [("true", HeaderJSON.bool(true)), ("false", .bool(false)), ("null", .null)]
            where bytes[at...].starts(with: word.utf8) {
                at += word.utf8.count
                return value
            }
            throw error("unexpected character")
        }
    }

    private mutating func parseObject() throws -> HeaderJSON {
        at += 1
        var pairs: [(key: String, value: HeaderJSON)] = []
        var seen = Set<String>()
        skipSpace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(pairs) }
        while true {
            skipSpace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let keyAt = at
            let key = try parseString()
            guard seen.insert(key).inserted else {
                throw HeaderJSON.SyntaxError(offset: keyAt, why: "duplicate key", duplicateKey: key, keyPath: keyPath)
            }
            try expect(UInt8(ascii: ":"))
            keyPath.append(key)
            pairs.append((key, try parseValue()))
            keyPath.removeLast()
            skipSpace()
            guard at < bytes.count else { throw error("missing '}'") }
            if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
            try expect(UInt8(ascii: "}"))
            return .object(pairs)
        }
    }

    private mutating func parseArray() throws -> HeaderJSON {
        at += 1
        var items: [HeaderJSON] = []
        skipSpace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
        while true {
            items.append(try parseValue())
            skipSpace()
            guard at < bytes.count else { throw error("missing ']'") }
            if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
            try expect(UInt8(ascii: "]"))
            return .array(items)
        }
    }

    /// JSON number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    private mutating func parseNumber() throws -> HeaderJSON {
        let start = at
        func digits() -> Int {
            let from = at
            while at < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) { at += 1 }
            return at - from
        }
        if bytes[at] == UInt8(ascii: "-") { at += 1 }
        let intStart = at
        let n = digits()
        guard n > 0, n == 1 || bytes[intStart] != UInt8(ascii: "0") else { at = start; throw error("malformed number") }
        if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
            at += 1
            guard digits() > 0 else { throw error("malformed number") }
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
            at += 1
            if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard digits() > 0 else { throw error("malformed number") }
        }
        return .number(String(decoding: bytes[start..<at], as: UTF8.self))
    }

    /// A string with JSON escapes (surrogate pairs joined); the bytes must be valid UTF-8.
    private mutating func parseString() throws -> String {
        let start = at
        at += 1
        var out: [UInt8] = []
        while true {
            guard at < bytes.count else { at = start; throw error("unterminated string") }
            let c = bytes[at]
            at += 1
            if c == UInt8(ascii: "\"") { break }
            guard c >= 0x20 else { at -= 1; throw error("control character in a string") }
            if c != UInt8(ascii: "\\") { out.append(c); continue }
            guard at < bytes.count else { at = start; throw error("unterminated string") }
            let e = bytes[at]
            at += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var value = try hex4()
                if (0xD800..<0xDC00).contains(value), bytes[at...].starts(with: "\\u".utf8) {
                    at += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate escape") }
                    value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(value) else { throw error("unpaired surrogate escape") }
                out += Array(String(scalar).utf8)
            default:
                at -= 1
                throw error("bad escape")
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else { at = start; throw error("string is not valid UTF-8") }
        return text
    }

    private mutating func hex4() throws -> UInt32 {
        guard at + 4 <= bytes.count,
              let value = UInt32(String(decoding: bytes[at..<(at + 4)], as: UTF8.self), radix: 16),
              bytes[at..<(at + 4)].allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }) else {
            throw error("bad \\u escape")
        }
        at += 4
        return value
    }
}
