import Advisories
import Foundation
import ProvenantCore
import Synchronization

/// The server's OSV database, and the findings of every stored release matched against it: at
/// ingest for the new release, and after each import for the components the changed advisories name.
public final class FleetAdvisories: Sendable {
    let database: AdvisoryStore
    let store: any FleetStore
    let webhook: FleetWebhook?
    /// Bumped by every import before it re-matches: an ingest that matched against an older database
    /// while the import ran matches its release again, so no release misses an advisory.
    let generation = Mutex(0)
    /// One import at a time in this process (and, through the store's lock, across replicas).
    let importing = ImportGate()
    /// How far this server's OSV database has read the shared advisory log.
    let syncedSeq = Mutex<Int64>(0)
    /// Records of the shared log this build could not read: while there are any, this server's
    /// database lacks some of what the shared as-of times speak for, so it takes none up (helper-224:
    /// a replica of an older build marked an ecosystem current without all of its export).
    let unreadLogRecords = Mutex(0)
    /// One catch-up with the log at a time; callers arriving meanwhile share it.
    let syncing = SharedRun()
    /// The most a zip body may inflate to.
    let maxInflated: Int
    /// Each release's count of components not checked, with the database state it was judged under
    /// (a release's components never change; only the database and the pending matches do).
    /// `unrecordedAt`: for a release judged while its unread inputs were not recorded, how many releases
    /// were without them then (the count only falls, so a change says one was recorded since).
    let notCheckedCache = Mutex<[String: (state: String, packages: Int, unrecordedAt: Int?)]>([:])
    /// Components of an ecosystem whose advisories are older than this many days, or of an unknown
    /// age, are NOT CHECKED (`server --max-db-age`); their findings stay listed. Nil: any age.
    let maxAgeDays: Int?

    public init(database: AdvisoryStore, store: any FleetStore, webhook: FleetWebhook?, maxInflated: Int = 1 << 30, maxAgeDays: Int? = nil) {
        self.database = database; self.store = store; self.webhook = webhook; self.maxInflated = maxInflated; self.maxAgeDays = maxAgeDays
    }

    /// The scanner NOT CHECKED answers are judged by, now: with the age limit, and this server's way of
    /// dating an ecosystem in its reasons.
    func judge() -> Advisories.Scanner {
        Advisories.Scanner(store: database, maxAgeDays: maxAgeDays) { eco in
            "an import of a whole export of it with `POST /v1/advisories/import?as_of=TIME&ecosystem=\(Self.queryValue(eco))` dates them"
        }
    }

    /// What one import did.
    public struct ImportSummary: Sendable, Codable, Equatable {
        public var records: Int
        public var added: Int
        public var updated: Int
        public var unchanged: Int
        /// Records of the body that could not be read, each `origin: reason`.
        public var skipped: [String]
        /// Stored components matched again, and findings that appeared on deployed releases.
        public var componentsRematched: Int
        /// Findings those components have now, and those of them new on a deployed release.
        public var findings: Int
        public var newDeployedFindings: Int
        /// OSV ecosystems (and releases) whose as-of time the import's `as_of` set.
        public var current: [String] = []
        /// What the import said and did not do: an `ecosystem` the body is no whole export of.
        public var warnings: [String] = []
    }

    /// What an import says of its body: it is a whole export of these OSV ecosystems, fetched at `time`.
    public struct ImportAsOf: Sendable {
        public var time: String
        public var ecosystems: [String]
        public init(time: String, ecosystems: [String]) { self.time = time; self.ecosystems = ecosystems }
    }

    /// `text` as a URL query value: what is not a letter, a digit or `-._~:` percent-encoded.
    static func queryValue(_ text: String) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    public var currentGeneration: Int { generation.withLock { $0 } }
    public var currentSeq: Int64 { syncedSeq.withLock { $0 } }

    /// Brings this server's OSV database up to date with the advisory log replicas share (PostgreSQL):
    /// what another replica imported is matched here too. Nothing to do on an embedded database.
    /// Concurrent callers share one catch-up (a burst of requests after a large import on another
    /// replica waits for one pass, not one each). Returns the log position read up to.
    @discardableResult
    public func sync() async throws -> Int64 {
        guard store.sharesAdvisories else { return 0 }
        return try await syncing.run { [self] in try await catchUp() }
    }

