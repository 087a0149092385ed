import Foundation
import Logging
import NIOSSL
import PostgresNIO
import ProvenantCore
import Synchronization

/// The store for a fleet one machine no longer holds: PostgreSQL through postgres-nio's pooled client,
/// with the same tables and migrations as SQLite (`FleetSchema`). Migrations take a PostgreSQL
/// advisory lock, so servers starting together on one database migrate it once.
public final class PostgresFleetStore: FleetStore {
    let client: PostgresClient
    let address: Address
    /// The TLS the pool connects with, for `connectionProblem`'s own connection.
    let tlsConfiguration: TLSConfiguration?
    let logger: Logger
    let runner: Task<Void, Never>
    /// The longest one operation waits, for a connection included: past it the request fails (`503`)
    /// instead of hanging while the database is away.
    let deadline: Duration

    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE[&sslrootcert=FILE]]`; the password
    /// may come from `PGPASSWORD` instead.
    ///
    /// `sslmode` is libpq's, less the modes that fall back to plain text without a word (`allow`,
    /// `prefer`). Without it, a loopback host is `disable` and any other `verify-full`: the link carries
    /// token hashes and attestation verdicts, and was always plain text, `?sslmode=require` included,
    /// which was ignored (found by helper-207). Any other parameter is refused, not ignored.
    public struct Address: Sendable, Equatable, CustomStringConvertible {
        public enum TLSMode: String, Sendable, Equatable {
            /// Plain text.
            case disable
            /// Encrypted, the server's certificate not checked (libpq's `require`).
            case require
            /// Encrypted, the certificate checked against `sslrootcert` (required), its name not.
            case verifyCA = "verify-ca"
            /// Encrypted, the certificate and its name checked.
            case verifyFull = "verify-full"
        }
        public var user: String
        public var password: String?
        public var host: String
        public var port: Int
        public var database: String
        public var tls: TLSMode
        /// PEM certificates to trust instead of the system's (`sslrootcert`).
        public var rootCertificates: String?

        public init?(_ url: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
            guard case .success(let a) = Self.parse(url, environment: environment) else { return nil }
            self = a
        }

        /// The address, or why `url` is not one.
        public static func parse(_ url: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> Result<Address, AddressError> {
            let usage = AddressError("must be postgres://USER@HOST[:PORT]/DATABASE[?sslmode=disable|require|verify-ca|verify-full]")
            guard let c = URLComponents(string: url), c.scheme == "postgres" || c.scheme == "postgresql",
                  let user = c.user, !user.isEmpty, let host = c.host, !host.isEmpty else { return .failure(usage) }
            let db = String(c.path.drop(while: { $0 == "/" }))
            guard !db.isEmpty, !db.contains("/"), (c.port ?? 5432) > 0, (c.port ?? 5432) < 65536 else { return .failure(usage) }
            var mode: TLSMode?, root: String?
            for item in c.queryItems ?? [] {
                switch item.name {
                case "sslmode":
                    guard mode == nil, let m = item.value.flatMap(TLSMode.init(rawValue:)) else {
                        return .failure(AddressError("sslmode must be given once, as disable, require, verify-ca or verify-full ('allow' and 'prefer' may fall back to plain text, and are refused)"))
                    }
                    mode = m
                case "sslrootcert":
                    guard root == nil, let v = item.value, !v.isEmpty else { return .failure(AddressError("sslrootcert must be given once, as a file of PEM certificates")) }
                    root = v
                default:
                    return .failure(AddressError("the parameter '\(Redactor.quote(item.name, max: 40))' is not one Provenant reads (sslmode, sslrootcert); refused rather than ignored"))
                }
            }
            let bare = HostAddress.bare(host)
            let tls = mode ?? (HostAddress.isLoopback(bare) ? .disable : .verifyFull)
            if tls == .verifyFull, HostAddress.isIPLiteral(bare) {
                return .failure(AddressError("sslmode=verify-full checks the certificate's name, and \(bare) is an address, not a name: connect by host name, or give sslmode=verify-ca with sslrootcert, your own CA"))
            }
            // Without the name checked, any certificate a public CA issued for any domain would pass:
            // verify-ca means the operator's own CA (found by helper-209; libpq 16 agrees).
            if tls == .verifyCA, root == nil {
                return .failure(AddressError("sslmode=verify-ca does not check the certificate's name, so it needs sslrootcert, the CA that issues only the database's certificates"))
            }
            if root != nil, tls == .disable || tls == .require {
                return .failure(AddressError("sslrootcert is only read with sslmode=verify-ca or verify-full"))
            }
            return .success(Address(user: user, password: c.password ?? environment["PGPASSWORD"], host: bare, port: c.port ?? 5432,
                                    database: db, tls: tls, rootCertificates: root))
        }

        init(user: String, password: String?, host: String, port: Int, database: String, tls: TLSMode, rootCertificates: String?) {
            self.user = user; self.password = password; self.host = host; self.port = port; self.database = database
            self.tls = tls; self.rootCertificates = rootCertificates
        }

        /// Never with the password.
        public var description: String { "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)?sslmode=\(tls.rawValue)" }
    }

    public struct AddressError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        init(_ d: String) { description = d }
    }

    public init(_ address: Address, deadline: Duration = .seconds(10), logger: Logger = Logger(label: "provenant.postgres")) throws {
        let tls: PostgresClient.Configuration.TLS
        var tlsConfiguration: TLSConfiguration?
        switch address.tls {
        case .disable:
            tls = .disable
        case .require, .verifyCA, .verifyFull:
            var t = TLSConfiguration.makeClientConfiguration()
            t.certificateVerification = address.tls == .require ? .none : address.tls == .verifyCA ? .noHostnameVerification : .fullVerification
            if let root = address.rootCertificates {
                // Read here, bounded, so a bad file is an error at start and not a failure per connection.
                let bytes = try NamedInputFile.read(root, limit: 1 << 20, what: "sslrootcert", regularOnly: true)
                let certificates = try NIOSSLCertificate.fromPEMBytes(bytes)
                guard !certificates.isEmpty else { throw AddressError("sslrootcert \(Redactor.redact(root)) holds no PEM certificate") }
                t.trustRoots = .certificates(certificates)
            }
            tls = .require(t)
            tlsConfiguration = t
        }
        self.address = address
        self.tlsConfiguration = tlsConfiguration
        var config = PostgresClient.Configuration(host: address.host, port: address.port, username: address.user, password: address.password,
                                                  database: address.database, tls: tls)
        config.options.maximumConnections = 16
        client = PostgresClient(configuration: config, backgroundLogger: logger)
        self.logger = logger
        self.deadline = deadline
        let client = self.client
        runner = Task { await client.run() }
    }

    deinit { runner.cancel() }

    /// Why one connection of its own cannot be made, said plainly: the pool retries until its
    /// deadline and then says only that PostgreSQL did not answer, where the cause is a server without
    /// TLS or a certificate that does not verify (found by helper-209). nil when it connects.
    public func connectionProblem() async -> String? {
        let tls: PostgresConnection.Configuration.TLS
        if let t = tlsConfiguration {
            guard let context = try? NIOSSLContext(configuration: t) else { return "the TLS settings cannot be used" }
            tls = .require(context)
        } else {
            tls = .disable
        }
        var config = PostgresConnection.Configuration(host: address.host, port: address.port, username: address.user, password: address.password,
                                                      database: address.database, tls: tls)
        config.options.connectTimeout = .seconds(10)
        do {
            let c = try await PostgresConnection.connect(on: NIOSingletons.posixEventLoopGroup.next(), configuration: config, id: 0, logger: logger).get()
            try? await c.close().get()
            return nil
        } catch let e as PSQLError {
            var why = "PostgreSQL at \(address): \(e.code)"
            if let u = e.underlying { why += " (\(String(describing: u)))" }
            if let m = e.serverInfo?[.message] { why += ": \(m)" }
            if e.code == .sslUnsupported { why += "; the server offers no TLS: give sslmode=disable to accept plain text" }
            return Redactor.escapeControls(Redactor.redact(why))
        } catch {
            return Redactor.escapeControls(Redactor.redact("PostgreSQL at \(address): \(error)"))
        }
    }

    /// Runs `body` within the deadline; the database being away is `StoreUnavailable`. The answer does
    /// not wait for `body` to notice its cancellation: a hung PostgreSQL (stopped, not refusing) never
    /// returns from a query, and a task group would wait for it (found by review).
    func timed<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let deadline = self.deadline
        let race = DeadlineRace<T>()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            race.start(continuation)
            race.work = Task {
                do { race.finish(.success(try await body())) } catch let e as PSQLError where e.code == .server {
                    // The server's own refusals (a constraint, a bad statement) are not outages.
                    race.finish(.failure(e))
                } catch let e as PSQLError {
                    race.finish(.failure(StoreUnavailable(reason: "PostgreSQL: \(e.code)")))
                } catch {
                    race.finish(.failure(error))
                }
            }
            Task {
                try? await Task.sleep(for: deadline)
                race.finish(.failure(StoreUnavailable(reason: "no answer from PostgreSQL within \(deadline)")))
                race.work?.cancel()
            }
        }
    }

    /// Every statement of the schema's migrations, under an advisory lock so replicas starting
    /// together migrate once.
    public func migrate() async throws {
        let logger = self.logger
        try await timed { [client] in
            try await client.withTransaction(logger: logger) { conn in
                try await conn.query("SELECT pg_advisory_xact_lock(\(FleetSchema.migrationLock))", logger: logger)
                try await conn.query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", logger: logger)
                var done = 0
                for try await v in try await conn.query("SELECT COALESCE(MAX(version), 0) FROM schema_version", logger: logger).decode(Int.self) { done = v }
                for (n, m) in FleetSchema.migrations.enumerated() where n >= done {
                    for statement in FleetSchema.statements(m, .postgres) { try await conn.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                    try await conn.query("INSERT INTO schema_version (version) VALUES (\(n + 1))", logger: logger)
                }
            }
        }
    }

    public func createToken(hash: String, scope: TokenScope, createdAt: String) async throws {
        let logger = self.logger
        try await timed { [client] in
            try await client.query("INSERT INTO tokens (hash, scope, agent, created_at) VALUES (\(hash), \(scope.kind.rawValue), \(scope.agent), \(createdAt))", logger: logger)
        }
    }

    public func tokens() async throws -> [TokenSummary] {
        let logger = self.logger
        return try await timed { [client] in
            var out: [TokenSummary] = []
            for try await (hash, scope, agent, createdAt) in try await client.query("SELECT hash, scope, agent, created_at FROM tokens ORDER BY created_at, id", logger: logger)
                .decode((String, String, String?, String).self) {
                out.append(TokenSummary(hash: hash, scope: scope + (agent.map { ":" + $0 } ?? ""), createdAt: createdAt))
            }
            return out
        }
    }

    public func revokeToken(hash: String) async throws -> Bool {
        let logger = self.logger
        return try await timed { [client] in
            try await client.withTransaction(logger: logger) { conn in
                try await conn.query("DELETE FROM sessions WHERE token_hash = \(hash)", logger: logger)
                var deleted = false
                for try await _ in try await conn.query("DELETE FROM tokens WHERE hash = \(hash) RETURNING hash", logger: logger).decode(String.self) { deleted = true }
                return deleted
            }
        }
    }

    public func token(hash: String) async throws -> TokenScope? {
        let logger = self.logger
        return try await timed { [client] in
            for try await (stored, scope, agent) in try await client.query("SELECT hash, scope, agent FROM tokens WHERE hash = \(hash)", logger: logger)
                .decode((String, String, String?).self) {
                guard TokenHash.equal(stored, hash), let kind = TokenScope.Kind(rawValue: scope) else { return nil }
                return TokenScope(kind: kind, agent: agent)
            }
            return nil
        }
    }

    public func addRelease(_ r: NewRelease) async throws -> ReleaseInsert {
        let logger = self.logger
        return try await timed { [client] in
            try await client.withTransaction(logger: logger) { conn in
                try await conn.query("INSERT INTO agents (name, created_at) VALUES (\(r.agent), \(r.createdAt)) ON CONFLICT (name) DO NOTHING", logger: logger)
                var agentID: Int64 = 0
                for try await id in try await conn.query("SELECT id FROM agents WHERE name = \(r.agent)", logger: logger).decode(Int64.self) { agentID = id }
                // Two pushes of one release at once: the second finds the first's row, never a duplicate.
                var releaseID: Int64?
                for try await id in try await conn.query("""
                    INSERT INTO releases (agent_id, version, sbom_format, sbom_sha256, components, created_at, sbom, artifact_sha256, unread_inputs)
                    VALUES (\(agentID), \(r.version), \(r.sbomFormat), \(r.sbomSHA256), \(r.components.count), \(r.createdAt), \(r.sbom), \(r.artifactSHA256), \(FleetSchema.column(r.unreadInputs)))
                    ON CONFLICT (agent_id, version) DO NOTHING RETURNING id
                    """, logger: logger).decode(Int64.self) { releaseID = id }
                guard let releaseID else {
                    var existing = "", artifact: String?
                    for try await (sha, art) in try await conn.query("SELECT sbom_sha256, artifact_sha256 FROM releases WHERE agent_id = \(agentID) AND version = \(r.version)", logger: logger)
                        .decode((String, String?).self) { existing = sha; artifact = art }
                    guard existing == r.sbomSHA256 else { return .conflict(existingSHA256: existing) }
                    // A re-push that names no digest contradicts nothing; one that names another does.
                    return r.artifactSHA256 == nil || artifact == r.artifactSHA256 ? .unchanged : .artifactConflict(existing: artifact)
                }
                // One statement per table: the rows travel as arrays and UNNEST spreads them.
                let cs = r.components, ss = r.sources
                try await conn.query("""
                    INSERT INTO components (release_id, purl, ecosystem, name, version, licenses, source_purl, osv_ecosystem, osv_name)
                    SELECT \(releaseID), p, e, n, v, l, s, NULLIF(oe, ''), NULLIF(onm, '')
                    FROM UNNEST(\(cs.map(\.purl))::text[], \(cs.map(\.ecosystem))::text[], \(cs.map(\.name))::text[], \(cs.map(\.version))::text[],
                                \(cs.map { FleetSchema.column($0.licenses) })::text[], \(ss.map(\.purl))::text[],
                                \(ss.map { $0.osv?.ecosystem ?? "" })::text[], \(ss.map { $0.osv?.name ?? "" })::text[]) AS t(p, e, n, v, l, s, oe, onm)
                    """, logger: logger)
                try await Self.insertFindings(conn, releaseID: releaseID, r.findings, logger: logger)
                return .created
            }
        }
    }

    static func insertFindings(_ conn: PostgresConnection, releaseID: Int64, _ fs: [StoredFinding], logger: Logger) async throws {
        guard !fs.isEmpty else { return }
        try await conn.query("""
            INSERT INTO findings (release_id, purl, advisory_id, aliases, severity, severity_rank, summary, fixed, status, first_seen)
            SELECT \(releaseID), p, i, a, s, r, m, f, st, fs FROM UNNEST(\(fs.map(\.purl))::text[], \(fs.map(\.id))::text[],
                \(fs.map { FleetSchema.column($0.aliases) })::text[], \(fs.map(\.severity))::text[], \(fs.map(\.severityRank))::bigint[],
                \(fs.map(\.summary))::text[], \(fs.map { FleetSchema.column($0.fixed) })::text[], \(fs.map(\.status))::text[], \(fs.map(\.firstSeen))::text[])
                AS t(p, i, a, s, r, m, f, st, fs)
            ON CONFLICT (release_id, purl, advisory_id) DO NOTHING
            """, logger: logger)
    }

    public func recordDeployment(agent: String, version: String, environment: String, cluster: String, at: String) async throws -> Bool {
        let logger = self.logger
        return try await timed { [client] in
            var done = false
            for try await _ in try await client.query("""
                INSERT INTO deployments (agent_id, environment, cluster, release_id, updated_at)
                SELECT a.id, \(environment), \(cluster), r.id, \(at) FROM releases r JOIN agents a ON a.id = r.agent_id WHERE a.name = \(agent) AND r.version = \(version)
                ON CONFLICT (agent_id, environment, cluster) DO UPDATE SET release_id = excluded.release_id, updated_at = excluded.updated_at
                RETURNING 1
                """, logger: logger).decode(Int.self) { done = true }
            return done
        }
    }

    public func agents() async throws -> [AgentSummary] {
        let logger = self.logger
        return try await timed { [client] in
            var envs: [String: Set<String>] = [:]
            for try await (name, env) in try await client.query("SELECT a.name, d.environment FROM deployments d JOIN agents a ON a.id = d.agent_id", logger: logger)
                .decode((String, String).self) { envs[name, default: []].insert(env) }
            var out: [AgentSummary] = []
            for try await (name, count, latest) in try await client.query("""
                SELECT a.name, COUNT(r.id)::bigint,
                       (SELECT version FROM releases WHERE agent_id = a.id ORDER BY created_at DESC, id DESC LIMIT 1)
                FROM agents a LEFT JOIN releases r ON r.agent_id = a.id GROUP BY a.id, a.name ORDER BY a.name COLLATE "C"
                """, logger: logger).decode((String, Int64, String?).self) {
                out.append(AgentSummary(name: name, releases: Int(count), latest: latest, environments: (envs[name] ?? []).sorted()))
            }
            return out
        }
    }

    public func releases(agent: String) async throws -> [ReleaseSummary]? {
        let logger = self.logger
        return try await timed { [client] in
            var known = false
            for try await _ in try await client.query("SELECT id FROM agents WHERE name = \(agent)", logger: logger).decode(Int64.self) { known = true }
            guard known else { return nil }
            return try await Self.releaseSummaries(client, agent: agent, version: nil, logger: logger)
        }
    }

    public func release(agent: String, version: String) async throws -> ReleaseSummary? {
        let logger = self.logger
        return try await timed { [client] in try await Self.releaseSummaries(client, agent: agent, version: version, logger: logger).first }
    }

    static func releaseSummaries(_ client: PostgresClient, agent: String, version: String?, logger: Logger) async throws -> [ReleaseSummary] {
        var rows: [(Int64, ReleaseSummary)] = []
        for try await (id, name, v, format, sha, count, created, artifact, provenance) in try await client.query("""
            SELECT r.id, a.name, r.version, r.sbom_format, r.sbom_sha256, r.components::bigint, r.created_at, r.artifact_sha256,
                   \(unescaped: FleetSchema.provenanceSQL)
            FROM releases r JOIN agents a ON a.id = r.agent_id WHERE a.name = \(agent) AND (\(version)::text IS NULL OR r.version = \(version))
            ORDER BY r.created_at, r.id
            """, logger: logger).decode((Int64, String, String, String, String, Int64, String, String?, String).self) {
            rows.append((id, ReleaseSummary(agent: name, version: v, sbomFormat: format, sbomSHA256: sha, components: Int(count), createdAt: created, deployments: [],
                                            artifactSHA256: artifact, provenance: provenance)))
        }
        var out: [ReleaseSummary] = []
        for (id, var summary) in rows {
            for try await (env, cluster) in try await client.query("SELECT environment, cluster FROM deployments WHERE release_id = \(id)", logger: logger)
                .decode((String, String).self) { summary.deployments.append(DeploymentPlace(environment: env, cluster: cluster)) }
            summary.deployments.sort()
            out.append(summary)
        }
        return out
    }

    func releaseID(_ client: PostgresClient, agent: String, version: String) async throws -> Int64? {
        var found: Int64?
        for try await id in try await client.query("SELECT r.id FROM releases r JOIN agents a ON a.id = r.agent_id WHERE a.name = \(agent) AND r.version = \(version)",
                                                   logger: logger).decode(Int64.self) { found = id }
        return found
    }

    public func components(agent: String, version: String, after: String?, limit: Int) async throws -> [StoredComponent]? {
        let logger = self.logger
        return try await timed { [client, self] in
            guard let id = try await self.releaseID(client, agent: agent, version: version) else { return nil }
            var out: [StoredComponent] = []
            for try await (purl, eco, name, v, licenses) in try await client.query(
                "SELECT purl, ecosystem, name, version, licenses FROM components WHERE release_id = \(id) AND purl COLLATE \"C\" > \(after ?? "") ORDER BY purl COLLATE \"C\" LIMIT \(max(0, limit))", logger: logger)
                .decode((String, String, String, String, String).self) {
                out.append(StoredComponent(purl: purl, ecosystem: eco, name: name, version: v, licenses: FleetSchema.items(licenses)))
            }
            return out
        }
    }

    public func components(purl: String, after: ComponentHitCursor?, limit: Int) async throws -> [ComponentHitRow]? {
        try await hits(purl: purl, ecosystem: nil, name: nil, after: after, limit: limit)
    }

    public func components(ecosystem: String, name: String, after: ComponentHitCursor?, limit: Int) async throws -> [ComponentHitRow]? {
        try await hits(purl: nil, ecosystem: ecosystem, name: name, after: after, limit: limit)
    }

    /// The hits in byte order of agent name, release creation, release id and purl, resuming after the
    /// cursor's row (see the SQLite store).
    func hits(purl: String?, ecosystem: String?, name: String?, after: ComponentHitCursor?, limit: Int) async throws -> [ComponentHitRow]? {
        let logger = self.logger
        return try await timed { [client] in
            if let after {
                var known = false
                for try await _ in try await client.query("SELECT id FROM releases WHERE id = \(after.releaseID)", logger: logger).decode(Int64.self) { known = true }
                guard known else { return nil }
            }
            var out: [ComponentHitRow] = []
            for try await (id, agent, release, p, n, v) in try await client.query("""
                SELECT r.id, a.name, r.version, c.purl, c.name, c.version FROM components c
                JOIN releases r ON r.id = c.release_id JOIN agents a ON a.id = r.agent_id
                WHERE (\(purl)::text IS NULL OR c.purl = \(purl)) AND (\(ecosystem)::text IS NULL OR (c.ecosystem = \(ecosystem) AND c.name = \(name)))
                AND (\(after?.releaseID)::bigint IS NULL OR (a.name COLLATE "C", r.created_at COLLATE "C", r.id, c.purl COLLATE "C") >
                     (SELECT a2.name COLLATE "C", r2.created_at COLLATE "C", r2.id, \(after?.purl)::text COLLATE "C" FROM releases r2
                      JOIN agents a2 ON a2.id = r2.agent_id WHERE r2.id = \(after?.releaseID)::bigint))
                ORDER BY a.name COLLATE "C", r.created_at COLLATE "C", r.id, c.purl COLLATE "C" LIMIT \(max(0, limit))
                """, logger: logger).decode((Int64, String, String, String, String, String).self) {
                out.append(ComponentHitRow(hit: ComponentHit(agent: agent, release: release, purl: p, name: n, version: v),
                                           cursor: ComponentHitCursor(releaseID: id, purl: p)))
            }
            return out
        }
    }

    public func sources(agent: String, version: String) async throws -> [String]? {
        let logger = self.logger
        return try await timed { [client, self] in
            guard let id = try await self.releaseID(client, agent: agent, version: version) else { return nil }
            var out: [String] = []
            for try await p in try await client.query("SELECT source_purl FROM components WHERE release_id = \(id) ORDER BY purl COLLATE \"C\"", logger: logger)
                .decode(String.self) { out.append(p) }
            return out
        }
    }

    public func unreadInputs(agent: String, version: String) async throws -> UnreadInputs? {
        let logger = self.logger
        return try await timed { [client, self] in
            guard let id = try await self.releaseID(client, agent: agent, version: version) else { return nil }
            var column: String?
            for try await c in try await client.query("SELECT unread_inputs FROM releases WHERE id = \(id)", logger: logger).decode(String?.self) { column = c }
            return column.map { .recorded(FleetSchema.items($0)) } ?? .notRecorded
        }
    }

    public func releasesWithoutUnreadInputs(after: Int64, limit: Int) async throws -> [(id: Int64, agent: String, version: String)] {
        let logger = self.logger
        return try await timed { [client] in
            var out: [(id: Int64, agent: String, version: String)] = []
            for try await (id, a, v) in try await client.query("SELECT r.id, a.name, r.version FROM releases r JOIN agents a ON a.id = r.agent_id WHERE r.unread_inputs IS NULL AND r.id > \(after) ORDER BY r.id LIMIT \(limit)",
                                                               logger: logger).decode((Int64, String, String).self) { out.append((id, a, v)) }
            return out
        }
    }

    public func countReleasesWithoutUnreadInputs() async throws -> Int {
        let logger = self.logger
        return try await timed { [client] in
            var n = 0
            for try await c in try await client.query("SELECT count(*)::bigint FROM releases WHERE unread_inputs IS NULL", logger: logger).decode(Int64.self) { n = Int(c) }
            return n
        }
    }

    public func recordUnreadInputs(agent: String, version: String, _ inputs: [String]) async throws {
        let logger = self.logger
        try await timed { [client, self] in
            guard let id = try await self.releaseID(client, agent: agent, version: version) else { return }
            try await client.query("UPDATE releases SET unread_inputs = \(FleetSchema.column(inputs)) WHERE id = \(id) AND unread_inputs IS NULL", logger: logger)
        }
    }

    public func sbom(agent: String, version: String) async throws -> Data? {
        let logger = self.logger
        return try await timed { [client] in
            var found: Data?
            for try await bytes in try await client.query("""
                SELECT r.sbom FROM releases r JOIN agents a ON a.id = r.agent_id WHERE a.name = \(agent) AND r.version = \(version)
                """, logger: logger).decode(Data?.self) { found = bytes ?? Data() }
            return found
        }
    }

    public func addPending(_ names: Set<OSVName>) async throws {
        let logger = self.logger
        let sorted = names.sorted()
        try await timed { [client] in
            try await client.query("""
                INSERT INTO pending_rematch (ecosystem, name) SELECT * FROM UNNEST(\(sorted.map(\.ecosystem))::text[], \(sorted.map(\.name))::text[])
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    public func pending() async throws -> Set<OSVName> {
        let logger = self.logger
        return try await timed { [client] in
            var out = Set<OSVName>()
            for try await (e, n) in try await client.query("SELECT ecosystem, name FROM pending_rematch", logger: logger).decode((String, String).self) {
                out.insert(OSVName(ecosystem: e, name: n))
            }
            return out
        }
    }

    public func clearPending(_ names: Set<OSVName>) async throws {
        let logger = self.logger
        let sorted = names.sorted()
        try await timed { [client] in
            try await client.query("""
                DELETE FROM pending_rematch p USING UNNEST(\(sorted.map(\.ecosystem))::text[], \(sorted.map(\.name))::text[]) AS t(e, n)
                WHERE p.ecosystem = t.e AND p.name = t.n
                """, logger: logger)
        }
    }

    public func matchTargets(_ names: Set<OSVName>) async throws -> [MatchTarget] {
        let logger = self.logger
        let sorted = names.sorted()
        return try await timed { [client] in
            var out: [MatchTarget] = []
            for try await (id, purl, source) in try await client.query("""
                SELECT c.release_id, c.purl, c.source_purl FROM components c
                JOIN UNNEST(\(sorted.map(\.ecosystem))::text[], \(sorted.map(\.name))::text[]) AS t(e, n) ON c.osv_ecosystem = t.e AND c.osv_name = t.n
                ORDER BY c.release_id, c.purl COLLATE "C"
                """, logger: logger).decode((Int64, String, String).self) {
                out.append(MatchTarget(releaseID: id, purl: purl, source: source))
            }
            return out
        }
    }

    /// In one transaction, and in a handful of statements whatever the number of components: the
    /// findings there were, those to drop, keep (their text refreshed) and add each go as arrays
    /// (one statement per component took 10 s for 6,690 components, past the deadline).
    public func replaceFindings(_ updates: [FindingUpdate]) async throws -> [FleetFinding] {
        guard !updates.isEmpty else { return [] }
        let logger = self.logger
        return try await timed { [client] in
            try await client.withTransaction(logger: logger) { conn in
                func key(_ r: Int64, _ p: String, _ i: String) -> String { "\(r)\u{0}\(p)\u{0}\(i)" }
                var before = Set<String>()
                for try await (r, p, i) in try await conn.query("""
                    SELECT f.release_id, f.purl, f.advisory_id FROM findings f
                    JOIN UNNEST(\(updates.map(\.releaseID))::bigint[], \(updates.map(\.purl))::text[]) AS t(r, p) ON f.release_id = t.r AND f.purl = t.p
                    """, logger: logger).decode((Int64, String, String).self) { before.insert(key(r, p, i)) }
                var now = Set<String>()
                var kept: [(Int64, StoredFinding)] = [], added: [(Int64, StoredFinding)] = []
                for u in updates {
                    for f in u.findings where now.insert(key(u.releaseID, u.purl, f.id)).inserted {
                        if before.contains(key(u.releaseID, u.purl, f.id)) { kept.append((u.releaseID, f)) } else { added.append((u.releaseID, f)) }
                    }
                }
                let gone = before.subtracting(now).map { $0.split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init) }
                if !gone.isEmpty {
                    try await conn.query("""
                        DELETE FROM findings f USING UNNEST(\(gone.map { Int64($0[0]) ?? -1 })::bigint[], \(gone.map { $0[1] })::text[], \(gone.map { $0[2] })::text[]) AS t(r, p, i)
                        WHERE f.release_id = t.r AND f.purl = t.p AND f.advisory_id = t.i
                        """, logger: logger)
                }
                // A finding kept keeps its first_seen; its text follows the advisory's latest version.
                if !kept.isEmpty {
                    let fs = kept.map(\.1)
                    try await conn.query("""
                        UPDATE findings f SET aliases = t.a, severity = t.s, severity_rank = t.k, summary = t.m, fixed = t.x, status = t.st
                        FROM UNNEST(\(kept.map(\.0))::bigint[], \(fs.map(\.purl))::text[], \(fs.map(\.id))::text[], \(fs.map { FleetSchema.column($0.aliases) })::text[],
                                    \(fs.map(\.severity))::text[], \(fs.map(\.severityRank))::bigint[], \(fs.map(\.summary))::text[],
                                    \(fs.map { FleetSchema.column($0.fixed) })::text[], \(fs.map(\.status))::text[]) AS t(r, p, i, a, s, k, m, x, st)
                        WHERE f.release_id = t.r AND f.purl = t.p AND f.advisory_id = t.i
                        """, logger: logger)
                }
                guard !added.isEmpty else { return [] }
                let fs = added.map(\.1)
                try await conn.query("""
                    INSERT INTO findings (release_id, purl, advisory_id, aliases, severity, severity_rank, summary, fixed, status, first_seen)
                    SELECT r, p, i, a, s, k, m, x, st, fs FROM UNNEST(\(added.map(\.0))::bigint[], \(fs.map(\.purl))::text[], \(fs.map(\.id))::text[],
                        \(fs.map { FleetSchema.column($0.aliases) })::text[], \(fs.map(\.severity))::text[], \(fs.map(\.severityRank))::bigint[],
                        \(fs.map(\.summary))::text[], \(fs.map { FleetSchema.column($0.fixed) })::text[], \(fs.map(\.status))::text[], \(fs.map(\.firstSeen))::text[])
                        AS t(r, p, i, a, s, k, m, x, st, fs)
                    ON CONFLICT (release_id, purl, advisory_id) DO NOTHING
                    """, logger: logger)
                // Where the releases with new findings run: the webhook names deployed ones only.
                let ids = Array(Set(added.map(\.0)))
                var names: [Int64: (String, String)] = [:], envs: [Int64: Set<String>] = [:]
                for try await (id, e) in try await conn.query("SELECT release_id, environment FROM deployments WHERE release_id = ANY(\(ids)::bigint[])",
                                                              logger: logger).decode((Int64, String).self) { envs[id, default: []].insert(e) }
                guard !envs.isEmpty else { return [] }
                for try await (id, a, v) in try await conn.query("""
                    SELECT r.id, a.name, r.version FROM releases r JOIN agents a ON a.id = r.agent_id WHERE r.id = ANY(\(Array(envs.keys))::bigint[])
                    """, logger: logger).decode((Int64, String, String).self) { names[id] = (a, v) }
                return added.compactMap { id, f in
                    guard let e = envs[id], let (a, v) = names[id] else { return nil }
                    return FleetFinding(agent: a, version: v, environments: e.sorted(), finding: f)
                }
            }
        }
    }

    static let findingColumns = "f.purl, f.advisory_id, f.aliases, f.severity, f.severity_rank::bigint, f.summary, f.fixed, f.status, f.first_seen"
    typealias FindingRow = (String, String, String, String, Int64, String, String, String, String)

    static func finding(_ r: FindingRow) -> StoredFinding {
        return StoredFinding(purl: r.0, id: r.1, aliases: FleetSchema.items(r.2), severity: r.3, severityRank: Int(r.4), summary: r.5, fixed: FleetSchema.items(r.6), status: r.7, firstSeen: r.8)
    }

    public func findings(agent: String, version: String) async throws -> [StoredFinding]? {
        let logger = self.logger
        return try await timed { [client, self] in
            guard let id = try await self.releaseID(client, agent: agent, version: version) else { return nil }
            var out: [StoredFinding] = []
            for try await row in try await client.query("""
                SELECT \(unescaped: Self.findingColumns) FROM findings f WHERE f.release_id = \(id)
                ORDER BY f.severity_rank DESC, f.purl COLLATE "C", f.advisory_id COLLATE "C"
                """, logger: logger).decode(FindingRow.self) { out.append(Self.finding(row)) }
            return out
        }
    }

    public func findings(minimumRank: Int, after: FleetFindingCursor?, limit: Int) async throws -> [FleetFinding] {
        let logger = self.logger
        return try await timed { [client] in
            var envs: [Int64: [String]] = [:]
            for try await (id, env) in try await client.query("SELECT DISTINCT release_id, environment FROM deployments", logger: logger)
                .decode((Int64, String).self) { envs[id, default: []].append(env) }
            for id in envs.keys { envs[id]?.sort() }
            var out: [FleetFinding] = []
            for try await (id, agent, version, p, i, a, s, r, m, f, st, fs) in try await client.query("""
                SELECT f.release_id, a.name, r.version, \(unescaped: Self.findingColumns) FROM findings f
                JOIN releases r ON r.id = f.release_id JOIN agents a ON a.id = r.agent_id
                WHERE (f.severity_rank >= \(minimumRank) OR f.severity_rank = 0)
                AND (\(after?.id)::text IS NULL OR (-f.severity_rank, a.name COLLATE "C", r.version COLLATE "C", f.purl COLLATE "C", f.advisory_id COLLATE "C") >
                     (\(after.map { -$0.rank })::bigint, \(after?.agent)::text COLLATE "C", \(after?.version)::text COLLATE "C", \(after?.purl)::text COLLATE "C", \(after?.id)::text COLLATE "C"))
                ORDER BY -f.severity_rank, a.name COLLATE "C", r.version COLLATE "C", f.purl COLLATE "C", f.advisory_id COLLATE "C" LIMIT \(max(0, limit))
                """, logger: logger).decode((Int64, String, String, String, String, String, String, Int64, String, String, String, String).self) {
                out.append(FleetFinding(agent: agent, version: version, environments: envs[id] ?? [], finding: Self.finding((p, i, a, s, r, m, f, st, fs))))
            }
            return out
        }
    }

    static let attestationColumns = "sha256, kind, predicate_type, status, reasons, policy_sha256, created_at"
    typealias AttestationRow = (String, String, String, String, String, String, String)

    static func attestation(_ r: AttestationRow) -> StoredAttestation {
        StoredAttestation(sha256: r.0, kind: r.1, predicateType: r.2, status: r.3, reasons: FleetSchema.items(r.4), policySHA256: r.5, createdAt: r.6)
    }

    static func attestations(_ conn: PostgresClient, releaseID id: Int64, logger: Logger) async throws -> [StoredAttestation] {
        var out: [StoredAttestation] = []
        for try await row in try await conn.query("SELECT \(unescaped: attestationColumns) FROM attestations WHERE release_id = \(id) ORDER BY position",
                                                  logger: logger).decode(AttestationRow.self) { out.append(attestation(row)) }
        return out
    }

    public func addAttestation(agent: String, version: String, _ a: StoredAttestation, body: Data) async throws -> AttestationInsert? {
        let logger = self.logger
        return try await timed { [client, self] in
            guard let id = try await self.releaseID(client, agent: agent, version: version) else { return nil }
            var inserted = false
            for try await _ in try await client.query("""
                INSERT INTO attestations (release_id, position, sha256, kind, predicate_type, status, reasons, policy_sha256, body, created_at)
                SELECT \(id), COALESCE(MAX(position), 0) + 1, \(a.sha256), \(a.kind), \(a.predicateType), \(a.status), \(FleetSchema.column(a.reasons)),
                       \(a.policySHA256), \(body), \(a.createdAt) FROM attestations WHERE release_id = \(id)
                ON CONFLICT (release_id, sha256) DO NOTHING RETURNING 1
                """, logger: logger).decode(Int.self) { inserted = true }
            if inserted { return .created(a) }
            for try await row in try await client.query("SELECT \(unescaped: Self.attestationColumns) FROM attestations WHERE release_id = \(id) AND sha256 = \(a.sha256)",
                                                        logger: logger).decode(AttestationRow.self) { return .existing(Self.attestation(row)) }
            return .existing(a)
        }
    }

    public func updateAttestation(agent: String, version: String, _ a: StoredAttestation) async throws {
        let logger = self.logger
        try await timed { [client, self] in
            guard let id = try await self.releaseID(client, agent: agent, version: version) else { return }
            try await client.query("""
                UPDATE attestations SET status = \(a.status), reasons = \(FleetSchema.column(a.reasons)), policy_sha256 = \(a.policySHA256)
                WHERE release_id = \(id) AND sha256 = \(a.sha256)
                """, logger: logger)
        }
    }

    public func staleAttestations(policySHA256: String, limit: Int) async throws -> [StaleAttestation] {
        let logger = self.logger
        return try await timed { [client] in
            var out: [StaleAttestation] = []
            for try await (agent, version, artifact, sha, kind, type, status, reasons, policy, created) in try await client.query("""
                SELECT a.name, r.version, r.artifact_sha256, t.sha256, t.kind, t.predicate_type, t.status, t.reasons, t.policy_sha256, t.created_at
                FROM attestations t JOIN releases r ON r.id = t.release_id JOIN agents a ON a.id = r.agent_id
                WHERE t.policy_sha256 <> \(policySHA256) ORDER BY t.release_id, t.position LIMIT \(limit)
                """, logger: logger).decode((String, String, String?, String, String, String, String, String, String, String).self) {
                out.append(StaleAttestation(agent: agent, version: version, artifactSHA256: artifact,
                                            stored: Self.attestation((sha, kind, type, status, reasons, policy, created))))
            }
            return out
        }
    }

    public func attestationBody(agent: String, version: String, sha256: String) async throws -> Data? {
        let logger = self.logger
        return try await timed { [client, self] in
            guard let id = try await self.releaseID(client, agent: agent, version: version) else { return nil }
            for try await body in try await client.query("SELECT body FROM attestations WHERE release_id = \(id) AND sha256 = \(sha256)", logger: logger)
                .decode(Data.self) { return body }
            return nil
        }
    }

    public func pendingSources(agent: String, version: String) async throws -> Set<String> {
        let logger = self.logger
        return try await timed { [client, self] in
            guard let id = try await self.releaseID(client, agent: agent, version: version) else { return [] }
            var out = Set<String>()
            for try await p in try await client.query("""
                SELECT c.source_purl FROM components c JOIN pending_rematch p ON p.ecosystem = c.osv_ecosystem AND p.name = c.osv_name WHERE c.release_id = \(id)
                """, logger: logger).decode(String.self) { out.insert(p) }
            return out
        }
    }

    public func markStaleAttestations(policySHA256: String, reason: String) async throws -> Int {
        let logger = self.logger
        var total = 0
        // In slices, each within the deadline, so a large table does not stop the server at start.
        while true {
            let n = try await timed { [client] in
                var n = 0
                for try await _ in try await client.query("""
                    UPDATE attestations SET status = 'not-checked', reasons = \(reason) WHERE (release_id, sha256) IN
                    (SELECT release_id, sha256 FROM attestations WHERE policy_sha256 <> \(policySHA256) AND status <> 'not-checked' LIMIT 5000)
                    RETURNING 1
                    """, logger: logger).decode(Int.self) { n += 1 }
                return n
            }
            total += n
            if n == 0 { return total }
        }
    }

    public func attestations(agent: String, version: String) async throws -> [StoredAttestation]? {
        let logger = self.logger
        return try await timed { [client, self] in
            guard let id = try await self.releaseID(client, agent: agent, version: version) else { return nil }
            return try await Self.attestations(client, releaseID: id, logger: logger)
        }
    }

    public func replacePolicyResults(agent: String, version: String, _ results: [StoredPolicyResult], at: String) async throws -> Bool {
        let logger = self.logger
        return try await timed { [client] in
            try await client.withTransaction(logger: logger) { conn in
                var found: Int64?
                for try await id in try await conn.query("""
                    SELECT r.id FROM releases r JOIN agents a ON a.id = r.agent_id WHERE a.name = \(agent) AND r.version = \(version) FOR UPDATE OF r
                    """, logger: logger).decode(Int64.self) { found = id }
                guard let id = found else { return false }
                try await conn.query("DELETE FROM policy_results WHERE release_id = \(id)", logger: logger)
                guard !results.isEmpty else { return true }
                try await conn.query("""
                    INSERT INTO policy_results (release_id, position, rule, severity, severity_rank, subject, found, location, checked_at)
                    SELECT \(id), n, r, s, k, j, f, l, \(at) FROM UNNEST(\(Array(1...results.count))::bigint[], \(results.map(\.rule))::text[],
                        \(results.map(\.severity))::text[], \(results.map(\.severityRank))::bigint[], \(results.map(\.subject))::text[],
                        \(results.map(\.found))::text[], \(results.map(\.location))::text[]) AS t(n, r, s, k, j, f, l)
                    """, logger: logger)
                return true
            }
        }
    }

    public func policyResults(agent: String, version: String) async throws -> [StoredPolicyResult]? {
        let logger = self.logger
        return try await timed { [client, self] in
            guard let id = try await self.releaseID(client, agent: agent, version: version) else { return nil }
            var out: [StoredPolicyResult] = []
            for try await (rule, severity, rank, subject, found, location) in try await client.query("""
                SELECT rule, severity, severity_rank::bigint, subject, found, location FROM policy_results WHERE release_id = \(id) ORDER BY severity_rank DESC, position
                """, logger: logger).decode((String, String, Int64, String, String, String).self) {
                out.append(StoredPolicyResult(rule: rule, severity: severity, severityRank: Int(rank), subject: subject, found: found, location: location))
            }
            return out
        }
    }

    public func unverified(environment: String) async throws -> [UnverifiedRelease] {
        let logger = self.logger
        return try await timed { [client] in
            var out: [Int64: UnverifiedRelease] = [:]
            var order: [Int64] = []
            for try await (id, agent, version, cluster, provenance) in try await client.query("""
                SELECT r.id, a.name, r.version, d.cluster, \(unescaped: FleetSchema.provenanceSQL)
                FROM deployments d JOIN releases r ON r.id = d.release_id JOIN agents a ON a.id = r.agent_id
                WHERE d.environment = \(environment) AND NOT EXISTS (SELECT 1 FROM attestations t WHERE t.release_id = r.id AND t.status = 'verified')
                ORDER BY a.name COLLATE "C", r.version COLLATE "C", d.cluster COLLATE "C"
                """, logger: logger).decode((Int64, String, String, String, String).self) {
                if out[id] == nil {
                    order.append(id)
                    out[id] = UnverifiedRelease(agent: agent, version: version, deployments: [], provenance: provenance, attestations: [])
                }
                out[id]?.deployments.append(DeploymentPlace(environment: environment, cluster: cluster))
            }
            for id in order { out[id]?.attestations = try await Self.attestations(client, releaseID: id, logger: logger) }
            return order.compactMap { out[$0] }
        }
    }

    public func deployments() async throws -> [DeploymentRow] {
        let logger = self.logger
        return try await timed { [client] in
            var out: [DeploymentRow] = []
            for try await (agent, version, env, cluster, updated, provenance) in try await client.query("""
                SELECT a.name, r.version, d.environment, d.cluster, d.updated_at, \(unescaped: FleetSchema.provenanceSQL)
                FROM deployments d JOIN releases r ON r.id = d.release_id JOIN agents a ON a.id = r.agent_id
                ORDER BY d.environment COLLATE "C", a.name COLLATE "C", d.cluster COLLATE "C"
                """, logger: logger).decode((String, String, String, String, String, String).self) {
                out.append(DeploymentRow(agent: agent, version: version, environment: env, cluster: cluster, provenance: provenance, updatedAt: updated))
            }
            return out
        }
    }

    public func createSession(hash: String, kind: String, tokenHash: String, expiresAt: String, now: String) async throws {
        let logger = self.logger
        try await timed { [client] in
            try await client.query("DELETE FROM sessions WHERE expires_at <= \(now)", logger: logger)
            try await client.query("INSERT INTO sessions (hash, kind, token_hash, expires_at) VALUES (\(hash), \(kind), \(tokenHash), \(expiresAt))", logger: logger)
        }
    }

    public func consumeLink(hash: String, now: String) async throws -> String? {
        let logger = self.logger
        return try await timed { [client] in
            try await client.query("DELETE FROM sessions WHERE expires_at <= \(now)", logger: logger)
            // DELETE … RETURNING: of two uses of one link at once, one gets it.
            for try await (stored, token) in try await client.query("DELETE FROM sessions WHERE hash = \(hash) AND kind = 'link' RETURNING hash, token_hash",
                                                                     logger: logger).decode((String, String).self) {
                return TokenHash.equal(stored, hash) ? token : nil
            }
            return nil
        }
    }

    public func endSession(hash: String) async throws {
        let logger = self.logger
        try await timed { [client] in
            try await client.query("DELETE FROM sessions WHERE hash = \(hash) AND kind = 'session'", logger: logger)
        }
    }

    public func session(hash: String, now: String) async throws -> (scope: TokenScope, tokenHash: String)? {
        let logger = self.logger
        return try await timed { [client] in
            for try await (stored, token, scope, agent) in try await client.query("""
                SELECT s.hash, s.token_hash, t.scope, t.agent FROM sessions s JOIN tokens t ON t.hash = s.token_hash
                WHERE s.hash = \(hash) AND s.kind = 'session' AND s.expires_at > \(now)
                """, logger: logger).decode((String, String, String, String?).self) {
                guard TokenHash.equal(stored, hash), let kind = TokenScope.Kind(rawValue: scope) else { return nil }
                return (TokenScope(kind: kind, agent: agent), token)
            }
            return nil
        }
    }

    public var sharesAdvisories: Bool { true }

    public func appendAdvisories(_ records: [(id: String, modified: String, json: String)]) async throws -> Set<String> {
        let logger = self.logger
        var added = Set<String>()
        // In slices, so one statement's parameters stay bounded; the lock holder is the only writer.
        for start in stride(from: 0, to: records.count, by: 2000) {
            let slice = Array(records[start..<min(start + 2000, records.count)])
            added.formUnion(try await timed { [client] in
                var ids: [String] = []
                for try await id in try await client.query("""
                    INSERT INTO osv_records (id, modified, body)
                    SELECT i, m, b FROM UNNEST(\(slice.map(\.id))::text[], \(slice.map(\.modified))::text[], \(slice.map(\.json))::text[]) WITH ORDINALITY AS t(i, m, b, n)
                    ORDER BY n ON CONFLICT (id, modified) DO NOTHING RETURNING id
                    """, logger: logger).decode(String.self) { ids.append(id) }
                return ids
            })
        }
        return added
    }

    public func advisories(after seq: Int64, limit: Int) async throws -> [(seq: Int64, json: String)] {
        let logger = self.logger
        return try await timed { [client] in
            var out: [(seq: Int64, json: String)] = []
            for try await (n, body) in try await client.query("SELECT seq, body FROM osv_records WHERE seq > \(seq) ORDER BY seq LIMIT \(limit)", logger: logger)
                .decode((Int64, String).self) { out.append((n, body)) }
            return out
        }
    }

    public func raiseAdvisoryAsOf(_ keys: [String: String]) async throws {
        guard !keys.isEmpty else { return }
        let logger = self.logger
        let sorted = keys.sorted { $0.key < $1.key }
        try await timed { [client] in
            // Keys are UTC times of one fixed width, compared byte by byte whatever the collation.
            try await client.query("""
                INSERT INTO osv_as_of (ecosystem, as_of) SELECT e, a FROM UNNEST(\(sorted.map(\.key))::text[], \(sorted.map(\.value))::text[]) AS t(e, a)
                ON CONFLICT (ecosystem) DO UPDATE SET as_of = GREATEST(osv_as_of.as_of COLLATE "C", EXCLUDED.as_of COLLATE "C")
                """, logger: logger)
        }
    }

    public func advisoryAsOf() async throws -> [String: String] {
        let logger = self.logger
        return try await timed { [client] in
            var out: [String: String] = [:]
            for try await (e, a) in try await client.query("SELECT ecosystem, as_of FROM osv_as_of", logger: logger).decode((String, String).self) { out[e] = a }
            return out
        }
    }

    public func ping() async throws {
        let logger = self.logger
        try await timed { [client] in
            for try await _ in try await client.query("SELECT 1", logger: logger).decode(Int.self) {}
        }
    }

    public func latestAdvisorySeq() async throws -> Int64 {
        let logger = self.logger
        return try await timed { [client] in
            var latest: Int64 = 0
            for try await n in try await client.query("SELECT COALESCE(MAX(seq), 0)::bigint FROM osv_records", logger: logger).decode(Int64.self) { latest = n }
            return latest
        }
    }

    /// A session-level advisory lock on a connection of its own, held for `body`: imports on every
    /// replica run one at a time. A replica that dies holding it loses its connection, and with it the lock.
    public func withImportLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        let logger = self.logger, deadline = self.deadline, client = self.client
        // The connection is waited for as long as any query's (`timed`), no longer: a pool that could
        // not hand one out held the import request, and a stopping server with it, without end.
        let leased = LeaseFlag()
        let late = StoreUnavailable(reason: "no PostgreSQL connection for the import within \(deadline)")
        return try await withoutActuallyEscaping(body) { body in
            try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    try await client.withConnection { conn in
                        // Too late once the deadline has passed: the caller was answered 503 already.
                        guard leased.claim() else { throw late }
                        try await conn.query("SELECT pg_advisory_lock(\(FleetSchema.importLock))", logger: logger)
                        let result: Result<T, any Error>
                        do { result = .success(try await body()) } catch { result = .failure(error) }
                        // A lock that cannot be released must not stay with a pooled connection (it would block
                        // every import): the connection is closed, and the lock goes with it.
                        do { try await conn.query("SELECT pg_advisory_unlock(\(FleetSchema.importLock))", logger: logger) } catch { try? await conn.close() }
                        return try result.get()
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: deadline)
                    // The lease and the deadline each change the state once, in one step: the import
                    // goes ahead only if it claimed the lease before the deadline expired it.
                    if leased.expire() { throw late }
                    return nil
                }
                while let next = try await group.next() {
                    if let result = next { group.cancelAll(); return result }
                }
                throw StoreUnavailable(reason: "the import ended without an answer")
            }
        }
    }

    public func affected(advisoryIDs: [String]) async throws -> [AffectedRelease] {
        let logger = self.logger
        return try await timed { [client] in
            var out: [Int64: AffectedRelease] = [:]
            var order: [Int64] = []
            for try await (id, agent, version, purl, advisory) in try await client.query("""
                SELECT f.release_id, a.name, r.version, f.purl, f.advisory_id FROM findings f
                JOIN releases r ON r.id = f.release_id JOIN agents a ON a.id = r.agent_id
                WHERE f.advisory_id = ANY(\(advisoryIDs)::text[]) AND EXISTS (SELECT 1 FROM deployments d WHERE d.release_id = f.release_id)
                ORDER BY a.name COLLATE "C", r.version COLLATE "C"
                """, logger: logger).decode((Int64, String, String, String, String).self) {
                if out[id] == nil {
                    out[id] = AffectedRelease(agent: agent, version: version, environments: [], deployments: [], packages: [], advisories: [])
                    order.append(id)
                }
                out[id]?.packages.append(purl)
                out[id]?.advisories.append(advisory)
            }
            var result: [AffectedRelease] = []
            for id in order {
                guard var a = out[id] else { continue }
                for try await (env, cluster) in try await client.query("SELECT environment, cluster FROM deployments WHERE release_id = \(id)", logger: logger)
                    .decode((String, String).self) { a.deployments.append(DeploymentPlace(environment: env, cluster: cluster)) }
                a.deployments.sort()
                a.environments = Array(Set(a.deployments.map(\.environment))).sorted()
                a.packages = Array(Set(a.packages)).sorted()
                a.advisories = Array(Set(a.advisories)).sorted()
                result.append(a)
            }
            return result
        }
    }
}

/// The database could not be reached in time: the request is answered `503` and may be retried.
public struct StoreUnavailable: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// The import's wait for a connection: still waiting, then leased or expired, whichever came first.
final class LeaseFlag: Sendable {
    private enum State { case waiting, leased, expired }
    private let state = Mutex(State.waiting)
    /// Whether the lease came first (and so may be used).
    func claim() -> Bool { state.withLock { s in guard s == .waiting else { return false }; s = .leased; return true } }
    /// Whether the deadline came first (and so the import must not go ahead).
    func expire() -> Bool { state.withLock { s in guard s == .waiting else { return false }; s = .expired; return true } }
}

/// The first of an operation and its deadline to finish resumes the caller; the other is ignored.
final class DeadlineRace<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Error>?
    private var _work: Task<Void, Never>?

    var work: Task<Void, Never>? {
        get { lock.withLock { _work } }
        set { lock.withLock { _work = newValue } }
    }

    func start(_ c: CheckedContinuation<T, Error>) { lock.withLock { continuation = c } }

    func finish(_ result: Result<T, Error>) {
        let c: CheckedContinuation<T, Error>? = lock.withLock { defer { continuation = nil }; return continuation }
        c?.resume(with: result)
    }
}
