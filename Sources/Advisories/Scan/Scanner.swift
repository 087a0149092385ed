import Catalog
import Foundation
import ProvenantCore

/// Matches an inventory against the advisory store.
public struct Scanner: Sendable {
    public let store: AdvisoryStore
    /// Ecosystems whose advisories are older than this many days (by their as-of time) are NOT
    /// CHECKED; nil: any age is used, and reported.
    public var maxAgeDays: Int?
    /// The time ages are measured from.
    public var now: Date
    /// How the user dates an ecosystem's advisories (`PyPI`), as said in a NOT CHECKED reason.
    public var dating: @Sendable (String) -> String
    public init(store: AdvisoryStore, maxAgeDays: Int? = nil, now: Date = Date(), dating: @escaping @Sendable (String) -> String = Scanner.cliDating) {
        self.store = store; self.maxAgeDays = maxAgeDays; self.now = now; self.dating = dating
    }

    /// How the command line dates an ecosystem's advisories.
    public static let cliDating: @Sendable (String) -> String = { eco in
        "`provenant db update --ecosystem \(eco)`, or `db import --as-of TIME --ecosystem \(eco)` of a whole export of it, dates them"
    }

    /// Past this many days, advisories in use are said to be old on stderr (when no --max-db-age is given).
    public static let oldAfterDays = 30

    /// How current the advisories of one ecosystem a scan used are.
    public struct EcosystemAge: Sendable, Equatable {
        public var ecosystem: String
        /// Their as-of time key, nil when no record tells it.
        public var asOf: String?
        /// Whole days from `asOf` to the scan, nil when unknown.
        public var days: Int?
        /// The key whose time decides, when it is not the ecosystem's own (a release's, for a package
        /// that names none; the distribution's, for entries that name no release).
        public var decidedBy: String? = nil
        /// The calendar day of `asOf`, or `unknown`.
        public var day: String { asOf.map { String($0.prefix(10)) } ?? "unknown" }
    }

    public struct Result: Sendable {
        public var findings: [Finding]
        public var packagesScanned: Int
        /// Packages whose purl no OSV database can judge (`generic`, `rpm/amazon`, unversioned…).
        /// They are counted in `notChecked` too: never clean.
        public var packagesNotCovered: Int
        /// Packages nothing could be said about, by group, in group order: those of ecosystems (or
        /// distribution releases) the database holds no advisories for, and those whose purl no
        /// advisory database covers. Not checked, never clean.
        public var notChecked: [NotChecked] = []
        /// How current the advisories were, for each ecosystem whose packages were judged or were
        /// NOT CHECKED for age; sorted.
        public var ages: [EcosystemAge] = []
    }

    /// The packages of one group that could not be judged: an OSV ecosystem or distribution
    /// release the database holds nothing for (`npm`, `Debian:12`), or a purl type (with its
    /// namespace for OS packages) no advisory database covers (`pkg:generic`, `pkg:rpm/amazon`).
    public struct NotChecked: Sendable, Equatable {
        /// The group: as OSV writes it, with the release for distributions (`npm`, `Debian:12`),
        /// or `pkg:TYPE[/NAMESPACE]` when OSV has no ecosystem for the purl.
        public var ecosystem: String
        /// The ecosystem to download: `provenant db update --ecosystem <this>`; nil when no
        /// download can help.
        public var updateEcosystem: String?
        /// Why these packages were not checked.
        public var reason: String
        public var packages: Int
        /// Their purls, sorted and without repeats.
        public var purls: [String]
        /// What is counted: packages, or input files and SBOM components that yielded none.
        public var noun = "package"
        /// The command that fixes it, when one exists.
        public var command: String? { updateEcosystem.map { "provenant db update --ecosystem \($0)" } }
        /// One line for reports and warnings.
        public var message: String {
            (noun == "package" ? "\(packages) \(ecosystem) package\(packages == 1 ? "" : "s") NOT CHECKED: "
                : "\(packages) \(Self.plural(noun, packages)) NOT CHECKED (\(ecosystem)): ") + "\(reason); "
                + (command.map { "run `\($0)`" } ?? "no `provenant db update` can fix this")
        }
        /// Packages of an ecosystem the database holds no advisories for.
        public init(ecosystem: String, updateEcosystem: String, packages: Int, purls: [String]) {
            self.init(ecosystem: ecosystem, updateEcosystem: updateEcosystem, reason: "the advisory database holds no \(ecosystem) advisories",
                      packages: packages, purls: purls)
        }
        /// `noun` as it reads after the number `n`: entry, entries; input file, input files.
        public static func plural(_ noun: String, _ n: Int) -> String {
            n == 1 ? noun : noun.hasSuffix("y") ? noun.dropLast() + "ies" : noun + "s"
        }
        public init(ecosystem: String, updateEcosystem: String?, reason: String, packages: Int, purls: [String], noun: String = "package") {
            self.ecosystem = ecosystem; self.updateEcosystem = updateEcosystem; self.reason = reason; self.packages = packages; self.purls = purls
            self.noun = noun
        }
    }

