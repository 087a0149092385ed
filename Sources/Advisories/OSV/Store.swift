import Foundation
import GRDB
import GRDBSQLite
import ProvenantCore

/// The offline advisory database: one SQLite file, written only inside transactions so a failed
/// or killed import leaves the previous contents in place.
public final class AdvisoryStore: Sendable {
    public let path: String
    let queue: DatabaseQueue

    /// `PROVENANT_DB`, else `~/.cache/provenant/osv.sqlite` (or under `XDG_CACHE_HOME`).
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let p = environment["PROVENANT_DB"], !p.isEmpty { return p }
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.cache")
        return cache + "/provenant/osv.sqlite"
    }

    public static func exists(at path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    public init(path: String) throws(InputError) {
        self.path = path
        do {
            // A bare file name (`--db osv.sqlite`) lives in the current directory, which exists.
            let dir = PathText.parent(path)
            if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            var config = Configuration()
            config.busyMode = .timeout(10)
            // Scans read a few megabytes scattered over the file: map it rather than copy each page
            // through read(2) into a two-megabyte cache that they would overflow.
            config.prepareDatabase { db in try db.execute(sql: "PRAGMA mmap_size = 1073741824") }
            queue = try DatabaseQueue(path: path, configuration: config)
            try Self.migrator.migrate(queue)
            _ = try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM advisory") }
        } catch {
            throw InputError("not a usable advisory database (\(Self.reason(error))); rebuild it with `provenant db import PATH` or `provenant db update`", at: Location(path))
        }
    }

    /// Every failed read names the database and the command that rebuilds it.
    func readError(_ error: Error) -> InputError {
        InputError("cannot read the advisory database (\(Self.reason(error))); rebuild it with `provenant db import PATH`", at: Location(path))
    }

    static func reason(_ error: Error) -> String {
        if let e = error as? DatabaseError { return e.message ?? "\(e.resultCode)" }
        return "\(error)"
    }

    public struct ImportResult: Sendable, Equatable {
        public var added = 0, updated = 0, unchanged = 0
        /// The ids added or updated, sorted: what a server re-matches after an import.
        public var changedIDs: [String] = []
    }

    /// Writes records in one transaction. A record replaces the stored one when its `modified` is
    /// newer, or when it is the same but the record says something else: golang/vulndb's exports give
    /// every record the one placeholder time, and a corrected record was never applied (found by
    /// helper-155). Importing the same data again changes nothing.
    /// `willWrite` runs inside the transaction, before the first row is written.
    /// `current`: OSV ecosystems (`PyPI`, `Debian:12`) this write holds a whole export of, with the
    /// time it was fetched; their as-of times move forward to it. Other records say nothing of how
    /// current their ecosystem is: one fresh record in an old database made it all current (helper-219).
    public func write(_ records: [OSVRecord], current: [String: String] = [:], willWrite: @Sendable () -> Void = {}) throws(InputError) -> ImportResult {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return try queue.write { db in
                willWrite()
                var result = ImportResult()
                // The stored version of each id in this batch, by key: a batch costs its own size,
                // not the table's (a server catching up in pages read the whole table per page).
                let lookup = try db.makeStatement(sql: "SELECT modified_key FROM advisory WHERE id = ?")
                let insertAdvisory = try db.makeStatement(sql: """
                    INSERT OR REPLACE INTO advisory (id, modified, modified_key, withdrawn, record) VALUES (?, ?, ?, ?, ?)
                    """)
                let insertAffected = try db.makeStatement(sql: "INSERT INTO affected (advisory_id, ecosystem, release, name, entry) VALUES (?, ?, ?, ?, ?)")
                let insertAlias = try db.makeStatement(sql: "INSERT INTO alias (alias, advisory_id) VALUES (?, ?)")
                let insertBrief = try db.makeStatement(sql: Self.insertBrief)
                // Within one import the newest copy of an id wins too; of copies with one time, the
                // last read (inputs are read in a fixed order: arguments, then sorted paths).
                var newest: [String: OSVRecord] = [:]
                for r in records {
                    // Every record here was parsed, so its time is valid and has a key.
                    if let seen = newest[r.id], Timestamp.sortKey(seen.modified) ?? "" > Timestamp.sortKey(r.modified) ?? "" { continue }
                    newest[r.id] = r
                }
                let now = Self.nowKey()
                for (eco, t) in current.sorted(by: { $0.key < $1.key }) {
                    if let k = Timestamp.sortKey(t) { try Self.raiseAsOf(db, ecosystem: eco, to: min(k, now)) }
                }
                let storedRecord = try db.makeStatement(sql: "SELECT record FROM advisory WHERE id = ?")
                let storedAffected = try db.makeStatement(sql: "SELECT ecosystem, release, name, entry FROM affected WHERE advisory_id = ? ORDER BY rowid")
                for id in newest.keys.sorted() {
                    guard let r = newest[id] else { continue }
                    let key = Timestamp.sortKey(r.modified) ?? ""
                    // The record is stored without its affected list, which lives in `affected`.
                    var lean = r
                    lean.affected = nil
                    let encoded = try encoder.encode(lean)
                    let rows: [[String]] = (r.affected ?? []).compactMap { a in
                        guard let pkg = a.package else { return nil }
                        let (eco, release) = Ecosystems.split(pkg.ecosystem)
                        return [eco, release, Ecosystems.canonicalName(eco, pkg.name), EntryCodec.encode(a)]
                    }
                    if let old = try String.fetchOne(lookup, arguments: [id]) {
                        if old > key { result.unchanged += 1; continue }
                        if old == key {
                            let same = try Data.fetchOne(storedRecord, arguments: [id]) == encoded
                                && (try Row.fetchAll(storedAffected, arguments: [id])).map { row in (0..<4).map { row[$0] as String } } == rows
                            if same { result.unchanged += 1; continue }
                        }
                        try db.execute(sql: "DELETE FROM affected WHERE advisory_id = ?", arguments: [id])
                        try db.execute(sql: "DELETE FROM alias WHERE advisory_id = ?", arguments: [id])
                        result.updated += 1
                    } else {
                        result.added += 1
                    }
                    result.changedIDs.append(id)
                    // The withdrawal's instant as a sortable key, so a withdrawal still to come is compared
                    // with the time of each scan.
                    try insertAdvisory.execute(arguments: [id, r.modified, key, r.withdrawn.flatMap(Timestamp.sortKey), encoded])
                    try insertBrief.execute(arguments: AdvisoryBrief(r).arguments)
                    for row in rows { try insertAffected.execute(arguments: StatementArguments([id] + row)) }
                    for alias in Set(r.aliases ?? []).sorted() { try insertAlias.execute(arguments: [alias, id]) }
                }
                return result
            }
        } catch {
            throw InputError("import failed, database left as it was: \(Self.reason(error))", at: Location(path))
        }
    }

    public struct EcosystemStatus: Sendable, Equatable {
        public var ecosystem: String
        public var records: Int
        public var newestModified: String?
    }

    public struct Status: Sendable, Equatable {
        public var path: String
        public var records: Int
        public var withdrawn: Int
        public var newestModified: String?
        public var ecosystems: [EcosystemStatus]
    }

    /// The key an as-of time (RFC 3339) is stored under: its instant in UTC, never later than now.
    public static func asOfKey(_ time: String) -> String? { Timestamp.sortKey(time).map { min($0, nowKey()) } }

    /// Now, as a withdrawal's key: an advisory is withdrawn from the instant its `withdrawn` names,
    /// not before. One whose withdrawal was still to come was switched off at once (found by
    /// helper-131). Databases written before are rekeyed by the v5 migration.
    static func nowKey() -> String { Timestamp.sortKey(RFC3339.string(from: Date())) ?? "9999-12-31T23:59:59.999999999Z" }

    /// Counts and the newest `modified`; per-ecosystem figures only when asked, since they cost a
    /// grouped scan of every affected entry and a scan report does not print them.
    public func status(perEcosystem: Bool = true) throws(InputError) -> Status {
        try read { db in
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM advisory") ?? 0
            let withdrawn = try Int.fetchOne(db, sql: "SELECT count(*) FROM advisory WHERE withdrawn IS NOT NULL AND withdrawn <= ?", arguments: [Self.nowKey()]) ?? 0
            let newest = try String.fetchOne(db, sql: "SELECT modified FROM advisory ORDER BY modified_key DESC LIMIT 1")
            guard perEcosystem else { return Status(path: path, records: total, withdrawn: withdrawn, newestModified: newest, ecosystems: []) }
            let rows = try Row.fetchAll(db, sql: """
                SELECT f.ecosystem AS eco, count(DISTINCT f.advisory_id) AS n,
                       (SELECT a2.modified FROM advisory a2 JOIN affected f2 ON f2.advisory_id = a2.id
                        WHERE f2.ecosystem = f.ecosystem ORDER BY a2.modified_key DESC LIMIT 1) AS newest
                FROM affected f GROUP BY f.ecosystem ORDER BY f.ecosystem
                """)
            return Status(path: path, records: total, withdrawn: withdrawn, newestModified: newest,
                          ecosystems: rows.map { EcosystemStatus(ecosystem: $0["eco"], records: $0["n"], newestModified: $0["newest"]) })
        }
    }

    /// Every as-of time the database holds, by OSV ecosystem (`PyPI`, `Debian:12`), as time keys.
    public func allAsOf() throws(InputError) -> [String: String] {
        try read { db in
            var out: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT ecosystem, as_of FROM ecosystem_source") { out[row[0]] = row[1] }
            return out
        }
    }

    /// Moves these ecosystems' as-of times (RFC 3339) forward, never back, and never past now: what
    /// another server imported, as the log replicas share says.
    public func raiseAsOf(_ times: [String: String]) throws(InputError) {
        guard !times.isEmpty else { return }
        _ = try write([], current: times)
    }

    /// How current the database's advisories of these ecosystems are, as time keys
    /// (`2026-08-21T06:28:40.000000000Z`); an ecosystem without one is missing.
    public func asOf(_ ecosystems: Set<String>) throws(InputError) -> [String: String] {
        try read { db in
            var out: [String: String] = [:]
            let statement = try db.makeStatement(sql: "SELECT as_of FROM ecosystem_source WHERE ecosystem = ?")
            for eco in ecosystems { if let t = try String.fetchOne(statement, arguments: [eco]) { out[eco] = t } }
            return out
        }
    }

    /// Every release `ecosystem`'s entries name (`""` for entries that name none).
    /// One index seek a release (`affected_by_release`), not a pass over the ecosystem's entries.
    public func releasesHoldingEntries(ecosystem: String) throws(InputError) -> [String] {
        try read { db in
            try String.fetchAll(db, sql: """
                WITH RECURSIVE r(x) AS (
                    SELECT (SELECT min(release) FROM affected WHERE ecosystem = ?1)
                    UNION ALL
                    SELECT (SELECT min(release) FROM affected WHERE ecosystem = ?1 AND release > r.x) FROM r WHERE r.x IS NOT NULL
                ) SELECT x FROM r WHERE x IS NOT NULL
                """, arguments: [ecosystem])
        }
    }

    /// Which of `releases` (spellings of one release) hold entries of `ecosystem`.
    public func releasesHoldingEntries(ecosystem: String, _ releases: [String]) throws(InputError) -> Set<String> {
        try read { db in
            var out: Set<String> = []
            for r in releases where try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM affected WHERE ecosystem = ? AND release = ?)", arguments: [ecosystem, r]) ?? false {
                out.insert(r)
            }
            return out
        }
    }

    /// Which of the asked ecosystem releases the database can judge: an ecosystem (release ``)
    /// when it holds any live advisory for it, a distribution release when it holds an entry for
    /// that release or one naming no release. One indexed probe per pair, so a scan pays a few
    /// lookups, not a grouped pass over every entry.
    public func coveredReleases(_ wanted: [String: Set<String>]) throws(InputError) -> [String: Set<String>] {
        let now = Self.nowKey()
        return try read { db in
            var out: [String: Set<String>] = [:]
            for (ecosystem, releases) in wanted {
                // Withdrawn advisories are never matched, so they cover nothing.
                let live = "AND NOT EXISTS (SELECT 1 FROM advisory a WHERE a.id = f.advisory_id AND a.withdrawn IS NOT NULL AND a.withdrawn <= ?)"
                let any = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM affected f WHERE f.ecosystem = ? \(live))", arguments: [ecosystem, now]) ?? false
                guard any else { continue }
                var covered: Set<String> = []
                for release in releases {
                    if release.isEmpty { covered.insert(release); continue }
                    // Ubuntu writes one release several ways (`22.04:LTS`, `Pro:22.04:LTS`).
                    let spellings = Ecosystems.releaseSpellings(ecosystem: ecosystem, release: release)
                    let marks = Array(repeating: "?", count: spellings.count).joined(separator: ", ")
                    let hit = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM affected f WHERE f.ecosystem = ? AND f.release IN (\(marks), '') \(live))",
                                                arguments: StatementArguments([ecosystem] + spellings + [now])) ?? false
                    if hit { covered.insert(release) }
                }
                out[ecosystem] = covered
            }
            return out
        }
    }

    /// An affected entry of a live advisory as stored, still encoded: the caller prepares it, on
    /// whichever core matches its package.
    public struct RawCandidate: Sendable {
        public var advisoryID: String
        public var release: String
        public var encodedEntry: String
        func prepared(_ schemes: RangeEvaluator.Schemes) -> RangeEvaluator.PreparedEntry { EntryCodec.prepare(encodedEntry, schemes) }
    }

    /// The ids of advisories withdrawn by now: a withdrawal still to come counts from its instant on.
    public func withdrawnNow() throws(InputError) -> Set<String> {
        try read { db in try Set(String.fetchAll(db, sql: "SELECT id FROM advisory WHERE withdrawn IS NOT NULL AND withdrawn <= ?", arguments: [Self.nowKey()])) }
    }

    /// Affected entries of live advisories for many packages, by ecosystem and canonical name,
    /// still encoded; one read. Per name, entries keep the order they were stored in.
    public func candidateRows(_ names: [String: Set<String>]) throws(InputError) -> [String: [String: [RawCandidate]]] {
        try read { db in
            let withdrawn = try Set(String.fetchAll(db, sql: "SELECT id FROM advisory WHERE withdrawn IS NOT NULL AND withdrawn <= ?", arguments: [Self.nowKey()]))
            var out: [String: [String: [RawCandidate]]] = [:]
            for (ecosystem, ecosystemNames) in names {
                var found: [String: [RawCandidate]] = [:]
                var name = "", run: [RawCandidate] = []
                func flush() { if !run.isEmpty { found[name, default: []] += run; run.removeAll(keepingCapacity: true) } }
                // No join and no ORDER BY: both cost more than the rest of the read together. Rows come
                // in index order, so one name's rows are adjacent and the dictionary is hit once per name.
                for (chunk, marks) in Self.chunks(ecosystemNames) {
                    try Self.step(db, sql: "SELECT advisory_id, release, name, entry FROM affected WHERE ecosystem = ? AND name IN (\(marks))",
                                  [ecosystem] + chunk) { h in
                        guard let id = Self.text(h, 0), !withdrawn.contains(id) else { return }
                        let rowName = Self.text(h, 2) ?? ""
                        if rowName != name { flush(); name = rowName }
                        run.append(RawCandidate(advisoryID: id, release: Self.text(h, 1) ?? "", encodedEntry: Self.text(h, 3) ?? ""))
                    }
                    flush()
                }
                out[ecosystem] = found
            }
            return out
        }
    }

    /// Steps a statement with text arguments through the C API, handing each row to `row`:
    /// GRDB's rows cost more than SQLite's own work on these reads.
    static func step(_ db: Database, sql: String, _ arguments: [String], row: (OpaquePointer) throws -> Void) throws {
        let statement = try db.makeStatement(sql: sql)
        let h = statement.sqliteStatement
        sqlite3_reset(h)
        sqlite3_clear_bindings(h)
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (i, a) in arguments.enumerated() {
            let rc = a.utf8CString.withUnsafeBufferPointer { sqlite3_bind_text(h, Int32(i + 1), $0.baseAddress, Int32($0.count - 1), transient) }
            guard rc == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection))) }
        }
        defer { sqlite3_reset(h) }
        while true {
            let rc = sqlite3_step(h)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection))) }
            try row(h)
        }
    }

    /// A text column, nil when NULL.
    static func text(_ h: OpaquePointer, _ column: Int32) -> String? {
        guard let p = sqlite3_column_text(h, column) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(h, column))), as: UTF8.self)
    }

    /// What findings show of these advisories.
    public func briefs(ids: Set<String>) throws(InputError) -> [String: AdvisoryBrief] {
        try read { db in
            var out: [String: AdvisoryBrief] = [:]
            out.reserveCapacity(ids.count)
            for (chunk, marks) in Self.chunks(ids) {
                try Self.step(db, sql: "SELECT id, modified, published, summary, aliases, severity, database_severity FROM advisory_brief WHERE id IN (\(marks))",
                              chunk) { h in
                    guard let id = Self.text(h, 0) else { return }
                    out[id] = AdvisoryBrief(id: id, modified: Self.text(h, 1) ?? "", published: Self.text(h, 2), summary: Self.text(h, 3) ?? "",
                                            aliases: EntryCodec.list(Self.text(h, 4) ?? ""), severity: EntryCodec.severities(Self.text(h, 5) ?? ""),
                                            databaseSeverity: Self.text(h, 6))
                }
            }
            return out
        }
    }

    /// Sorted keys in chunks of 500, each with the `?, ?, …` list for its `IN` clause.
    static func chunks(_ keys: Set<String>) -> [(keys: [String], marks: String)] {
        let all = keys.sorted()
        return stride(from: 0, to: all.count, by: 500).map { i in
            let chunk = Array(all[i..<min(i + 500, all.count)])
            return (chunk, Array(repeating: "?", count: chunk.count).joined(separator: ","))
        }
    }

    /// One read transaction; a failure names the database and the command that rebuilds it.
    private func read<T>(_ body: (Database) throws -> T) throws(InputError) -> T {
        do { return try queue.read(body) } catch { throw readError(error) }
    }

    /// The ecosystem and canonical name each stored affected entry of these advisories names.
    public func affectedNames(ids: Set<String>) throws(InputError) -> [(id: String, ecosystem: String, name: String)] {
        try read { db in
            var out: [(String, String, String)] = []
            for (chunk, marks) in Self.chunks(ids) {
                try Self.step(db, sql: "SELECT DISTINCT advisory_id, ecosystem, name FROM affected WHERE advisory_id IN (\(marks))", chunk) { h in
                    out.append((Self.text(h, 0) ?? "", Self.text(h, 1) ?? "", Self.text(h, 2) ?? ""))
                }
            }
            return out
        }
    }

    /// Advisory ids known under an alias (a CVE or GHSA id).
    public func ids(forAlias alias: String) throws(InputError) -> [String] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT advisory_id FROM alias WHERE alias = ? UNION SELECT id FROM advisory WHERE id = ? ORDER BY 1", arguments: [alias, alias])
        }
    }
}