    /// `sync`, until the cache has read at least up to `target` (a caller that joined a catch-up
    /// started before the record it needs was appended runs another).
    @discardableResult
    public func sync(atLeast target: Int64) async throws -> Int64 {
        var reached = try await sync()
        var rounds = 0
        while reached < target, rounds < 8 {
            reached = try await sync()
            rounds += 1
        }
        return reached
    }

    func catchUp() async throws -> Int64 {
        // The as-of times first: an import raises them after appending the records they date, so
        // those records are among the ones read below, and no ecosystem is dated ahead of its records.
        let asOf = try await store.advisoryAsOf()
        let decoder = JSONDecoder()
        var from = currentSeq
        while true {
            from = currentSeq
            let page = try await store.advisories(after: from, limit: 2000)
            guard let last = page.last?.seq else { break }
            // A record the log holds but this build cannot read is skipped, as an import skips it.
            let records = page.compactMap { try? decoder.decode(OSVRecord.self, from: Data($0.json.utf8)) }
            if records.count < page.count { unreadLogRecords.withLock { $0 += page.count - records.count } }
            do throws(InputError) { _ = try database.write(records) } catch { throw FleetAPIError(.serviceUnavailable, field: "advisories", error.message) }
            syncedSeq.withLock { $0 = max($0, last) }
        }
        guard unreadLogRecords.withLock({ $0 }) == 0 else { return from }
        // Compared as this server stores them, never later than its clock: a replica whose clock is
        // behind the importer's wrote on every request otherwise (helper-224).
        do throws(InputError) {
            let local = try database.allAsOf()
            try database.raiseAsOf(asOf.filter { e in AdvisoryStore.asOfKey(e.value).map { shared in local[e.key].map { $0 < shared } ?? true } ?? false })
        } catch { throw FleetAPIError(.serviceUnavailable, field: "advisories", error.message) }
        return from
    }

    /// Whether the shared log moved past `seq` (another replica imported since).
    public func logMoved(since seq: Int64) async throws -> Bool {
        guard store.sharesAdvisories else { return false }
        return try await store.latestAdvisorySeq() > seq
    }

    /// The findings of a release's components against the database as it is now.
    public func match(_ components: [StoredComponent], _ sources: [ComponentSource]) throws -> [StoredFinding] {
        var stored: [String: Set<String>] = [:]
        var packages: [Package] = []
        for (c, s) in zip(components, sources) where s.osv != nil {
            guard let purl = PackageURL(parsing: s.purl) else { continue }
            stored[purl.description, default: []].insert(c.purl)
            packages.append(Package(ecosystem: .generic, name: c.name, version: c.version, purl: purl, foundBy: "fleet"))
        }
        guard !packages.isEmpty else { return [] }
        let result: Advisories.Scanner.Result
        do { result = try Advisories.Scanner(store: database).scan(packages) } catch { throw FleetAPIError(.serviceUnavailable, field: "advisories", "\(error)") }
        let now = FleetClock.now()
        var out: [StoredFinding] = []
        var seen = Set<String>()
        for f in result.findings {
            for purl in (stored[f.purl] ?? []).sorted() where seen.insert(purl + " " + f.id).inserted {
                out.append(StoredFinding(f, purl: purl, firstSeen: now))
            }
        }
        return out
    }

