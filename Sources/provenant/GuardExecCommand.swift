import ArgumentParser
import Foundation
import Guard
import Permissions
import ProvenantCore
import Secrets

struct GuardExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command confined to what the agent manifest declares.",
        discussion: """
            Checks the command (or the script an interpreter runs) against the manifest's scripts for the \
            environment, then, in this process: drops every capability the manifest does not declare, sets \
            no_new_privs, applies a Landlock ruleset (declared reads and writes, the command, the system's \
            libraries and tools; TCP connects to the proxy port only with --proxy), removes environment \
            variables holding secrets the manifest does not name, and executes the command in its place. \
            The environment comes from --environment, else PROVENANT_ENVIRONMENT, else the `environment` label \
            of --environment-file (a downward-API labels file); unknown means production. \
            Exit codes: the command's own once it runs; 126 refused (the reason on standard error, with a \
            JSON audit record); 127 command not found; 2 usage or input error.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The agent manifest (provenant.agent.yaml).", valueName: "file"))
    var manifest: String

    @Option(name: .long, help: ArgumentHelp("The environment the command runs in (test, staging, production, ...).", valueName: "env"))
    var environment: String?

    @Option(name: .customLong("environment-file"), help: ArgumentHelp("A Kubernetes downward-API labels file; its `environment` label names the environment.", valueName: "file"))
    var environmentFile: String?

    @Option(name: .long, help: ArgumentHelp("The egress proxy: sets HTTP(S)_PROXY and limits TCP connects to its port.", valueName: "host:port"))
    var proxy: String?

    @Flag(name: .customLong("allow-unconfined"), help: "Run without Landlock when the kernel lacks it (refused otherwise).")
    var allowUnconfined = false

    @Flag(name: .customLong("allow-unlimited-tcp"), help: "Run with --proxy when the kernel's Landlock cannot limit TCP connects (ABI below 4; refused otherwise).")
    var allowUnlimitedTCP = false

    @Option(name: .long, help: ArgumentHelp("Append a JSON audit record of every decision to FILE ('-': standard error). Default: refusals only, to standard error.", valueName: "file"))
    var audit: String?

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command and its arguments, after --.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        if environment != nil && environmentFile != nil { throw ValidationError("--environment and --environment-file are alternatives; give one") }
        if environment?.isEmpty == true { throw ValidationError("--environment must not be empty") }
        if command.isEmpty { throw ValidationError("give the command after --") }
        if let proxy, ProxyAddress.parse(proxy) == nil { throw ValidationError("--proxy must be HOST:PORT (a bracketed IPv6 address, a port from 1 to 65535)") }
    }

    func run() throws {
        let m: AgentManifest
        do { m = try AgentManifest.load(manifest) } catch { CLI.fail("error: \(error)") }
        // The audit file is opened before anything is dropped: confinement may not allow it later.
        var auditFD: Int32 = -1
        if let audit, audit != "-" {
            auditFD = open(audit, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
            if auditFD < 0 { CLI.fail("error: \(audit): cannot open the audit file: \(String(cString: strerror(errno)))") }
        }
        let env = ExecEnvironment.resolve(option: environment, variable: ProcessInfo.processInfo.environment[ExecEnvironment.variable],
                                          labelsFile: environmentFile)
        let engine: SecretEngine
        do { engine = try SecretEngine.standard(minimumConfidence: .high) } catch { CLI.fail("error: the secret rules cannot be loaded: \(error)") }
        let named = Set(m.secrets.compactMap(\.env))
        let request = ExecRequest(manifest: m, environment: env, argv: command, proxy: proxy.flatMap(ProxyAddress.parse), allowUnconfined: allowUnconfined, allowUnlimitedTCP: allowUnlimitedTCP)
        let everyDecision = audit != nil
        let failure = ExecLauncher.launch(request, scrub: EnvironmentScrub(named: named, engine: engine), record: { r in
            guard everyDecision || r.decision != "allow" else { return }
            _ = CLI.writeAll(auditFD >= 0 ? auditFD : STDERR_FILENO, r.jsonLine)
        }, notice: { CLI.stderr($0) })
        CLI.stderr("provenant guard exec: \(failure.message)")
        Foundation.exit(failure.code)
    }
}
