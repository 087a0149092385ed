import Advisories
import Catalog
import ArgumentParser
import Attestation
import Foundation
import Logging
import ProvenantCore
import Server

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "The fleet server: every agent's releases, where they run, and what they contain.",
        subcommands: [ServerRun.self, ServerToken.self],
        defaultSubcommand: ServerRun.self
    )
}

/// `--database sqlite:PATH` (the embedded default).
struct FleetDatabaseOption: ParsableArguments {
    /// The schema could not be prepared: for PostgreSQL, why a connection fails, when one does.
    static func fail(_ store: any FleetStore, _ error: any Error) async -> Never {
        if let pg = store as? PostgresFleetStore, let why = await pg.connectionProblem() { CLI.fail("error: --database: cannot connect: \(why)") }
        CLI.fail("error: --database: cannot prepare the schema: \(error)")
    }


    @Option(name: .long, help: "The database: sqlite:PATH (embedded; created when absent), or postgres://USER@HOST[:PORT]/DATABASE[?sslmode=…] (the password from PGPASSWORD; TLS verified unless the host is loopback or sslmode says otherwise).")
    var database: String = "sqlite:provenant-fleet.sqlite"

    func open() throws -> any FleetStore {
        // The database and its WAL and shared-memory files hold token hashes: the owner's only.
        umask(0o077)
        if database.hasPrefix("sqlite:") {
            let path = String(database.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw ValidationError("--database sqlite:PATH needs a path") }
            do { return try SQLiteFleetStore(path: path) } catch { CLI.fail("error: --database \(path): \(error)") }
        }
        if database.hasPrefix("postgres://") || database.hasPrefix("postgresql://") {
            let address: PostgresFleetStore.Address
            switch PostgresFleetStore.Address.parse(database) {
            case .success(let a): address = a
            case .failure(let why): throw ValidationError("--database: \(why)")
            }
            // Its client runs on NIO's shared event loops, which stop the process when they cannot open
            // their descriptors: said first (`server run` asked before anything else).
            if let why = FleetServer.eventLoopShortfall() { CLI.fail("error: \(why)") }
            // postgres-nio logs every failed connection attempt at info; an outage is reported once per request instead.
            var logger = Logger(label: "provenant.postgres")
            logger.logLevel = .error
            do { return try PostgresFleetStore(address, logger: logger) } catch { CLI.fail("error: --database: \(error)") }
        }
        throw ValidationError("--database must be sqlite:PATH or postgres://USER@HOST[:PORT]/DATABASE")
    }
}

