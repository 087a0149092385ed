/// Per-ecosystem name canonicalisation and purl construction.
public enum PackageIdentity {
    /// PEP 503: lowercase, with runs of '-', '_' and '.' folded to one '-'.
    public static func pep503(_ name: String) -> String {
        // By bytes: lower-case it, then fold each run of '-', '_' and '.' into one '-'.
        let lower = name.lowercasedFast
        var out: [UInt8] = []
        out.reserveCapacity(lower.utf8.count)
        var lastSep = false, changed = false
        for b in lower.utf8 {
            if b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".") {
                if lastSep || b != UInt8(ascii: "-") { changed = true }
                if !lastSep { out.append(UInt8(ascii: "-")) }
                lastSep = true
            } else {
                out.append(b)
                lastSep = false
            }
        }
        return changed ? String(decoding: out, as: UTF8.self) : lower
    }

    /// Splits at the last '/', for Go module paths, npm scopes, composer vendors and Swift URLs.
    static func splitLast(_ s: String) -> (String?, String) {
        guard let i = s.lastIndex(of: "/") else { return (nil, s) }
        return (String(s[..<i]), String(s[s.index(after: i)...]))
    }

    public static func purl(_ eco: Ecosystem, name: String, version: String,
                            qualifiers: [String: String] = [:], namespace: String? = nil) -> PackageURL {
        switch eco {
        case .pypi:
            return PackageURL(type: "pypi", name: pep503(name), version: version, qualifiers: qualifiers)
        case .npm, .golang, .composer:
            let (ns, n) = splitLast(name)
            // npm scopes and composer vendors are case-insensitive; the purl spec lowercases them.
            let lower = eco == .npm || eco == .composer
            return PackageURL(type: eco.rawValue, namespace: lower ? ns?.lowercased() : ns,
                              name: lower ? n.lowercased() : n, version: version, qualifiers: qualifiers)
        case .maven:
            let parts = name.split(separator: ":", maxSplits: 1).map(String.init)
            if parts.count == 2 {
                return PackageURL(type: "maven", namespace: parts[0], name: parts[1], version: version, qualifiers: qualifiers)
            }
            return PackageURL(type: "maven", namespace: namespace, name: name, version: version, qualifiers: qualifiers)
        case .swift:
            let (ns, n) = splitLast(name)
            return PackageURL(type: "swift", namespace: ns, name: n, version: version, qualifiers: qualifiers)
        case .nuget, .gem, .cargo, .generic:
            return PackageURL(type: eco.rawValue, name: name, version: version, qualifiers: qualifiers)
        case .deb, .apk:
            return PackageURL(type: eco.rawValue, namespace: namespace, name: name, version: version, qualifiers: qualifiers)
        }
    }
}
