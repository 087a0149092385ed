/// Decides whether one version falls in one OSV `affected` entry, by the schema's evaluation rules.
public enum RangeEvaluator {
    public enum Outcome: Sendable, Equatable {
        case affected
        case notAffected
        /// A version on either side could not be read, so "not affected" cannot be claimed.
        case unknown(String)
    }

    /// `ecosystem` is the OSV base name; SEMVER ranges use SemVer (Go's flavour for Go), ECOSYSTEM
    /// ranges the ecosystem's own scheme, and GIT ranges are skipped.
    public static func evaluate(_ entry: OSVRecord.Affected, version: String, ecosystem: String) -> Outcome {
        if let listed = entry.versions, listed.contains(version) { return .affected }
        let ecoScheme = AnyVersionScheme.forEcosystem(ecosystem)
        var unknown: String?
        // Listed versions may be spelled differently (`1.19` for `1.19.0`); compare them too.
        if let s = ecoScheme, let listed = entry.versions, !listed.isEmpty {
            do {
                try s.validate(version)
                for l in listed where (try? s.compare(version, l)) == 0 { return .affected }
            } catch { unknown = "unparsable version: \(error.reason)" }
        }
        for range in entry.ranges ?? [] where range.type != "GIT" {
            let scheme: AnyVersionScheme?
            if range.type == "SEMVER" { scheme = ecosystem == "Go" ? AnyVersionScheme(GoVersion()) : AnyVersionScheme(SemVer()) }
            else { scheme = ecoScheme }
            guard let scheme else { unknown = unknown ?? "no version ordering known for \(ecosystem)"; continue }
            switch evaluate(range.events, version: version, scheme: scheme) {
            case .affected: return .affected
            case .unknown(let why): unknown = unknown ?? why
            case .notAffected: break
            }
        }
        return unknown.map { .unknown($0) } ?? .notAffected
    }

    static func evaluate(_ events: [OSVRecord.Event], version: String, scheme: AnyVersionScheme) -> Outcome {
        do {
            try scheme.validate(version)
        } catch { return .unknown("unparsable version: \(error.reason)") }
        enum Kind { case introduced, fixed, lastAffected, limit }
        var typed: [(Kind, String)] = []
        for e in events {
            if let v = e.introduced { typed.append((.introduced, v)) }
            else if let v = e.fixed { typed.append((.fixed, v)) }
            else if let v = e.lastAffected { typed.append((.lastAffected, v)) }
            else if let v = e.limit { typed.append((.limit, v)) }
        }
        do {
            // "0" precedes every version; "*" as a limit means no limit.
            func compareEvent(_ a: String, _ b: String) throws(VersionError) -> Int {
                if a == b { return 0 }
                if a == "0" { return -1 }
                if b == "0" { return 1 }
                return try scheme.compare(a, b)
            }
            for (_, v) in typed where v != "0" && v != "*" { try scheme.validate(v) }
            // Every version was validated above, so comparisons here cannot fail.
            let sorted = typed.enumerated().sorted { x, y in
                let c = (try? compareEvent(x.element.1, y.element.1)) ?? 0
                return c != 0 ? c < 0 : x.offset < y.offset
            }.map(\.element)
            func cmp(_ v: String) throws(VersionError) -> Int { v == "0" ? 1 : try scheme.compare(version, v) }
            var affected = false
            for (kind, v) in sorted {
                switch kind {
                case .introduced: if try v == "0" || cmp(v) >= 0 { affected = true }
                case .fixed: if try cmp(v) >= 0 { affected = false }
                case .lastAffected: if try cmp(v) > 0 { affected = false }
                case .limit: break
                }
            }
            let limits = sorted.filter { $0.0 == .limit }.map(\.1)
            if affected, !limits.isEmpty, !limits.contains("*") {
                var below = false
                for l in limits where try cmp(l) < 0 { below = true }
                affected = below
            }
            return affected ? .affected : .notAffected
        } catch {
            return .unknown("advisory has an unparsable version: \((error as? VersionError)?.reason ?? "\(error)")")
        }
    }
}
