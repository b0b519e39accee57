import XCTest
final class M2MDataTestsPlaceholder: XCTestCase { func testNothing() {} }
