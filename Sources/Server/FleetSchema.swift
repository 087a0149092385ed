/// The fleet database's tables, written once for both engines: SQLite (embedded, the default) and
/// PostgreSQL. The only differences are how a row id is generated, spelled `{id}` below, and the bytes type, `{blob}`.
public enum FleetSchema {
    public enum Dialect: Sendable { case sqlite, postgres }

    /// The PostgreSQL advisory lock key that serialises migrations across replicas ("prov").
    static let migrationLock: Int64 = 0x7072_6F76

    /// The migrations in order; `schema_version` records how many ran.
    static let migrations: [String] = [
        """
        CREATE TABLE tokens (
            id {id},
            hash TEXT NOT NULL UNIQUE,
            scope TEXT NOT NULL,
            agent TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE agents (
            id {id},
            name TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        );
        CREATE TABLE releases (
            id {id},
            agent_id BIGINT NOT NULL REFERENCES agents(id),
            version TEXT NOT NULL,
            sbom_format TEXT NOT NULL,
            sbom_sha256 TEXT NOT NULL,
            components INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (agent_id, version)
        );
        CREATE TABLE components (
            release_id BIGINT NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
            purl TEXT NOT NULL,
            ecosystem TEXT NOT NULL,
            name TEXT NOT NULL,
            version TEXT NOT NULL,
            licenses TEXT NOT NULL,
            PRIMARY KEY (release_id, purl)
        );
        CREATE INDEX components_by_purl ON components (purl);
        CREATE INDEX components_by_name ON components (ecosystem, name);
        CREATE TABLE deployments (
            agent_id BIGINT NOT NULL REFERENCES agents(id),
            environment TEXT NOT NULL,
            cluster TEXT NOT NULL,
            release_id BIGINT NOT NULL REFERENCES releases(id),
            updated_at TEXT NOT NULL,
            PRIMARY KEY (agent_id, environment, cluster)
        );
        CREATE INDEX deployments_by_release ON deployments (release_id);
        """,
        // Advisories: each component's full purl and OSV coordinates (null when no OSV database
        // covers it), and the findings matched against the server's advisory database.
        """
        ALTER TABLE components ADD COLUMN source_purl TEXT NOT NULL DEFAULT '';
        ALTER TABLE components ADD COLUMN osv_ecosystem TEXT;
        ALTER TABLE components ADD COLUMN osv_name TEXT;
        CREATE INDEX components_by_osv ON components (osv_ecosystem, osv_name);
        CREATE TABLE findings (
            release_id BIGINT NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
            purl TEXT NOT NULL,
            advisory_id TEXT NOT NULL,
            aliases TEXT NOT NULL,
            severity TEXT NOT NULL,
            severity_rank INTEGER NOT NULL,
            summary TEXT NOT NULL,
            fixed TEXT NOT NULL,
            status TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            PRIMARY KEY (release_id, purl, advisory_id)
        );
        CREATE INDEX findings_by_advisory ON findings (advisory_id);
        CREATE INDEX findings_by_severity ON findings (severity_rank);
        """,
        // The SBOM as pushed, so two releases can be compared with `diff` (content, paths, scripts).
        """
        ALTER TABLE releases ADD COLUMN sbom {blob};
        """,
        // Names an import still has to match again: written before the advisories are, cleared once
        // the re-match committed, so a re-match that failed is done by the next import or start.
        """
        CREATE TABLE pending_rematch (
            ecosystem TEXT NOT NULL,
            name TEXT NOT NULL,
            PRIMARY KEY (ecosystem, name)
        );
        """,
        // Provenance: the artifact a release ships, the attestations pushed with it and what verifying
        // them under the trust policy found, and the policy-check results attached to it.
        """
        ALTER TABLE releases ADD COLUMN artifact_sha256 TEXT;
        CREATE TABLE attestations (
            release_id BIGINT NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            kind TEXT NOT NULL,
            predicate_type TEXT NOT NULL,
            status TEXT NOT NULL,
            reasons TEXT NOT NULL,
            policy_sha256 TEXT NOT NULL,
            body {blob} NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (release_id, sha256)
        );
        CREATE INDEX attestations_by_status ON attestations (status, release_id);
        CREATE TABLE policy_results (
            release_id BIGINT NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            rule TEXT NOT NULL,
            severity TEXT NOT NULL,
            severity_rank INTEGER NOT NULL,
            subject TEXT NOT NULL,
            found TEXT NOT NULL,
            location TEXT NOT NULL,
            checked_at TEXT NOT NULL,
            PRIMARY KEY (release_id, position)
        );
        """,
        // Browser sessions for the web pages: a one-time sign-in link, or the session it becomes, each
        // stored as a SHA-256 of its secret with the token it acts for and when it expires.
        """
        CREATE TABLE sessions (
            hash TEXT NOT NULL PRIMARY KEY,
            kind TEXT NOT NULL,
            token_hash TEXT NOT NULL,
            expires_at TEXT NOT NULL
        );
        """,
        // The advisory log replicas share on PostgreSQL: every OSV record imported, once per version
        // (`modified`), in import order. Each server's OSV database is a cache of it, brought up to
        // date from `seq` on; imports append under an advisory lock, so `seq` order is commit order.
        """
        CREATE TABLE osv_records (
            seq {id},
            id TEXT NOT NULL,
            modified TEXT NOT NULL,
            body TEXT NOT NULL,
            UNIQUE (id, modified)
        );
        """,
        // What a server started with a new trust policy looks for: attestations judged under another.
        """
        CREATE INDEX attestations_by_policy ON attestations (policy_sha256);
        """,
        // Go module paths are matched lowercased (`Ecosystems.canonicalName`), as purls write them; every
        // Go name stored is matched again at the next start, or releases pushed before stayed clean of
        // what a case-exact lookup missed (found by review).
        """
        UPDATE components SET osv_name = lower(osv_name) WHERE osv_ecosystem = 'Go' AND osv_name <> lower(osv_name);
        INSERT INTO pending_rematch (ecosystem, name) SELECT ecosystem, lower(name) FROM pending_rematch WHERE ecosystem = 'Go' AND name <> lower(name) ON CONFLICT DO NOTHING;
        DELETE FROM pending_rematch WHERE ecosystem = 'Go' AND name <> lower(name);
        INSERT INTO pending_rematch (ecosystem, name) SELECT DISTINCT osv_ecosystem, osv_name FROM components WHERE osv_ecosystem = 'Go' AND osv_name IS NOT NULL ON CONFLICT DO NOTHING;
        """,
        // Swift package URLs likewise (found by helper-155).
        """
        UPDATE components SET osv_name = lower(osv_name) WHERE osv_ecosystem = 'SwiftURL' AND osv_name <> lower(osv_name);
        INSERT INTO pending_rematch (ecosystem, name) SELECT ecosystem, lower(name) FROM pending_rematch WHERE ecosystem = 'SwiftURL' AND name <> lower(name) ON CONFLICT DO NOTHING;
        DELETE FROM pending_rematch WHERE ecosystem = 'SwiftURL' AND name <> lower(name);
        INSERT INTO pending_rematch (ecosystem, name) SELECT DISTINCT osv_ecosystem, osv_name FROM components WHERE osv_ecosystem = 'SwiftURL' AND osv_name IS NOT NULL ON CONFLICT DO NOTHING;
        """,
        // Expired sessions and links are deleted at each new one, by this index (found by helper-207).
        """
        CREATE INDEX sessions_by_expiry ON sessions (expires_at);
        """,
        // How current the shared log's ecosystems are: as-of time keys that imports naming `as_of`
        // raise, and every server's OSV database takes up when it catches up with the log.
        """
        CREATE TABLE osv_as_of (
            ecosystem TEXT NOT NULL PRIMARY KEY,
            as_of TEXT NOT NULL
        );
        """,
        // What a release's SBOM says its maker could not read (its known unknowns), one per line:
        // listed as not checked, never left out as clean. NULL for releases stored before: not
        // recorded, which is said, not read as "nothing unread" (helper-226); a re-push records it.
        """
        ALTER TABLE releases ADD COLUMN unread_inputs TEXT;
        """,
        // The releases still without them, found without reading every row (and its SBOM) on each
        // fleet view (helper-227).
        """
        CREATE INDEX releases_unread_not_recorded ON releases (id) WHERE unread_inputs IS NULL;
        """,
    ]

