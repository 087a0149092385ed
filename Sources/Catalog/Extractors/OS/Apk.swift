import ProvenantCore

/// Alpine's installed database, `lib/apk/db/installed`.
public struct ApkExtractor: Extractor {
    public var readsItsOwnFileOnly: Bool { true }
    public let name = "apk"
    public init() {}

    public func wants(_ file: IndexedFile, fileName: String) -> Bool { file.path.hasSuffix("lib/apk/db/installed") }
    public var linkedPaths: [String] { ["lib/apk/db/installed"] }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        let text = try input.text()
        var packages: [Package] = []
        var diags: [Diagnostic] = []
        var provides: [String: Int] = [:]
        var rawDeps: [[String]] = []
        for record in ApkDatabase.records(text) {
            let startLine = record.line
            func f(_ k: Character) -> String? { record.first(k) }
            guard let n = f("P"), !n.isEmpty else {
                diags.append(Diagnostic(Location(input.path, line: startLine), "apk record without a package name (P:), skipped", unscanned: .entry))
                continue
            }
            guard let v = f("V"), !v.isEmpty else {
                diags.append(Diagnostic(Location(input.path, line: startLine), "package '\(n)' has no version (V:), skipped", unscanned: .entry))
                continue
            }
            var q: [String: String] = [:]
            if let a = f("A") { q["arch"] = a }
            if let d = input.context.distro { q["distro"] = d.qualifier }
            if let o = f("o"), o != n { q["upstream"] = o }
            var p = Make.package(.apk, n, v, at: input.path, line: startLine, by: name, qualifiers: q,
                                 namespace: input.context.distro?.id ?? "alpine")
            if let l = f("L"), !l.isEmpty { p.licenses = [l] }
            p.supplier = f("m")
            p.description = f("T")
            p.homepage = f("U")
            if let c = f("C"), c.hasPrefix("Q1"), let d = Digest(.sha1, base64: String(c.dropFirst(2))) { p.digests = [d] }
            p.files = record.files.map { PackageFile(path: $0.path, digest: $0.digest) }
            p.dependenciesKnown = true
            let idx = packages.count
            provides[n] = idx
            for pv in (f("p") ?? "").split(separator: " ") {
                let key = String(pv.split(whereSeparator: { "=<>~".contains($0) }).first ?? pv)
                if provides[key] == nil { provides[key] = idx }
            }
            rawDeps.append((f("D") ?? "").split(separator: " ").compactMap { d in
                if d.hasPrefix("!") { return nil }
                return String(d.split(whereSeparator: { "=<>~".contains($0) }).first ?? d)
            })
            packages.append(p)
        }
        Graph.link(&packages, rawDeps) { provides[$0] }
        return Extraction(packages, diagnostics: diags)
    }
}