    struct Hit: Sendable { var packageIndex: Int; var advisory: String; var entries: [RangeEvaluator.PreparedEntry]; var unknown: String? }

    /// Evaluates names claimed from `claims`: each name's candidate entries are prepared once and
    /// evaluated for every version of the name in the inventory. A package's hits come out
    /// together, in advisory id order.
    static func match(_ work: [(ecosystem: String, name: String, packages: [Int])], keys: [Ecosystems.Key],
                      rows: [String: [String: [AdvisoryStore.RawCandidate]]], claims: Parallel.Claims) -> [Hit] {
        var schemesByEcosystem: [String: RangeEvaluator.Schemes] = [:]   // memoizing, this worker's own
        struct Prepared { var release: String; var ready: RangeEvaluator.PreparedEntry }
        var hits: [Hit] = []
        while let claimed = claims.claim() {
            for (ecosystem, name, packageIndices) in work[claimed] {
                guard let candidates = rows[ecosystem]?[name], let first = packageIndices.first else { continue }
                let ecosystem = keys[first].ecosystem
                let schemes = schemesByEcosystem[ecosystem] ?? RangeEvaluator.Schemes(ecosystem: ecosystem, memoizing: true)
                schemesByEcosystem[ecosystem] = schemes
                var byID: [String: [Prepared]] = [:]
                for raw in candidates {
                    byID[raw.advisoryID, default: []].append(Prepared(release: raw.release, ready: raw.prepared(schemes)))
                }
                let groups = byID.sorted { $0.key < $1.key }
                for packageIndex in packageIndices {
                    let k = keys[packageIndex]
                    var subject = RangeEvaluator.Subject(k.version)
                    // An entry applies when either side names no release, or both name the same.
                    func applies(_ e: Prepared) -> Bool {
                        e.release.isEmpty || k.release.isEmpty || Ecosystems.releaseMatches(ecosystem: k.ecosystem, stored: e.release, wanted: k.release)
                    }
                    for (id, all) in groups {
                        var affected: [RangeEvaluator.PreparedEntry] = []
                        var unknown: String?
                        var applicable = 0
                        for e in all where applies(e) {
                            applicable += 1
                            switch RangeEvaluator.evaluate(e.ready, &subject) {
                            case .affected: affected.append(e.ready)
                            case .unknown(let why): unknown = unknown ?? why
                            case .notAffected: break
                            }
                        }
                        guard applicable > 0 else { continue }
                        if !affected.isEmpty { hits.append(Hit(packageIndex: packageIndex, advisory: id, entries: affected, unknown: nil)) }
                        else if let why = unknown {
                            hits.append(Hit(packageIndex: packageIndex, advisory: id, entries: all.filter(applies).map(\.ready), unknown: why))
                        }
                    }
                }
            }
        }
        return hits
    }