    /// The PostgreSQL advisory lock key that serialises advisory imports across replicas ("osvi").
    static let importLock: Int64 = 0x6F73_7669

    /// A release's provenance status, from its attestations (`r` is the release): one SQL
    /// expression for both engines, so the status is never stored apart from what decides it.
    static let provenanceSQL = """
        CASE WHEN EXISTS (SELECT 1 FROM attestations t WHERE t.release_id = r.id AND t.status = 'verified') THEN 'verified'
             WHEN EXISTS (SELECT 1 FROM attestations t WHERE t.release_id = r.id AND t.status = 'failed') THEN 'failed'
             WHEN EXISTS (SELECT 1 FROM attestations t WHERE t.release_id = r.id) THEN 'not-checked'
             ELSE 'none' END
        """

    /// A list column (licenses, aliases, fixed versions): the items one per line, as both stores
    /// write it, and read back.
    static func column(_ items: [String]) -> String { items.joined(separator: "\n") }
    static func items(_ column: String) -> [String] { column.isEmpty ? [] : column.split(separator: "\n").map(String.init) }

    /// `sql` for `dialect`.
    static func render(_ sql: String, _ dialect: Dialect) -> String {
        switch dialect {
        case .sqlite: sql.replacingOccurrences(of: "{id}", with: "INTEGER PRIMARY KEY").replacingOccurrences(of: "{blob}", with: "BLOB")
        case .postgres: sql.replacingOccurrences(of: "{id}", with: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY").replacingOccurrences(of: "{blob}", with: "BYTEA")
        }
    }

    /// Each migration as separate statements (PostgreSQL's extended protocol takes one at a time).
    static func statements(_ migration: String, _ dialect: Dialect) -> [String] {
        render(migration, dialect).split(separator: ";").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }
}
