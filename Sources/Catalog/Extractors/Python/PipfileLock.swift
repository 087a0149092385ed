import ProvenantCore

/// Pipfile.lock: `default` and `develop` maps of name → pinned version and hashes.
public struct PipfileLockExtractor: Extractor {
    public var readsItsOwnFileOnly: Bool { true }
    public let name = "python-pipfile-lock"
    public init() {}
    public func wants(_ file: IndexedFile, fileName: String) -> Bool { fileName == "Pipfile.lock" }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        let bytes = try input.bytes()
        let doc = try JSON.object(bytes)
        let lines = JSONKeyLines(bytes)
        var packages: [Package] = []
        var diags: [Diagnostic] = []
        for (section, scope) in [("default", Scope.required), ("develop", Scope.dev)] {
            guard let sec = doc.obj(section) else { continue }
            for key in sec.keys.sorted() {
                guard let entry = sec[key] as? [String: Any] else { continue }
                guard let v = entry.str("version"), v.hasPrefix("==") else {
                    diags.append(Diagnostic(Location(input.path, line: lines.line(key)), "'\(key)' has no pinned version, skipped", unscanned: .entry))
                    continue
                }
                var p = Make.package(.pypi, key, String(v.dropFirst(v.hasPrefix("===") ? 3 : 2)), at: input.path,
                                     line: lines.line(key), by: name, scope: scope)
                if let hs = entry.arr("hashes") as? [String], hs.count == 1, hs[0].hasPrefix("sha256:"),
                   let d = Digest(.sha256, hex: String(hs[0].dropFirst(7))) { p.digests = [d] }
                packages.append(p)
            }
        }
        // A package in both sections is needed at run time.
        let prodNames = Set(packages.filter { $0.scope == .required }.map(\.ref))
        packages.removeAll { $0.scope == .dev && prodNames.contains($0.ref) }
        return Extraction(packages.filteredForDev(input.context.includeDev), diagnostics: diags)
    }
}
