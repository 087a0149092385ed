import ArgumentParser

struct GuardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guard",
        abstract: "Enforce the agent manifest at run time.",
        subcommands: [GuardExecCommand.self]
    )
}
