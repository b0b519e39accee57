/// The first rule a graph breaks, with the part of the graph it is about;
/// the parser maps `site` to a line and column of the text.
struct GraphDefect {
    /// The part of the graph a defect is about.
    enum Site {
        case value(ValueID)
        case node(Int)
        /// One operand of a node.
        case nodeInput(node: Int, position: Int)
        /// The declared result type of a node.
        case nodeType(Int)
        case output(Int)
        /// The value an output refers to.
        case outputValue(Int)
    }

    var message: String
    var site: Site

    init(_ message: String, at site: Site) {
        self.message = message
        self.site = site
    }
}