    /// All hits in package order, each package's in the order they came: a counting sort, since
    /// every package's hits arrive together from one worker.
    static func byPackage(_ lists: [[Hit]], packages: Int) -> [Hit] {
        let all = lists.flatMap { $0 }
        var start = [Int](repeating: 0, count: packages + 1)
        for h in all { start[h.packageIndex + 1] += 1 }
        for i in 0..<packages { start[i + 1] += start[i] }
        var order = [Int](repeating: 0, count: all.count)
        for (i, h) in all.enumerated() { order[start[h.packageIndex]] = i; start[h.packageIndex] += 1 }
        return order.map { all[$0] }
    }

    /// Whole days from the as-of time `key` to `now` (seconds); nil when it is later than `now` by more
    /// than an hour (written where the clock was ahead, so how old cannot be told) or unreadable.
    static func days(since key: String, now: Int) -> Int? {
        guard let t = Timestamp.parsed(key), t.seconds <= now + 3600 else { return nil }
        return max(0, now - t.seconds) / 86_400
    }

    /// What NOT CHECKED answers depend on besides the records and packages: each dated ecosystem, its
    /// as-of time, and whether that is past `maxAgeDays` now or ahead of the clock. Equal signatures
    /// give equal answers (a server caches them by it); "" without `maxAgeDays`.
    public func ageSignature() throws(InputError) -> String {
        guard let limit = maxAgeDays else { return "" }
        let nowSeconds = Int(now.timeIntervalSince1970)
        return try store.allAsOf().sorted { $0.key < $1.key }.map { k, v in
            "\(k)=\(v):" + (Self.days(since: v, now: nowSeconds).map { $0 > limit ? "old" : "current" } ?? "ahead")
        }.joined(separator: "\n")
    }

