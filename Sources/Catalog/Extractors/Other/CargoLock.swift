import ProvenantCore

/// Cargo.lock: registry and git packages with their checksums and dependency edges.
public struct CargoLockExtractor: Extractor {
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
                diags.append(Diagnostic(Location(input.path, line: t.line), "package without name or version, skipped")); continue
            }
            let deps = t["dependencies"]?.array?.compactMap(\.string) ?? []
            // Workspace members have no source: they are the project, not dependencies.
            guard t.str("source") != nil else { local.append((n, v, deps)); continue }
            var p = Make.package(.cargo, n, v, at: input.path, line: t.line, by: name)
            if let c = t.str("checksum"), let d = Digest(.sha256, hex: c) { p.digests = [d] }
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

/// Gemfile.lock: GEM, GIT and PATH specs, with edges from the indented dependency lines.
public struct GemfileLockExtractor: Extractor {
    public let name = "gemfile-lock"
    public init() {}
    public func wants(_ file: IndexedFile, fileName: String) -> Bool { fileName == "Gemfile.lock" || fileName == "gems.locked" }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        var packages: [Package] = []
        var rawDeps: [[String]] = []
        var direct: [String] = []
        var section = "", inSpecs = false, revision: String?
        var sawSection = false
        let text = try input.text()
        for (n, raw) in Lines(text: text) {
            if raw.isEmpty { continue }
            let indent = raw.prefix(while: { $0 == " " }).count
            if indent == 0 { section = raw.trimmed; inSpecs = false; revision = nil; sawSection = true; continue }
            let t = raw.trimmed
            switch section {
            case "GEM", "GIT", "PATH", "PLUGIN SOURCE":
                if indent == 2 {
                    inSpecs = t == "specs:"
                    if t.hasPrefix("revision:") { revision = String(t.dropFirst(9)).trimmed }
                } else if inSpecs && indent == 4 {
                    guard let open = t.firstIndex(of: "("), t.hasSuffix(")") else { continue }
                    let gname = String(t[..<open]).trimmed
                    var ver = String(t[t.index(after: open)..<t.index(before: t.endIndex)])
                    // Platform-specific gems read `1.13.8-x86_64-linux`.
                    var q: [String: String] = [:]
                    if let dash = ver.firstIndex(of: "-"), ver[ver.index(after: dash)...].contains(where: { $0.isLetter }) {
                        q["platform"] = String(ver[ver.index(after: dash)...]); ver = String(ver[..<dash])
                    }
                    if section == "PATH" { continue }
                    var p = Make.package(.gem, gname, ver, at: input.path, line: n, by: name, qualifiers: q)
                    if section == "GIT", let r = revision { p.description = "git revision \(r)" }
                    p.dependenciesKnown = true
                    packages.append(p); rawDeps.append([])
                } else if inSpecs && indent == 6, !rawDeps.isEmpty {
                    let dn = t.split(separator: " ").first.map(String.init) ?? t
                    rawDeps[rawDeps.count - 1].append(dn)
                }
            case "DEPENDENCIES":
                if indent == 2 {
                    var dn = t.split(separator: " ").first.map(String.init) ?? t
                    if dn.hasSuffix("!") { dn.removeLast() }
                    direct.append(dn)
                }
            default: break
            }
        }
        if !sawSection && !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw ParseError("not a Gemfile.lock: no GEM, GIT or PATH section")
        }
        let byName = Dictionary(packages.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        Graph.link(&packages, rawDeps) { byName[$0] }
        if !direct.isEmpty {
            Graph.markDirect(&packages, roots: Set(direct.compactMap { byName[$0].map { packages[$0].ref } }))
        }
        return Extraction(packages)
    }
}
