import XCTest
final class M2MModelTestsPlaceholder: XCTestCase { func testNothing() {} }
