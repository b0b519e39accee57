import XCTest
@testable import M2MData

/// The `.npy` header parser agrees with Python's own `ast.literal_eval` (compared through
/// `repr`), and rejects what it does not support with a position.
final class PythonLiteralTests: XCTestCase {
    func testAgreesWithPython() throws {
        let literals = [
            "'a\\tb'", "\"it's\"", "'\\x41\\101\\u0042\\U00000043'", "'\\q'", "'a\\\nb'", "'\\\\'", "'\\x7f\\u2028'",
            "(1,)", "()", "(7)", "(1, (2, 3), [4, 5],)", "[]", "- 7", "+3", "1_000", "0", "-9223372036854775807",
            "{'a': True, \"b\": None, 'c': -3, 'd': False}", " \n{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }  \n",
        ]
        let python = try runPython("import ast, sys\nfor s in sys.argv[1:]: print(repr(ast.literal_eval(s.lstrip())))", literals)
        let ours = try literals.map { try PythonLiteral.parse($0).repr }
        XCTAssertEqual(ours, python.components(separatedBy: "\n"))
    }

    func testRejections() {
        let cases: [(String, String, Int)] = [
            ("{'a': 1, 'a': 2}", "duplicate key 'a'", 9),
            ("{1: 2}", "dict keys must be strings, found '1'", 1),
            ("'abc", "unterminated string", 0),
            ("(1, 2", "missing ')'", 5),
            ("012", "leading zeros in a decimal integer", 0),
            ("1.5", "only decimal integers are supported", 0),
            ("0x10", "only decimal integers are supported", 0),
            ("1__0", "misplaced '_' in a number", 1),
            ("'\\N{DASH}'", "named Unicode escapes are not supported", 1),
            ("'\\x4'", "bad escape \"4'\"", 3),
            ("os.system", "unsupported literal 'os'", 0),
            ("1 2", "unexpected '2' after the literal", 2),
            (String(repeating: "[", count: 33), "nested more than 32 levels deep", 32),
        ]
        for (text, why, offset) in cases {
            XCTAssertThrowsError(try PythonLiteral.parse(text), text) { error in
                XCTAssertEqual(error as? PythonLiteral.SyntaxError, .init(offset: offset, why: why), text)
            }
        }
        XCTAssertEqual(try PythonLiteral.parse("(3L, 4l)", longSuffix: true), .tuple([.int(3), .int(4)]))
        XCTAssertThrowsError(try PythonLiteral.parse("(3L,)"))
    }
}