    /// The packages the database can judge, with their OSV coordinates, and those it cannot, by group.
    func partition(_ packages: [Package]) throws(InputError) -> (keyed: [(Package, Ecosystems.Key)], notChecked: [NotChecked], notCovered: Int, ages: [EcosystemAge]) {
        var withKeys: [(Package, Ecosystems.Key)] = []
        var notCovered = 0
        var unchecked: [String: NotChecked] = [:]
        for p in packages {
            if let k = Ecosystems.key(for: p.purl) { withKeys.append((p, k)); continue }
            // Fail closed: a purl no database can judge is not checked, never clean.
            notCovered += 1
            let (label, reason) = Ecosystems.uncovered(p.purl)
            unchecked[label, default: NotChecked(ecosystem: label, updateEcosystem: nil, reason: reason, packages: 0, purls: [])].packages += 1
            unchecked[label]?.purls.append(p.purl.description)
        }
        // Fail closed: a package of an ecosystem or release the database holds nothing for was
        // not checked, and is said so, rather than matched against nothing and called clean.
        var wanted: [String: Set<String>] = [:]
        for (_, k) in withKeys { wanted[k.ecosystem, default: []].insert(k.release) }
        let coverage = try store.coveredReleases(wanted)
        // Fail closed on age when asked: advisories older than --max-db-age miss what was published
        // since, so their packages are NOT CHECKED, not judged clean against them.
        // - A release is aged by its own key (`Debian:12`), which an export of it or of its whole
        //   distribution sets; not by the distribution's, which an export that held no Debian 12
        //   records also sets (helper-222). Ubuntu's spellings of one release (LTS, Pro) are matched
        //   together, so the oldest of those that hold entries decides (helper-220).
        // - A package without a release is matched against every release's entries, so the oldest of
        //   the distribution's key and every release key that holds entries decides.
        var keysOf: [String: [String]] = [:]
        var releasesOf: [String: [String]] = [:]
        for (_, k) in withKeys where coverage[k.ecosystem]?.contains(k.release) == true && keysOf[k.osvEcosystem] == nil {
            var keys = [k.osvEcosystem]
            if k.release.isEmpty {
                if releasesOf[k.ecosystem] == nil { releasesOf[k.ecosystem] = try store.releasesHoldingEntries(ecosystem: k.ecosystem) }
                keys += (releasesOf[k.ecosystem] ?? []).filter { !$0.isEmpty }.map { "\(k.ecosystem):\($0)" }
            } else {
                let spellings = Ecosystems.releaseSpellings(ecosystem: k.ecosystem, release: k.release)
                // Entries that name no release are matched too, and are as current as the distribution.
                let held = try store.releasesHoldingEntries(ecosystem: k.ecosystem, spellings + [""])
                if spellings.count > 1 {
                    keys = spellings.filter(held.contains).map { "\(k.ecosystem):\($0)" }
                    if keys.isEmpty { keys = [k.osvEcosystem] }
                }
                if held.contains("") { keys.append(k.ecosystem) }
            }
            keysOf[k.osvEcosystem] = keys
        }
        let asOf = try store.asOf(Set(keysOf.values.joined()))
        let nowSeconds = Int(now.timeIntervalSince1970)
        var ages: [String: EcosystemAge] = [:], stale: [String: String?] = [:]
        func age(_ k: Ecosystems.Key) -> EcosystemAge {
            if let known = ages[k.osvEcosystem] { return known }
            let keys = keysOf[k.osvEcosystem] ?? [k.osvEcosystem]
            let times = keys.map { asOf[$0] }
            let key = times.contains(where: { $0 == nil }) ? nil : times.compactMap { $0 }.min()
            // The key that decides, when it is not the package's own: said, so the user knows what to update.
            let deciding = keys.first { asOf[$0] == nil } ?? keys.min { (asOf[$0] ?? "") < (asOf[$1] ?? "") }
            var a = EcosystemAge(ecosystem: k.osvEcosystem, asOf: key, days: key.flatMap { Self.days(since: $0, now: nowSeconds) })
            if let d = deciding, d != k.osvEcosystem { a.decidedBy = d }
            ages[k.osvEcosystem] = a
            return a
        }
        func staleness(_ k: Ecosystems.Key) -> String? {
            guard let limit = maxAgeDays else { return nil }
            if let known = stale[k.osvEcosystem] { return known }
            let a = age(k)
            var why: String?
            if let key = a.asOf, let days = a.days {
                why = days > limit ? "the database's \(k.osvEcosystem) advisories are as of \(key.prefix(10)), older than --max-db-age \(limit) allows" : nil
            } else if let key = a.asOf {
                why = "the database's \(k.osvEcosystem) advisories are as of \(key.prefix(10)), later than this machine's clock, so how current they are cannot be told and --max-db-age \(limit) cannot be met"
            } else {
                why = "how current the database's \(k.osvEcosystem) advisories are is not known (nothing dated them: \(dating(k.osvEcosystem))), so --max-db-age \(limit) cannot be met"
            }
            if let w = why, let by = a.decidedBy {
                why = w + " (the oldest of the entries it is matched against are \(by)'s: \(dating(by)))"
            }
            stale[k.osvEcosystem] = why
            return why
        }
        var keyed: [(Package, Ecosystems.Key)] = []
        keyed.reserveCapacity(withKeys.count)
        for (p, k) in withKeys {
            // Not checked: the database holds nothing for the release, or (asked) not recently enough.
            var why: String? = "the advisory database holds no \(k.osvEcosystem) advisories"
            if coverage[k.ecosystem]?.contains(k.release) == true {
                _ = age(k)
                why = staleness(k)
            }
            guard let why else { keyed.append((p, k)); continue }
            unchecked[k.osvEcosystem, default: NotChecked(ecosystem: k.osvEcosystem, updateEcosystem: k.ecosystem, reason: why, packages: 0, purls: [])].packages += 1
            unchecked[k.osvEcosystem]?.purls.append(p.purl.description)
        }
        let notChecked = unchecked.keys.sorted().compactMap { eco in
            unchecked[eco].map { u in var u = u; u.purls = Array(Set(u.purls)).sorted(); return u }
        }
        return (keyed, notChecked, notCovered, ages.keys.sorted().compactMap { ages[$0] })
    }

