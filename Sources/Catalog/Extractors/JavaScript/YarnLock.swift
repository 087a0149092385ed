import ProvenantCore

/// yarn.lock, both the v1 format and Berry's YAML, read by one indentation-based reader.
public struct YarnLockExtractor: Extractor {
    public var readsItsOwnFileOnly: Bool { true }
    public let name = "yarn-lock"
    public init() {}

    public func wants(_ file: IndexedFile, fileName: String) -> Bool {
        fileName == "yarn.lock" && !file.path.hasDirectory("node_modules")
    }

    struct Block { var specs: [String]; var line: Int; var fields: [String: String] = [:]; var deps: [(String, String)] = [] }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        let text = try input.text()
        var blocks: [Block] = []
        var inDeps = false
        var berry = false
        for (n, raw) in Lines(text: text) {
            if raw.hasPrefix("#") || raw.trimmed.isEmpty { continue }
            let indent = raw.prefix(while: { $0 == " " }).count
            let line = raw.trimmed
            if indent == 0 {
                guard line.hasSuffix(":") else { throw ParseError("unexpected line in yarn.lock", line: n) }
                let head = String(line.dropLast())
                if head == "__metadata" { berry = true }
                let specs = head.split(separator: ",").map { $0.unquoted() }
                blocks.append(Block(specs: specs, line: n))
                inDeps = false
                continue
            }
            guard !blocks.isEmpty else { throw ParseError("field outside any entry", line: n) }
            if indent <= 2 {
                inDeps = line == "dependencies:" || line == "optionalDependencies:" || line == "peerDependencies:"
                if inDeps { continue }
                let (k, v) = Self.split(line)
                blocks[blocks.count - 1].fields[k] = v
            } else if inDeps {
                let (k, v) = Self.split(line)
                blocks[blocks.count - 1].deps.append((k, v))
            }
        }
        var packages: [Package] = []
        var specIndex: [String: Int] = [:]
        var rawDeps: [[(String, String)]] = []
        var rootDeps: [(String, String)] = []
        var diags: [Diagnostic] = []
        for b in blocks where b.specs != ["__metadata"] {
            let resolution = b.fields["resolution"]
            if let r = resolution, r.contains("@workspace:") || r.contains("@link:") || r.contains("@portal:") {
                if r.hasSuffix("@workspace:.") { rootDeps = b.deps }
                continue
            }
            guard let v = b.fields["version"], !v.isEmpty else {
                diags.append(Diagnostic(Location(input.path, line: b.line), "entry '\(b.specs.first ?? "")' has no version, skipped", unscanned: .entry))
                continue
            }
            let n = resolution.map(Self.nameOf) ?? Self.realName(b.specs.first ?? "")
            var p = Make.package(.npm, n, v, at: input.path, line: b.line, by: name)
            if let i = b.fields["integrity"] { p.digests = Digest.sri(i) }
            p.source = b.fields["resolved"]
            p.dependenciesKnown = true
            for s in b.specs { specIndex[s] = packages.count }
            packages.append(p)
            rawDeps.append(b.deps)
        }
        func lookup(_ dep: (String, String)) -> Int? {
            specIndex["\(dep.0)@\(dep.1)"] ?? (berry ? specIndex["\(dep.0)@npm:\(dep.1)"] : nil)
        }
        Graph.link(&packages, rawDeps, lookup)
        if !rootDeps.isEmpty {
            Graph.markDirect(&packages, roots: Set(rootDeps.compactMap { lookup($0).map { packages[$0].ref } }))
        }
        return Extraction(packages, diagnostics: diags)
    }

    /// v1 writes `key "value"`, Berry writes `key: value`.
    static func split(_ line: String) -> (String, String) {
        if let r = line.rangeOfBytes(": ") {
            return (line[..<r.lowerBound].unquoted(), line[r.upperBound...].unquoted())
        }
        if let sp = line.firstIndex(of: " ") {
            return (line[..<sp].unquoted(), line[line.index(after: sp)...].unquoted())
        }
        return (line.hasSuffix(":") ? String(line.dropLast()) : line, "")
    }

    /// `@scope/name@npm:1.0.0` → `@scope/name`.
    static func nameOf(_ spec: String) -> String {
        let body = spec.hasPrefix("@") ? spec.dropFirst() : Substring(spec)
        guard let at = body.firstIndex(of: "@") else { return spec }
        return (spec.hasPrefix("@") ? "@" : "") + body[..<at]
    }

    /// v1 aliases: `alias@npm:real@^1` names the real package after `npm:`.
    static func realName(_ spec: String) -> String {
        if let r = spec.range(of: "@npm:") {
            let rest = String(spec[r.upperBound...])
            return rest.contains("@") && !rest.hasPrefix("^") && !rest.hasPrefix("~") && rest.first?.isNumber != true ? nameOf(rest) : nameOf(spec)
        }
        return nameOf(spec)
    }
}
