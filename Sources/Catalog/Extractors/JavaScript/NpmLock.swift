import ProvenantCore

enum NodePath {
    /// Node's resolution over npm lockfile keys: look in each enclosing `node_modules`, innermost first.
    /// Keys longer than `maxKeyBytes`, and nesting past `maxDepth`, are not resolved: each step builds
    /// and looks up a key as long as the package's own, so a 57 KB lockfile of one package nested 2,000
    /// deep with 2,000 dependencies took 27 s (found by helper-107). Real keys are far shorter.
    static let maxKeyBytes = 4096, maxDepth = 128

    /// The length of the key of `name` nested under `key` (`key/node_modules/name`).
    static func nestedKeyBytes(_ key: String, _ name: String) -> Int { key.utf8.count + "/node_modules/".utf8.count + name.utf8.count }

    /// `stopped` is set when the search ended at those limits rather than at the root.
    static func resolve(_ dep: String, from key: String, stopped: inout Bool, exists: (String) -> Bool) -> String? {
        guard key.utf8.count <= maxKeyBytes else { stopped = true; return nil }
        var base = key
        for _ in 0...maxDepth {
            let candidate = base.isEmpty ? "node_modules/" + dep : base + "/node_modules/" + dep
            if exists(candidate) { return candidate }
            if base.isEmpty { return nil }
            if let r = base.rangeOfBytes("/node_modules/", last: true) { base = String(base[..<r.lowerBound]) } else { base = "" }
        }
        stopped = true
        return nil
    }

    /// The warning for the packages whose dependencies were not resolved at those limits: the graph
    /// leaves those edges out, and says so rather than passing for complete.
    static func cutOff(_ keys: Set<String>, path: String, lines: JSONKeyLines, lineKey: (String) -> String) -> [Diagnostic] {
        guard let first = keys.min() else { return [] }
        // Not checked, not only said: an edge left out can leave a production package reached only
        // through dev ones, and the default scan then drops it (found by helper-234).
        return [Diagnostic(Location(path, line: lines.line(lineKey(first))),
                           "dependencies of \(keys.count) package\(keys.count == 1 ? "" : "s") nested past \(maxKeyBytes)-byte keys or \(maxDepth) levels were not resolved; the dependency graph leaves them out",
                           unscanned: .entry)]
    }

    /// The same over bun's keys, where nesting is `parent/child` and scopes take two components, held
    /// to the same limits: each step joined every component again, without them, so one 18 KB key
    /// nested 500 deep with 1,000 dependencies took 12 s (found by helper-232).
    static func resolveSlashed(_ dep: String, from key: String, stopped: inout Bool, exists: (String) -> Bool) -> String? {
        guard key.utf8.count <= maxKeyBytes else { stopped = true; return nil }
        // Where each package's part of the key ends, outermost first.
        var ends: [String.Index] = []
        var pendingScope = false
        var i = key.startIndex
        while i < key.endIndex {
            let next = key[i...].firstIndex(of: "/") ?? key.endIndex
            let part = key[i..<next]
            if part.isEmpty {}
            else if pendingScope { ends.append(next); pendingScope = false }
            else if part.hasPrefix("@") { pendingScope = true } else { ends.append(next) }
            i = next < key.endIndex ? key.index(after: next) : next
        }
        guard ends.count <= maxDepth else { stopped = true; return nil }
        for end in ends.reversed() {
            let candidate = key[..<end] + "/" + dep
            if exists(candidate) { return candidate }
        }
        return exists(dep) ? dep : nil
    }

    /// `node_modules/a/node_modules/@s/b` → `@s/b`.
    static func packageName(_ key: String) -> String {
        guard let r = key.rangeOfBytes("node_modules/", last: true) else { return key }
        return String(key[r.upperBound...])
    }
}

/// package-lock.json v1, v2 and v3, and npm-shrinkwrap.json.
public struct NpmLockExtractor: Extractor {
    public var readsItsOwnFileOnly: Bool { true }
    public let name = "npm-lock"
    public init() {}

