import ArgumentParser
import Foundation
import Guard
import ProvenantCore
import Secrets

struct GuardProxyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Run an egress proxy that lets the agent reach only what its manifest declares.",
        discussion: """
        An HTTP/1.1 forward proxy (absolute-form http:// requests) and CONNECT tunnel (HTTPS is tunnelled, never \
        decrypted). Only declared egress hosts and CIDRs, on their ports, pass; everything else gets 403 with an \
        X-Provenant-Reason header and an audit line. Each allowed name is resolved once per connection and the \
        address checked is the address dialled. A tunnel's TLS ClientHello must name the CONNECT host. Plaintext \
        requests are checked for secrets (the known values and the high-confidence rules) and blocked before any \
        byte goes upstream. SIGHUP reloads the manifest; SIGTERM drains and exits. Exit codes: 0 after a signal, 2 \
        usage or input error.
        """
    )

    @Option(name: .long, help: ArgumentHelp("The agent manifest whose egress is enforced.", valueName: "file"))
    var manifest: String

    @Option(name: .long, help: ArgumentHelp("Address and port to listen on.", valueName: "host:port"))
    var listen = "127.0.0.1:3128"

    @OptionGroup var known: KnownSecretsOption

    @Option(name: .long, help: ArgumentHelp("Append JSON audit lines to this file ('-' for standard output).", valueName: "file"))
    var audit: String?

    @Option(name: .long, help: ArgumentHelp("Pin a host name to an address instead of resolving it. Repeatable.", valueName: "host=ip"))
    var resolve: [String] = []

    @Option(name: .long, help: "Most client connections open at once; more are answered 503.")
    var maxConnections = 1024

    @Option(name: .long, help: "Seconds a client has to send its request head and body.")
    var headerTimeout = 10

    @Option(name: .long, help: "Seconds without traffic after which a connection or tunnel is closed.")
    var idleTimeout = 300

    @Option(name: .long, help: "Event-loop threads (default: one per core). Under a CPU limit, set it to the limit.")
    var threads = ProxyOptions.defaultThreads

    @Flag(name: .customLong("allow-ech"), help: "Admit TLS ClientHellos that carry ECH, checking their outer server name (by default they are denied: the real name is encrypted). Chromium sends an ECH placeholder by default.")
    var allowECH = false

    func validate() throws {
        guard maxConnections > 0, headerTimeout > 0, idleTimeout > 0, (1...256).contains(threads) else { throw ValidationError("limits and timeouts must be positive, and --threads from 1 to 256") }
    }

    func run() throws {
        var options = ProxyOptions()
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            CLI.fail("error: --listen must be host:port, not '\(Redactor.redact(listen))'")
        }
        options.host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        options.port = port
        options.maxConnections = maxConnections
        options.headerTimeout = .seconds(Int64(headerTimeout))
        options.idleTimeout = .seconds(Int64(idleTimeout))
        options.threads = threads
        options.allowECH = allowECH
        var pins: [String: [IPAddress]] = [:]
        for r in resolve {
            guard let (host, ip) = AddressResolver.pin(r) else { CLI.fail("error: --resolve must be HOST=IP, not '\(Redactor.redact(r))'") }
            pins[host, default: []].append(ip)
        }
        let engine = SecretsEngineLoader.engine(known: known.known, minimumConfidence: .high)
        let log: AuditLog?
        do { log = try audit.map(AuditLog.init(path:)) } catch { CLI.fail("error: \(error)") }
        let proxy: EgressProxy
        do { proxy = try EgressProxy(manifestPath: manifest, engine: engine, resolver: AddressResolver(pinned: pins), audit: log, options: options) }
        catch { CLI.fail("error: \(error)") }
        // Said once signals are watched too: a supervisor may send SIGHUP as soon as it reads this line.
        let ready: String
        do {
            let bound = try proxy.start()
            ready = "provenant guard proxy: listening on \(bound.ipAddress ?? options.host):\(bound.port ?? port)\n"
        } catch {
            CLI.fail("error: cannot listen on \(Redactor.redact(listen)): \(error)")
        }
        do {
            try proxy.runUntilSignalled(watching: { FileHandle.standardError.write(Data(ready.utf8)) }) { result in
                switch result {
                case .success: FileHandle.standardError.write(Data("provenant guard proxy: manifest reloaded\n".utf8))
                case .failure(let e): CLI.stderr("provenant guard proxy: reload failed, the previous manifest stays in force: \(e)")
                }
            }
        } catch {
            CLI.fail("error: \(error)")
        }
    }
}
