import ProvenantCore

/// `go.mod` with its `go.sum`: required modules, replace directives and the toolchain as stdlib.
public struct GoModExtractor: Extractor {
    public let name = "go-mod"
    public init() {}

    public func wants(_ file: IndexedFile, fileName: String) -> Bool { fileName == "go.mod" }

    struct Replace { var oldPath: String; var oldVersion: String?; var newPath: String; var newVersion: String? }

    public func alsoReads(_ path: String, fileName: String) -> Bool { fileName == "go.sum" }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        let text = try input.text()
        var requires: [(path: String, version: String, indirect: Bool, line: Int)] = []
        var replaces: [Replace] = []
        var goVersion: String?, toolchain: String?, sawDirective = false
        var block: String?
        var diags: [Diagnostic] = []
        for (n, raw) in Lines(text: text) {
            let comment = raw.range(of: "//").map { String(raw[$0.upperBound...]).trimmed } ?? ""
            let line = (raw.range(of: "//").map { raw[..<$0.lowerBound] } ?? raw[...]).trimmed
            if line.isEmpty { continue }
            var fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { String($0).unquoted() }
            if let b = block {
                if line == ")" { block = nil; continue }
                fields.insert(b, at: 0)
            } else if fields.count == 2, fields[1] == "(" {
                block = fields[0]; sawDirective = true; continue
            }
            switch fields[0] {
            case "module": sawDirective = true
            case "go": sawDirective = true; goVersion = fields.count > 1 ? fields[1] : nil
            case "toolchain": sawDirective = true; toolchain = fields.count > 1 ? fields[1] : nil
            case "require":
                sawDirective = true
                guard fields.count >= 3 else {
                    diags.append(Diagnostic(Location(input.path, line: n), "require without a version, skipped", unscanned: .entry)); continue
                }
                requires.append((fields[1], fields[2], comment.hasPrefix("indirect"), n))
            case "replace":
                sawDirective = true
                guard let arrow = fields.firstIndex(of: "=>"), arrow >= 2, arrow + 1 < fields.count else {
                    diags.append(Diagnostic(Location(input.path, line: n), "malformed replace directive, skipped", unscanned: .entry)); continue
                }
                replaces.append(Replace(oldPath: fields[1], oldVersion: arrow == 3 ? fields[2] : nil,
                                        newPath: fields[arrow + 1], newVersion: arrow + 2 < fields.count ? fields[arrow + 2] : nil))
            case "exclude", "retract", "godebug", "tool", "ignore": sawDirective = true
            default:
                if !sawDirective { throw ParseError("not a go.mod file: unknown directive '\(Redactor.quote(fields[0], max: 40))'", line: n) }
                diags.append(Diagnostic(Location(input.path, line: n), "unknown go.mod directive '\(Redactor.quote(fields[0], max: 40))'"))
            }
        }
        let sums = goSum(input)
        var packages: [Package] = []
        // Replacements by module path, in file order, and refs already taken: looked up per
        // requirement, so a go.mod of many requires and replaces stays linear.
        var replacesByPath: [String: [Replace]] = [:]
        for r in replaces { replacesByPath[r.oldPath, default: []].append(r) }
        var seen: Set<String> = []
        for r in requires {
            var path = r.path, version = r.version
            if let rep = replacesByPath[r.path]?.first(where: { $0.oldVersion == nil || $0.oldVersion == r.version }) {
                // A local directory replacement is source in the tree, not a module to inventory.
                if rep.newPath.hasPrefix(".") || rep.newPath.hasPrefix("/") { continue }
                path = rep.newPath
                version = rep.newVersion ?? version
            }
            var p = Make.package(.golang, path, version, at: input.path, line: r.line, by: name)
            p.isDirect = !r.indirect
            if let h = sums["\(path) \(version)"] { p.digests = [h] }
            // Two requirements replaced by the same module are one dependency.
            if seen.insert(p.ref).inserted { packages.append(p) }
        }
        if let v = Self.stdlibVersion(toolchain: toolchain, go: goVersion) {
            var p = Make.package(.golang, "stdlib", v, at: input.path, by: name)
            p.isDirect = true
            packages.append(p)
        }
        return Extraction(packages, diagnostics: diags)
    }

    /// The toolchain line wins over the go line; a custom build suffix (`go1.23.6-xyz`) is dropped.
    static func stdlibVersion(toolchain: String?, go: String?) -> String? {
        if let t = toolchain, t.hasPrefix("go") {
            let v = t.dropFirst(2)
            return String(v.split(separator: "-").first ?? v)
        }
        return go
    }

    /// go.sum `h1:` hashes are base64 SHA-256 of the module's dirhash.
    private func goSum(_ input: ExtractInput) -> [String: Digest] {
        let sumPath = input.sibling("go.sum")
        guard input.index.contains(sumPath), let text = try? TextDecoding.string(input.readBytes(sumPath)) else { return [:] }
        var out: [String: Digest] = [:]
        for (_, line) in Lines(text: text) {
            let f = line.split(separator: " ")
            guard f.count == 3, !f[1].hasSuffix("/go.mod"), f[2].hasPrefix("h1:"),
                  let d = Digest(.sha256, base64: String(f[2].dropFirst(3))) else { continue }
            out["\(f[0]) \(f[1])"] = d
        }
        return out
    }
}

/// `vendor/modules.txt`: the modules `go mod vendor` copied, with replacements and explicit markers.
public struct GoVendorExtractor: Extractor {
    public var readsItsOwnFileOnly: Bool { true }
    public let name = "go-vendor"
    public init() {}

    public func wants(_ file: IndexedFile, fileName: String) -> Bool { file.path.hasSuffix("vendor/modules.txt") }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        let text = try input.text()
        var packages: [Package] = []
        var diags: [Diagnostic] = []
        for (n, line) in Lines(text: text) {
            if line.hasPrefix("## explicit"), !packages.isEmpty {
                packages[packages.count - 1].isDirect = true
                continue
            }
            guard line.hasPrefix("# ") else { continue }
            let f = line.dropFirst(2).split(separator: " ").map(String.init)
            var path: String, version: String
            if let arrow = f.firstIndex(of: "=>") {
                guard arrow + 1 < f.count else { diags.append(Diagnostic(Location(input.path, line: n), "malformed replacement")); continue }
                if f[arrow + 1].hasPrefix(".") || f[arrow + 1].hasPrefix("/") { continue }
                path = f[arrow + 1]
                guard arrow + 2 < f.count else { diags.append(Diagnostic(Location(input.path, line: n), "replacement without a version")); continue }
                version = f[arrow + 2]
            } else {
                guard f.count >= 2 else {
                    diags.append(Diagnostic(Location(input.path, line: n), "module line without a version, skipped", unscanned: .entry)); continue
                }
                path = f[0]; version = f[1]
            }
            var p = Make.package(.golang, path, version, at: input.path, line: n, by: name)
            p.isDirect = false
            packages.append(p)
        }
        return Extraction(packages, diagnostics: diags)
    }
}
