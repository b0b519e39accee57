import Foundation

/// A JSON scalar for `meta.json` and `--json` reports; keys keep their order so the files read
/// the same every time.
public enum MetaValue: Equatable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case string(String)

    /// The value as JSON text.
    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .double(let v): return v.isFinite ? "\(v)" : "null"
        case .string(let s): return MetaValue.quote(s)
        }
    }

    /// `s` as a JSON string literal.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    /// An ordered JSON object of the pairs, on one line.
    public static func object(_ pairs: [(String, MetaValue)]) -> String {
        "{" + pairs.map { "\(quote($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }
}
