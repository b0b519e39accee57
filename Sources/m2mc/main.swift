import ArgumentParser
import Foundation

/// The m2mc command line (../shared/spec/CLI.md is the contract).
struct M2MC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "m2mc",
        abstract: "Compile-then-run runtime for the M2M neural operator.",
        subcommands: [CompileCommand.self, InspectCommand.self, DatagenCommand.self, TrainCommand.self, EvalCommand.self, InferCommand.self, BenchCommand.self, VerifyPlacementCommand.self]
    )
}

PortableLaunch.relaunchIfNeeded(CommandLine.arguments)

do {
    var command = try M2MC.parseAsRoot()
    try command.run()
} catch {
    // CLI.md: usage errors exit 2; ArgumentParser's own code for them is EX_USAGE (64). Like a
    // user error, a usage error is one line naming the flag or argument (issue 9), without
    // ArgumentParser's help and usage lines; it points to the command's --help instead.
    if M2MC.exitCode(for: error) == .validationFailure {
        let message = M2MC.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
        let names = M2MC.configuration.subcommands.map { $0.configuration.commandName ?? "" }
        let command = CommandLine.arguments.dropFirst().first.flatMap { names.contains($0) ? "m2mc \($0)" : nil } ?? "m2mc"
        FileHandle.standardError.write(Data("m2mc: error: \(message) (see '\(command) --help')\n".utf8))
        exit(2)
    }
    M2MC.exit(withError: error)
}
