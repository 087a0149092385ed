import Foundation
import Synchronization
import ProvenantCore

/// Decides whether one version falls in one OSV `affected` entry, by the schema's evaluation rules.
public enum RangeEvaluator {
    public enum Outcome: Sendable, Equatable {
        case affected
        case notAffected
        /// A version on either side could not be read, so "not affected" cannot be claimed.
        case unknown(String)
    }

    enum Kind { case introduced, fixed, lastAffected, limit }

    /// One range with its events validated and sorted, ready for many versions. A class, like the
    /// entry: a scan hands each around tens of thousands of times, and a copy of a struct retained
    /// every field.
    final class PreparedRange: Sendable {
        let scheme: AnyVersionScheme?
        /// Each event with its version parsed once; nil for "0" and "*", which sort before everything and limit nothing.
        let events: [(kind: Kind, version: String, parsed: ParsedVersion?)]
        /// Why the range cannot be evaluated (an unparsable event, no known ordering).
        let broken: String?
        init(scheme: AnyVersionScheme?, events: [(kind: Kind, version: String, parsed: ParsedVersion?)], broken: String?) {
            self.scheme = scheme; self.events = events; self.broken = broken
        }

        /// Whether every version is in the range whatever its order: it is introduced at 0 and has no
        /// fix, no last affected version and no limit but `*`.
        var holdsEveryVersion: Bool {
            broken == nil && events.contains { $0.kind == .introduced && $0.parsed == nil }
                && events.allSatisfy { $0.kind == .introduced || ($0.kind == .limit && $0.version == "*") }
        }
    }

    /// An `affected` entry prepared once and evaluated against every version of a package.
    public final class PreparedEntry: Sendable {
        /// `versions[]` joined by GS (0x1D) and searched as bytes: lists run to hundreds of versions,
        /// and a scan checks each against a few package versions at most.
        let listed: String
        let ranges: [PreparedRange]
        let ecoScheme: AnyVersionScheme?
        /// What a finding reports of the entry: the fixed versions of its non-GIT ranges (sorted, once),
        /// and its own severity.
        let fixed: [String]
        let severity: [OSVRecord.Severity]?
        init(listed: String, ranges: [PreparedRange], ecoScheme: AnyVersionScheme?, fixed: [String], severity: [OSVRecord.Severity]?) {
            self.listed = listed; self.ranges = ranges; self.ecoScheme = ecoScheme; self.fixed = fixed; self.severity = severity
        }

        /// The listed versions the ecosystem's scheme reads, parsed the first time a version is held
        /// against them and kept: split and parsed again for each package version, 200 versions of a
        /// package against one record listing 200,000 took 21 s (found by helper-233).
        /// Sorted, under an ordering known to be a total preorder, so a version is found by binary search:
        /// held against all 16,210 each, 2,000 tensorflow versions still took 5.6 s.
        private let parsedListed = Mutex<(sorted: Bool, versions: [ParsedVersion])?>(nil)

        /// The orderings that are transitive and total (the version-order corpus and the fuzz harness's
        /// three-string property hold them so); Maven's and Packagist's have cycles, and the rest are
        /// searched whole.
        static let sortable: Set<String> = ["PyPI", "SemVer", "Pub", "Go", "RubyGems", "NuGet"]

