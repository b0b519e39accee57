import Foundation

/// Progress of long work on stderr: a redrawn bar with ETA on a terminal, plain periodic lines
/// (every 10% or 10 s) when stderr is a file or pipe, so logs stay readable.
final class ProgressReporter {
    private let label: String
    private let total: Int
    private let start = Date()
    private let isTerminal = isatty(2) != 0
    private var lastLine = Date.distantPast
    private var lastTenth = -1

    init(label: String, total: Int) {
        self.label = label
        self.total = max(1, total)
    }

    /// Reports that `done` of `total` units are finished; `detail` (e.g. the loss) follows
    /// the counts. A terminal is redrawn at most ten times a second.
    func update(_ done: Int, detail: String = "") {
        let elapsed = Date().timeIntervalSince(start)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : .nan
        if isTerminal {
            guard done >= total || Date().timeIntervalSince(lastLine) >= 0.1 else { return }
            lastLine = Date()
            let width = 30
            let filled = width * done / total
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            write("\r\(label) [\(bar)] \(done)/\(total)\(detail)  \(ProgressReporter.clock(elapsed)) elapsed, ETA \(ProgressReporter.clock(eta))\u{1B}[K")
            if done >= total { write("\n") }
        } else {
            let tenth = 10 * done / total
            guard tenth != lastTenth || Date().timeIntervalSince(lastLine) >= 10 else { return }
            lastTenth = tenth
            lastLine = Date()
            write("\(label): \(done)/\(total) (\(100 * done / total)%)\(detail), \(ProgressReporter.clock(elapsed)) elapsed, ETA \(ProgressReporter.clock(eta))\n")
        }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Seconds as m:ss (or h:mm:ss); "--" when unknown.
    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
