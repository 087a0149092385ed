/// Per-ecosystem name canonicalisation and purl construction.
public enum PackageIdentity {
    /// PEP 503: lowercase, with runs of '-', '_' and '.' folded to one '-'.
    public static func pep503(_ name: String) -> String {
        var out = ""
        var lastSep = false
        for ch in name.lowercased() {
            if ch == "-" || ch == "_" || ch == "." {
                if !lastSep { out.append("-") }
                lastSep = true
            } else { out.append(ch); lastSep = false }
        }
        return out
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
