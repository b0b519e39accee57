/// The text form: one declaration, node or output per line, values in id order,
/// so that `Graph(parsing: g.text) == g` for every graph that passes `verify()`.
extension Graph {
    /// The graph as text, e.g. `%5 = linear(%0, %1, %3) : f32[2,4,4,8]`; see `GraphParser` for the grammar.
    public var text: String {
        var lines = ["graph \(quoted(name)) {"]
        var nextNode = 0
        for (v, value) in values.enumerated() {
            switch value.kind {
            case .result(let k) where nodes.indices.contains(k):
                // A result appears with its node; earlier result-less nodes keep their place before it.
                while nextNode <= k {
                    lines.append("  " + nodeLine(nextNode))
                    nextNode += 1
                }
            case .result:
                continue
            case .input(let name), .parameter(let name), .state(let name):
                lines.append("  %\(v) = \(value.kind.keyword) \(quoted(name)) : \(value.type)")
            }
        }
        lines += nodes.indices.dropFirst(nextNode).map { "  " + nodeLine($0) }
        lines += outputs.map { "  output \(quoted($0.name)) = %\($0.value)" }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Parses the text form and verifies the graph; errors read `line L, column C: what is wrong`.
    public init(parsing text: String) throws {
        var parser = try GraphParser(text)
        self = try parser.parse()
    }

    /// One node, e.g. `%9 = rfft2(%8) {modes1 = 12, modes2 = 12} : c64[288,20,32]`.
    private func nodeLine(_ k: Int) -> String {
        let node = nodes[k]
        var line = node.result.map { "%\($0) = " } ?? ""
        line += node.op.name + "(" + node.inputs.map { "%\($0)" }.joined(separator: ", ") + ")"
        let attributes = node.op.attributes
        if !attributes.isEmpty {
            line += " {" + attributes.map { "\($0.0) = \($0.1)" }.joined(separator: ", ") + "}"
        }
        if let r = node.result, values.indices.contains(r) { line += " : \(values[r].type)" }
        return line
    }
}

extension ValueKind {
    /// The word that introduces this kind of value in the text form and in messages.
    var keyword: String {
        switch self {
        case .input: return "input"
        case .parameter: return "parameter"
        case .state: return "state"
        case .result: return "result"
        }
    }
}

/// A string literal of the text form: `"` and `\` are escaped, a newline is written `\n`.
func quoted(_ s: String) -> String {
    var out = "\""
    for c in s.unicodeScalars {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        default: out.unicodeScalars.append(c)
        }
    }
    return out + "\""
}
