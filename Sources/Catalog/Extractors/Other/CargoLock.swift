import ProvenantCore

/// Cargo.lock: registry and git packages with their checksums and dependency edges.
public struct CargoLockExtractor: Extractor {
    public var readsItsOwnFileOnly: Bool { true }
    public let name = "cargo-lock"
    public init() {}
    public func wants(_ file: IndexedFile, fileName: String) -> Bool { fileName == "Cargo.lock" }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        let doc = try TOMLParser.parse(try input.text())
        var packages: [Package] = []
        var local: [(String, String, [String])] = []
        var rawDeps: [[String]] = []
        var diags: [Diagnostic] = []
        for t in doc.tables("package") {
            guard let n = t.str("name"), let v = t.str("version"), !n.isEmpty, !v.isEmpty else {
                diags.append(Diagnostic(Location(input.path, line: t.line), "package without name or version, skipped", unscanned: .entry)); continue
            }
            let deps = t["dependencies"]?.array?.compactMap(\.string) ?? []
            // Workspace members have no source: they are the project, not dependencies.
            guard t.str("source") != nil else { local.append((n, v, deps)); continue }
            var p = Make.package(.cargo, n, v, at: input.path, line: t.line, by: name)
            if let c = t.str("checksum"), let d = Digest(.sha256, hex: c) { p.digests = [d] }
            p.source = t.str("source")
            p.dependenciesKnown = true
            packages.append(p)
            rawDeps.append(deps)
        }
        // Entries read `name` or `name version` (or `name version (source)`) when several versions exist.
        // The first package of each name, and of each name and version: searched per entry, 80,000
        // versions of one crate took 16 s (found by helper-232).
        var byName: [String: Int] = [:], byNameVersion: [String: Int] = [:]
        for (i, p) in packages.enumerated() {
            if byName[p.name] == nil { byName[p.name] = i }
            let key = p.name + " " + p.version
            if byNameVersion[key] == nil { byNameVersion[key] = i }
        }
        func resolve(_ s: String) -> Int? {
            let f = s.split(separator: " ")
            guard let name = f.first else { return nil }
            return f.count < 2 ? byName[String(name)] : byNameVersion[name + " " + f[1]]
        }
        Graph.link(&packages, rawDeps, resolve)
        if !local.isEmpty {
            Graph.markDirect(&packages, roots: Set(local.flatMap { $0.2 }.compactMap { resolve($0).map { packages[$0].ref } }))
        }
        return Extraction(packages, diagnostics: diags)
    }
}
