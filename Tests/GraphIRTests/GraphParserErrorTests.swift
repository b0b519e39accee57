import XCTest
import GraphIR

/// Malformed text is rejected with the line and column of the fault.
final class GraphParserErrorTests: XCTestCase {
    /// A valid graph; each test breaks one line of it.
    private let lines = [
        "graph \"gelu\" {",
        "  %0 = input \"x\" : f32[2,3]",
        "  %1 = gelu(%0) : f32[2,3]",
        "  output \"y\" = %1",
        "}",
    ]

    /// The sample text with line `number` (from 1) replaced by `line`, or removed when nil.
    private func text(replacing number: Int, with line: String?) -> String {
        var copy = lines
        if let line { copy[number - 1] = line } else { copy.remove(at: number - 1) }
        return copy.joined(separator: "\n") + "\n"
    }

    private func assertRejected(_ text: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Graph(parsing: text), file: file, line: line) { error in
            XCTAssertEqual((error as? GraphError)?.message, message, file: file, line: line)
        }
    }

    func testSampleParses() throws {
        XCTAssertEqual(try Graph(parsing: lines.joined(separator: "\n")), SampleGraphs.gelu())
    }

    func testUnknownOp() {
        assertRejected(text(replacing: 3, with: "  %1 = gelux(%0) : f32[2,3]"), "line 3, column 8: unknown op 'gelux'")
    }

    func testUnknownResampleKernel() {
        assertRejected(text(replacing: 3, with: "  %1 = resample(%0) {kernel = lanczos, height = 2, width = 2} : f32[2,3]"),
                       "line 3, column 8: resample: needs attribute 'kernel', one of bicubic, windowed_sinc")
        assertRejected(text(replacing: 3, with: "  %1 = resample(%0) {kernel = 3, height = 2, width = 2} : f32[2,3]"),
                       "line 3, column 8: resample: needs attribute 'kernel', one of bicubic, windowed_sinc")
    }

    func testUnknownElementType() {
        assertRejected(text(replacing: 2, with: "  %0 = input \"x\" : f64[2,3]"),
                       "line 2, column 20: unknown element type 'f64' (expected one of f32, c64, i32)")
    }

    func testBadDimension() {
        assertRejected(text(replacing: 2, with: "  %0 = input \"x\" : f32[2,three]"),
                       "line 2, column 26: expected a dimension, found 'three'")
    }

    func testUnknownValue() {
        assertRejected(text(replacing: 3, with: "  %1 = gelu(%7) : f32[2,3]"),
                       "line 3, column 13: node 0 (%1 = gelu): unknown value %7")
    }

    func testUnknownOutputValue() {
        assertRejected(text(replacing: 4, with: "  output \"y\" = %4"), "line 4, column 16: output \"y\": unknown value %4")
    }

    func testUnterminatedString() {
        assertRejected(text(replacing: 2, with: "  %0 = input \"x : f32[2,3]"), "line 2, column 14: unterminated string")
    }

    func testUnknownEscape() {
        assertRejected(text(replacing: 2, with: "  %0 = input \"a\\tb\" : f32[2,3]"),
                       "line 2, column 16: unknown escape in string (use \\\", \\\\ or \\n)")
    }

    func testMissingClosingBrace() {
        assertRejected(text(replacing: 5, with: nil), "line 5, column 1: missing '}' at the end of the graph")
    }

    func testWrongIDOrder() {
        assertRejected(text(replacing: 3, with: "  %2 = gelu(%0) : f32[2,3]"),
                       "line 3, column 3: expected %1, found %2; values are numbered in order")
    }

    func testResultTypeIsRechecked() {
        assertRejected(text(replacing: 3, with: "  %1 = gelu(%0) : f32[3,2]"),
                       "line 3, column 19: node 0 (%1 = gelu): type mismatch: result is declared f32[3,2] but gelu gives f32[2,3]")
    }

    func testUnknownAttribute() {
        assertRejected(text(replacing: 3, with: "  %1 = gelu(%0) {alpha = 1} : f32[2,3]"),
                       "line 3, column 8: gelu: unknown attribute 'alpha'")
    }

    func testMissingBinding() {
        assertRejected(text(replacing: 3, with: "  gelu(%0)"),
                       "line 3, column 3: node 0 (gelu): gelu produces f32[2,3] but the node has no result")
    }

    func testUnusedDeclarationIsReportedWhereDeclared() {
        let text = lines[0...1].joined(separator: "\n") + "\n  %1 = input \"spare\" : f32[1] // unused\n"
            + "  %2 = gelu(%0) : f32[2,3]\n  output \"y\" = %2\n}\n"
        assertRejected(text, "line 3, column 3: %1 (input \"spare\") is never used")
    }

    func testUnexpectedCharacter() {
        assertRejected(text(replacing: 3, with: "  %1 = gelu(%0) @ f32[2,3]"), "line 3, column 17: unexpected character '@'")
    }

    func testTextAfterClosingBrace() {
        assertRejected(lines.joined(separator: "\n") + "\n}", "line 6, column 1: expected end of text after the closing '}', found '}'")
    }
}