    /// What `scan` would report not checked for these packages, without matching them.
    public func notChecked(_ packages: [Package]) throws(InputError) -> [NotChecked] {
        try partition(packages).notChecked
    }

    public func scan(_ packages: [Package]) throws(InputError) -> Result {
        var timer = PhaseTimer(indent: 1)
        let (keyed, notChecked, notCovered, ages) = try partition(packages)
        // Packages by ecosystem and name, once: the lookups go one batch per ecosystem, and each
        // name is a unit of matching work.
        var byName: [String: [String: [Int]]] = [:]
        for (i, (_, k)) in keyed.enumerated() { byName[k.ecosystem, default: [:]][k.name, default: []].append(i) }
        let rows = try store.candidateRows(byName.mapValues { Set($0.keys) })
        timer.lap("read candidates (\(rows.values.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.count } }) entries for \(rows.values.reduce(0) { $0 + $1.count }) names)")
        // Names are claimed by workers, one per core, a few at a time; each worker decodes, prepares
        // and evaluates with its own parse caches, so nothing is shared but read-only input.
        let width = Parallel.cores
        let keys = keyed.map(\.1)
        let work = byName.keys.sorted().flatMap { eco in
            (byName[eco] ?? [:]).sorted { $0.key < $1.key }.map { (ecosystem: eco, name: $0.key, packages: $0.value) }
        }
        let (candidates, claims) = (rows, Parallel.Claims(count: work.count, chunk: 16))
        let perWorker = Parallel.map(width: width) { _ in Self.match(work, keys: keys, rows: candidates, claims: claims) }
        let hits = Self.byPackage(perWorker, packages: keys.count)
        timer.lap("match (\(hits.count) hits)")
        let records = try store.briefs(ids: Set(hits.map(\.advisory)))
        timer.lap("read advisories (\(records.count))")
        // Findings are built on every core, over slices that end at package boundaries.
        var cuts = [0]
        for w in 1..<width {
            var c = max(cuts[w - 1], hits.count * w / width)
            while c > 0, c < hits.count, hits[c].packageIndex == hits[c - 1].packageIndex { c += 1 }
            cuts.append(c)
        }
        cuts.append(hits.count)
        let (bounds, covered) = (cuts, keyed)
        let parts = Parallel.map(width: width) { w in Self.findings(hits[bounds[w]..<bounds[w + 1]], keyed: covered, records: records) }
        let purls = parts.flatMap(\.groupPurls)
        var lists = parts.map(\.findings)
        _ = consume parts
        var findings = Parallel.joined(&lists)
        // Two inventory packages with one purl (rare): collapse across them too.
        if Set(purls).count != purls.count { findings = Self.collapseAliases(findings) }
        timer.lap("build findings")
        Self.sortForReport(&findings)
        timer.lap("sort findings")
        return Result(findings: findings, packagesScanned: packages.count, packagesNotCovered: notCovered, notChecked: notChecked, ages: ages)
    }

