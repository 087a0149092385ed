import Catalog
import Foundation
import ProvenantCore

/// Matches an inventory against the advisory store.
public struct Scanner: Sendable {
    public let store: AdvisoryStore
    public init(store: AdvisoryStore) { self.store = store }

    public struct Result: Sendable {
        public var findings: [Finding]
        public var packagesScanned: Int
        /// Packages whose purl type no OSV database covers (`generic`, unversioned…).
        public var packagesNotCovered: Int
    }

    struct Hit: Sendable { var packageIndex: Int; var advisory: String; var entries: [RangeEvaluator.PreparedEntry]; var unknown: String? }

    /// Evaluates the packages dealt to worker `me`; each candidate entry is prepared once and
    /// evaluated for every version of its package. Hits come out by package, then advisory id.
    static func match(keys: [Ecosystems.Key], nameKeys: [String], owner: [Int], me: Int, rows: [String: [AdvisoryStore.RawCandidate]]) -> [Hit] {
        let cache = SchemeCache()
        struct Prepared { var release: String; var ready: RangeEvaluator.PreparedEntry }
        // Per name, once: entries prepared and grouped by advisory, groups in id order.
        var prepared: [String: [(advisory: String, entries: [Prepared])]] = [:]
        var hits: [Hit] = []
        for packageIndex in keys.indices where owner[packageIndex] == me {
            let k = keys[packageIndex], nameKey = nameKeys[packageIndex]
            let groups: [(advisory: String, entries: [Prepared])]
            if let known = prepared[nameKey] { groups = known } else {
                let schemes = cache.schemes(for: k.ecosystem)
                var byID: [String: [Prepared]] = [:]
                for raw in rows[nameKey] ?? [] {
                    byID[raw.advisoryID, default: []].append(Prepared(release: raw.release, ready: raw.prepared(schemes)))
                }
                groups = byID.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
                prepared[nameKey] = groups
            }
            var subject = RangeEvaluator.Subject(k.version)
            for (id, all) in groups {
                // Entries of this advisory in the release that applies.
                var affected: [RangeEvaluator.PreparedEntry] = []
                var unknown: String?
                var applicable = 0
                for e in all where e.release.isEmpty || k.release.isEmpty || e.release == k.release {
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
                    let entries = all.filter { $0.release.isEmpty || k.release.isEmpty || $0.release == k.release }.map(\.ready)
                    hits.append(Hit(packageIndex: packageIndex, advisory: id, entries: entries, unknown: why))
                }
            }
        }
        return hits
    }