    /// A release's components the database cannot judge, by group: their purls name no ecosystem an
    /// advisory database covers, or one this server's database holds nothing for. Not checked,
    /// never clean. `sources` are the components' full purls as pushed ("" for a release stored
    /// before they were kept, reported as such).
    /// `awaitingRematch`: the sources whose names an import wrote down and has not re-matched yet
    /// (`FleetStore.pendingSources`): their advisories may be in the database already, their findings
    /// not yet (an import in progress, or one that failed).
    public func notChecked(_ sources: [String], awaitingRematch: Set<String>, unreadInputs: UnreadInputs = .recorded([])) throws -> [FleetNotChecked] {
        var packages: [Package] = []
        var unreadable: [String] = []
        var awaiting: [String] = []
        for s in sources {
            guard let purl = PackageURL(parsing: s) else { unreadable.append(s); continue }
            if awaitingRematch.contains(s) {
                awaiting.append(s)
                continue
            }
            packages.append(Package(ecosystem: .generic, name: purl.name, version: purl.version ?? "", purl: purl, foundBy: "fleet"))
        }
        let groups: [Advisories.Scanner.NotChecked]
        do { groups = try judge().notChecked(packages) } catch { throw FleetAPIError(.serviceUnavailable, field: "advisories", "\(error)") }
        var out = groups.map { FleetNotChecked(group: $0.ecosystem, reason: $0.reason, packages: $0.packages, purls: $0.purls.map(Redactor.redact)) }
        if !awaiting.isEmpty {
            out.append(FleetNotChecked(group: "pending", reason: "an advisory import names these packages and has not matched them again yet",
                                       packages: awaiting.count, purls: Array(Set(awaiting.map(Redactor.redact))).sorted()))
        }
        // What the SBOM itself says was not read: whatever it held is neither listed nor checked.
        switch unreadInputs {
        case .recorded(let inputs) where !inputs.isEmpty:
            out.append(FleetNotChecked(group: "sbom", reason: "the SBOM records \(inputs.count) input\(inputs.count == 1 ? "" : "s") its maker could not read (the first: \(inputs[0].prefix(300))); what they hold is not among the components, so no advisory was matched against it",
                                       packages: inputs.count, purls: inputs))
        case .notRecorded:
            out.append(Self.notRecordedGroup)
        default: break
        }
        if !unreadable.isEmpty {
            out.append(FleetNotChecked(group: "unreadable", reason: "these components have no readable package URL (the SBOM gives none, or one that cannot be read, or none was stored)", packages: unreadable.count,
                                       purls: Array(Set(unreadable.map(Redactor.redact))).sorted()))
        }
        return out
    }

    /// A stored release's NOT CHECKED groups as the database judges them now; nil when there is no
    /// such release. Up to 250,000 sources are looked up: off the pool (found by helper-207).
    func notChecked(_ store: any FleetStore, agent: String, version: String) async throws -> [FleetNotChecked]? {
        guard let sources = try await store.sources(agent: agent, version: version),
              let unread = try await store.unreadInputs(agent: agent, version: version) else { return nil }
        let pending = try await store.pendingSources(agent: agent, version: version)
        return try await FleetIngest.offPool { [self] in try notChecked(sources, awaitingRematch: pending, unreadInputs: unread) }
    }

    /// The group of a release whose SBOM's unread inputs are not recorded.
    static let notRecordedGroup = FleetNotChecked(group: "sbom", reason: "this release was stored before the server kept what its SBOM says its maker could not read, so whether it is whole is not known yet; the server records it from the stored SBOM when it starts, or when the same SBOM is pushed again",
                                                  packages: 1, purls: [])

    /// Imports a body (one OSV JSON record, or a zip of them), then matches again every stored
    /// component the changed advisories name, and sends the webhook for findings new on deployed releases.
    public func importBody(_ body: Data, asOf: ImportAsOf? = nil) async throws -> ImportSummary {
        try await importing.run { try await store.withImportLock { try await importLocked(body, asOf: asOf) } }
    }

