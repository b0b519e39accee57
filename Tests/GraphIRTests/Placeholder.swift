import XCTest
final class GraphIRTestsPlaceholder: XCTestCase { func testNothing() {} }
