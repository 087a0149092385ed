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
        var byName: [String: [Int]] = [:]
        for (i, p) in packages.enumerated() { byName[p.name, default: []].append(i) }
        // A copy, so resolving does not read `packages` while Graph.link is writing it.
        let versions = packages.map(\.version)
        func resolve(_ s: String) -> Int? {
            let f = s.split(separator: " ").map(String.init)
            guard let name = f.first else { return nil }
            return byName[name]?.first { f.count < 2 || versions[$0] == f[1] }
        }
        Graph.link(&packages, rawDeps, resolve)
        if !local.isEmpty {
            Graph.markDirect(&packages, roots: Set(local.flatMap { $0.2 }.compactMap { resolve($0).map { packages[$0].ref } }))
        }
        return Extraction(packages, diagnostics: diags)
    }
}
