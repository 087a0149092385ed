import ProvenantCore

/// Shared package construction so every extractor spells purls and locations the same way.
enum Make {
    static func package(_ eco: Ecosystem, _ name: String, _ version: String, at path: String, line: Int? = nil,
                        by extractor: String, scope: Scope = .required, qualifiers: [String: String] = [:],
                        namespace: String? = nil) -> Package {
        Package(ecosystem: eco, name: name, version: version,
                purl: PackageIdentity.purl(eco, name: name, version: version, qualifiers: qualifiers, namespace: namespace),
                locations: [Location(path, line: line)], scope: scope, foundBy: extractor)
    }
}

extension Array where Element == Package {
    /// Drops dev packages unless asked for; they stay marked with their scope when kept.
    func filteredForDev(_ includeDev: Bool) -> [Package] {
        includeDev ? self : filter { $0.scope != .dev }
    }
}