    public func scan(_ packages: [Package]) throws(InputError) -> Result {
        var timer = PhaseTimer(indent: 1)
        var keyed: [(Package, Ecosystems.Key)] = []
        var notCovered = 0
        for p in packages {
            if let k = Ecosystems.key(for: p.purl) { keyed.append((p, k)) } else { notCovered += 1 }
        }
        // One batched lookup per ecosystem.
        var byEco: [String: Set<String>] = [:]
        for (_, k) in keyed { byEco[k.ecosystem, default: []].insert(k.name) }
        var rows: [String: [AdvisoryStore.RawCandidate]] = [:]   // by ecosystem + NUL + name
        for (eco, names) in byEco.sorted(by: { $0.key < $1.key }) {
            for (name, list) in try store.candidateRows(ecosystem: eco, names: names) { rows[eco + "\u{0}" + name] = list }
        }
        timer.lap("read candidates (\(rows.values.map(\.count).reduce(0, +)) entries for \(rows.count) names)")
        // Names are dealt to workers, one per core; each decodes, prepares and evaluates its own names with
        // its own parse caches, so nothing is shared but read-only input. Hits keep package order after.
        let width = Parallel.cores
        let keys = keyed.map(\.1)
        let nameKeys = keys.map { $0.ecosystem + "\u{0}" + $0.name }
        var worker: [String: Int] = [:]
        for k in Set(nameKeys).sorted() { worker[k] = worker.count % width }
        let owner = nameKeys.map { worker[$0] ?? 0 }
        let candidates = rows
        var hits = Parallel.map(width: width) { w in Self.match(keys: keys, nameKeys: nameKeys, owner: owner, me: w, rows: candidates) }.flatMap { $0 }
        hits.sort { $0.packageIndex != $1.packageIndex ? $0.packageIndex < $1.packageIndex : $0.advisory < $1.advisory }
        timer.lap("match (\(hits.count) hits)")
        let records = try store.briefs(ids: Set(hits.map(\.advisory)))
        timer.lap("read advisories (\(records.count))")
        // Per advisory, computed once: most hits share their record's severity.
        var recordSeverity: [String: (SeverityLevel, Double?, String?, String)] = [:]
        var findings: [Finding] = []
        findings.reserveCapacity(hits.count)
        // Hits arrive grouped by package and sorted by id, so aliases collapse one package at a time.
        var group: [Finding] = []
        var groupPurls = Set<String>()
        var mixed = false
        var current = (purl: "", locations: [String](), name: "", version: "", ecosystem: "")
        func flush() {
            guard let purl = group.first?.purl else { return }
            if !groupPurls.insert(purl).inserted { mixed = true }
            findings += Self.collapseGroup(group)
            group.removeAll(keepingCapacity: true)
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
                if let cached = recordSeverity[r.id] { sev = cached } else { sev = Self.severity(r, entries: []); recordSeverity[r.id] = sev }
            } else {
                sev = Self.severity(r, entries: h.entries)
            }
            group.append(Finding(
                id: r.id, aliases: r.aliases, summary: r.summary, severity: sev.0, score: sev.1, vector: sev.2,
                severitySource: sev.3, package: current.name, ecosystem: current.ecosystem, version: current.version,
                purl: current.purl, locations: current.locations,
                fixed: Self.fixedVersions(h.entries), status: h.unknown == nil ? .affected : .unknown,
                note: h.unknown.map { "unknown: \($0)" }, published: r.published, modified: r.modified))
        }
        flush()
        // Two inventory packages with one purl (rare): collapse across them too.
        if mixed { findings = Self.collapseAliases(findings) }
        timer.lap("build findings")
        let sorted = Self.sortedForReport(findings)
        timer.lap("sort findings")
        return Result(findings: sorted, packagesScanned: packages.count, packagesNotCovered: notCovered)
    }

    /// Most severe first, then package, version, id and purl (a total order once aliases are collapsed). Package and version are ranked once, so the
    /// sort compares integers and short ids instead of copying and comparing whole findings.
    static func sortedForReport(_ findings: [Finding]) -> [Finding] {
        struct PackageVersion: Hashable { var package: String; var version: String }
        let ordered = Set(findings.map { PackageVersion(package: $0.package, version: $0.version) })
            .sorted { ($0.package, $0.version) < ($1.package, $1.version) }
        let rank = Dictionary(uniqueKeysWithValues: ordered.enumerated().map { ($1, $0) })
        let keys = findings.indices.map { i in
            (-findings[i].severity.rawValue, rank[PackageVersion(package: findings[i].package, version: findings[i].version)] ?? 0, i)
        }
        let order = keys.sorted { a, b in
            if a.0 != b.0 { return a.0 < b.0 }
            if a.1 != b.1 { return a.1 < b.1 }
            let x = findings[a.2], y = findings[b.2]
            if x.id != y.id { return x.id < y.id }
            return x.purl != y.purl ? x.purl < y.purl : a.2 < b.2
        }
        return order.map { findings[$0.2] }
    }

    /// The package entry's own severity wins over the record's; v4 over v3; a vector over a word.
    static func severity(_ r: AdvisoryBrief, entries: [RangeEvaluator.PreparedEntry]) -> (SeverityLevel, Double?, String?, String) {
        let lists = entries.compactMap(\.severity) + [r.severity]
        for list in lists {
            for type in ["CVSS_V4", "CVSS_V3"] {
                for s in list where s.type == type {
                    if let score = try? CVSS.baseScore(s.score) { return (SeverityLevel(score: score), score, s.score, type) }
                }
            }
        }
        if let w = r.databaseSeverity, let level = SeverityLevel(word: w) { return (level, nil, nil, "database") }
        return (.unknown, nil, nil, "none")
    }

    static func fixedVersions(_ entries: [RangeEvaluator.PreparedEntry]) -> [String] {
        entries.count == 1 && entries[0].fixed.count < 2 ? entries[0].fixed : Set(entries.flatMap(\.fixed)).sorted()
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
    static func collapseGroup(_ group: [Finding]) -> [Finding] {
        if group.count < 2 { return group }
        let inOrder = zip(group, group.dropFirst()).allSatisfy { $0.id <= $1.id }
        var kept: [Finding] = []
        var index: [String: Int] = [:]   // id or alias → position in kept
        for f in inOrder ? group : group.sorted(by: { $0.id < $1.id }) {
            var hit = index[f.id]
            if hit == nil { for a in f.aliases { if let i = index[a] { hit = i; break } } }
            if let i = hit {
                var keep = kept[i]
                keep.aliases = Array(Set(keep.aliases + f.aliases + [f.id]).subtracting([keep.id])).sorted()
                keep.fixed = Array(Set(keep.fixed + f.fixed)).sorted()
                if f.severity > keep.severity { keep.severity = f.severity; keep.score = f.score; keep.vector = f.vector; keep.severitySource = f.severitySource }
                kept[i] = keep
                if index[f.id] == nil { index[f.id] = i }
                for a in f.aliases where index[a] == nil { index[a] = i }
            } else {
                if index[f.id] == nil { index[f.id] = kept.count }
                for a in f.aliases where index[a] == nil { index[a] = kept.count }
                kept.append(f)
            }
        }
        return kept
    }
}
