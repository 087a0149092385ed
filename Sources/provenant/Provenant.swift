import ArgumentParser
import Foundation
import ProvenantCore
import Secrets

struct Provenant: AsyncParsableCommand {
    static let version = "0.1.0"
    static let configuration = CommandConfiguration(
        commandName: "provenant",
        abstract: "Supply-chain security for software agents: know what is inside, and prove it.",
        version: version,
        subcommands: [ScanCommand.self, SBOMCommand.self, DiffCommand.self, DBCommand.self, VersionCommand.self, KeyCommand.self, AttestCommand.self, ProvenanceCommand.self, VerifyCommand.self, VerifyFilesCommand.self, PolicyCommand.self, SecretsCommand.self, GuardCommand.self, ServerCommand.self, PushCommand.self]
    )
}

/// Entry point: usage errors exit 2 (argument-parser's default is 64), help and --version exit 0.
@main
enum Main {
    static func main() async {
        // Every echo of input text goes through the redactor; with this, it also uses the secrets engine.
        Redactor.install(EngineSpotter())
        do {
            var command = try Provenant.parseAsRoot()
            if var async = command as? AsyncParsableCommand { try await async.run() } else { try command.run() }
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            if Provenant.exitCode(for: error) == .success { Provenant.exit(withError: error) }
            CLI.stderr(Provenant.fullMessage(for: error))
            exit(2)
        }
    }
}