struct ServerRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Serve the fleet API (the default).")

    @OptionGroup var db: FleetDatabaseOption
    @Option(name: .long, help: "Address and port to listen on (port 0 picks a free one, printed on start).")
    var listen: String = "127.0.0.1:8080"
    @Option(name: .long, help: "The largest request body accepted, in MiB.")
    var maxBodyMib: Int = 64
    @Option(name: .long, help: "Request bodies read at once, server-wide, in MiB: past it an upload is answered 503 with Retry-After. Default: four times --max-body-mib.")
    var maxUploadMib: Int?
    @Option(name: .long, help: "Seconds a request body may take before it must keep up 16 KiB/s on average; a slower one is answered 408.")
    var bodyGraceSeconds: Int = 30
    @Option(name: .long, help: "Requests per second allowed per token (with bursts of ten times as many).")
    var rateLimit: Double = 50
    @Option(name: .long, help: "Serve HTTPS with this PEM certificate chain (with --tls-key).")
    var tlsCert: String?
    @Option(name: .long, help: "The PEM private key for --tls-cert; must be mode 0600 or stricter.")
    var tlsKey: String?
    @Option(name: .long, help: "The server's OSV database (SQLite; created when absent). Default: beside an SQLite --database, as NAME.osv.sqlite; with PostgreSQL, a private cache of the advisory log replicas share, rebuilt at start and removed on exit.")
    var advisories: String?
    @Option(name: .long, help: "A YAML trust policy: per agent (or \"*\"), the key or certificate identity and issuer that must have signed its attestations, and the predicate type, builder and source they must name. Without it, attestations are stored as not checked.")
    var trustPolicy: String?
    @Option(name: .long, help: "Where to POST findings new on deployed releases after an advisory import (http or https URL).")
    var webhook: String?
    @Option(name: .long, help: "A file holding the webhook's HMAC-SHA256 secret (required with --webhook).")
    var webhookSecretFile: String?
    @Option(name: .long, help: ArgumentHelp("Components of an ecosystem whose advisories are older than DAYS, or of an unknown age, are listed as NOT CHECKED (their findings stay listed). An ecosystem is as of the last import that named it with as_of and was a whole export of it (POST /v1/advisories/import?as_of=TIME&ecosystem=NAME). Without it any age is used.", valueName: "DAYS"))
    var maxDBAge: Int?

    func validate() throws {
        if let d = maxDBAge, d < 0 { throw ValidationError("--max-db-age must be 0 or more days, got \(d)") }
        guard Self.hostPort(listen) != nil else { throw ValidationError("--listen must be HOST:PORT") }
        guard (1...1024).contains(maxBodyMib) else { throw ValidationError("--max-body-mib must be 1 to 1024") }
        if let maxUploadMib, !(maxBodyMib...65536).contains(maxUploadMib) { throw ValidationError("--max-upload-mib must be from --max-body-mib (\(maxBodyMib)) to 65536") }
        guard (1...3600).contains(bodyGraceSeconds) else { throw ValidationError("--body-grace-seconds must be 1 to 3600") }
        guard rateLimit > 0 else { throw ValidationError("--rate-limit must be above 0") }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        if let webhook {
            guard let u = URL(string: webhook), ["http", "https"].contains(u.scheme?.lowercased() ?? ""), u.host?.isEmpty == false else {
                throw ValidationError("--webhook must be an http or https URL")
            }
            guard webhookSecretFile != nil else { throw ValidationError("--webhook needs --webhook-secret-file: deliveries are always signed") }
        } else if webhookSecretFile != nil {
            throw ValidationError("--webhook-secret-file is only used with --webhook")
        }
    }

    /// The OSV database's path: given, or beside the SQLite database.
    /// The OSV database's path, and whether it is a private cache to remove on exit.
    func advisoriesPath() throws -> (path: String, temporary: Bool) {
        if let advisories { return (advisories, false) }
        guard db.database.hasPrefix("sqlite:") else {
            // On PostgreSQL the advisories live in the shared log; this server's copy is a cache
            // rebuilt from it at start, in a directory of its own.
            var template = Array(((ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/provenant-osv-XXXXXX").utf8CString)
            guard let dir = mkdtemp(&template) else { CLI.fail("error: cannot make a directory for the OSV cache") }
            return (String(cString: dir) + "/osv.sqlite", true)
        }
        var base = String(db.database.dropFirst("sqlite:".count))
        if base.hasSuffix(".sqlite") { base = String(base.dropLast(".sqlite".count)) }
        return (base + ".osv.sqlite", false)
    }

    static func hostPort(_ s: String) -> (String, Int)? {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(s[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    func run() async throws {
        // Before anything starts NIO's event loops: the PostgreSQL client's start them too.
        if let why = FleetServer.eventLoopShortfall() { CLI.fail("error: \(why)") }
        // Every file is read first: a bad trust policy, certificate or secret stops the server before it
        // touches the database (or, on PostgreSQL, spends a minute catching up with the advisory log).
        var policy: FleetTrustPolicy?
        if let trustPolicy {
            do { policy = try FleetTrustPolicy.load(trustPolicy) } catch { CLI.fail("error: --trust-policy: \(error)") }
            // As `verify` warns: unanchored, `github\.com/acme/` also matches https://evil.example/github.com/acme/… (helper-150).
            for (agent, req) in (policy?.agents ?? [:]).sorted(by: { $0.key < $1.key }) {
                if case .regex(let re) = req.identity, !VerifyCommand.isAnchored(re) {
                    CLI.stderr("warning: --trust-policy: agent \(Redactor.quote(agent, max: 80)): certificateIdentityRegexp '\(Redactor.quote(re, max: 200))' is not anchored with ^…$, so it accepts any identity that merely contains a match; write '^(?:…)$' unless that is meant")
                }
            }
        }
        var tls: FleetTLS?
        if let tlsCert, let tlsKey {
            do { tls = try FleetServer.tlsConfiguration(certificate: tlsCert, key: tlsKey) } catch { CLI.fail("error: \(error)") }
        }
        var logger = Logger(label: "provenant.server")
        logger.logLevel = .warning
        var hook: FleetWebhook?
        if let webhook, let webhookSecretFile {
            let secret: [UInt8]
            do { secret = try NamedInputFile.read(webhookSecretFile, limit: 4096, what: "the webhook secret", regularOnly: true) } catch { CLI.fail("error: --webhook-secret-file \(error)") }
            let trimmed = Array(String(decoding: secret, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
            guard trimmed.count >= 16 else { CLI.fail("error: --webhook-secret-file: the secret must be at least 16 bytes") }
            hook = FleetWebhook(url: webhook, secret: trimmed, logger: logger)
        }
        let store = try db.open()
        do { try await store.migrate() } catch { await FleetDatabaseOption.fail(store, error) }
        var options = FleetServerOptions()
        options.maxBodyBytes = maxBodyMib << 20
        options.maxUploadBytes = maxUploadMib.map { $0 << 20 }
        options.bodyGraceSeconds = Double(bodyGraceSeconds)
        options.requestsPerSecond = rateLimit
        options.burst = rateLimit * 10
        let (host, port) = Self.hostPort(listen)!
        let (osvPath, temporary) = try advisoriesPath()
        // A private cache goes with the server, however it stops.
        @Sendable func fail(_ message: String) -> Never {
            if temporary { try? FileManager.default.removeItem(atPath: (osvPath as NSString).deletingLastPathComponent) }
            CLI.fail(message)
        }
        let osv: AdvisoryStore
        do { osv = try AdvisoryStore(path: osvPath) } catch { fail("error: --advisories: \(error)") }
        let fleetAdvisories = FleetAdvisories(database: osv, store: store, webhook: hook, maxAgeDays: maxDBAge)
        // The OSV database first catches up with the advisory log replicas share (PostgreSQL).
        do { try await fleetAdvisories.sync() } catch { fail("error: cannot read the shared advisory log: \(error)") }
        // What an import wrote down to match again and did not finish (a crash, an outage) is matched now.
        do { try await fleetAdvisories.rematchPending() } catch {
            CLI.stderr("warning: the re-match an earlier import left pending did not run (\(error)); the next import runs it")
        }
        // Attestations judged under another trust policy vouch for nothing until judged under this one.
        do {
            let stale = try await FleetProvenance.markStale(store, policy: policy)
            if stale > 0 { CLI.stderr("\(stale) attestation(s) were judged under another trust policy: not checked until verified again, now, in the background") }
        } catch { fail("error: cannot mark attestations judged under another trust policy: \(error)") }
        let reverify = Task { [policy] in
            do { _ = try await FleetProvenance.reverifyStale(store, policy: policy) } catch {
                CLI.stderr("warning: verifying stored attestations under the trust policy stopped (\(error)); they stay not checked until the next start")
            }
        }
        defer { reverify.cancel() }
        // Releases stored before their SBOM's unread inputs were kept get them from the stored SBOM.
        let recordUnread = Task {
            do {
                let (_, passedOver) = try await FleetIngest.recordUnreadInputs(store)
                if passedOver > 0 { CLI.stderr("note: \(passedOver) stored release(s) could not have what their SBOM says it could not read recorded (the SBOM cannot be read again, or an outage); they are listed as 'not recorded'") }
            } catch is CancellationError {} catch {
                CLI.stderr("warning: recording what stored SBOMs say they could not read stopped (\(error)); those releases stay 'not recorded' until the next start")
            }
        }
        defer { recordUnread.cancel() }
        let scheme = tls == nil ? "http" : "https"
        do {
            try await FleetServer(store: store, advisories: fleetAdvisories, options: options, trustPolicy: policy).run(host: host, port: port, logger: logger, tls: tls, onRunning: { bound in
                CLI.stderr("provenant server listening on \(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(bound)")
            }, giveUp: {
                fail("error: the shutdown did not end within 25 s (a request that does not stop when cancelled); exiting")
            })
        } catch {
            fail("error: \(error)")
        }
        if temporary { try? FileManager.default.removeItem(atPath: (osvPath as NSString).deletingLastPathComponent) }
    }
}

struct ServerToken: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "Manage the server's bearer tokens.",
                                                    subcommands: [ServerTokenCreate.self, ServerTokenList.self, ServerTokenRevoke.self])
}

struct ServerTokenCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a bearer token and print it once on stdout; only its SHA-256 is stored.",
        discussion: "Scopes: admin (everything), read (every query), ingest (push releases and deployments of any agent), ingest:AGENT (of that agent only)."
    )

    @OptionGroup var db: FleetDatabaseOption
    @Option(name: .long, help: "admin, read, ingest or ingest:AGENT.")
    var scope: String

    func validate() throws {
        guard TokenScope(scope) != nil else { throw ValidationError("--scope must be admin, read, ingest or ingest:AGENT (AGENT: letters, digits and . _ - +)") }
    }

    func run() async throws {
        let store = try db.open()
        do { try await store.migrate() } catch { await FleetDatabaseOption.fail(store, error) }
        let token = TokenHash.generate()
        try await store.createToken(hash: TokenHash.hash(token), scope: TokenScope(scope)!, createdAt: ISO8601DateFormatter().string(from: Date()))
        print(token)
        CLI.stderr("created a token with scope \(scope); it is shown once and stored only as its SHA-256")
    }
}

struct ServerTokenList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the tokens: the first 16 hex digits of each one's SHA-256 (what revoke takes), its scope and when it was made."
    )
    @OptionGroup var db: FleetDatabaseOption

    func run() async throws {
        let store = try db.open()
        do { try await store.migrate() } catch { await FleetDatabaseOption.fail(store, error) }
        for t in try await store.tokens() { print("\(t.hash.prefix(16))  \(t.scope)  \(t.createdAt)") }
    }
}

struct ServerTokenRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Delete a token, with its sign-in links and browser sessions: named by the start of its SHA-256 as `token list` shows it, or by the token itself on standard input with --stdin."
    )
    @OptionGroup var db: FleetDatabaseOption
    @Argument(help: "At least 8 hex digits of the token's SHA-256, matching exactly one token.")
    var hashPrefix: String?
    @Flag(name: .long, help: "Read the token itself from standard input (never from the command line, where it would stay in shell history).")
    var stdin = false

    func validate() throws {
        guard (hashPrefix == nil) != !stdin else { throw ValidationError("name the token by its hash prefix, or pass --stdin, not both") }
        if let p = hashPrefix, !(8...64).contains(p.count) || !p.allSatisfy(\.isHexDigit) {
            throw ValidationError("the hash prefix must be 8 to 64 hex digits, as `server token list` shows")
        }
    }

    func run() async throws {
        let store = try db.open()
        do { try await store.migrate() } catch { await FleetDatabaseOption.fail(store, error) }
        let hash: String
        if stdin {
            let token = (readLine(strippingNewline: true) ?? "").trimmingCharacters(in: .whitespaces)
            guard TokenHash.isWellFormed(token) else { CLI.fail("error: standard input does not hold a token") }
            hash = TokenHash.hash(token)
        } else {
            let prefix = hashPrefix!.lowercased()
            let matching = try await store.tokens().filter { $0.hash.hasPrefix(prefix) }
            guard matching.count == 1 else {
                CLI.fail(matching.isEmpty ? "error: no token's hash starts with \(prefix)" : "error: \(matching.count) tokens' hashes start with \(prefix); give more digits")
            }
            hash = matching[0].hash
        }
        guard try await store.revokeToken(hash: hash) else { CLI.fail("error: no such token") }
        CLI.stderr("revoked the token \(hash.prefix(16)), its sign-in links and its sessions")
    }
}
