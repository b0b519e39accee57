import ArgumentParser

/// The m2mc command line (../shared/spec/CLI.md is the contract).
struct M2MC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "m2mc",
        abstract: "Compile-then-run runtime for the M2M neural operator.",
        subcommands: [CompileCommand.self, InspectCommand.self, DatagenCommand.self, InferCommand.self, BenchCommand.self]
    )
}

M2MC.main()
