// Grammar of the text form (`//` comments run to the end of a line):
//   graph      := 'graph' STRING '{' statement* '}'
//   statement  := '%' N '=' ('input' | 'parameter' | 'state') STRING ':' type
//              |  '%' N '=' node ':' type          // N must be the next value id
//              |  node                             // an op without a result, e.g. adam
//              |  'output' STRING '=' '%' N
//   node       := OP '(' [ '%' N (',' '%' N)* ] ')' [ '{' [ attr (',' attr)* ] '}' ]
//   attr       := NAME '=' (INT | DOUBLE | 'true' | 'false' | '[' [ INT (',' INT)* ] ']')
//   type       := ('f32' | 'c64') '[' [ INT (',' INT)* ] ']'

/// Recursive-descent parser for the text form. It remembers where each part of the
/// graph was written so that a failed `verify()` is reported at a line and column.
struct GraphParser {
    private let tokens: [Token]
    private var position = 0
    private var graph = Graph(name: "")
    private var valueLocations: [SourceLocation] = []
    /// Per node: the op name, each operand, and the result type (nil without a result).
    private var nodeLocations: [(op: SourceLocation, inputs: [SourceLocation], type: SourceLocation?)] = []
    private var outputLocations: [(name: SourceLocation, value: SourceLocation)] = []

    init(_ text: String) throws {
        var lexer = GraphLexer(text)
        tokens = try lexer.tokens()
    }

    /// The parsed graph; throws on a syntax error or a graph that fails `verify()`.
    mutating func parse() throws -> Graph {
        try expectWord("graph")
        graph.name = try expectString()
        try expect("{")
        while !consume("}") {
            let token = peek
            switch token.kind {
            case .value(let id): try parseDefinition(id)
            case .word("output"): try parseOutput()
            case .word(let op):
                advance()
                try parseNode(op, at: token.location, result: nil)
            case .end: throw GraphError("missing '}' at the end of the graph", at: token.location)
            default: throw unexpected(token, "a statement")
            }
        }
        if peek.kind != .end { throw unexpected(peek, "end of text after the closing '}'") }
        if let defect = graph.firstDefect() { throw GraphError(defect.message, at: location(of: defect.site)) }
        return graph
    }

    /// `%N = input "x" : f32[2]`, or `%N = op(...) : type`.
    private mutating func parseDefinition(_ id: ValueID) throws {
        let idLocation = peek.location
        guard id == graph.values.count else {
            throw GraphError("expected %\(graph.values.count), found %\(id); values are numbered in order", at: idLocation)
        }
        advance()
        try expect("=")
        let token = peek
        guard case .word(let word) = token.kind else { throw unexpected(token, "'input', 'parameter', 'state' or an op") }
        advance()
        let kind: ValueKind
        switch word {
        case "input": kind = .input(name: try expectString())
        case "parameter": kind = .parameter(name: try expectString())
        case "state": kind = .state(name: try expectString())
        default: return try parseNode(word, at: token.location, result: (id, idLocation))
        }
        try expect(":")
        graph.values.append(Value(kind: kind, type: try parseType()))
        valueLocations.append(idLocation)
    }

    /// The rest of a node after its op name; `result` is the id it binds, if any.
    private mutating func parseNode(_ name: String, at opLocation: SourceLocation,
                                    result: (id: ValueID, location: SourceLocation)?) throws {
        guard Op.allNames.contains(name) else { throw GraphError("unknown op '\(name)'", at: opLocation) }
        try expect("(")
        var inputs: [ValueID] = []
        var inputLocations: [SourceLocation] = []
        if !consume(")") {
            repeat {
                let token = peek
                guard case .value(let v) = token.kind else { throw unexpected(token, "a value like %0") }
                advance()
                inputs.append(v)
                inputLocations.append(token.location)
            } while consume(",")
            try expect(")")
        }
        let attributes = try parseAttributes()
        let op: Op
        do { op = try Op(name: name, attributes: attributes) } catch { throw GraphError("\(error)", at: opLocation) }
        var typeLocation: SourceLocation?
        if let result {
            try expect(":")
            typeLocation = peek.location
            graph.values.append(Value(kind: .result(node: graph.nodes.count), type: try parseType()))
            valueLocations.append(result.location)
        }
        graph.nodes.append(Node(op: op, inputs: inputs, result: result?.id))
        nodeLocations.append((opLocation, inputLocations, typeLocation))
    }

