import ArgumentParser

@main
struct Provenant: AsyncParsableCommand {
    static let version = "0.1.0"
    static let configuration = CommandConfiguration(
        commandName: "provenant",
        abstract: "Supply-chain security for software agents: know what is inside, and prove it.",
        version: version,
        subcommands: [SBOMCommand.self]
    )
}
