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

    public func scan(_ packages: [Package]) throws(InputError) -> Result {
        var keyed: [(Package, Ecosystems.Key)] = []
        var notCovered = 0
        for p in packages {
            if let k = Ecosystems.key(for: p.purl) { keyed.append((p, k)) } else { notCovered += 1 }
        }
        // One batched lookup per ecosystem.
        var byEco: [String: Set<String>] = [:]
        for (_, k) in keyed { byEco[k.ecosystem, default: []].insert(k.name) }
        var candidates: [String: [String: [AdvisoryStore.Candidate]]] = [:]
        for (eco, names) in byEco.sorted(by: { $0.key < $1.key }) {
            candidates[eco] = try store.candidates(ecosystem: eco, names: names)
        }
        let schemes = SchemeCache()
        struct Hit { var package: Package; var key: Ecosystems.Key; var advisory: String; var entries: [OSVRecord.Affected]; var unknown: String? }
        var hits: [Hit] = []
        // Each candidate entry is prepared once and evaluated for every version of its package.
        struct Prepared { var advisory: String; var release: String; var entry: OSVRecord.Affected; var ready: RangeEvaluator.PreparedEntry }
        var prepared: [String: [Prepared]] = [:]
        for (p, k) in keyed {
            let nameKey = k.ecosystem + "\u{0}" + k.name
            if prepared[nameKey] == nil {
                prepared[nameKey] = (candidates[k.ecosystem]?[k.name] ?? []).map {
                    Prepared(advisory: $0.advisoryID, release: $0.release, entry: $0.entry,
                             ready: RangeEvaluator.prepare($0.entry, ecosystem: k.ecosystem, schemes: schemes))
                }
            }
            // Entries of one advisory for this package, in the release that applies.
            var byAdvisory: [String: [Prepared]] = [:]
            for c in prepared[nameKey] ?? [] where c.release.isEmpty || k.release.isEmpty || c.release == k.release {
                byAdvisory[c.advisory, default: []].append(c)
            }
            for (id, entries) in byAdvisory.sorted(by: { $0.key < $1.key }) {
                var affected: [OSVRecord.Affected] = []
                var unknown: String?
                for e in entries {
                    switch RangeEvaluator.evaluate(e.ready, version: k.version) {
                    case .affected: affected.append(e.entry)
                    case .unknown(let why): unknown = unknown ?? why
                    case .notAffected: break
                    }
                }
                if !affected.isEmpty { hits.append(Hit(package: p, key: k, advisory: id, entries: affected, unknown: nil)) }
                else if let why = unknown { hits.append(Hit(package: p, key: k, advisory: id, entries: entries.map(\.entry), unknown: why)) }
            }
        }
        let records = try store.records(ids: Set(hits.map(\.advisory)))
        var findings: [Finding] = []
        var summaries: [String: String] = [:]
        for h in hits {
            guard let r = records[h.advisory] else { continue }
            let summary = summaries[r.id] ?? Self.summary(r)
            summaries[r.id] = summary
            let (level, score, vector, source) = Self.severity(r, entries: h.entries)
            findings.append(Finding(
                id: r.id, aliases: (r.aliases ?? []).sorted(), summary: summary, severity: level, score: score, vector: vector,
                severitySource: source, package: h.package.name, ecosystem: h.key.osvEcosystem, version: h.package.version,
                purl: h.package.purl.description, locations: h.package.locations.map(\.description).sorted(),
                fixed: Self.fixedVersions(h.entries), status: h.unknown == nil ? .affected : .unknown,
                note: h.unknown.map { "unknown: \($0)" }, published: r.published, modified: r.modified))
        }
        return Result(findings: Self.collapseAliases(findings).sorted { $0.sortKey < $1.sortKey },
                      packagesScanned: packages.count, packagesNotCovered: notCovered)
    }

    static func summary(_ r: OSVRecord) -> String {
        if let s = r.summary?.trimmed, !s.isEmpty { return s }
        let details = r.details ?? ""
        let firstLine = String(details[..<(details.firstIndex(of: "\n") ?? details.endIndex)]).trimmed
        return firstLine.count > 160 ? String(firstLine.prefix(157)) + "..." : firstLine
    }

    /// The package entry's own severity wins over the record's; v4 over v3; a vector over a word.
    static func severity(_ r: OSVRecord, entries: [OSVRecord.Affected]) -> (SeverityLevel, Double?, String?, String) {
        let lists = entries.compactMap(\.severity) + [r.severity ?? []]
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

    static func fixedVersions(_ entries: [OSVRecord.Affected]) -> [String] {
        var out = Set<String>()
        for e in entries { for r in e.ranges ?? [] where r.type != "GIT" { for ev in r.events { if let f = ev.fixed { out.insert(f) } } } }
        return out.sorted()
    }

    /// Advisories that name each other or a common alias (a PYSEC and its GHSA, both for one CVE)
    /// are one finding on a package.
    static func collapseAliases(_ findings: [Finding]) -> [Finding] {
        var byPurl: [String: [Finding]] = [:]
        for f in findings { byPurl[f.purl, default: []].append(f) }
        var out: [Finding] = []
        for purl in byPurl.keys.sorted() {
            var kept: [Finding] = []
            var index: [String: Int] = [:]   // id or alias → position in kept
            for f in (byPurl[purl] ?? []).sorted(by: { $0.id < $1.id }) {
                if let i = ([f.id] + f.aliases).lazy.compactMap({ index[$0] }).first {
                    var keep = kept[i]
                    keep.aliases = Array(Set(keep.aliases + f.aliases + [f.id]).subtracting([keep.id])).sorted()
                    keep.fixed = Array(Set(keep.fixed + f.fixed)).sorted()
                    if f.severity > keep.severity { keep.severity = f.severity; keep.score = f.score; keep.vector = f.vector; keep.severitySource = f.severitySource }
                    kept[i] = keep
                    for n in [f.id] + f.aliases { index[n] = index[n] ?? i }
                } else {
                    for n in [f.id] + f.aliases where index[n] == nil { index[n] = kept.count }
                    kept.append(f)
                }
            }
            out += kept
        }
        return out
    }
}
