import Foundation
import XCTest

/// A fresh temporary folder per test, removed afterwards.
func makeTemporaryFolder() throws -> String {
    let path = NSTemporaryDirectory() + "m2mdata-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs `python3 -c script args...`; skips the test when python3 with numpy is unavailable.
func runPython(_ script: String, _ args: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + args
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = Pipe()
    do { try process.run() } catch { throw XCTSkip("python3 not available") }
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    if process.terminationStatus != 0 {
        // Exit code 3 is our "numpy missing" signal from the scripts' import guard.
        if process.terminationStatus == 3 { throw XCTSkip("numpy not available") }
        XCTFail("python3 failed (\(process.terminationStatus)): \(text)")
    }
    return text
}

/// Python prologue that exits 3 when numpy cannot be imported.
let importNumpy = "import sys\ntry:\n    import numpy as np\nexcept ImportError:\n    sys.exit(3)\n"

/// Runs `body` on a new thread and returns its error text ("no error" if none), or nil when it
/// has not returned within `seconds`: a read that blocks fails the test instead of hanging it.
func errorText(within seconds: Double, _ body: @escaping @Sendable () throws -> Void) -> String? {
    final class Box: @unchecked Sendable { var text = "no error" }
    let box = Box(), done = DispatchSemaphore(value: 0)
    Thread {
        do { try body() } catch { box.text = "\(error)" }
        done.signal()
    }.start()
    return done.wait(timeout: .now() + seconds) == .success ? box.text : nil
}
