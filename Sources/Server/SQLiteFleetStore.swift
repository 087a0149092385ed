import Foundation
import GRDB
import ProvenantCore

/// The embedded store: one SQLite file in WAL mode through GRDB's pool (many readers, one writer).
public final class SQLiteFleetStore: FleetStore {
    let pool: DatabasePool

    public init(path: String) throws {
        var config = Configuration()
        config.foreignKeysEnabled = true
        // Durable at commit: WAL with synchronous=FULL fsyncs the log on every commit.
        // The busy timeout first: a second process opening a new file at once waits instead of failing
        // on the next pragma (found by review: concurrent `token create` runs).
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Ingest reads index pages of the component tables at random: mapped, they are read
            // without a kernel copy each (a profile showed those copies dominating), and a larger
            // cache keeps the upper index levels in memory.
            try db.execute(sql: "PRAGMA mmap_size = 4294967296")
            try db.execute(sql: "PRAGMA cache_size = -65536")
        }
        pool = try DatabasePool(path: path, configuration: config)
        // The file holds token hashes and the fleet's inventory: owner only.
        _ = chmod(path, 0o600)
    }

    public func migrate() async throws {
        try await pool.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            let done = try Int.fetchOne(db, sql: "SELECT MAX(version) FROM schema_version") ?? 0
            for (n, m) in FleetSchema.migrations.enumerated() where n >= done {
                for statement in FleetSchema.statements(m, .sqlite) { try db.execute(sql: statement) }
                try db.execute(sql: "INSERT INTO schema_version (version) VALUES (?)", arguments: [n + 1])
            }
        }
    }

    public func createToken(hash: String, scope: TokenScope, createdAt: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO tokens (hash, scope, agent, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [hash, scope.kind.rawValue, scope.agent, createdAt])
        }
    }

    public func token(hash: String) async throws -> TokenScope? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT hash, scope, agent FROM tokens WHERE hash = ?", arguments: [hash]) else { return nil }
            // The index found it; compare again in constant time, as every token check does.
            guard TokenHash.equal(row["hash"] as String, hash), let kind = TokenScope.Kind(rawValue: row["scope"]) else { return nil }
            return TokenScope(kind: kind, agent: row["agent"])
        }
    }

    public func tokens() async throws -> [TokenSummary] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT hash, scope, agent, created_at FROM tokens ORDER BY created_at, id").map { row in
                let agent: String? = row["agent"]
                return TokenSummary(hash: row["hash"], scope: (row["scope"] as String) + (agent.map { ":" + $0 } ?? ""), createdAt: row["created_at"])
            }
        }
    }

    public func revokeToken(hash: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE token_hash = ?", arguments: [hash])
            try db.execute(sql: "DELETE FROM tokens WHERE hash = ?", arguments: [hash])
            return db.changesCount > 0
        }
    }

    public func addRelease(_ r: NewRelease) async throws -> ReleaseInsert {
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO agents (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", arguments: [r.agent, r.createdAt])
            let agentID = try Int64.fetchOne(db, sql: "SELECT id FROM agents WHERE name = ?", arguments: [r.agent])!
            if let row = try Row.fetchOne(db, sql: "SELECT sbom_sha256, artifact_sha256 FROM releases WHERE agent_id = ? AND version = ?", arguments: [agentID, r.version]) {
                let existing: String = row["sbom_sha256"], artifact: String? = row["artifact_sha256"]
                guard existing == r.sbomSHA256 else { return .conflict(existingSHA256: existing) }
                // A re-push that names no digest contradicts nothing; one that names another does.
                    return r.artifactSHA256 == nil || artifact == r.artifactSHA256 ? .unchanged : .artifactConflict(existing: artifact)
            }
            try db.execute(sql: """
                INSERT INTO releases (agent_id, version, sbom_format, sbom_sha256, components, created_at, sbom, artifact_sha256, unread_inputs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [agentID, r.version, r.sbomFormat, r.sbomSHA256, r.components.count, r.createdAt, r.sbom, r.artifactSHA256, FleetSchema.column(r.unreadInputs)])
            let releaseID = db.lastInsertedRowID
            let insert = try db.makeStatement(sql: """
                INSERT INTO components (release_id, purl, ecosystem, name, version, licenses, source_purl, osv_ecosystem, osv_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for (c, source) in zip(r.components, r.sources) {
                try insert.execute(arguments: [releaseID, c.purl, c.ecosystem, c.name, c.version, FleetSchema.column(c.licenses),
                                               source.purl, source.osv?.ecosystem, source.osv?.name])
            }
            try Self.insertFindings(db, releaseID: releaseID, r.findings)
            return .created
        }
    }

    public func recordDeployment(agent: String, version: String, environment: String, cluster: String, at: String) async throws -> Bool {
        try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT r.id AS release_id, a.id AS agent_id FROM releases r JOIN agents a ON a.id = r.agent_id WHERE a.name = ? AND r.version = ?
                """, arguments: [agent, version]) else { return false }
            try db.execute(sql: """
                INSERT INTO deployments (agent_id, environment, cluster, release_id, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (agent_id, environment, cluster) DO UPDATE SET release_id = excluded.release_id, updated_at = excluded.updated_at
                """, arguments: [row["agent_id"] as Int64, environment, cluster, row["release_id"] as Int64, at])
            return true
        }
    }

    public func agents() async throws -> [AgentSummary] {
        try await pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT a.name, COUNT(r.id) AS releases,
                       (SELECT version FROM releases WHERE agent_id = a.id ORDER BY created_at DESC, id DESC LIMIT 1) AS latest
                FROM agents a LEFT JOIN releases r ON r.agent_id = a.id GROUP BY a.id, a.name ORDER BY a.name
                """)
            var envs: [String: Set<String>] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT a.name, d.environment FROM deployments d JOIN agents a ON a.id = d.agent_id") {
                envs[row["name"], default: []].insert(row["environment"])
            }
            return rows.map { row in
                let name: String = row["name"]
                return AgentSummary(name: name, releases: row["releases"], latest: row["latest"], environments: (envs[name] ?? []).sorted())
            }
        }
    }

    public func releases(agent: String) async throws -> [ReleaseSummary]? {
        try await pool.read { db in
            guard try Int64.fetchOne(db, sql: "SELECT id FROM agents WHERE name = ?", arguments: [agent]) != nil else { return nil }
            return try Self.releaseSummaries(db, whereSQL: "a.name = ?", arguments: [agent])
        }
    }

    public func release(agent: String, version: String) async throws -> ReleaseSummary? {
        try await pool.read { db in
            try Self.releaseSummaries(db, whereSQL: "a.name = ? AND r.version = ?", arguments: [agent, version]).first
        }
    }

    static func releaseSummaries(_ db: Database, whereSQL: String, arguments: StatementArguments) throws -> [ReleaseSummary] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT r.id, a.name, r.version, r.sbom_format, r.sbom_sha256, r.components, r.created_at, r.artifact_sha256,
                   \(FleetSchema.provenanceSQL) AS provenance
            FROM releases r JOIN agents a ON a.id = r.agent_id WHERE \(whereSQL) ORDER BY r.created_at, r.id
            """, arguments: arguments)
        return try rows.map { row in
            let places = try Row.fetchAll(db, sql: "SELECT environment, cluster FROM deployments WHERE release_id = ?", arguments: [row["id"] as Int64])
                .map { DeploymentPlace(environment: $0["environment"], cluster: $0["cluster"]) }.sorted()
            return ReleaseSummary(agent: row["name"], version: row["version"], sbomFormat: row["sbom_format"], sbomSHA256: row["sbom_sha256"],
                                  components: row["components"], createdAt: row["created_at"], deployments: places,
                                  artifactSHA256: row["artifact_sha256"], provenance: row["provenance"])
        }
    }

    public func components(agent: String, version: String, after: String?, limit: Int) async throws -> [StoredComponent]? {
        try await pool.read { db in
            guard let id = try Int64.fetchOne(db, sql: "SELECT r.id FROM releases r JOIN agents a ON a.id = r.agent_id WHERE a.name = ? AND r.version = ?",
                                              arguments: [agent, version]) else { return nil }
            // Byte order, as PostgreSQL's COLLATE "C": the page after `after` is the same on both.
            return try Row.fetchAll(db, sql: "SELECT purl, ecosystem, name, version, licenses FROM components WHERE release_id = ? AND purl > ? ORDER BY purl LIMIT ?",
                                    arguments: [id, after ?? "", max(0, limit)]).map {
                let licenses: String = $0["licenses"]
                return StoredComponent(purl: $0["purl"], ecosystem: $0["ecosystem"], name: $0["name"], version: $0["version"],
                                       licenses: FleetSchema.items(licenses))
            }
        }
    }

    public func components(purl: String, after: ComponentHitCursor?, limit: Int) async throws -> [ComponentHitRow]? {
        try await hits("c.purl = ?", [purl], after: after, limit: limit)
    }

    public func components(ecosystem: String, name: String, after: ComponentHitCursor?, limit: Int) async throws -> [ComponentHitRow]? {
        try await hits("c.ecosystem = ? AND c.name = ?", [ecosystem, name], after: after, limit: limit)
    }

    /// The hits in byte order of agent name, release creation, release id and purl (PostgreSQL's
    /// COLLATE "C"), resuming after the cursor's row, so both stores page alike.
    func hits(_ whereSQL: String, _ arguments: StatementArguments, after: ComponentHitCursor?, limit: Int) async throws -> [ComponentHitRow]? {
        try await pool.read { db in
            var sql = """
                SELECT r.id AS release_id, a.name AS agent, r.version AS release, c.purl, c.name, c.version FROM components c
                JOIN releases r ON r.id = c.release_id JOIN agents a ON a.id = r.agent_id WHERE \(whereSQL)
                """
            var arguments = arguments
            if let after {
                guard try Int64.fetchOne(db, sql: "SELECT id FROM releases WHERE id = ?", arguments: [after.releaseID]) != nil else { return nil }
                sql += """
                     AND (a.name, r.created_at, r.id, c.purl) > (SELECT a2.name, r2.created_at, r2.id, ? FROM releases r2
                    JOIN agents a2 ON a2.id = r2.agent_id WHERE r2.id = ?)
                    """
                arguments += [after.purl, after.releaseID]
            }
            sql += " ORDER BY a.name, r.created_at, r.id, c.purl LIMIT ?"
            arguments += [max(0, limit)]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map {
                let purl: String = $0["purl"]
                return ComponentHitRow(hit: ComponentHit(agent: $0["agent"], release: $0["release"], purl: purl, name: $0["name"], version: $0["version"]),
                                       cursor: ComponentHitCursor(releaseID: $0["release_id"], purl: purl))
            }
        }
    }

    static func insertFindings(_ db: Database, releaseID: Int64, _ findings: [StoredFinding]) throws {
        let insert = try db.makeStatement(sql: """
            INSERT INTO findings (release_id, purl, advisory_id, aliases, severity, severity_rank, summary, fixed, status, first_seen)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (release_id, purl, advisory_id) DO NOTHING
            """)
        for f in findings {
            try insert.execute(arguments: [releaseID, f.purl, f.id, FleetSchema.column(f.aliases), f.severity, f.severityRank, f.summary,
                                           FleetSchema.column(f.fixed), f.status, f.firstSeen])
        }
    }

    static func finding(_ row: Row) -> StoredFinding {
        return StoredFinding(purl: row["purl"], id: row["advisory_id"], aliases: FleetSchema.items(row["aliases"]), severity: row["severity"], severityRank: row["severity_rank"],
                             summary: row["summary"], fixed: FleetSchema.items(row["fixed"]), status: row["status"], firstSeen: row["first_seen"])
    }

    static let findingColumns = "f.purl, f.advisory_id, f.aliases, f.severity, f.severity_rank, f.summary, f.fixed, f.status, f.first_seen"

    public func sources(agent: String, version: String) async throws -> [String]? {
        try await pool.read { db in
            guard let id = try self.releaseID(db, agent: agent, version: version) else { return nil }
            return try String.fetchAll(db, sql: "SELECT source_purl FROM components WHERE release_id = ? ORDER BY purl", arguments: [id])
        }
    }

    public func unreadInputs(agent: String, version: String) async throws -> UnreadInputs? {
        try await pool.read { db in
            guard let id = try self.releaseID(db, agent: agent, version: version),
                  let row = try Row.fetchOne(db, sql: "SELECT unread_inputs FROM releases WHERE id = ?", arguments: [id]) else { return nil }
            let column: String? = row["unread_inputs"]
            return column.map { .recorded(FleetSchema.items($0)) } ?? .notRecorded
        }
    }

    public func releasesWithoutUnreadInputs(after: Int64, limit: Int) async throws -> [(id: Int64, agent: String, version: String)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT r.id, a.name, r.version FROM releases r JOIN agents a ON a.id = r.agent_id WHERE r.unread_inputs IS NULL AND r.id > ? ORDER BY r.id LIMIT ?",
                             arguments: [after, limit]).map { (id: $0[0], agent: $0[1], version: $0[2]) }
        }
    }

    public func countReleasesWithoutUnreadInputs() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM releases WHERE unread_inputs IS NULL") ?? 0 }
    }

    public func recordUnreadInputs(agent: String, version: String, _ inputs: [String]) async throws {
        try await pool.write { db in
            guard let id = try self.releaseID(db, agent: agent, version: version) else { return }
            try db.execute(sql: "UPDATE releases SET unread_inputs = ? WHERE id = ? AND unread_inputs IS NULL", arguments: [FleetSchema.column(inputs), id])
        }
    }

    public func sbom(agent: String, version: String) async throws -> Data? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT r.sbom FROM releases r JOIN agents a ON a.id = r.agent_id WHERE a.name = ? AND r.version = ?",
                                             arguments: [agent, version]) else { return nil }
            return (row["sbom"] as Data?) ?? Data()
        }
    }

    public func addPending(_ names: Set<OSVName>) async throws {
        try await pool.write { db in
            let insert = try db.makeStatement(sql: "INSERT INTO pending_rematch (ecosystem, name) VALUES (?, ?) ON CONFLICT DO NOTHING")
            for n in names.sorted() { try insert.execute(arguments: [n.ecosystem, n.name]) }
        }
    }

    public func pending() async throws -> Set<OSVName> {
        try await pool.read { db in
            Set(try Row.fetchAll(db, sql: "SELECT ecosystem, name FROM pending_rematch").map { OSVName(ecosystem: $0["ecosystem"], name: $0["name"]) })
        }
    }

    public func clearPending(_ names: Set<OSVName>) async throws {
        try await pool.write { db in
            let delete = try db.makeStatement(sql: "DELETE FROM pending_rematch WHERE ecosystem = ? AND name = ?")
            for n in names.sorted() { try delete.execute(arguments: [n.ecosystem, n.name]) }
        }
    }

    public func matchTargets(_ names: Set<OSVName>) async throws -> [MatchTarget] {
        try await pool.read { db in
            var out: [MatchTarget] = []
            let statement = try db.makeStatement(sql: "SELECT release_id, purl, source_purl FROM components WHERE osv_ecosystem = ? AND osv_name = ?")
            for n in names.sorted() {
                let rows = try Row.fetchAll(statement, arguments: [n.ecosystem, n.name])
                out += rows.map { MatchTarget(releaseID: $0["release_id"], purl: $0["purl"], source: $0["source_purl"]) }
            }
            return out
        }
    }

    public func replaceFindings(_ updates: [FindingUpdate]) async throws -> [FleetFinding] {
        try await pool.write { db in
            var fresh: [FleetFinding] = []
            var places: [Int64: (agent: String, version: String, environments: [String])] = [:]
            for u in updates {
                let before = try Set(String.fetchAll(db, sql: "SELECT advisory_id FROM findings WHERE release_id = ? AND purl = ?", arguments: [u.releaseID, u.purl]))
                let now = Set(u.findings.map(\.id))
                for gone in before.subtracting(now) {
                    try db.execute(sql: "DELETE FROM findings WHERE release_id = ? AND purl = ? AND advisory_id = ?", arguments: [u.releaseID, u.purl, gone])
                }
                // A finding kept keeps its first_seen; its text follows the advisory's latest version.
                for f in u.findings where before.contains(f.id) {
                    try db.execute(sql: """
                        UPDATE findings SET aliases = ?, severity = ?, severity_rank = ?, summary = ?, fixed = ?, status = ?
                        WHERE release_id = ? AND purl = ? AND advisory_id = ?
                        """, arguments: [FleetSchema.column(f.aliases), f.severity, f.severityRank, f.summary, FleetSchema.column(f.fixed), f.status,
                                         u.releaseID, u.purl, f.id])
                }
                let added = u.findings.filter { !before.contains($0.id) }
                try Self.insertFindings(db, releaseID: u.releaseID, added)
                guard !added.isEmpty else { continue }
                if places[u.releaseID] == nil {
                    let row = try Row.fetchOne(db, sql: "SELECT a.name, r.version FROM releases r JOIN agents a ON a.id = r.agent_id WHERE r.id = ?", arguments: [u.releaseID])
                    let envs = try String.fetchAll(db, sql: "SELECT DISTINCT environment FROM deployments WHERE release_id = ? ORDER BY environment", arguments: [u.releaseID])
                    places[u.releaseID] = (row?["name"] ?? "", row?["version"] ?? "", envs)
                }
                guard let place = places[u.releaseID], !place.environments.isEmpty else { continue }
                fresh += added.map { FleetFinding(agent: place.agent, version: place.version, environments: place.environments, finding: $0) }
            }
            return fresh
        }
    }

    public func findings(agent: String, version: String) async throws -> [StoredFinding]? {
        try await pool.read { db in
            guard let id = try Int64.fetchOne(db, sql: "SELECT r.id FROM releases r JOIN agents a ON a.id = r.agent_id WHERE a.name = ? AND r.version = ?",
                                              arguments: [agent, version]) else { return nil }
            return try Row.fetchAll(db, sql: "SELECT \(Self.findingColumns) FROM findings f WHERE f.release_id = ? ORDER BY f.severity_rank DESC, f.purl, f.advisory_id",
                                    arguments: [id]).map(Self.finding)
        }
    }

    public func findings(minimumRank: Int, after: FleetFindingCursor?, limit: Int) async throws -> [FleetFinding] {
        try await pool.read { db in
            var envs: [Int64: [String]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT DISTINCT release_id, environment FROM deployments ORDER BY environment") {
                envs[row["release_id"], default: []].append(row["environment"])
            }
            // Worst first is the negated rank rising, so one row-value comparison resumes after the cursor.
            var arguments: StatementArguments = [minimumRank]
            var resume = ""
            if let after {
                resume = " AND (-f.severity_rank, a.name, r.version, f.purl, f.advisory_id) > (?, ?, ?, ?, ?)"
                arguments += [-after.rank, after.agent, after.version, after.purl, after.id]
            }
            arguments += [max(0, limit)]
            return try Row.fetchAll(db, sql: """
                SELECT f.release_id, a.name, r.version, \(Self.findingColumns) FROM findings f JOIN releases r ON r.id = f.release_id JOIN agents a ON a.id = r.agent_id
                WHERE (f.severity_rank >= ? OR f.severity_rank = 0)\(resume)
                ORDER BY -f.severity_rank, a.name, r.version, f.purl, f.advisory_id LIMIT ?
                """, arguments: arguments).map {
                FleetFinding(agent: $0["name"], version: $0["version"], environments: envs[$0["release_id"]] ?? [], finding: Self.finding($0))
            }
        }
    }

    public func affected(advisoryIDs: [String]) async throws -> [AffectedRelease] {
        try await pool.read { db in
            guard !advisoryIDs.isEmpty else { return [] }
            let marks = Array(repeating: "?", count: advisoryIDs.count).joined(separator: ",")
            let rows = try Row.fetchAll(db, sql: """
                SELECT f.release_id, a.name, r.version, f.purl, f.advisory_id FROM findings f
                JOIN releases r ON r.id = f.release_id JOIN agents a ON a.id = r.agent_id
                WHERE f.advisory_id IN (\(marks)) AND EXISTS (SELECT 1 FROM deployments d WHERE d.release_id = f.release_id)
                ORDER BY a.name, r.version
                """, arguments: StatementArguments(advisoryIDs))
            var out: [Int64: AffectedRelease] = [:]
            var order: [Int64] = []
            for row in rows {
                let id: Int64 = row["release_id"]
                if out[id] == nil {
                    let places = try Row.fetchAll(db, sql: "SELECT environment, cluster FROM deployments WHERE release_id = ?", arguments: [id])
                        .map { DeploymentPlace(environment: $0["environment"], cluster: $0["cluster"]) }.sorted()
                    out[id] = AffectedRelease(agent: row["name"], version: row["version"], environments: Array(Set(places.map(\.environment))).sorted(),
                                              deployments: places, packages: [], advisories: [])
                    order.append(id)
                }
                out[id]?.packages.append(row["purl"])
                out[id]?.advisories.append(row["advisory_id"])
            }
            return order.compactMap { id in
                out[id].map { var a = $0; a.packages = Array(Set(a.packages)).sorted(); a.advisories = Array(Set(a.advisories)).sorted(); return a }
            }
        }
    }

    func releaseID(_ db: Database, agent: String, version: String) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT r.id FROM releases r JOIN agents a ON a.id = r.agent_id WHERE a.name = ? AND r.version = ?", arguments: [agent, version])
    }

    static let attestationColumns = "sha256, kind, predicate_type, status, reasons, policy_sha256, created_at"

    static func attestation(_ row: Row) -> StoredAttestation {
        StoredAttestation(sha256: row["sha256"], kind: row["kind"], predicateType: row["predicate_type"], status: row["status"],
                          reasons: FleetSchema.items(row["reasons"]), policySHA256: row["policy_sha256"], createdAt: row["created_at"])
    }

    public func addAttestation(agent: String, version: String, _ a: StoredAttestation, body: Data) async throws -> AttestationInsert? {
        try await pool.write { db in
            guard let id = try self.releaseID(db, agent: agent, version: version) else { return nil }
            if let row = try Row.fetchOne(db, sql: "SELECT \(Self.attestationColumns) FROM attestations WHERE release_id = ? AND sha256 = ?", arguments: [id, a.sha256]) {
                return .existing(Self.attestation(row))
            }
            let position = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(position), 0) + 1 FROM attestations WHERE release_id = ?", arguments: [id]) ?? 1
            try db.execute(sql: """
                INSERT INTO attestations (release_id, position, sha256, kind, predicate_type, status, reasons, policy_sha256, body, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, position, a.sha256, a.kind, a.predicateType, a.status, FleetSchema.column(a.reasons), a.policySHA256, body, a.createdAt])
            return .created(a)
        }
    }

    public func attestations(agent: String, version: String) async throws -> [StoredAttestation]? {
        try await pool.read { db in
            guard let id = try self.releaseID(db, agent: agent, version: version) else { return nil }
            return try Row.fetchAll(db, sql: "SELECT \(Self.attestationColumns) FROM attestations WHERE release_id = ? ORDER BY position", arguments: [id]).map(Self.attestation)
        }
    }

    public func replacePolicyResults(agent: String, version: String, _ results: [StoredPolicyResult], at: String) async throws -> Bool {
        try await pool.write { db in
            guard let id = try self.releaseID(db, agent: agent, version: version) else { return false }
            try db.execute(sql: "DELETE FROM policy_results WHERE release_id = ?", arguments: [id])
            let insert = try db.makeStatement(sql: """
                INSERT INTO policy_results (release_id, position, rule, severity, severity_rank, subject, found, location, checked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for (n, p) in results.enumerated() {
                try insert.execute(arguments: [id, n + 1, p.rule, p.severity, p.severityRank, p.subject, p.found, p.location, at])
            }
            return true
        }
    }

    public func policyResults(agent: String, version: String) async throws -> [StoredPolicyResult]? {
        try await pool.read { db in
            guard let id = try self.releaseID(db, agent: agent, version: version) else { return nil }
            return try Row.fetchAll(db, sql: """
                SELECT rule, severity, severity_rank, subject, found, location FROM policy_results WHERE release_id = ? ORDER BY severity_rank DESC, position
                """, arguments: [id]).map {
                StoredPolicyResult(rule: $0["rule"], severity: $0["severity"], severityRank: $0["severity_rank"], subject: $0["subject"], found: $0["found"], location: $0["location"])
            }
        }
    }

    public func unverified(environment: String) async throws -> [UnverifiedRelease] {
        try await pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT r.id, a.name, r.version, d.cluster, \(FleetSchema.provenanceSQL) AS provenance
                FROM deployments d JOIN releases r ON r.id = d.release_id JOIN agents a ON a.id = r.agent_id
                WHERE d.environment = ? AND NOT EXISTS (SELECT 1 FROM attestations t WHERE t.release_id = r.id AND t.status = 'verified')
                ORDER BY a.name, r.version, d.cluster
                """, arguments: [environment])
            var out: [Int64: UnverifiedRelease] = [:]
            var order: [Int64] = []
            for row in rows {
                let id: Int64 = row["id"]
                if out[id] == nil {
                    order.append(id)
                    let attestations = try Row.fetchAll(db, sql: "SELECT \(Self.attestationColumns) FROM attestations WHERE release_id = ? ORDER BY position", arguments: [id])
                        .map(Self.attestation)
                    out[id] = UnverifiedRelease(agent: row["name"], version: row["version"], deployments: [], provenance: row["provenance"], attestations: attestations)
                }
                out[id]?.deployments.append(DeploymentPlace(environment: environment, cluster: row["cluster"]))
            }
            return order.compactMap { out[$0] }
        }
    }

    public func deployments() async throws -> [DeploymentRow] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT a.name, r.version, d.environment, d.cluster, d.updated_at, \(FleetSchema.provenanceSQL) AS provenance
                FROM deployments d JOIN releases r ON r.id = d.release_id JOIN agents a ON a.id = r.agent_id
                ORDER BY d.environment, a.name, d.cluster
                """).map {
                DeploymentRow(agent: $0["name"], version: $0["version"], environment: $0["environment"], cluster: $0["cluster"],
                              provenance: $0["provenance"], updatedAt: $0["updated_at"])
            }
        }
    }

    public func createSession(hash: String, kind: String, tokenHash: String, expiresAt: String, now: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE expires_at <= ?", arguments: [now])
            try db.execute(sql: "INSERT INTO sessions (hash, kind, token_hash, expires_at) VALUES (?, ?, ?, ?)", arguments: [hash, kind, tokenHash, expiresAt])
        }
    }

    public func consumeLink(hash: String, now: String) async throws -> String? {
        try await pool.write { db in
            // Expired sessions and links go on every sign-in, so the table does not grow.
            try db.execute(sql: "DELETE FROM sessions WHERE expires_at <= ?", arguments: [now])
            guard let row = try Row.fetchOne(db, sql: "SELECT hash, token_hash FROM sessions WHERE hash = ? AND kind = 'link'", arguments: [hash]),
                  TokenHash.equal(row["hash"] as String, hash) else { return nil }
            try db.execute(sql: "DELETE FROM sessions WHERE hash = ?", arguments: [hash])
            return row["token_hash"]
        }
    }

    public func endSession(hash: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE hash = ? AND kind = 'session'", arguments: [hash])
        }
    }

    public func session(hash: String, now: String) async throws -> (scope: TokenScope, tokenHash: String)? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT s.hash, s.token_hash, t.scope, t.agent FROM sessions s JOIN tokens t ON t.hash = s.token_hash
                WHERE s.hash = ? AND s.kind = 'session' AND s.expires_at > ?
                """, arguments: [hash, now]),
                  TokenHash.equal(row["hash"] as String, hash), let kind = TokenScope.Kind(rawValue: row["scope"]) else { return nil }
            return (TokenScope(kind: kind, agent: row["agent"]), row["token_hash"])
        }
    }

    /// One server owns an embedded database: its OSV database is the only copy, and no log is kept.
    public var sharesAdvisories: Bool { false }
    public func appendAdvisories(_ records: [(id: String, modified: String, json: String)]) async throws -> Set<String> { [] }
    public func advisories(after seq: Int64, limit: Int) async throws -> [(seq: Int64, json: String)] { [] }
    public func latestAdvisorySeq() async throws -> Int64 { 0 }
    public func raiseAdvisoryAsOf(_ keys: [String: String]) async throws {}
    public func advisoryAsOf() async throws -> [String: String] { [:] }
    public func ping() async throws { _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") } }
    /// One process: `FleetAdvisories`' own gate is the lock.
    public func withImportLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T { try await body() }

    public func updateAttestation(agent: String, version: String, _ a: StoredAttestation) async throws {
        try await pool.write { db in
            guard let id = try self.releaseID(db, agent: agent, version: version) else { return }
            try db.execute(sql: "UPDATE attestations SET status = ?, reasons = ?, policy_sha256 = ? WHERE release_id = ? AND sha256 = ?",
                           arguments: [a.status, FleetSchema.column(a.reasons), a.policySHA256, id, a.sha256])
        }
    }

    public func staleAttestations(policySHA256: String, limit: Int) async throws -> [StaleAttestation] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT a.name, r.version, r.artifact_sha256, \(Self.attestationColumns.split(separator: ",").map { "t." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", "))
                FROM attestations t JOIN releases r ON r.id = t.release_id JOIN agents a ON a.id = r.agent_id
                WHERE t.policy_sha256 <> ? ORDER BY t.release_id, t.position LIMIT ?
                """, arguments: [policySHA256, limit]).map {
                StaleAttestation(agent: $0["name"], version: $0["version"], artifactSHA256: $0["artifact_sha256"], stored: Self.attestation($0))
            }
        }
    }

    public func attestationBody(agent: String, version: String, sha256: String) async throws -> Data? {
        try await pool.read { db in
            guard let id = try self.releaseID(db, agent: agent, version: version) else { return nil }
            return try Data.fetchOne(db, sql: "SELECT body FROM attestations WHERE release_id = ? AND sha256 = ?", arguments: [id, sha256])
        }
    }

    public func pendingSources(agent: String, version: String) async throws -> Set<String> {
        try await pool.read { db in
            guard let id = try self.releaseID(db, agent: agent, version: version) else { return [] }
            return Set(try String.fetchAll(db, sql: """
                SELECT c.source_purl FROM components c JOIN pending_rematch p ON p.ecosystem = c.osv_ecosystem AND p.name = c.osv_name WHERE c.release_id = ?
                """, arguments: [id]))
        }
    }

    public func markStaleAttestations(policySHA256: String, reason: String) async throws -> Int {
        var total = 0
        // In slices, so no one transaction holds the writer for long.
        while true {
            let n = try await pool.write { db in
                try db.execute(sql: """
                    UPDATE attestations SET status = 'not-checked', reasons = ? WHERE rowid IN
                    (SELECT rowid FROM attestations WHERE policy_sha256 <> ? AND status <> 'not-checked' LIMIT 5000)
                    """, arguments: [reason, policySHA256])
                return db.changesCount
            }
            total += n
            if n == 0 { return total }
        }
    }
}
