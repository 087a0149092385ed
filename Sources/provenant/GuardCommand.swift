import ArgumentParser

struct GuardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guard",
        abstract: "Enforce the agent manifest while the agent runs: an egress proxy and an exec launcher.",
        subcommands: [GuardProxyCommand.self, GuardExecCommand.self]
    )
}
