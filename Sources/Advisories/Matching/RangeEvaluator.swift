import Foundation

/// Decides whether one version falls in one OSV `affected` entry, by the schema's evaluation rules.
public enum RangeEvaluator {
    public enum Outcome: Sendable, Equatable {
        case affected
        case notAffected
        /// A version on either side could not be read, so "not affected" cannot be claimed.
        case unknown(String)
    }

    enum Kind { case introduced, fixed, lastAffected, limit }

    /// One range with its events validated and sorted, ready for many versions.
    struct PreparedRange: Sendable {
        var scheme: AnyVersionScheme?
        /// Each event with its version parsed once; nil for "0" and "*", which sort before everything and limit nothing.
        var events: [(kind: Kind, version: String, parsed: ParsedVersion?)]
        /// Why the range cannot be evaluated (an unparsable event, no known ordering).
        var broken: String?
    }

    /// An `affected` entry prepared once and evaluated against every version of a package.
    public struct PreparedEntry: Sendable {
        /// `versions[]` joined by GS (0x1D) and searched as bytes: lists run to hundreds of versions,
        /// and a scan checks each against a few package versions at most.
        let listed: String
        let ranges: [PreparedRange]
        let ecoScheme: AnyVersionScheme?
        let ecosystem: String
        /// What a finding reports of the entry: the fixed versions of its non-GIT ranges, and its own severity.
        let fixed: [String]
        let severity: [OSVRecord.Severity]?
    }

    /// One range as written: its type and its events in the record's order.
    struct RawRange { var type: String; var events: [(kind: Kind, version: String)] }

    /// `ecosystem` is the OSV base name; SEMVER ranges use SemVer (Go's flavour for Go), ECOSYSTEM
    /// ranges the ecosystem's own scheme, and GIT ranges are skipped.
    public static func prepare(_ entry: OSVRecord.Affected, ecosystem: String, schemes: SchemeCache? = nil) -> PreparedEntry {
        let ranges = (entry.ranges ?? []).map { r in
            RawRange(type: r.type, events: r.events.compactMap { e -> (kind: Kind, version: String)? in
                if let v = e.introduced { return (.introduced, v) }
                if let v = e.fixed { return (.fixed, v) }
                if let v = e.lastAffected { return (.lastAffected, v) }
                return e.limit.map { (.limit, $0) }
            })
        }
        return prepare(ranges: ranges, listed: EntryCodec.list(entry.versions ?? []), severity: entry.severity, ecosystem: ecosystem, schemes: schemes)
    }

    static func prepare(ranges raw: [RawRange], listed: String, severity: [OSVRecord.Severity]?, ecosystem: String, schemes: SchemeCache?) -> PreparedEntry {
        func scheme(_ eco: String) -> AnyVersionScheme? { schemes.map { $0.scheme(for: eco) } ?? AnyVersionScheme.forEcosystem(eco) }
        let ecoScheme = scheme(ecosystem)
        var ranges: [PreparedRange] = []
        var fixed: [String] = []
        for range in raw where range.type != "GIT" {
            for e in range.events where e.kind == .fixed { fixed.append(e.version) }
            let s = range.type == "SEMVER" ? scheme(ecosystem == "Go" ? "Go" : "npm") : ecoScheme
            guard let s else {
                ranges.append(PreparedRange(scheme: nil, events: [], broken: "no version ordering known for \(ecosystem)"))
                continue
            }
            var typed: [(kind: Kind, version: String, parsed: ParsedVersion?)] = []
            typed.reserveCapacity(range.events.count)
            var broken: String?
            for (kind, v) in range.events {
                var p: ParsedVersion?
                if v != "0" && v != "*" {
                    do { p = try s.parsed(v) } catch { broken = broken ?? "advisory has an unparsable version: \(error.reason)" }
                }
                typed.append((kind, v, p))
            }
            if broken == nil {
                // "0" precedes every version; ties keep the record's order.
                func order(_ a: (kind: Kind, version: String, parsed: ParsedVersion?), _ b: (kind: Kind, version: String, parsed: ParsedVersion?)) -> Int {
                    if a.version == b.version { return 0 }
                    if a.version == "0" { return -1 }
                    if b.version == "0" { return 1 }
                    guard let x = a.parsed, let y = b.parsed else { return 0 }
                    return s.compare(x, y)
                }
                // Most ranges are written in order already.
                let inOrder = zip(typed, typed.dropFirst()).allSatisfy { order($0, $1) <= 0 }
                if !inOrder {
                    typed = typed.enumerated().sorted { x, y in
                        let c = order(x.element, y.element)
                        return c != 0 ? c < 0 : x.offset < y.offset
                    }.map(\.element)
                }
            }
            ranges.append(PreparedRange(scheme: s, events: typed, broken: broken))
        }
        return PreparedEntry(listed: listed, ranges: ranges, ecoScheme: ecoScheme, ecosystem: ecosystem, fixed: fixed, severity: severity)
    }