    func importLocked(_ body: Data, asOf: ImportAsOf?) async throws -> ImportSummary {
        // What other replicas imported first, so "changed" is judged against the whole log.
        if store.sharesAdvisories { try await sync(atLeast: try await store.latestAdvisorySeq()) }
        var loaded: AdvisoryImporter.Loaded
        switch AdvisoryImporter.load(body: body, origin: "body", maxInflated: maxInflated) {
        case .success(let l): loaded = l
        case .failure(let e): throw FleetAPIError(.badRequest, field: "body", e.message)
        }
        // A NUL character cannot be stored by PostgreSQL (a finding from such a record could never
        // be written, and its names would stay pending): such records are skipped, on both databases.
        let encoder = JSONEncoder()
        loaded.records = loaded.records.filter { r in
            guard let json = try? encoder.encode(r), !json.containsNUL else {
                loaded.skipped.append(Diagnostic(Location("body"), "record '\(Redactor.quote(r.id.replacingOccurrences(of: "\u{0}", with: ""), max: 64))' holds a NUL character (\\u0000); skipped"))
                return false
            }
            return true
        }
        guard !loaded.records.isEmpty else {
            let why = loaded.skipped.first.map { ": \($0.location.path): \(Redactor.redact($0.message))" } ?? ""
            throw FleetAPIError(.badRequest, field: "body", "no OSV record could be read\(why)")
        }
        // The ecosystems the body is a whole export of, read without a record skipped, as of `as_of`.
        var current: [String: String] = [:]
        if let asOf {
            for (eco, time) in AdvisoryImporter.exportTimes(loaded.records, readWhole: loaded.skipped.isEmpty, of: asOf.ecosystems, fetched: asOf.time) {
                if let key = AdvisoryStore.asOfKey(time) { current[eco] = key }
            }
        }
        // Every name the body's records name, now and as stored before, is written down as pending
        // before the advisories are: if the re-match below fails, the next import (or the next
        // start) does it, and a retry of this import is not answered "unchanged, nothing to do".
        let leftover = try await store.pending()
        let ids = Set(loaded.records.map(\.id))
        var stored: [(id: String, ecosystem: String, name: String)] = []
        do throws(InputError) { stored = try database.affectedNames(ids: ids) } catch { throw FleetAPIError(.serviceUnavailable, field: "advisories", error.message) }
        var named = Set(stored.map { OSVName(ecosystem: $0.ecosystem, name: $0.name) })
        named.formUnion(Self.names(loaded.records))
        try await store.addPending(named)
        // The shared log first (every version once), then this server's copy: a failure between
        // the two leaves the names pending, and the retry's sync brings the copy up to date.
        var logged = Set<String>()
        if store.sharesAdvisories {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            logged = try await store.appendAdvisories(loaded.records.map { r in
                (r.id, r.modified, String(decoding: (try? encoder.encode(r)) ?? Data("{}".utf8), as: UTF8.self))
            })
            try await store.raiseAdvisoryAsOf(current)
        }
        let result: AdvisoryStore.ImportResult
        do throws(InputError) { result = try database.write(loaded.records, current: current) } catch { throw FleetAPIError(.serviceUnavailable, field: "advisories", error.message) }
        generation.withLock { $0 += 1 }
        // What changed: the names of added or updated records, old ones included (an advisory that
        // moved to another package leaves the first one's finding to be removed). On PostgreSQL a
        // record new to the shared log counts too, whatever this server's cache held.
        let changed = Set(result.changedIDs).union(logged)
        var names = Self.names(loaded.records.filter { changed.contains($0.id) })
        names.formUnion(stored.filter { changed.contains($0.id) }.map { OSVName(ecosystem: $0.ecosystem, name: $0.name) })
        let (rematched, total, fresh) = try await rematch(names.union(leftover))
        try await store.clearPending(named.union(leftover))
        return ImportSummary(records: loaded.records.count, added: result.added, updated: result.updated, unchanged: result.unchanged,
                             skipped: loaded.skipped.map { "\($0.location.path): \(Redactor.redact($0.message))" },
                             componentsRematched: rematched, findings: total, newDeployedFindings: fresh.count, current: current.keys.sorted(),
                             warnings: (asOf?.ecosystems ?? []).filter { current[$0] == nil }.map { e in
                                 "ecosystem '\(Redactor.quote(e, max: 100))': the body is no whole export of it (every record naming it, none skipped), so how current it is was left as it was"
                             })
    }

    /// The names the affected entries of `records` give.
    static func names(_ records: [OSVRecord]) -> Set<OSVName> {
        var names = Set<OSVName>()
        for r in records {
            for a in r.affected ?? [] {
                guard let p = a.package else { continue }
                let (eco, _) = Ecosystems.split(p.ecosystem)
                names.insert(OSVName(ecosystem: eco, name: Ecosystems.canonicalName(eco, p.name)))
            }
        }
        return names
    }

    /// Matches again what an earlier import wrote down as pending and did not finish (the server
    /// calls it when it starts).
    public func rematchPending() async throws {
        try await importing.run {
            let leftover = try await store.pending()
            guard !leftover.isEmpty else { return }
            _ = try await rematch(leftover)
            try await store.clearPending(leftover)
        }
    }