    /// `{name = value, ...}`, or nothing.
    private mutating func parseAttributes() throws -> [String: Attribute] {
        var attributes: [String: Attribute] = [:]
        guard consume("{") else { return attributes }
        if consume("}") { return attributes }
        repeat {
            let token = peek
            guard case .word(let key) = token.kind else { throw unexpected(token, "an attribute name") }
            advance()
            guard attributes[key] == nil else { throw GraphError("attribute '\(key)' is given twice", at: token.location) }
            try expect("=")
            attributes[key] = try parseAttributeValue()
        } while consume(",")
        try expect("}")
        return attributes
    }

    /// An integer, a number with a fraction or exponent, `true`, `false`, `[ints]`, or a
    /// bare word of lowercase letters, digits and `_` starting with a letter (`bicubic`).
    private mutating func parseAttributeValue() throws -> Attribute {
        if consume("[") { return .ints(try parseIntList(closing: "]", what: "an integer")) }
        let token = peek
        guard case .word(let word) = token.kind else { throw unexpected(token, "an attribute value") }
        advance()
        if word == "true" || word == "false" { return .bool(word == "true") }
        if let i = Int(word) { return .int(i) }
        if let d = Double(word) { return .double(d) }
        if let first = word.unicodeScalars.first, ("a"..."z").contains(first),
           word.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }) {
            return .word(word)
        }
        throw GraphError("bad attribute value '\(word)'", at: token.location)
    }

    /// `f32[20,64,64,10]`; a scalar is `f32[]`; one bounded axis is written `<=C`.
    private mutating func parseType() throws -> TensorType {
        let token = peek
        guard case .word(let word) = token.kind else { throw unexpected(token, "a type like f32[2,3]") }
        guard let dtype = DType(rawValue: word) else {
            let known = DType.allCases.map(\.rawValue).joined(separator: ", ")
            throw GraphError("unknown element type '\(word)' (expected one of \(known))", at: token.location)
        }
        advance()
        try expect("[")
        var shape: [Int] = []
        var boundedAxis: Int?
        if consume("]") { return TensorType(dtype, shape) }
        repeat {
            let boundToken = peek
            if consume("<") {
                try expect("=")
                guard boundedAxis == nil else { throw GraphError("a type may bound only one axis", at: boundToken.location) }
                boundedAxis = shape.count
            }
            let dim = peek
            guard case .word(let word) = dim.kind, let i = Int(word) else { throw unexpected(dim, "a dimension") }
            advance()
            shape.append(i)
        } while consume(",")
        try expect("]")
        return TensorType(dtype, shape, boundedAxis: boundedAxis)
    }

    /// Comma-separated integers after an opening bracket, through `closing`.
    private mutating func parseIntList(closing: Unicode.Scalar, what: String) throws -> [Int] {
        var list: [Int] = []
        if consume(closing) { return list }
        repeat {
            let token = peek
            guard case .word(let word) = token.kind, let i = Int(word) else { throw unexpected(token, what) }
            advance()
            list.append(i)
        } while consume(",")
        try expect(closing)
        return list
    }

    /// `output "loss" = %12`.
    private mutating func parseOutput() throws {
        let nameLocation = peek.location
        advance()
        let name = try expectString()
        try expect("=")
        let token = peek
        guard case .value(let v) = token.kind else { throw unexpected(token, "a value like %0") }
        advance()
        graph.outputs.append((name, v))
        outputLocations.append((nameLocation, token.location))
    }

    private func location(of site: GraphDefect.Site) -> SourceLocation {
        switch site {
        case .value(let v): return valueLocations[v]
        case .node(let k): return nodeLocations[k].op
        case .nodeInput(let k, let i): return nodeLocations[k].inputs[i]
        case .nodeType(let k): return nodeLocations[k].type ?? nodeLocations[k].op
        case .output(let i): return outputLocations[i].name
        case .outputValue(let i): return outputLocations[i].value
        }
    }

    // Token stream helpers; the final `.end` token is never consumed.

    private var peek: Token { tokens[position] }

    private mutating func advance() {
        if position < tokens.count - 1 { position += 1 }
    }

    private mutating func consume(_ symbol: Unicode.Scalar) -> Bool {
        guard peek.kind == .symbol(symbol) else { return false }
        advance()
        return true
    }

    private mutating func expect(_ symbol: Unicode.Scalar) throws {
        guard consume(symbol) else { throw unexpected(peek, "'\(symbol)'") }
    }

    private mutating func expectWord(_ word: String) throws {
        guard peek.kind == .word(word) else { throw unexpected(peek, "'\(word)'") }
        advance()
    }

    private mutating func expectString() throws -> String {
        guard case .string(let s) = peek.kind else { throw unexpected(peek, "a quoted name") }
        advance()
        return s
    }

    private func unexpected(_ token: Token, _ expected: String) -> GraphError {
        GraphError("expected \(expected), found \(token.description)", at: token.location)
    }
}
