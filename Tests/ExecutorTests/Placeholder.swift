import XCTest
final class ExecutorTestsPlaceholder: XCTestCase { func testNothing() {} }