        /// Whether a listed version equals `mine` (spelt `spelling`) under `scheme` (the entry's own).
        /// Only ASCII spellings are searched by halves: PyPI's legacy versions are equal as Swift
        /// strings (canonically) but ordered by code points, so `é` spelt two ways is equal with `f`
        /// between them (found by helper-234).
        func listedHolds(_ mine: ParsedVersion, spelt spelling: String, by scheme: AnyVersionScheme) -> Bool {
            let (sorted, vs) = parsedListed.withLock { cached in
                if let cached { return cached }
                let all = EntryCodec.list(listed)
                var parsed = all.compactMap { try? scheme.parsed($0) }
                let sortable = Self.sortable.contains(scheme.name) && all.allSatisfy { $0.utf8.allSatisfy { $0 < 0x80 } }
                if sortable { parsed.sort { scheme.compare($0, $1) < 0 } }
                cached = (sortable, parsed)
                return (sortable, parsed)
            }
            guard sorted, spelling.utf8.allSatisfy({ $0 < 0x80 }) else { return vs.contains { scheme.compare(mine, $0) == 0 } }
            var lo = 0, hi = vs.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if scheme.compare(vs[mid], mine) < 0 { lo = mid + 1 } else { hi = mid }
            }
            return lo < vs.count && scheme.compare(mine, vs[lo]) == 0
        }
    }

    /// One range as written: its type and its events in the record's order.
    struct RawRange { var type: String; var events: [(kind: Kind, version: String)] }

    /// The orderings one ecosystem's entries use: its own for ECOSYSTEM ranges, and SemVer for
    /// SEMVER ranges (Go's flavour for Go). Resolved once per ecosystem, not per entry.
    public struct Schemes: Sendable {
        let ecosystem: String
        let own: AnyVersionScheme?
        let semver: AnyVersionScheme?
        public init(ecosystem: String, memoizing: Bool = false) {
            self.ecosystem = ecosystem
            own = AnyVersionScheme.forEcosystem(ecosystem, memoizing: memoizing)
            semver = AnyVersionScheme.forEcosystem(ecosystem == "Go" ? "Go" : "npm", memoizing: memoizing)
        }
    }

    /// `ecosystem` is the OSV base name; SEMVER ranges use SemVer (Go's flavour for Go), ECOSYSTEM
    /// ranges the ecosystem's own scheme, and GIT ranges are skipped.
    public static func prepare(_ entry: OSVRecord.Affected, ecosystem: String) -> PreparedEntry {
        let ranges = (entry.ranges ?? []).map { r in
            RawRange(type: r.type, events: r.events.compactMap { e -> (kind: Kind, version: String)? in
                if let v = e.introduced { return (.introduced, v) }
                if let v = e.fixed { return (.fixed, v) }
                if let v = e.lastAffected { return (.lastAffected, v) }
                return e.limit.map { (.limit, $0) }
            })
        }
        return prepare(ranges: ranges, listed: EntryCodec.list(entry.versions ?? []), severity: entry.severity, schemes: Schemes(ecosystem: ecosystem))
    }

    static func prepare(ranges raw: [RawRange], listed: String, severity: [OSVRecord.Severity]?, schemes: Schemes) -> PreparedEntry {
        let ecoScheme = schemes.own, ecosystem = schemes.ecosystem
        var ranges: [PreparedRange] = []
        var fixed: [String] = []
        for range in raw where range.type != "GIT" {
            for e in range.events where e.kind == .fixed { fixed.append(e.version) }
            let s = range.type == "SEMVER" ? schemes.semver : ecoScheme
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
                    // PEP 440's parser takes anything, ordering what it rejects before every release
                    // (pip's old legacy order): a range fixed at `2.0-custom-build` then never held any
                    // version, and the advisory never matched (found by helper-122). Unknown instead.
                    if broken == nil, s.name == "PyPI", PEP440.strict(v.trimmed.lowercased()) == nil {
                        broken = "advisory has a version PEP 440 does not accept: '\(Redactor.quote(v, max: 60))'"
                    }
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
        // An entry that names the package but no versions and no ranges (or GIT ranges only) says
        // nothing this can place a version in: older Go entries meant "every version" by it, and the
        // schema now leaves it undefined. Unknown, never "not affected".
        if ranges.isEmpty && listed.isEmpty {
            ranges.append(PreparedRange(scheme: nil, events: [], broken: "the advisory lists no affected versions and no version ranges for the package"))
        }
        return PreparedEntry(listed: listed, ranges: ranges, ecoScheme: ecoScheme,
                             fixed: fixed.count < 2 ? fixed : Array(Set(fixed)).sorted(), severity: severity)
    }

    public static func evaluate(_ entry: OSVRecord.Affected, version: String, ecosystem: String) -> Outcome {
        evaluate(prepare(entry, ecosystem: ecosystem), version: version)
    }

    /// A package's version with its parse under each scheme kept, so checking it against many
    /// entries parses it once per scheme (at most two: the ecosystem's and SemVer).
    public struct Subject {
        public let version: String
        private var parsed: [(scheme: String, result: Result<ParsedVersion, VersionError>)] = []
        public init(_ version: String) { self.version = version }

        mutating func parsed(by scheme: AnyVersionScheme) -> Result<ParsedVersion, VersionError> {
            for p in parsed where p.scheme == scheme.name { return p.result }
            let r: Result<ParsedVersion, VersionError>
            do throws(VersionError) { r = .success(try scheme.parsed(version)) } catch { r = .failure(error) }
            parsed.append((scheme.name, r))
            return r
        }
    }

    /// Whether a Composer version names a branch: `dev-NAME`, or a branch alias ending in `x-dev`
    /// (`1.x-dev`, `2.3.x-dev`). A dated snapshot such as `2.0.0-dev` is a release's pre-release, kept.
    static func isComposerBranch(_ version: String) -> Bool {
        let v = version.trimmed.lowercased()
        return v.hasPrefix("dev-") || v.hasSuffix("x-dev")
    }

    /// Whether `version` of a package in `ecosystem` is a Composer branch, which no order places.
    static func isBranch(_ version: String, ecosystem: String) -> Bool {
        ecosystem == "Packagist" && isComposerBranch(version)
    }

    public static func evaluate(_ p: PreparedEntry, version: String) -> Outcome {
        var subject = Subject(version)
        return evaluate(p, &subject)
    }

    public static func evaluate(_ p: PreparedEntry, _ subject: inout Subject) -> Outcome {
        let version = subject.version
        if EntryCodec.listed(p.listed, contains: version) { return .affected }
        // A PyPI version PEP 440 rejects (`3.2.5-custom`) has no place among releases: pip's old legacy
        // order put it before all of them, so it missed every range that starts above 0 (found by
        // helper-72). It is judged unknown, never "not affected".
        if let s = p.ecoScheme, s.name == "PyPI", !p.ranges.isEmpty || !p.listed.isEmpty, PEP440.strict(version.trimmed.lowercased()) == nil {
            return .unknown("'\(version)' is not a PEP 440 version, so it cannot be placed among the releases")
        }
        // A Composer branch (`dev-main`, `1.x-dev`, `2.3.x-dev`) is whatever commit the lock pinned; its
        // word sorts below every release, so it missed every range starting above 0 (found by
        // helper-214). It cannot be placed, so it is unknown.
        // A range that holds every version (introduced at 0, never fixed or limited) holds the branch
        // wherever it falls (found by helper-215).
        if let s = p.ecoScheme, !p.ranges.isEmpty || !p.listed.isEmpty, isBranch(version, ecosystem: s.name) {
            if p.ranges.contains(where: \.holdsEveryVersion) { return .affected }
            return .unknown("'\(version)' is a branch, not a release, so it cannot be placed among the releases")
        }
        var unknown: String?
        for range in p.ranges {
            switch evaluate(range, &subject) {
            case .affected: return .affected
            case .unknown(let why): unknown = unknown ?? why
            case .notAffected: break
            }
        }
        // The list may spell a version differently from the package (`1.19` for `1.19.0`, `3.2a1` for
        // `3.2.0a1`), so it is compared under the ecosystem's scheme too, with or without ranges: the
        // ranges need not cover every listed version (a GIT range, or one the list outgrew).
        if let s = p.ecoScheme, !p.listed.isEmpty {
            switch subject.parsed(by: s) {
            case .success(let mine):
                if p.listedHolds(mine, spelt: subject.version, by: s) { return .affected }
            case .failure(let error): unknown = unknown ?? "unparsable version: \(error.reason)"
            }
        }
        return unknown.map { .unknown($0) } ?? .notAffected
    }

    static func evaluate(_ range: PreparedRange, _ subject: inout Subject) -> Outcome {
        if let broken = range.broken { return .unknown(broken) }
        guard let scheme = range.scheme else { return .unknown("no version ordering known") }
        let mine: ParsedVersion
        switch subject.parsed(by: scheme) {
        case .success(let p): mine = p
        case .failure(let error): return .unknown("unparsable version: \(error.reason)")
        }
        // Every event was parsed when the range was prepared; "0" sorts before any version.
        func cmp(_ p: ParsedVersion?) -> Int { p.map { scheme.compare(mine, $0) } ?? 1 }
        var affected = false
        var limits: [ParsedVersion?] = []
        var unlimited = false
        for (kind, v, p) in range.events {
            switch kind {
            case .introduced: if cmp(p) >= 0 { affected = true }
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
