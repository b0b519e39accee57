/// A position in graph text, both from 1; columns count Unicode scalars.
struct SourceLocation: Hashable {
    var line: Int
    var column: Int
}

extension GraphError {
    /// An error in graph text, reported as `line L, column C: message`.
    init(_ message: String, at location: SourceLocation) {
        self.init("line \(location.line), column \(location.column): \(message)")
    }
}

/// One token of the text form.
struct Token {
    enum Kind: Equatable {
        /// Keywords, op and attribute names, numbers and element types.
        case word(String)
        /// A quoted string with its escapes resolved.
        case string(String)
        /// A value reference `%N`.
        case value(ValueID)
        /// One of `= : , ( ) { } [ ] <`.
        case symbol(Unicode.Scalar)
        case end
    }

    var kind: Kind
    var location: SourceLocation

    /// The token as error messages quote it.
    var description: String {
        switch kind {
        case .word(let w): return "'\(w)'"
        case .string(let s): return "string \(quoted(s))"
        case .value(let v): return "%\(v)"
        case .symbol(let c): return "'\(c)'"
        case .end: return "end of text"
        }
    }
}

/// Splits graph text into tokens, skipping whitespace and `//` comments.
struct GraphLexer {
    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var location = SourceLocation(line: 1, column: 1)

    init(_ text: String) { scalars = Array(text.unicodeScalars) }

    /// Every token, ending with `.end`; throws on a malformed token.
    mutating func tokens() throws -> [Token] {
        var tokens: [Token] = []
        while true {
            skipTrivia()
            let start = location
            guard let c = peek() else { return tokens + [Token(kind: .end, location: start)] }
            let kind: Token.Kind
            switch c {
            case "\"": kind = .string(try readString())
            case "%": kind = .value(try readValueID())
            case "=", ":", ",", "(", ")", "{", "}", "[", "]", "<":
                advance()
                kind = .symbol(c)
            default:
                guard Self.isWordScalar(c) else { throw GraphError("unexpected character '\(c)'", at: start) }
                kind = .word(readWord())
            }
            tokens.append(Token(kind: kind, location: start))
        }
    }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    private mutating func advance() {
        if scalars[index] == "\n" {
            location.line += 1
            location.column = 1
        } else {
            location.column += 1
        }
        index += 1
    }

    private mutating func skipTrivia() {
        while let c = peek() {
            if c == " " || c == "\t" || c == "\r" || c == "\n" {
                advance()
            } else if c == "/" && peek(1) == "/" {
                while let c = peek(), c != "\n" { advance() }
            } else {
                return
            }
        }
    }

    /// A string literal; it must end on the line it starts.
    private mutating func readString() throws -> String {
        let start = location
        advance()
        var text = String.UnicodeScalarView()
        while true {
            let at = location
            guard let c = peek(), c != "\n" else { throw GraphError("unterminated string", at: start) }
            advance()
            if c == "\"" { return String(text) }
            guard c == "\\" else {
                text.append(c)
                continue
            }
            switch peek() {
            case "\""?: text.append("\"")
            case "\\"?: text.append("\\")
            case "n"?: text.append("\n")
            default: throw GraphError("unknown escape in string (use \\\", \\\\ or \\n)", at: at)
            }
            advance()
        }
    }

    private mutating func readValueID() throws -> ValueID {
        let start = location
        advance()
        var digits = ""
        while let c = peek(), ("0"..."9").contains(c) {
            digits.unicodeScalars.append(c)
            advance()
        }
        guard !digits.isEmpty else { throw GraphError("expected digits after '%'", at: start) }
        guard let id = ValueID(digits) else { throw GraphError("value id %\(digits) is too large", at: start) }
        return id
    }

    private mutating func readWord() -> String {
        var word = ""
        while let c = peek(), Self.isWordScalar(c) {
            word.unicodeScalars.append(c)
            advance()
        }
        return word
    }

    /// Letters, digits and `_ . - +`: enough for names, numbers like `-1e-08` and types like `f32`.
    private static func isWordScalar(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "a"..."z", "A"..."Z", "0"..."9", "_", ".", "-", "+": return true
        default: return false
        }
    }
}