    /// Findings for hits grouped by package and sorted by id, so aliases collapse one package at a
    /// time; with the purl of each package group, to spot two packages sharing one.
    static func findings(_ hits: ArraySlice<Hit>, keyed: [(Package, Ecosystems.Key)], records: [String: AdvisoryBrief])
        -> (findings: [Finding], groupPurls: [String]) {
        // Per advisory, computed once: most hits share their record's severity.
        var recordSeverity: [String: (SeverityLevel, Double?, String?, String)] = [:]
        var scores: [String: Double?] = [:]
        var findings: [Finding] = []
        findings.reserveCapacity(hits.count)
        var groupStart = 0
        var groupPurls: [String] = []
        var current = (purl: "", locations: [String](), name: "", version: "", ecosystem: "")
        // Each package's findings are appended in place and collapsed there when two or more meet.
        func flush() {
            guard groupStart < findings.count else { return }
            groupPurls.append(findings[groupStart].purl)
            if findings.count - groupStart > 1, let collapsed = collapsed(findings[groupStart...]) {
                findings.replaceSubrange(groupStart..., with: collapsed)
            }
            groupStart = findings.count
        }
        var lastPackage = -1
        for h in hits {
            guard let r = records[h.advisory] else { continue }
            if h.packageIndex != lastPackage {
                flush()
                lastPackage = h.packageIndex
                let (p, k) = keyed[h.packageIndex]
                current = (p.purl.description, p.locations.map(\.description).sorted(), p.name, p.version, k.osvEcosystem)
            }
            let sev: (SeverityLevel, Double?, String?, String)
            if h.entries.allSatisfy({ $0.severity == nil }) {
                if let cached = recordSeverity[r.id] { sev = cached } else { sev = severity(r, entries: [], scores: &scores); recordSeverity[r.id] = sev }
            } else {
                sev = severity(r, entries: h.entries, scores: &scores)
            }
            findings.append(Finding(
                id: r.id, aliases: r.aliases, summary: r.summary, severity: sev.0, score: sev.1, vector: sev.2,
                severitySource: sev.3, package: current.name, ecosystem: current.ecosystem, version: current.version,
                purl: current.purl, locations: current.locations,
                fixed: fixedVersions(h.entries), status: h.unknown == nil ? .affected : .unknown,
                note: h.unknown.map { "unknown: \($0)" }, published: r.published, modified: r.modified))
        }
        flush()
        return (findings, groupPurls)
    }

    /// Most severe first, then package, version, id and purl (a total order once aliases are
    /// collapsed). In place: the order is computed on small keys and then applied by moving the
    /// findings, so none is copied.
    static func sortForReport(_ findings: inout [Finding]) {
        // Package, version and id become integer ranks first, so the sort compares integers; only
        // findings equal on all of them (one id on two purls) compare strings. Findings of one purl
        // are adjacent, so (package, version) is looked up once per purl, not per finding.
        struct PackageVersion: Hashable { var package: String; var version: String }
        var pvNumber: [PackageVersion: Int] = [:], pvs: [PackageVersion] = []
        var idNumber: [String: Int] = [:], ids: [String] = []
        var pvOf = [Int](repeating: 0, count: findings.count), idOf = pvOf
        for i in findings.indices {
            if i > 0, findings[i].purl == findings[i - 1].purl { pvOf[i] = pvOf[i - 1] } else {
                let key = PackageVersion(package: findings[i].package, version: findings[i].version)
                if let n = pvNumber[key] { pvOf[i] = n } else { pvOf[i] = pvs.count; pvNumber[key] = pvs.count; pvs.append(key) }
            }
            if let n = idNumber[findings[i].id] { idOf[i] = n } else { idOf[i] = ids.count; idNumber[findings[i].id] = ids.count; ids.append(findings[i].id) }
        }
        var pvRank = [Int](repeating: 0, count: pvs.count), idRank = [Int](repeating: 0, count: ids.count)
        for (r, n) in pvs.indices.sorted(by: { (pvs[$0].package, pvs[$0].version) < (pvs[$1].package, pvs[$1].version) }).enumerated() { pvRank[n] = r }
        for (r, n) in ids.indices.sorted(by: { ids[$0] < ids[$1] }).enumerated() { idRank[n] = r }
        let keys = findings.indices.map { i in
            (severity: -findings[i].severity.rawValue, package: pvRank[pvOf[i]], id: idRank[idOf[i]], index: i)
        }
        // No second reference to the array may live past here: `arrange` would copy it all.
        let order = keys.sorted { a, b in
            if a.severity != b.severity { return a.severity < b.severity }
            if a.package != b.package { return a.package < b.package }
            if a.id != b.id { return a.id < b.id }
            return findings[a.index].purl != findings[b.index].purl ? findings[a.index].purl < findings[b.index].purl : a.index < b.index
        }.map(\.index)
        findings.arrange(by: order)
    }

