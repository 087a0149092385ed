import Foundation
import GRDB
import ProvenantCore

/// The database's tables and migrations, and the one insert statement whose column order the
/// stored briefs follow. `AdvisoryStore` opens the file; this is what is inside it.
extension AdvisoryStore {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE advisory (
                    id TEXT PRIMARY KEY NOT NULL,
                    modified TEXT NOT NULL,
                    modified_key TEXT NOT NULL,
                    withdrawn TEXT,
                    record BLOB NOT NULL
                );
                CREATE TABLE affected (
                    advisory_id TEXT NOT NULL REFERENCES advisory(id) ON DELETE CASCADE,
                    ecosystem TEXT NOT NULL,
                    release TEXT NOT NULL,
                    name TEXT NOT NULL,
                    entry TEXT NOT NULL
                );
                CREATE INDEX affected_by_package ON affected(ecosystem, name);
                CREATE INDEX affected_by_advisory ON affected(advisory_id);
                CREATE TABLE alias (
                    alias TEXT NOT NULL,
                    advisory_id TEXT NOT NULL REFERENCES advisory(id) ON DELETE CASCADE
                );
                CREATE INDEX alias_by_name ON alias(alias);
                CREATE INDEX alias_by_advisory ON alias(advisory_id);
                """)
        }
        // What a finding shows of its advisory, in a narrow table of its own, so a scan decodes no
        // record JSON and never walks a record's overflow pages. Older databases are filled from
        // their records.
        m.registerMigration("v2 advisory briefs") { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS advisory_brief (
                    id TEXT PRIMARY KEY NOT NULL,
                    modified TEXT NOT NULL,
                    published TEXT,
                    summary TEXT NOT NULL,
                    aliases TEXT NOT NULL,
                    severity TEXT NOT NULL,
                    database_severity TEXT
                ) WITHOUT ROWID;
                -- Withdrawn records are few; a scan reads their ids instead of joining every candidate.
                CREATE INDEX IF NOT EXISTS advisory_withdrawn ON advisory(id) WHERE withdrawn IS NOT NULL;
                -- The status line (counts, newest `modified`) then reads indexes, not every record.
                CREATE INDEX IF NOT EXISTS advisory_by_modified ON advisory(modified_key);
                """)
            let insert = try db.makeStatement(sql: Self.insertBrief)
            let rows = try Row.fetchCursor(db, sql: "SELECT record FROM advisory")
            let decoder = JSONDecoder()
            while let row = try rows.next() {
                try insert.execute(arguments: AdvisoryBrief(try decoder.decode(OSVRecord.self, from: row[0] as Data)).arguments)
            }
        }
        // Go module paths are stored lowercased (`Ecosystems.canonicalName`), as purls write them.
        m.registerMigration("v3 Go names in lower case") { db in
            try db.execute(sql: "UPDATE affected SET name = lower(name) WHERE ecosystem = 'Go' AND name <> lower(name)")
        }
        // Keys of times with an offset or a lowercase `t` were the text itself, compared as text; they
        // are recomputed as UTC (found by helper-107). Z times with `T` had the key they have now.
        // Every key is recomputed: one whose time the old check let through but names no instant
        // (`9999-99-99T99:99:99Z`) gets the lowest key, so that any valid copy replaces it (review).
        m.registerMigration("v4 modified keys in UTC") { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, modified, modified_key FROM advisory")
            for row in rows {
                let id: String = row["id"], modified: String = row["modified"], old: String = row["modified_key"]
                let key = Timestamp.sortKey(modified) ?? ""
                if key != old { try db.execute(sql: "UPDATE advisory SET modified_key = ? WHERE id = ?", arguments: [key, id]) }
            }
        }
        // A withdrawal is compared with the time of each scan, as its instant's key; databases written
        // before held the raw text, which sorted wrongly for offset and lowercase times, both ways
        // (found by helper-134). A value that names no instant (from before such records were refused)
        // leaves the advisory live.
        m.registerMigration("v5 withdrawal keys in UTC") { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, withdrawn FROM advisory WHERE withdrawn IS NOT NULL")
            for row in rows {
                let id: String = row["id"], raw: String = row["withdrawn"]
                let key = Timestamp.sortKey(raw)
                if key != raw { try db.execute(sql: "UPDATE advisory SET withdrawn = ? WHERE id = ?", arguments: [key, id]) }
            }
        }
        // Swift package URLs are stored lowercased too (found by helper-155).
        m.registerMigration("v6 SwiftURL names in lower case") { db in
            try db.execute(sql: "UPDATE affected SET name = lower(name) WHERE ecosystem = 'SwiftURL' AND name <> lower(name)")
        }
        // How current each ecosystem's advisories are (`asOf`), as said by whoever wrote them: `db
        // update` (its download), `db import --as-of`, the snapshot's seeding. Databases written before
        // start without: what their records' times say cannot tell a partial import from a whole one.
        m.registerMigration("v7 ecosystem as-of times") { db in
            try db.execute(sql: Self.createEcosystemSource)
        }
        // Which releases an ecosystem's entries name, read a release at a time (a scan ages every
        // release a package without one is matched against); without it, each scan read every entry
        // of the ecosystem (helper-223).
        m.registerMigration("v8 entries by release") { db in
            try db.execute(sql: "CREATE INDEX IF NOT EXISTS affected_by_release ON affected(ecosystem, release)")
        }
        return m
    }

    static let createEcosystemSource = """
        CREATE TABLE IF NOT EXISTS ecosystem_source (ecosystem TEXT PRIMARY KEY NOT NULL, as_of TEXT NOT NULL) WITHOUT ROWID
        """

    /// How current a record shows its ecosystem's data to be, as a time key: the later of its
    /// `modified` and `published`. nil when neither is a real time (golang/vulndb's exports give
    /// `modified` as 0001-01-01) or when it is later than `now`: a record dated in the future would
    /// keep its ecosystem current for ever (helper-219).
    static func recordTime(modified: String?, published: String?, now: String) -> String? {
        let keys = [modified, published].compactMap { $0.flatMap(Timestamp.sortKey) }.filter { $0 >= "1971" && $0 <= now }
        return keys.max()
    }

    /// The newest record time of each OSV ecosystem (with its release, `Debian:12`) among `records`.
    public static func newestRecordTimes(_ records: [OSVRecord]) -> [String: String] {
        let now = nowKey()
        var out: [String: String] = [:]
        for r in records {
            guard let t = recordTime(modified: r.modified, published: r.published, now: now) else { continue }
            for a in r.affected ?? [] {
                guard let eco = a.package?.ecosystem, !eco.isEmpty else { continue }
                if t > out[eco] ?? "" { out[eco] = t }
            }
        }
        return out
    }

    /// Moves an ecosystem's as-of time forward to `key`, never back.
    static func raiseAsOf(_ db: Database, ecosystem: String, to key: String) throws {
        try db.execute(sql: """
            INSERT INTO ecosystem_source (ecosystem, as_of) VALUES (?, ?)
            ON CONFLICT(ecosystem) DO UPDATE SET as_of = max(as_of, excluded.as_of)
            """, arguments: [ecosystem, key])
    }
}

extension AdvisoryStore {
    static let insertBrief = """
        INSERT OR REPLACE INTO advisory_brief (id, modified, published, summary, aliases, severity, database_severity) VALUES (?, ?, ?, ?, ?, ?, ?)
        """
}

extension AdvisoryBrief {
    /// In `AdvisoryStore.insertBrief`'s order.
    var arguments: StatementArguments {
        [id, modified, published, summary, EntryCodec.list(aliases), EntryCodec.severities(severity), databaseSeverity]
    }
}