    /// Matches the stored components with these names again, release by release, and sends the
    /// webhook the findings that are new on deployed releases (returned too, for counting).
    func rematch(_ names: Set<OSVName>) async throws -> (components: Int, findings: Int, deployed: [FleetFinding]) {
        guard !names.isEmpty else { return (0, 0, []) }
        let targets = try await store.matchTargets(names)
        // One scan for all, each distinct purl once however many releases hold it: the scanner batches
        // by name, and the findings are handed back to every target by purl.
        let parsed = targets.map { PackageURL(parsing: $0.source) }
        var packages: [Package] = []
        var scanned = Set<String>()
        for case let purl? in parsed where scanned.insert(purl.description).inserted {
            packages.append(Package(ecosystem: .generic, name: purl.name, version: purl.version ?? "", purl: purl, foundBy: "fleet"))
        }
        let result: Advisories.Scanner.Result
        do { result = try Advisories.Scanner(store: database).scan(packages) } catch { throw FleetAPIError(.serviceUnavailable, field: "advisories", "\(error)") }
        var found: [String: [Finding]] = [:]
        for f in result.findings { found[f.purl, default: []].append(f) }
        let now = FleetClock.now()
        var updates: [FindingUpdate] = []
        var seen = Set<String>()
        for (t, purl) in zip(targets, parsed) where seen.insert(t.purl + "\u{0}" + String(t.releaseID)).inserted {
            guard let purl else { continue }
            let fs = (found[purl.description] ?? []).map { StoredFinding($0, purl: t.purl, firstSeen: now) }
            updates.append(FindingUpdate(releaseID: t.releaseID, purl: t.purl, findings: fs))
        }
        // In slices, each its own transaction: a re-match of every release (an advisory for a library
        // all of them hold) never holds the database for one long write. A failure part way leaves
        // the names pending, and the next import or start redoes them all.
        // Each slice's new findings on deployed releases go to the webhook as soon as it commits: a
        // later slice failing must not lose them (its retry sees them as kept, not new). The answer
        // does not wait for the receiver; the webhook's queue keeps deliveries in order.
        var fresh: [FleetFinding] = []
        for start in stride(from: 0, to: updates.count, by: 2000) {
            let committed = try await store.replaceFindings(Array(updates[start..<min(start + 2000, updates.count)]))
            webhook?.enqueue(committed)
            fresh += committed
        }
        return (updates.count, updates.reduce(0) { $0 + $1.findings.count }, fresh)
    }

    /// Advisory ids known by `name`: an OSV id, or a CVE or GHSA id through aliases.
    public func ids(for name: String) throws -> [String] {
        do { return try database.ids(forAlias: name) } catch { throw FleetAPIError(.serviceUnavailable, field: "advisories", error.message) }
    }

    /// `items` without those of advisories withdrawn by now. Findings are stored when a release is
    /// matched, so one whose withdrawal time has since passed stayed listed until a re-import (Left
    /// undone, from helper-134's review): every answer that lists stored findings passes here.
    public func live<T>(_ items: [T], id: (T) -> String) throws -> [T] {
        guard !items.isEmpty else { return items }
        let withdrawn: Set<String>
        do { withdrawn = try database.withdrawnNow() } catch { throw FleetAPIError(.serviceUnavailable, field: "advisories", error.message) }
        return withdrawn.isEmpty ? items : items.filter { !withdrawn.contains(id($0)) }
    }
}

/// Runs one body at a time; a caller arriving while it runs waits for that run's result instead of
/// starting another, and one arriving after it ends starts a new run (so it sees what came meanwhile).
actor SharedRun {
    private var running: Task<Int64, Error>?

    func run(_ body: @escaping @Sendable () async throws -> Int64) async throws -> Int64 {
        if let running { return try await running.value }
        let task = Task { try await body() }
        running = task
        defer { running = nil }
        return try await task.value
    }
}

/// Runs one body at a time, in arrival order.
actor ImportGate {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if busy { await withCheckedContinuation { waiting.append($0) } } else { busy = true }
        defer {
            if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        }
        return try await body()
    }
}

extension StoredFinding {
    /// A scanner finding as the fleet stores it, under the component's stored purl, with what its
    /// advisory says through the redactor (`Finding.echoed`).
    init(_ finding: Finding, purl: String, firstSeen: String) {
        let f = finding.echoed
        self.init(purl: purl, id: f.id, aliases: f.aliases, severity: f.severity.description, severityRank: f.severity.rawValue,
                  summary: f.summary, fixed: f.fixed, status: f.status.rawValue, firstSeen: firstSeen)
    }
}

