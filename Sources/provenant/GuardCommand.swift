import ArgumentParser

struct GuardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guard",
        abstract: "Enforce the agent manifest while the agent runs.",
        subcommands: [GuardProxyCommand.self]
    )
}