    /// The package entry's own severity wins over the record's; v4 over v3; a vector over a word.
    /// `scores` memoizes vectors: thousands of hits share a few hundred.
    static func severity(_ r: AdvisoryBrief, entries: [RangeEvaluator.PreparedEntry], scores: inout [String: Double?]) -> (SeverityLevel, Double?, String?, String) {
        let lists = entries.compactMap(\.severity) + [r.severity]
        for list in lists {
            for type in ["CVSS_V4", "CVSS_V3"] {
                for s in list where s.type == type {
                    let score: Double?
                    if let known = scores[s.score] { score = known } else { score = try? CVSS.baseScore(s.score); scores[s.score] = score }
                    if let score { return (SeverityLevel(score: score), score, s.score, type) }
                }
            }
        }
        if let w = r.databaseSeverity, let level = SeverityLevel(word: w) { return (level, nil, nil, "database") }
        return (.unknown, nil, nil, "none")
    }

    static func fixedVersions(_ entries: [RangeEvaluator.PreparedEntry]) -> [String] {
        entries.count == 1 ? entries[0].fixed : Set(entries.flatMap(\.fixed)).sorted()
    }

    /// Advisories that name each other or a common alias (a PYSEC and its GHSA, both for one CVE)
    /// are one finding on a package.
    static func collapseAliases(_ findings: [Finding]) -> [Finding] {
        var byPurl: [String: [Finding]] = [:]
        for f in findings { byPurl[f.purl, default: []].append(f) }
        var out: [Finding] = []
        for purl in byPurl.keys.sorted() { out += collapseGroup(byPurl[purl] ?? []) }
        return out
    }

    /// One package's findings, merged where ids and aliases meet.
    static func collapseGroup(_ group: [Finding]) -> [Finding] { collapsed(group[...]) ?? group }

    /// The merged findings, or nil when nothing merges and the order already holds.
    static func collapsed(_ group: ArraySlice<Finding>) -> [Finding]? {
        if group.count < 2 { return nil }
        // Fields are read in place by index: iterating the findings would copy each one.
        let inOrder = group.indices.dropFirst().allSatisfy { group[$0 - 1].id <= group[$0].id }
        let ordered = inOrder ? group : group.sorted(by: { $0.id < $1.id })[...]
        // Until the first merge every finding is kept as it is, so `kept` is only built then (and
        // never, in the common case of nothing to merge).
        var kept: [Finding] = []
        var built = !inOrder
        if built { kept.reserveCapacity(ordered.count) }
        var keptCount = 0
        var index: [String: Int] = [:]   // id or alias → position in kept
        index.reserveCapacity(ordered.count * 4)
        for j in ordered.indices {
            let id = ordered[j].id, aliases = ordered[j].aliases
            var hit = index[id]
            if hit == nil { for a in aliases { if let i = index[a] { hit = i; break } } }
            if let i = hit {
                if !built { kept = Array(ordered.prefix(keptCount)); built = true }
                kept[i].merge(ordered[j])
                if index[id] == nil { index[id] = i }
                for a in aliases where index[a] == nil { index[a] = i }
            } else {
                if index[id] == nil { index[id] = keptCount }
                for a in aliases where index[a] == nil { index[a] = keptCount }
                if built { kept.append(ordered[j]) }
                keptCount += 1
            }
        }
        guard built else { return nil }
        return kept
    }
}