/// Components of a release no advisory could be matched against, by group (`npm`, `Debian:12`,
/// `pkg:generic`): what the findings of that release cannot speak for.
/// A deployed release with components no advisory could be matched against: the fleet's findings
/// say nothing about them.
public struct FleetReleaseNotChecked: Sendable, Codable, Equatable {
    public var agent: String
    public var version: String
    public var packages: Int
}

extension FleetAdvisories {
    /// The most known unknowns kept for a release.
    static let maxUnreadInputs = 1000

    /// The most distinct deployed releases whose components are judged for a fleet-wide view; past it
    /// the rest are counted as not judged, never as clean.
    static let fleetReleaseLimit = 2_000

    /// Every deployed release with components not checked, and how many deployed releases were past
    /// the limit and not judged at all. The fleet's findings alone read as "clean" for a fleet whose
    /// ecosystems the database does not cover (found by helper-128).
    func fleetNotChecked(_ store: any FleetStore, deployments: [DeploymentRow]) async throws -> (releases: [FleetReleaseNotChecked], notJudged: Int) {
        var seen = Set<String>(), releases: [(String, String)] = []
        for d in deployments.sorted(by: { ($0.agent, $0.version) < ($1.agent, $1.version) }) where seen.insert(d.agent + "\u{0}" + d.version).inserted {
            releases.append((d.agent, d.version))
        }
        try await sync()
        // Judged once per release and database state, on a thread of its own: judging every deployed
        // release on each page view held the request threads for minutes (found by review).
        let ages: String
        do { ages = try judge().ageSignature() } catch { throw FleetAPIError(.serviceUnavailable, field: "advisories", error.message) }
        let state = "\(currentGeneration)|\(currentSeq)|\(try await store.pending().count)|\(ages)"
        // Releases whose unread inputs were not recorded when judged are judged again once any was
        // recorded since (a re-push, the start-up pass, another replica); the others keep their count
        // (helper-227: one global count in the key re-judged the whole fleet at every recording).
        let unrecorded = try await store.countReleasesWithoutUnreadInputs()
        var out: [FleetReleaseNotChecked] = []
        var judged: [String: (state: String, packages: Int, unrecordedAt: Int?)] = [:]
        let cached = notCheckedCache.withLock { $0 }
        for (agent, version) in releases.prefix(Self.fleetReleaseLimit) {
            let key = agent + "\u{0}" + version
            var n: Int, at: Int?
            if let c = cached[key], c.state == state, c.unrecordedAt == nil || c.unrecordedAt == unrecorded {
                n = c.packages; at = c.unrecordedAt
            } else {
                guard let groups = try await notChecked(store, agent: agent, version: version) else { continue }
                n = groups.reduce(0) { $0 + $1.packages }
                at = groups.contains(Self.notRecordedGroup) ? unrecorded : nil
            }
            judged[key] = (state, n, at)
            if n > 0 { out.append(FleetReleaseNotChecked(agent: agent, version: version, packages: n)) }
        }
        // Only the releases deployed now are kept.
        notCheckedCache.withLock { $0 = judged }
        return (out, max(0, releases.count - Self.fleetReleaseLimit))
    }
}

/// `GET /v1/findings`: the deployed findings, and the deployed releases they say nothing about.
struct FleetFleetFindingsAnswer: Encodable, Sendable {
    var findings: [FleetFinding]
    var notChecked: [FleetReleaseNotChecked]
    /// Deployed releases past `fleetReleaseLimit`, not judged for what is not checked.
    var releasesNotJudged: Int
    /// With `limit`: the `after` of the next page; absent on the last. Withdrawn advisories are left
    /// out of a page after it is read, so a page may hold fewer than `limit`.
    var next: String?
}

public struct FleetNotChecked: Sendable, Codable, Equatable {
    public var group: String
    public var reason: String
    public var packages: Int
    public var purls: [String]
}

extension Data {
    /// Whether the JSON encoding holds an escaped NUL (`\u0000`), as JSONEncoder writes one.
    var containsNUL: Bool { range(of: Data("\\u0000".utf8)) != nil }
}
