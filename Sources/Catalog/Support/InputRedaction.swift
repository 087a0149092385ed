import ProvenantCore

/// Package fields are quoted from the input into SBOMs and reports, so they pass through the one
/// `Redactor` before they leave the catalog: a version that is a git URL with a token, a homepage
/// with userinfo, a `vcs_url` qualifier. Renamed purls are followed in every dependency edge.
enum InputRedaction {
    static func scrub(_ packages: inout [Package]) {
        var renamed: [String: String] = [:]
        for i in packages.indices {
            let old = packages[i].ref
            scrub(&packages[i])
            let new = packages[i].ref
            if new != old { renamed[old] = new }
        }
        guard !renamed.isEmpty else { return }
        for i in packages.indices where packages[i].dependsOn.contains(where: { renamed[$0] != nil }) {
            packages[i].dependsOn = packages[i].dependsOn.map { renamed[$0] ?? $0 }
        }
    }

    static func scrub(_ p: inout Package) {
        func clean(_ s: String?) -> String? { s.map(Redactor.redact) }
        p.homepage = clean(p.homepage)
        p.description = clean(p.description)
        p.author = clean(p.author)
        p.supplier = clean(p.supplier)
        let version = Redactor.redact(p.version)
        let qualifiers = p.purl.qualifiers.mapValues(Redactor.redact)
        if version != p.version || qualifiers != p.purl.qualifiers {
            p.version = version
            p.purl = PackageURL(type: p.purl.type, namespace: p.purl.namespace, name: p.purl.name,
                                version: p.purl.version.map(Redactor.redact), qualifiers: qualifiers, subpath: p.purl.subpath)
        }
    }
}