    public func wants(_ file: IndexedFile, fileName: String) -> Bool {
        (fileName == "package-lock.json" || fileName == "npm-shrinkwrap.json") && !file.path.hasDirectory("node_modules")
    }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        let bytes = try input.bytes()
        let doc = try JSON.object(bytes)
        let lines = JSONKeyLines(bytes)
        var packages: [Package] = []
        var cut: Set<String> = []
        // Entries without a version are said, not dropped: a scan would otherwise call them clean
        // (found by helper-146).
        var unversioned: [Diagnostic] = []
        if let pk = doc.obj("packages"), !pk.isEmpty {
            packages = v2(pk, lines: lines, path: input.path, cut: &cut, unversioned: &unversioned, includeDev: input.context.includeDev)
            return Extraction(packages.filteredForDev(input.context.includeDev),
                              diagnostics: unversioned + NodePath.cutOff(cut, path: input.path, lines: lines, lineKey: { $0 }))
        } else if let deps = doc.obj("dependencies") {
            packages = v1(deps, lines: lines, path: input.path, cut: &cut, unversioned: &unversioned, includeDev: input.context.includeDev)
            return Extraction(packages.filteredForDev(input.context.includeDev),
                              diagnostics: unversioned + NodePath.cutOff(cut, path: input.path, lines: lines, lineKey: NodePath.packageName))
        } else if doc["lockfileVersion"] == nil {
            throw ParseError("not an npm lockfile: no lockfileVersion, packages or dependencies")
        }
        return Extraction(packages)
    }

    private func v2(_ pk: [String: Any], lines: JSONKeyLines, path: String, cut: inout Set<String>,
                    unversioned: inout [Diagnostic], includeDev: Bool) -> [Package] {
        var keyToIndex: [String: Int] = [:]
        var packages: [Package] = []
        var rawDeps: [[String: Any]] = []
        var keys: [String] = []
        for key in pk.keys.sorted() where key.containsBytes("node_modules/") {
            guard let e = pk[key] as? [String: Any], e.bool("link") != true else { continue }
            let n = e.str("name") ?? NodePath.packageName(key)
            guard let v = e.str("version"), !v.isEmpty else {
                if Self.installed(e, includeDev: includeDev) { unversioned.append(Self.noVersion(key, path: path, line: lines.line(key))) }
                continue
            }
            var p = Make.package(.npm, n, v, at: path, line: lines.line(key), by: name)
            if e.bool("dev") == true { p.scope = .dev }
            else if e.bool("optional") == true || e.bool("devOptional") == true { p.scope = .optional }
            if let i = e.str("integrity") { p.digests = Digest.sri(i) }
            if let l = e.str("license") { p.licenses = [l] }
            p.source = e.str("resolved")
            if e.bool("hasInstallScript") == true { p.installScripts = ["hasInstallScript"] }
            p.dependenciesKnown = true
            keyToIndex[key] = packages.count
            packages.append(p)
            rawDeps.append(Self.depMap(e))
            keys.append(key)
        }
        let raw = zip(keys, rawDeps).map { key, deps in deps.keys.map { (key, $0) } }
        Graph.link(&packages, raw) { key, dep in
            var stopped = false
            defer { if stopped { cut.insert(key) } }
            return NodePath.resolve(dep, from: key, stopped: &stopped, exists: { keyToIndex[$0] != nil }).flatMap { keyToIndex[$0] }
        }
        if let root = pk[""] as? [String: Any] {
            func refs(_ m: [String: Any]?) -> Set<String> {
                Set((m ?? [:]).keys.compactMap { keyToIndex["node_modules/" + $0].map { packages[$0].ref } })
            }
            let prod = refs(root.obj("dependencies")).union(refs(root.obj("optionalDependencies"))).union(refs(root.obj("peerDependencies")))
            Graph.markDirect(&packages, roots: prod.union(refs(root.obj("devDependencies"))))
        }
        return packages
    }

    static func depMap(_ e: [String: Any]) -> [String: Any] {
        var m = e.obj("dependencies") ?? [:]
        for (k, v) in e.obj("optionalDependencies") ?? [:] { m[k] = v }
        for (k, v) in e.obj("peerDependencies") ?? [:] where m[k] == nil { m[k] = v }
        return m
    }

    /// Whether an entry without a version stands for something installed that a scan should judge: npm
    /// writes an optional peer it did not install as `{"dev": true, "optional": true, "peer": true}`,
    /// with nothing to fetch (found by helper-149); a dev entry counts only with `--include-dev`.
    static func installed(_ e: [String: Any], includeDev: Bool) -> Bool {
        if e.bool("dev") == true, !includeDev { return false }
        let fetched = e.str("resolved") != nil || e.str("integrity") != nil
        let optional = e.bool("optional") == true || e.bool("devOptional") == true || e.bool("peer") == true
        return fetched || !optional
    }

    static func noVersion(_ key: String, path: String, line: Int?) -> Diagnostic {
        Diagnostic(Location(path, line: line), "entry '\(key)' has no version, skipped", unscanned: .entry)
    }

    private func v1(_ deps: [String: Any], lines: JSONKeyLines, path: String, cut: inout Set<String>,
                    unversioned: inout [Diagnostic], includeDev: Bool) -> [Package] {
        var packages: [Package] = []
        // Flatten nested trees into path keys like npm v2 does, so resolution is shared.
        var keyToIndex: [String: Int] = [:]
        var requires: [(String, [String])] = []
        // A package nested so deep that its key would pass `maxKeyBytes` gets a short stand-in key
        // (NUL, then its index), and so does everything below it: whole keys at every level of 255
        // levels of 100 KB names held 4 GB for a 25 MB lockfile (found by helper-232). Nothing
        // resolves to or from such a package; its edges are said cut.
        func walk(_ m: [String: Any], prefix: String) {
            for n in m.keys.sorted() {
                guard let e = m[n] as? [String: Any] else { continue }
                let deep = prefix.hasPrefix("\u{0}") || NodePath.nestedKeyBytes(prefix, n) > NodePath.maxKeyBytes
                let key = deep ? "\u{0}\(packages.count)" : prefix.isEmpty ? "node_modules/" + n : prefix + "/node_modules/" + n
                let shown = deep ? "…/node_modules/" + n : key
                if var v = e.str("version"), !v.isEmpty {
                    var realName = n
                    // Aliases: "npm:real-name@1.2.3".
                    if v.hasPrefix("npm:"), let at = v.dropFirst(5).lastIndex(of: "@") {
                        realName = String(v[v.index(v.startIndex, offsetBy: 4)..<at]); v = String(v[v.index(after: at)...])
                    }
                    var p = Make.package(.npm, realName, v, at: path, line: lines.line(n), by: name)
                    if e.bool("dev") == true { p.scope = .dev } else if e.bool("optional") == true { p.scope = .optional }
                    if let i = e.str("integrity") { p.digests = Digest.sri(i) }
                    p.source = e.str("resolved")
                    p.dependenciesKnown = true
                    keyToIndex[key] = packages.count
                    packages.append(p)
                    requires.append((key, Array((e.obj("requires") ?? [:]).keys)))
                } else if Self.installed(e, includeDev: includeDev) {
                    unversioned.append(Self.noVersion(shown, path: path, line: lines.line(n)))
                }
                if let nested = e.obj("dependencies") { walk(nested, prefix: key) }
            }
        }
        walk(deps, prefix: "")
        Graph.link(&packages, requires.map { key, reqs in reqs.map { (key, $0) } }) { key, dep in
            // From a stand-in, or to where a stand-in would be (a copy nested under this package), the
            // package Node would load is not known.
            if key.hasPrefix("\u{0}") || NodePath.nestedKeyBytes(key, dep) > NodePath.maxKeyBytes { cut.insert(key); return nil }
            var stopped = false
            defer { if stopped { cut.insert(key) } }
            return NodePath.resolve(dep, from: key, stopped: &stopped, exists: { keyToIndex[$0] != nil }).flatMap { keyToIndex[$0] }
        }
        return packages
    }
}
