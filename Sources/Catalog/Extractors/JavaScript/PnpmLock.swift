import ProvenantCore
import Yams

/// pnpm-lock.yaml v5, v6 and v9.
public struct PnpmLockExtractor: Extractor {
    public var readsItsOwnFileOnly: Bool { true }
    public let name = "pnpm-lock"
    public init() {}

    public func wants(_ file: IndexedFile, fileName: String) -> Bool {
        fileName == "pnpm-lock.yaml" && !file.path.hasDirectory("node_modules")
    }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        try extract(input, text: try input.text(), fast: true)
    }

    /// `fast` reads the text with `LockYAML` first, and with Yams where that declines; false reads
    /// it with Yams alone (for the tests that hold the two equal).
    func extract(_ input: ExtractInput, text: String, fast: Bool) throws -> Extraction {
        if fast, let root = LockYAML.read(text) { return try extract(input, root: root) }
        // pnpm writes no anchors (its YAML writer is told `noRefs`). Each alias of a package entry
        // was read as the entry again: 4,000 entries aliasing one of 4,000 dependencies took 27 s and
        // wrote 500 MB (found by helper-232). So an alias is refused, as in every file read here by rule.
        try YAMLNesting.check(text, maxAliases: 0)
        let root: Node
        do {
            // Implicit tags are not resolved: every value is read as text, and resolving each scalar by regular
            // expression (to int, float, timestamp…) was a third of the parse.
            guard let r = try Yams.compose(yaml: text, .basic) else { return Extraction() }
            root = r
        } catch let e as YamlError {
            throw ParseError("invalid YAML: \(Self.describe(e))", line: YAMLErrorLine.of(e))
        }
        return try extract(input, root: root)
    }

    func extract<Tree: LockYAMLNode>(_ input: ExtractInput, root doc: Tree) throws -> Extraction {
        guard doc.isMapping else { throw ParseError("expected a YAML mapping at the top level") }
        let version = doc.value("lockfileVersion")?.string ?? ""
        let major = Int(version.split(separator: ".").first ?? "") ?? 5
        var packages: [Package] = []
        var keyIndex: [String: Int] = [:]
        var nameVersion: [String: Int] = [:]
        var rawDeps: [[(String, String)]] = []
        let packagesMap = doc.value("packages")?.pairs
        let snapshots = doc.value("snapshots")?.pairs
        var diags: [Diagnostic] = []
        // v9 snapshots are keyed with peer suffixes (`a@1.0.0(b@2.0.0)`); group them by the plain key.
        var snapshotsByKey: [String: [Tree]] = [:]
        for (k, _, v) in snapshots ?? [] {
            guard let key = k.string else { continue }
            let plain = key.firstIndex(of: "(").map { String(key[..<$0]) } ?? key
            snapshotsByKey[plain, default: []].append(v)
        }
        for (k, line, v) in packagesMap ?? [] {
            guard let key = k.string else { continue }
            guard let (n, ver) = Self.parseKey(key, major: major, entry: v) else {
                diags.append(Diagnostic(Location(input.path, line: line), "cannot read package key '\(Redactor.quote(key, max: 80))', skipped", unscanned: .entry))
                continue
            }
            var p = Make.package(.npm, n, ver, at: input.path, line: line, by: name)
            if v.value("dev")?.bool == true { p.scope = .dev }
            else if v.value("optional")?.bool == true { p.scope = .optional }
            if let i = v.value("resolution")?.value("integrity")?.string { p.digests = Digest.sri(i) }
            p.dependenciesKnown = true
            var deps: [(String, String)] = []
            for node in (snapshots == nil ? [v] : snapshotsByKey[key] ?? []) {
                for field in ["dependencies", "optionalDependencies"] {
                    for (dk, _, dv) in node.value(field)?.pairs ?? [] {
                        if let dn = dk.string, let vs = dv.string { deps.append((dn, vs)) }
                    }
                }
            }
            keyIndex[key] = packages.count
            nameVersion["\(n)@\(Self.stripPeers(ver))"] = packages.count
            packages.append(p)
            rawDeps.append(deps)
        }
        // v9 keeps snapshot keys with peer suffixes; dependencies name `version(peers)`.
        func lookup(_ dep: String, _ ver: String) -> Int? {
            if ver.hasPrefix("link:") { return nil }
            let plain = Self.stripPeers(ver)
            if let i = nameVersion["\(dep)@\(plain)"] { return i }
            // Aliases and v5 paths: the version field holds a full key.
            if let i = keyIndex[ver] ?? keyIndex["/" + ver] ?? keyIndex["/\(dep)/\(ver)"] ?? keyIndex["/\(dep)@\(ver)"] { return i }
            if let (n, v) = Self.parseKey(ver, major: major, entry: Tree?.none) { return nameVersion["\(n)@\(Self.stripPeers(v))"] }
            return nil
        }
        Graph.link(&packages, rawDeps, lookup)
        // Direct dependencies come from the importers (v6+, v5.4 workspaces) or top-level maps (v5):
        // every workspace member's, not the root's alone. A package the root uses for development and
        // a member at run time is a production package: judged by the root alone it was dev, and
        // dropped (found by helper-82).
        let importers = doc.value("importers")?.pairs.map { $0.map(\.value) } ?? [doc]
        func roots(_ field: String) -> Set<String> {
            var out = Set<String>()
            for importer in importers {
                for (k, _, v) in importer.value(field)?.pairs ?? [] {
                    guard let n = k.string else { continue }
                    let ver = v.value("version")?.string ?? v.string ?? ""
                    if let i = lookup(n, ver) { out.insert(packages[i].ref) }
                }
            }
            return out
        }
        let prod = roots("dependencies").union(roots("optionalDependencies"))
        let dev = roots("devDependencies")
        if !prod.isEmpty || !dev.isEmpty {
            // v5 and v6 flag dev packages themselves; v9 leaves it to the importer's roots.
            if packages.contains(where: { $0.scope == .dev }) {
                Graph.markDirect(&packages, roots: prod.union(dev))
            } else {
                Graph.applyRoots(&packages, prod: prod, dev: dev)
            }
        }
        return Extraction(packages.filteredForDev(input.context.includeDev), diagnostics: diags)
    }

    static func stripPeers(_ v: String) -> String {
        var s = v
        if let p = s.firstIndex(of: "(") { s = String(s[..<p]) }
        if let u = s.firstIndex(of: "_") { s = String(s[..<u]) }
        return s
    }

    /// `/name/1.0.0_peer` (v5), `/name@1.0.0(peer)` (v6), `name@1.0.0` (v9); tarball keys use the entry's fields.
    static func parseKey<Tree: LockYAMLNode>(_ key: String, major: Int, entry: Tree?) -> (String, String)? {
        if let n = entry?.value("name")?.string, let v = entry?.value("version")?.string { return (n, v) }
        var k = key.hasPrefix("/") ? String(key.dropFirst()) : key
        if let p = k.firstIndex(of: "(") { k = String(k[..<p]) }
        if k.contains("://") || k.hasPrefix("github.com/") || k.hasPrefix("file:") || k.contains(".tgz") { return nil }
        if major < 6 {
            // v5 keys are `/name/version_peersuffix` (`/@scope/name/…`); the suffix may itself hold
            // '@', and the name may hold '_' (`/string_decoder/1.3.0`, which was cut at its '_' and
            // lost, found by helper-82): the version is the segment after the name, cut at its '_'.
            let segments = k.split(separator: "/", omittingEmptySubsequences: false)
            let nameCount = k.hasPrefix("@") ? 2 : 1
            guard segments.count > nameCount else { return nil }
            let n = segments[..<nameCount].joined(separator: "/")
            var v = segments[nameCount...].joined(separator: "/")
            if let u = v.firstIndex(of: "_") { v = String(v[..<u]) }
            guard !n.isEmpty, !v.isEmpty, v.first?.isNumber == true, !v.contains("/") else { return nil }
            return (n, v)
        }
        let body = k.dropFirst()
        guard let at = body.lastIndex(of: "@") else { return nil }
        let n = String(k[..<at]), v = String(k[k.index(after: at)...])
        guard !n.isEmpty, !v.isEmpty, v.first?.isNumber == true else { return nil }
        return (n, v)
    }

    static func describe(_ e: YamlError) -> String {
        switch e {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _): return problem
        default: return "\(e)".split(separator: "\n").first.map(String.init) ?? "invalid YAML"
        }
    }
}
