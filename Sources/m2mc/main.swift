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

do {
    var command = try M2MC.parseAsRoot()
    try command.run()
} catch {
    // CLI.md: usage errors exit 2; ArgumentParser's own code for them is EX_USAGE (64).
    if M2MC.exitCode(for: error) == .validationFailure {
        FileHandle.standardError.write(Data((M2MC.fullMessage(for: error) + "\n").utf8))
        exit(2)
    }
    M2MC.exit(withError: error)
}