    public static func evaluate(_ entry: OSVRecord.Affected, version: String, ecosystem: String, schemes: SchemeCache? = nil) -> Outcome {
        evaluate(prepare(entry, ecosystem: ecosystem, schemes: schemes), version: version)
    }

    public static func evaluate(_ p: PreparedEntry, version: String) -> Outcome {
        if EntryCodec.listed(p.listed, contains: version) { return .affected }
        var unknown: String?
        // Without ranges, the list is all there is: compare under the scheme too, since it may spell
        // a version differently (`1.19` for `1.19.0`). With ranges, the list enumerates them.
        if p.ranges.isEmpty, let s = p.ecoScheme, !p.listed.isEmpty {
            do {
                try s.validate(version)
                for l in EntryCodec.list(p.listed) where (try? s.compare(version, l)) == 0 { return .affected }
            } catch { unknown = "unparsable version: \(error.reason)" }
        }
        for range in p.ranges {
            switch evaluate(range, version: version) {
            case .affected: return .affected
            case .unknown(let why): unknown = unknown ?? why
            case .notAffected: break
            }
        }
        return unknown.map { .unknown($0) } ?? .notAffected
    }

    static func evaluate(_ range: PreparedRange, version: String) -> Outcome {
        if let broken = range.broken { return .unknown(broken) }
        guard let scheme = range.scheme else { return .unknown("no version ordering known") }
        let mine: ParsedVersion
        do { mine = try scheme.parsed(version) } catch { return .unknown("unparsable version: \(error.reason)") }
        // Every event was parsed when the range was prepared; "0" sorts before any version.
        func cmp(_ p: ParsedVersion?) -> Int { p.map { scheme.compare(mine, $0) } ?? 1 }
        var affected = false
        var limits: [ParsedVersion?] = []
        var unlimited = false
        for (kind, v, p) in range.events {
            switch kind {
            case .introduced: if v == "0" || cmp(p) >= 0 { affected = true }
            case .fixed: if cmp(p) >= 0 { affected = false }
            case .lastAffected: if cmp(p) > 0 { affected = false }
            case .limit: if v == "*" { unlimited = true } else { limits.append(p) }
            }
        }
        // A limit ends the range: the version must be below one of them ("*" is no limit).
        if affected, !limits.isEmpty, !unlimited { affected = limits.contains { cmp($0) < 0 } }
        return affected ? .affected : .notAffected
    }
}

/// Memoizing schemes for one scan, created on first use per ecosystem.
public final class SchemeCache: @unchecked Sendable {
    private var schemes: [String: AnyVersionScheme?] = [:]
    private let lock = NSLock()
    public init() {}
    func scheme(for ecosystem: String) -> AnyVersionScheme? {
        let base = Ecosystems.split(ecosystem).0
        lock.lock(); defer { lock.unlock() }
        if let s = schemes[base] { return s }
        let s = AnyVersionScheme.forEcosystem(base, memoizing: true)
        schemes[base] = s
        return s
    }
}
