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
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA busy_timeout = 10000")
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

    public func addRelease(_ r: NewRelease) async throws -> ReleaseInsert {
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO agents (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", arguments: [r.agent, r.createdAt])
            let agentID = try Int64.fetchOne(db, sql: "SELECT id FROM agents WHERE name = ?", arguments: [r.agent])!
            if let existing = try String.fetchOne(db, sql: "SELECT sbom_sha256 FROM releases WHERE agent_id = ? AND version = ?", arguments: [agentID, r.version]) {
                return existing == r.sbomSHA256 ? .unchanged : .conflict(existingSHA256: existing)
            }
            try db.execute(sql: """
                INSERT INTO releases (agent_id, version, sbom_format, sbom_sha256, components, created_at) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [agentID, r.version, r.sbomFormat, r.sbomSHA256, r.components.count, r.createdAt])
            let releaseID = db.lastInsertedRowID
            let insert = try db.makeStatement(sql: "INSERT INTO components (release_id, purl, ecosystem, name, version, licenses) VALUES (?, ?, ?, ?, ?, ?)")
            for c in r.components {
                try insert.execute(arguments: [releaseID, c.purl, c.ecosystem, c.name, c.version, c.licenses.joined(separator: "\n")])
            }
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
            SELECT r.id, a.name, r.version, r.sbom_format, r.sbom_sha256, r.components, r.created_at
            FROM releases r JOIN agents a ON a.id = r.agent_id WHERE \(whereSQL) ORDER BY r.created_at, r.id
            """, arguments: arguments)
        return try rows.map { row in
            let places = try Row.fetchAll(db, sql: "SELECT environment, cluster FROM deployments WHERE release_id = ?", arguments: [row["id"] as Int64])
                .map { DeploymentPlace(environment: $0["environment"], cluster: $0["cluster"]) }.sorted()
            return ReleaseSummary(agent: row["name"], version: row["version"], sbomFormat: row["sbom_format"], sbomSHA256: row["sbom_sha256"],
                                  components: row["components"], createdAt: row["created_at"], deployments: places)
        }
    }

    public func components(agent: String, version: String) async throws -> [StoredComponent]? {
        try await pool.read { db in
            guard let id = try Int64.fetchOne(db, sql: "SELECT r.id FROM releases r JOIN agents a ON a.id = r.agent_id WHERE a.name = ? AND r.version = ?",
                                              arguments: [agent, version]) else { return nil }
            return try Row.fetchAll(db, sql: "SELECT purl, ecosystem, name, version, licenses FROM components WHERE release_id = ? ORDER BY purl", arguments: [id]).map {
                let licenses: String = $0["licenses"]
                return StoredComponent(purl: $0["purl"], ecosystem: $0["ecosystem"], name: $0["name"], version: $0["version"],
                                       licenses: licenses.isEmpty ? [] : licenses.split(separator: "\n").map(String.init))
            }
        }
    }

    public func components(purl: String) async throws -> [ComponentHit] {
        try await hits("c.purl = ?", [purl])
    }

    public func components(ecosystem: String, name: String) async throws -> [ComponentHit] {
        try await hits("c.ecosystem = ? AND c.name = ?", [ecosystem, name])
    }

    func hits(_ whereSQL: String, _ arguments: StatementArguments) async throws -> [ComponentHit] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT a.name AS agent, r.version AS release, c.purl, c.name, c.version FROM components c
                JOIN releases r ON r.id = c.release_id JOIN agents a ON a.id = r.agent_id
                WHERE \(whereSQL) ORDER BY a.name, r.created_at, r.id, c.purl
                """, arguments: arguments).map {
                ComponentHit(agent: $0["agent"], release: $0["release"], purl: $0["purl"], name: $0["name"], version: $0["version"])
            }
        }
    }
}
