/// A problem with a data file or setting: one line naming the file (or option) and what is wrong,
/// so the CLI can print it as is.
public struct DataError: Error, CustomStringConvertible, Equatable {
    /// The file, folder or option at fault.
    public let subject: String
    /// What is wrong, in words.
    public let problem: String

    public init(_ subject: String, _ problem: String) {
        self.subject = subject
        self.problem = problem
    }

    public var description: String { "\(subject): \(problem)" }
}
