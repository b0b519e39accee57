/// A Python literal as `ast.literal_eval` reads it, limited to what a `.npy` header can hold:
/// strings, integers, `True`/`False`/`None`, tuples, lists and dicts with string keys.
/// The `.npy` reader parses its header with this instead of searching the text, so that a
/// string value that merely contains `'descr': '<f4'` cannot pose as a key.
enum PythonLiteral: Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case none
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    /// Keys in file order; parsing rejects a repeated key.
    case dict([(key: String, value: PythonLiteral)])

    /// A syntax error: what is wrong and the character offset where it was found.
    struct SyntaxError: Error, Equatable {
        var offset: Int
        var why: String
    }

    /// Parses `text` as exactly one literal, surrounded by optional whitespace. `longSuffix`
    /// accepts Python 2's `3L` integers (numpy's reader does so for format 1.0 and 2.0 headers).
    static func parse(_ text: String, longSuffix: Bool = false) throws -> PythonLiteral {
        var parser = PythonLiteralParser(text, longSuffix: longSuffix)
        return try parser.parseAll()
    }

    /// How Python's `repr` would show this value, shortened and on one line (for error messages).
    var repr: String {
        switch self {
        case .string(let s): return PythonLiteral.quoted(s)
        case .int(let i): return String(i)
        case .bool(let b): return b ? "True" : "False"
        case .none: return "None"
        case .tuple(let items):
            let inner = items.map(\.repr).joined(separator: ", ")
            return PythonLiteral.shortened(items.count == 1 ? "(\(inner),)" : "(\(inner))")
        case .list(let items): return PythonLiteral.shortened("[" + items.map(\.repr).joined(separator: ", ") + "]")
        case .dict(let pairs):
            return PythonLiteral.shortened("{" + pairs.map { "\(PythonLiteral.quoted($0.key)): \($0.value.repr)" }
                .joined(separator: ", ") + "}")
        }
    }

    /// `s` quoted as Python's `repr` does (single quotes unless `s` has only single quotes),
    /// control characters escaped, at most 60 characters long.
    static func quoted(_ s: String) -> String {
        let quote: Unicode.Scalar = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case quote: out += "\\" + String(quote)
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if [.control, .lineSeparator, .paragraphSeparator].contains(scalar.properties.generalCategory) {
                    let hex = String(scalar.value, radix: 16)
                    out += scalar.value < 0x100 ? "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
                        : "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return shortened(out + String(quote))
    }

    /// `text` cut to 60 characters with an ellipsis.
    static func shortened(_ text: String) -> String {
        text.count <= 60 ? text : String(text.prefix(57)) + "..."
    }

    static func == (a: PythonLiteral, b: PythonLiteral) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.none, .none): return true
        case (.tuple(let x), .tuple(let y)), (.list(let x), .list(let y)): return x == y
        case (.dict(let x), .dict(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.string, _), (.int, _), (.bool, _), (.none, _), (.tuple, _), (.list, _), (.dict, _): return false
        }
    }
}
