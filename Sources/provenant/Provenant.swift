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
        // A command that catalogs certainly echoes input, and its first echo (an image archive's name)
        // comes before anything else it reads: the engine's rules start compiling before the arguments
        // are parsed, not after, so that wait is shorter (`SBOMCommand` asks again, at no cost).
        if let first = CommandLine.arguments.dropFirst().first, first == "sbom" || first == "scan" {
            EngineSpotter.prepareInBackground()
        }
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
