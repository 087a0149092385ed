import Foundation

/// A version range in the `vers:` syntax (package-url/vers-spec), as CycloneDX VEX writes in
/// `affects[].versions[].range`: `vers:pypi/>=3.0|<4.0`, `vers:npm/1.2.3|>=2.0.0|<2.5.0`,
/// `vers:deb/*`.
public struct VersRange: Sendable, Equatable {
    public enum Comparator: String, Sendable, Equatable { case eq = "=", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">=" }
    public struct Constraint: Sendable, Equatable {
        public var comparator: Comparator
        public var version: String
    }

    /// The versioning scheme, lower case (`pypi`, `npm`, `deb`…).
    public var scheme: String
    /// Empty for `*`, every version.
    public var constraints: [Constraint]
    public var matchesAll: Bool { constraints.isEmpty }

    /// More constraints than any real range holds is refused rather than walked.
    static let maxConstraints = 1_000

    public init?(_ text: String) {
        let stripped = String(text.unicodeScalars.filter { !CharacterSet.whitespaces.contains($0) })
        guard stripped.lowercased().hasPrefix("vers:"), let slash = stripped.firstIndex(of: "/") else { return nil }
        let scheme = stripped[stripped.index(stripped.startIndex, offsetBy: 5)..<slash].lowercased()
        let body = stripped[stripped.index(after: slash)...]
        guard !scheme.isEmpty, !body.isEmpty else { return nil }
        self.scheme = scheme
        if body == "*" { constraints = []; return }
        let parts = body.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count <= Self.maxConstraints else { return nil }
        var out: [Constraint] = []
        for p in parts {
            var c: Comparator = .eq
            var rest = Substring(p)
            for op in [Comparator.ne, .le, .ge, .lt, .gt, .eq] where rest.hasPrefix(op.rawValue) {
                c = op; rest = rest.dropFirst(op.rawValue.count); break
            }
            guard let v = String(rest).removingPercentEncoding, !v.isEmpty else { return nil }
            out.append(Constraint(comparator: c, version: v))
        }
        constraints = out
    }

    /// The OSV ecosystem whose ordering a vers scheme uses, or nil when Provenant has none.
    static func ecosystem(forScheme scheme: String) -> String? {
        switch scheme {
        case "pypi": return "PyPI"
        case "npm", "semver": return "npm"
        case "cargo": return "crates.io"
        case "golang": return "Go"
        case "maven": return "Maven"
        case "gem": return "RubyGems"
        case "nuget": return "NuGet"
        case "composer": return "Packagist"
        case "deb": return "Debian"
        case "apk", "alpine": return "Alpine"
        case "rpm": return "Red Hat"
        case "hex": return "Hex"
        case "pub": return "Pub"
        case "cran": return "CRAN"
        case "hackage": return "Hackage"
        case "swift": return "SwiftURL"
        default: return nil
        }
    }

    /// Whether `version` lies in the range, under the range's scheme (or `fallbackEcosystem`'s
    /// when the scheme is one Provenant cannot order). Nil when that cannot be decided: an
    /// unknown scheme or a version the scheme cannot read.
    public func contains(_ version: String, fallbackEcosystem: String) -> Bool? {
        if matchesAll { return true }
        let eco = Self.ecosystem(forScheme: scheme) ?? fallbackEcosystem
        // A Composer branch has no place among releases (`RangeEvaluator.isComposerBranch`): only `=`
        // and `!=` judge it, by its spelling (found by helper-215: `<2.0` held `2.x-dev`).
        guard !RangeEvaluator.isBranch(version, ecosystem: eco), let order = AnyVersionScheme.forEcosystem(eco) else {
            // Without an ordering only `=` and `!=` can be judged.
            guard constraints.allSatisfy({ $0.comparator == .eq || $0.comparator == .ne }) else { return nil }
            if constraints.contains(where: { $0.comparator == .ne && $0.version == version }) { return false }
            // `!=V` holds every version but V, so one the `!=` constraints did not exclude is in.
            return constraints.contains { ($0.comparator == .eq && $0.version == version) || $0.comparator == .ne }
        }
        do throws(VersionError) {
            let v = try order.parsed(version)
            let parsed = try constraints.map { c throws(VersionError) in (c, try order.parsed(c.version)) }
            // The vers-spec containment algorithm: equalities first, then the ordered ranges.
            for (c, p) in parsed where c.comparator == .eq || c.comparator == .ne {
                if order.compare(v, p) == 0 { return c.comparator == .eq }
            }
            let bounds = parsed.filter { $0.0.comparator != .eq && $0.0.comparator != .ne }.sorted { order.compare($0.1, $1.1) < 0 }
            func holds(_ c: Comparator, _ p: ParsedVersion) -> Bool {
                let r = order.compare(v, p)
                switch c {
                case .lt: return r < 0
                case .le: return r <= 0
                case .gt: return r > 0
                case .ge: return r >= 0
                case .eq: return r == 0
                case .ne: return r != 0
                }
            }
            // Only `=` and `!=`: a `!=V` contains every version but V (vers spec), and V was
            // ruled out above; `=` alone contains just the versions named.
            guard let first = bounds.first, let last = bounds.last else { return parsed.contains { $0.0.comparator == .ne } }
            if (first.0.comparator == .lt || first.0.comparator == .le), holds(first.0.comparator, first.1) { return true }
            if (last.0.comparator == .gt || last.0.comparator == .ge), holds(last.0.comparator, last.1) { return true }
            for (a, b) in zip(bounds, bounds.dropFirst()) {
                let opens = a.0.comparator == .gt || a.0.comparator == .ge
                let closes = b.0.comparator == .lt || b.0.comparator == .le
                if opens, closes, holds(a.0.comparator, a.1), holds(b.0.comparator, b.1) { return true }
            }
            return false
        } catch {
            return nil
        }
    }
}
