import ProvenantCore

/// bun.lock: JSON with trailing commas; `packages` maps a nesting key to `[name@version, registry, info, integrity]`.
public struct BunLockExtractor: Extractor {
    public var readsItsOwnFileOnly: Bool { true }
    public let name = "bun-lock"
    public init() {}

    public func wants(_ file: IndexedFile, fileName: String) -> Bool {
        fileName == "bun.lock" && !file.path.hasDirectory("node_modules")
    }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        let bytes = JSONC.strip(try input.bytes())
        let doc = try JSON.object(bytes)
        let lines = JSONKeyLines(bytes, arrays: true)
        guard let pk = doc.obj("packages") else { return Extraction() }
        var packages: [Package] = []
        var keyIndex: [String: Int] = [:]
        var rawDeps: [[String]] = []
        var keys: [String] = []
        var diags: [Diagnostic] = []
        for key in pk.keys.sorted() {
            guard let tuple = pk[key] as? [Any], let spec = tuple.first as? String else {
                diags.append(Diagnostic(Location(input.path, line: lines.line(key)), "package '\(key)' is not a [name@version, …] tuple, skipped", unscanned: .entry))
                continue
            }
            // A name holds no `@` but its scope's first: the version starts at the first one after it. Split
            // at the last, a tarball URL's userinfo (`foo@https://user:pass@host/foo.tgz`) became the name,
            // password and all (found by helper-146).
            let body = spec.dropFirst()
            guard let at = body.firstIndex(of: "@") else {
                diags.append(Diagnostic(Location(input.path, line: lines.line(key)), "package '\(key)' has no version, skipped", unscanned: .entry)); continue
            }
            let n = String(spec[..<at]), v = String(spec[spec.index(after: at)...])
            if v.hasPrefix("workspace:") || v.hasPrefix("link:") || v.hasPrefix("file:") { continue }
            var version = v
            // Git and GitHub sources carry `github:owner/repo#sha`; keep the commit as the version.
            if let hash = v.lastIndex(of: "#"), v.contains(":") {
                version = String(v[v.index(after: hash)...])
            } else if v.contains(":") {
                // A tarball URL or another source without a version: which release it is cannot be told.
                diags.append(Diagnostic(Location(input.path, line: lines.line(key)),
                                        "package '\(key)' comes from a URL, not a registry version: entry not resolved", unscanned: .entry))
                continue
            }
            var p = Make.package(.npm, n, version, at: input.path, line: lines.line(key), by: name)
            if tuple.count > 3, let i = tuple[3] as? String { p.digests = Digest.sri(i) }
            p.dependenciesKnown = true
            let info = tuple.count > 2 ? tuple[2] as? [String: Any] : nil
            var deps = Array((info?.obj("dependencies") ?? [:]).keys)
            deps += (info?.obj("optionalDependencies") ?? [:]).keys
            deps += (info?.obj("peerDependencies") ?? [:]).keys
            keyIndex[key] = packages.count
            packages.append(p); rawDeps.append(deps); keys.append(key)
        }
        var cut: Set<String> = []
        Graph.link(&packages, zip(keys, rawDeps).map { key, deps in deps.map { (key, $0) } }) { key, dep in
            var stopped = false
            defer { if stopped { cut.insert(key) } }
            return NodePath.resolveSlashed(dep, from: key, stopped: &stopped, exists: { keyIndex[$0] != nil }).flatMap { keyIndex[$0] }
        }
        diags += NodePath.cutOff(cut, path: input.path, lines: lines, lineKey: { $0 })
        // Every workspace's requirements are roots, the root's ("") and each member's (found by helper-82).
        if let all = doc.obj("workspaces"), all.obj("") != nil {
            let workspaces = all.keys.sorted().compactMap { all.obj($0) }
            func roots(_ f: String) -> Set<String> {
                Set(workspaces.flatMap { ($0.obj(f) ?? [:]).keys }.compactMap { keyIndex[$0].map { packages[$0].ref } })
            }
            let prod = roots("dependencies").union(roots("optionalDependencies")).union(roots("peerDependencies"))
            Graph.applyRoots(&packages, prod: prod, dev: roots("devDependencies"))
        }
        return Extraction(packages.filteredForDev(input.context.includeDev), diagnostics: diags)
    }
}

/// Removes comments and trailing commas so JSONC parses as JSON; strings are left alone.
enum JSONC {
    static func strip(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        var inString = false
        while i < b.count {
            let c = b[i]
            if inString {
                out.append(c)
                if c == 92, i + 1 < b.count { out.append(b[i + 1]); i += 2; continue }
                if c == 34 { inString = false }
                i += 1; continue
            }
            if c == 34 { inString = true; out.append(c); i += 1; continue }
            if c == 47, i + 1 < b.count, b[i + 1] == 47 {
                while i < b.count, b[i] != 10 { i += 1 }
                continue
            }
            if c == 47, i + 1 < b.count, b[i + 1] == 42 {
                i += 2
                while i + 1 < b.count, !(b[i] == 42 && b[i + 1] == 47) { if b[i] == 10 { out.append(10) }; i += 1 }
                i += 2; continue
            }
            if c == 44 {
                var j = i + 1
                while j < b.count, b[j] == 32 || b[j] == 10 || b[j] == 13 || b[j] == 9 { j += 1 }
                if j < b.count, b[j] == 125 || b[j] == 93 { i += 1; continue }
            }
            out.append(c); i += 1
        }
        return out
    }
}
