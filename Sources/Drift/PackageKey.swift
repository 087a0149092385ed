import Foundation
import ProvenantCore
import SBOM

/// How `diff` pairs a package on one side with the same package on the other: the purl without
/// qualifiers or subpath (`pkg:npm/%40scope/name@1.2.3` → name key `pkg:npm/%40scope/name`, version
/// `1.2.3`). Names are folded the way the ecosystem folds them (PyPI's PEP 503, lower case where the
/// registry is case-insensitive), so two SBOM writers that spell a name differently still agree.
public struct PackageKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// `pkg:type/namespace/name`, folded.
    public var name: String
    public var version: String

    public init(name: String, version: String) { self.name = name; self.version = version }

    public init(_ p: Package) {
        let purl = p.purl
        var n = purl.name, ns = purl.namespace
        switch purl.type {
        case "pypi": n = PackageIdentity.pep503(n)
        // Registries that treat names case-insensitively (the purl spec lowercases GitHub's, Bitbucket's,
        // Hex's and pub's: found by helper-106); Go module paths and gem names are not.
        case "npm", "cargo", "nuget", "composer", "deb", "apk", "github", "bitbucket", "hex", "pub": n = n.lowercased(); ns = ns?.lowercased()
        default: break
        }
        // A component without a purl is keyed by name alone, and its finding says so. Not `name:x`:
        // with its version, `name:zlib@1.3` read as user:password@host and was redacted (found by review).
        if p.foundBy == SBOMReader.withoutPurl { name = Self.withoutPurl + n.lowercased() }
        else { name = "pkg:\(purl.type)/" + (ns.map { $0 + "/" } ?? "") + n }
        version = purl.version ?? p.version
        // An epoch written as a qualifier (trivy's deb and rpm purls) orders the version before its
        // numbers do: without it, `2.38.1` with epoch 1 to `2.38.2` read as a patch upgrade, which a
        // policy approved, where it is a downgrade (found by helper-170). It joins the version as
        // Debian and RPM write it; epoch 0 is no epoch.
        if purl.type == "deb" || purl.type == "rpm" || purl.type == "alpm", let e = purl.qualifiers["epoch"],
           !e.isEmpty, e.allSatisfy({ $0.isASCII && $0.isNumber }), e.contains(where: { $0 != "0" }), !version.contains(":") {
            version = e + ":" + version
        }
    }

    static let withoutPurl = "(no purl) "

    /// The purl type (`golang`), nil for a component without a purl.
    public var purlType: String? {
        guard name.hasPrefix("pkg:"), let slash = name.firstIndex(of: "/") else { return nil }
        return String(name[name.index(name.startIndex, offsetBy: 4)..<slash])
    }

    public var description: String { version.isEmpty ? name : name + "@" + version }
    /// The name's last part.
    public var shortName: String { String(name.split(separator: "/").last ?? Substring(name)) }
    /// The name as a person would type it: namespace and name (`@babel/core`, `github.com/x/y`),
    /// without the purl type. What the lookalike check compares.
    public var displayName: String {
        // A component without a purl is compared by its name too (it was skipped: found by helper-106).
        if name.hasPrefix(Self.withoutPurl) { return String(name.dropFirst(Self.withoutPurl.count)) }
        guard name.hasPrefix("pkg:"), let slash = name.firstIndex(of: "/") else { return String(name.drop { $0 != ":" }.dropFirst()) }
        // The key holds the purl's parts decoded already: decoding again read `%2540types` (a namespace
        // `%40types`) as the `@types` scope, which an additions glob then approved (found by helper-163).
        return String(name[name.index(after: slash)...])
    }
    public static func < (a: PackageKey, b: PackageKey) -> Bool { (a.name, a.version) < (b.name, b.version) }
}
