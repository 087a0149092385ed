import ProvenantCore

/// poetry.lock, uv.lock, pdm.lock and PEP 751 pylock.toml share TOML and a `[[package]]` list.
public struct PythonTOMLLockExtractor: Extractor {
    public var readsItsOwnFileOnly: Bool { true }
    public enum Flavor: String, Sendable { case poetry, uv, pdm, pylock }
    public let flavor: Flavor
    public var name: String { "python-\(flavor.rawValue)" }
    public init(_ flavor: Flavor) { self.flavor = flavor }

    public func wants(_ file: IndexedFile, fileName: String) -> Bool {
        switch flavor {
        case .poetry: return fileName == "poetry.lock"
        case .uv: return fileName == "uv.lock"
        case .pdm: return fileName == "pdm.lock"
        case .pylock: return fileName == "pylock.toml" || (fileName.hasPrefix("pylock.") && fileName.hasSuffix(".toml"))
        }
    }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        let doc = try TOMLParser.parse(try input.text())
        let entries = doc.tables(flavor == .pylock ? "packages" : "package")
        let members = Set((doc.table("manifest")?["members"]?.array ?? []).compactMap(\.string).map(PackageIdentity.pep503))
        var packages: [Package] = []
        var rawDeps: [[String]] = []
        var prodRoots: Set<String> = [], devRoots: Set<String> = []
        // The project's and every workspace member's own requirements (found by helper-82: only the
        // root's were roots, so a member's run-time dependency the root used for development was dropped).
        var rootDeps: (prod: [String], dev: [String], optional: [String])?
        var diags: [Diagnostic] = []
        for t in entries {
            guard let n = t.str("name"), !n.isEmpty else {
                diags.append(Diagnostic(Location(input.path, line: t.line), "package entry without a name, skipped", unscanned: .entry)); continue
            }
            let source = t.table("source")
            // uv records the project itself, and each workspace member (`[manifest] members`), as a
            // package with a virtual or editable source: local projects, not releases to inventory. An
            // editable path dependency that is no member (a fork checked out beside) is a package
            // like any other (found by review).
            if flavor == .uv, let s = source, s.str("virtual") == "." || s.str("editable") == "."
                || ((s.str("virtual") != nil || s.str("editable") != nil) && members.contains(PackageIdentity.pep503(n))) {
                // Dependency groups (`dev-dependencies`) are development-only; extras
                // (`optional-dependencies`) are optional features of the project.
                func names(_ table: String) -> [String] {
                    (t.table(table)?.keys ?? []).flatMap { t.table(table)?.tables($0) ?? [] }.compactMap { $0.str("name") }
                }
                let own = (t.tables("dependencies").compactMap { $0.str("name") }, names("dev-dependencies"), names("optional-dependencies"))
                // Appended in place: a new tuple of the lists so far per member took 26 s for 60,000
                // (found by helper-232).
                if rootDeps == nil { rootDeps = ([], [], []) }
                rootDeps!.prod += own.0; rootDeps!.dev += own.1; rootDeps!.optional += own.2
                continue
            }
            guard let v = t.str("version"), !v.isEmpty else {
                diags.append(Diagnostic(Location(input.path, line: t.line), "package '\(n)' has no version, skipped", unscanned: .entry)); continue
            }
            var p = Make.package(.pypi, n, v, at: input.path, line: t.line, by: name)
            p.description = t.str("description") ?? t.str("summary")
            p.dependenciesKnown = true
            switch flavor {
            case .poetry:
                let groups = t["groups"]?.array?.compactMap(\.string)
                if t.str("category") == "dev" || (groups.map { !$0.isEmpty && !$0.contains("main") } ?? false) { p.scope = .dev }
                if case .bool(true)? = t["optional"] { p.scope = p.scope == .dev ? .dev : .optional }
                rawDeps.append(t.table("dependencies")?.keys ?? [])
                let files = t["files"]?.tables.compactMap { $0.str("file") } ?? []
                p.digests = Self.preferredHash(t["files"]?.tables.map { ($0.str("file") ?? "", $0.str("hash")) } ?? [])
                p.source = source?.str("url").map { url in source?.str("resolved_reference").map { url + "#" + $0 } ?? url }
                if !files.isEmpty, !files.contains(where: { $0.hasSuffix(".whl") }) { p.installScripts = ["setup.py"] }
            case .uv:
                rawDeps.append(t.tables("dependencies").compactMap { $0.str("name") })
                var files = t.tables("wheels").map { ($0.str("url") ?? "", $0.str("hash")) }
                if let sd = t.table("sdist") { files.append((sd.str("url") ?? "", sd.str("hash"))) }
                p.digests = Self.preferredHash(files)
                p.source = source?.str("registry") ?? source?.str("git") ?? source?.str("url")
                // Only an sdist to install from: pip builds it, running its setup.py.
                if t.table("sdist") != nil, t.tables("wheels").isEmpty { p.installScripts = ["setup.py"] }
            case .pdm:
                let groups = t["groups"]?.array?.compactMap(\.string) ?? []
                if !groups.isEmpty && !groups.contains("default") { p.scope = .dev }
                rawDeps.append(t["dependencies"]?.array?.compactMap { $0.string.flatMap(Requirement.name(of:)) } ?? [])
                p.digests = Self.preferredHash(t["files"]?.tables.map { ($0.str("file") ?? "", $0.str("hash")) } ?? [])
            case .pylock:
                rawDeps.append(t.tables("dependencies").compactMap { $0.str("name") })
                var files: [(String, String?)] = t.tables("wheels").map { w in
                    (w.str("name") ?? w.str("url") ?? "", w.table("hashes")?.str("sha256").map { "sha256:" + $0 })
                }
                if let sd = t.table("sdist") {
                    files.append((sd.str("name") ?? sd.str("url") ?? "x.tar.gz", sd.table("hashes")?.str("sha256").map { "sha256:" + $0 }))
                }
                p.digests = Self.preferredHash(files)
            }
            packages.append(p)
        }
        let byName = Dictionary(packages.enumerated().map { (PackageIdentity.pep503($1.name), $0) }, uniquingKeysWith: { a, _ in a })
        Graph.link(&packages, rawDeps) { byName[PackageIdentity.pep503($0)] }
        if let r = rootDeps {
            prodRoots = Set(r.prod.compactMap { byName[PackageIdentity.pep503($0)].map { packages[$0].ref } })
            devRoots = Set(r.dev.compactMap { byName[PackageIdentity.pep503($0)].map { packages[$0].ref } })
            let optionalRoots = Set(r.optional.compactMap { byName[PackageIdentity.pep503($0)].map { packages[$0].ref } })
            Graph.applyRoots(&packages, prod: prodRoots, dev: devRoots, optional: optionalRoots)
        }
        return Extraction(packages.filteredForDev(input.context.includeDev), diagnostics: diags)
    }

    /// Lockfiles list a hash per wheel; the sdist, or a sole file, identifies the release.
    static func preferredHash(_ files: [(String, String?)]) -> [Digest] {
        let hashed = files.compactMap { f, h -> (String, Digest)? in
            guard let h, h.hasPrefix("sha256:"), let d = Digest(.sha256, hex: String(h.dropFirst(7))) else { return nil }
            return (f, d)
        }
        if let sd = hashed.first(where: { $0.0.hasSuffix(".tar.gz") || $0.0.hasSuffix(".zip") }) { return [sd.1] }
        return hashed.count == 1 ? [hashed[0].1] : []
    }
}
