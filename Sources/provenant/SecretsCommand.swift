import ArgumentParser

struct SecretsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets",
        abstract: "Find leaked credentials at rest, and redact them from streams.",
        subcommands: [SecretsScanCommand.self, SecretsRedactCommand.self]
    )
}

/// `--known FILE`, shared by `secrets scan` and `secrets redact`.
struct KnownSecretsOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The agent's own secrets, recognised as written and in the encodings programs give them (one case, hex, base64 and base64url, URL-encoded once, twice or every byte, JSON, HTML and \\u escapes): a Kubernetes Secret manifest, a .env file, or a flat JSON object. Repeatable. Values shorter than 8 bytes are refused.", valueName: "file"))
    var known: [String] = []
}
