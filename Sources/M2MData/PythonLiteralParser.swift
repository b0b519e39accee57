/// A recursive-descent parser for `PythonLiteral`, over Unicode scalars. Nesting is limited
/// (`maxDepth`) so that hostile input cannot exhaust the stack.
struct PythonLiteralParser {
    private let chars: [Unicode.Scalar]
    private let longSuffix: Bool
    private var at = 0
    private var depth = 0
    static let maxDepth = 32

    init(_ text: String, longSuffix: Bool) {
        chars = Array(text.unicodeScalars)
        self.longSuffix = longSuffix
    }

    /// One literal and nothing after it but whitespace.
    mutating func parseAll() throws -> PythonLiteral {
        let value = try parseValue()
        skipSpace()
        guard at == chars.count else { throw error("unexpected \(describe(chars[at])) after the literal") }
        return value
    }

    private func error(_ why: String) -> PythonLiteral.SyntaxError { .init(offset: at, why: why) }

    private func describe(_ c: Unicode.Scalar) -> String { PythonLiteral.quoted(String(c)) }

    private mutating func skipSpace() {
        while at < chars.count, [" ", "\t", "\n", "\r", "\u{0C}"].contains(chars[at]) { at += 1 }
    }

    private mutating func parseValue() throws -> PythonLiteral {
        skipSpace()
        guard at < chars.count else { throw error("unexpected end of text") }
        let c = chars[at]
        switch c {
        case "'", "\"": return .string(try parseString())
        case "(", "[", "{":
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.maxDepth else { throw error("nested more than \(Self.maxDepth) levels deep") }
            at += 1
            return c == "{" ? try parseDict() : try parseSequence(close: c == "(" ? ")" : "]")
        case "-", "+", "0"..."9": return .int(try parseInt())
        default:
            guard c.properties.isAlphabetic || c == "_" else { throw error("unexpected \(describe(c))") }
            let start = at
            while at < chars.count, chars[at].properties.isAlphabetic || chars[at] == "_"
                || ("0"..."9").contains(chars[at]) { at += 1 }
            var word = ""
            word.unicodeScalars.append(contentsOf: chars[start..<at])
            switch word {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            default:
                at = start
                throw error("unsupported literal \(PythonLiteral.quoted(word))")
            }
        }
    }

    /// After `(` or `[`: items separated by commas, an optional trailing comma. `(x)` is just
    /// `x`, as in Python; `()` and `(x,)` are tuples.
    private mutating func parseSequence(close: Unicode.Scalar) throws -> PythonLiteral {
        var items: [PythonLiteral] = []
        var sawComma = false
        while true {
            skipSpace()
            if at < chars.count, chars[at] == close { at += 1; break }
            items.append(try parseValue())
            skipSpace()
            guard at < chars.count else { throw error("missing \(describe(close))") }
            if chars[at] == "," { at += 1; sawComma = true; continue }
            guard chars[at] == close else { throw error("expected ',' or \(describe(close)), found \(describe(chars[at]))") }
            at += 1
            break
        }
        if close == "]" { return .list(items) }
        return items.count == 1 && !sawComma ? items[0] : .tuple(items)
    }

    /// After `{`: `'key': value` pairs, string keys only, no key twice.
    private mutating func parseDict() throws -> PythonLiteral {
        var pairs: [(key: String, value: PythonLiteral)] = []
        var seen = Set<String>()
        while true {
            skipSpace()
            guard at < chars.count else { throw error("missing '}'") }
            if chars[at] == "}" { at += 1; break }
            guard chars[at] == "'" || chars[at] == "\"" else { throw error("dict keys must be strings, found \(describe(chars[at]))") }
            let keyAt = at
            let key = try parseString()
            guard seen.insert(key).inserted else {
                at = keyAt
                throw error("duplicate key \(PythonLiteral.quoted(key))")
            }
            skipSpace()
            guard at < chars.count, chars[at] == ":" else { throw error("expected ':' after key \(PythonLiteral.quoted(key))") }
            at += 1
            pairs.append((key, try parseValue()))
            skipSpace()
            guard at < chars.count else { throw error("missing '}'") }
            if chars[at] == "," { at += 1; continue }
            guard chars[at] == "}" else { throw error("expected ',' or '}', found \(describe(chars[at]))") }
            at += 1
            break
        }
        return .dict(pairs)
    }

    /// A decimal integer with optional sign and `_` digit separators (and `L` if allowed).
    private mutating func parseInt() throws -> Int {
        let start = at
        var negative = false
        if chars[at] == "-" || chars[at] == "+" {
            negative = chars[at] == "-"
            at += 1
            skipSpace()
        }
        var digits = ""
        while at < chars.count, ("0"..."9").contains(chars[at]) || chars[at] == "_" {
            if chars[at] == "_" {
                guard !digits.isEmpty, at + 1 < chars.count, ("0"..."9").contains(chars[at + 1]) else {
                    throw error("misplaced '_' in a number")
                }
            } else {
                digits.unicodeScalars.append(chars[at])
            }
            at += 1
        }
        guard !digits.isEmpty else { throw error("expected a number") }
        if at < chars.count, [".", "e", "E", "j", "J", "x", "X", "o", "O", "b", "B"].contains(chars[at]) {
            at = start
            throw error("only decimal integers are supported")
        }
        guard digits.count == 1 || digits.first != "0" || digits.allSatisfy({ $0 == "0" }) else {
            at = start
            throw error("leading zeros in a decimal integer")
        }
        if longSuffix, at < chars.count, chars[at] == "L" || chars[at] == "l" { at += 1 }
        guard let magnitude = Int(digits) else {
            at = start
            throw error("integer \(PythonLiteral.shortened(digits)) is too large")
        }
        return negative ? -magnitude : magnitude
    }

    /// A single- or double-quoted string with Python's escapes (no prefixes, no triple quotes).
    private mutating func parseString() throws -> String {
        let quote = chars[at]
        let start = at
        at += 1
        var out = String.UnicodeScalarView()
        while true {
            guard at < chars.count, chars[at] != "\n" else {
                at = start
                throw error("unterminated string")
            }
            let c = chars[at]
            at += 1
            if c == quote { break }
            if c != "\\" { out.append(c); continue }
            guard at < chars.count else { at = start; throw error("unterminated string") }
            let e = chars[at]
            at += 1
            switch e {
            case "\n": break  // line continuation
            case "\\", "'", "\"": out.append(e)
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "0"..."7":
                var value = e.value - 48
                for _ in 0..<2 where at < chars.count && ("0"..."7").contains(chars[at]) {
                    value = value * 8 + chars[at].value - 48
                    at += 1
                }
                out.append(Unicode.Scalar(value)!)
            case "x": out.append(try hexEscape(digits: 2))
            case "u": out.append(try hexEscape(digits: 4))
            case "U": out.append(try hexEscape(digits: 8))
            case "N": at -= 2; throw error("named Unicode escapes are not supported")
            default: out.append("\\"); out.append(e)  // Python keeps unknown escapes as written
            }
        }
        return String(out)
    }

    private mutating func hexEscape(digits: Int) throws -> Unicode.Scalar {
        guard at + digits <= chars.count else { throw error("truncated \\x, \\u or \\U escape") }
        var text = ""
        text.unicodeScalars.append(contentsOf: chars[at..<(at + digits)])
        guard text.unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit }),
              let value = UInt32(text, radix: 16), let scalar = Unicode.Scalar(value) else {
            throw error("bad escape \(PythonLiteral.quoted(text))")
        }
        at += digits
        return scalar
    }
}
