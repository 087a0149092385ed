import ProvenantCore

/// Package fields are quoted from the input into SBOMs and reports, so they pass through the one
/// `Redactor` before they leave the catalog (or an SBOM read back): a version that is a git URL with
/// a token, a name derived from a location with userinfo, a homepage, a `vcs_url` qualifier, a
/// license string. Identity fields use `Redactor.redactField`, which leaves public random-looking
/// values such as Go pseudo-versions alone. Renamed purls are followed in every dependency edge.
public enum InputRedaction {
    public static func scrub(_ packages: inout [Package]) {
        // Every field of every package asks the secrets engine: thousands of packages are split over
        // the cores, and joined back in order.
        let input = packages
        let width = input.count >= 512 ? Parallel.cores : 1
        var parts = Parallel.map(width: width) { w -> (packages: [Package], renamed: [String: String]) in
            var mine = Array(input[Parallel.share(w, of: width, input.indices)])
            var renamed: [String: String] = [:]
            for i in mine.indices {
                let old = mine[i].ref
                scrub(&mine[i])
                let new = mine[i].ref
                if new != old { renamed[old] = new }
            }
            return (mine, renamed)
        }
        var lists = parts.map(\.packages)
        let renamed = parts.reduce(into: [String: String]()) { $0.merge($1.renamed) { _, later in later } }   // the last package wins, as in order
        parts.removeAll()
        packages = Parallel.joined(&lists)
        guard !renamed.isEmpty else { return }
        for i in packages.indices where packages[i].dependsOn.contains(where: { renamed[$0] != nil }) {
            packages[i].dependsOn = packages[i].dependsOn.map { renamed[$0] ?? $0 }
        }
    }

    public static func scrub(_ p: inout Package) {
        func text(_ s: String?) -> String? { s.map(Redactor.redact) }
        p.homepage = text(p.homepage)
        p.description = text(p.description)
        p.author = text(p.author)
        p.supplier = text(p.supplier)
        p.licenses = p.licenses.map(Redactor.redactField)
        // License texts are copied from input files whole, so they are redacted as any other input text.
        p.licenseTexts = p.licenseTexts?.mapValues(Redactor.redact)
        p.name = Redactor.redactField(p.name)
        p.version = Redactor.redactField(p.version)
        p.purl = scrub(p.purl)
        // A resolved URL may carry registry credentials; its commit hash is public and kept.
        p.source = p.source.map(Redactor.redactField)
        p.installScripts = p.installScripts?.map(Redactor.redact)
    }

    public static func scrub(_ purl: PackageURL) -> PackageURL {
        let namespace = purl.namespace.map(Redactor.redactField), name = Redactor.redactField(purl.name)
        let version = purl.version.map(Redactor.redactField), subpath = purl.subpath.map(Redactor.redactField)
        let qualifiers = purl.qualifiers.mapValues(Redactor.redactField)
        guard namespace != purl.namespace || name != purl.name || version != purl.version || subpath != purl.subpath
                || qualifiers != purl.qualifiers else { return purl }
        return PackageURL(type: purl.type, namespace: namespace, name: name, version: version, qualifiers: qualifiers, subpath: subpath)
    }
}
