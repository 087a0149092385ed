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
            // Words as Go's modfile lexer reads them: `(` and `)` are tokens of their own (`require(`
            // opens a block), strings are unquoted ("…" with Go escapes, `…` raw), `//` starts a comment
            // outside a string (found by helper-82: each of these dropped or misnamed a module).
            guard let (tokens, comment) = Self.tokens(String(raw)) else {
                diags.append(Diagnostic(Location(input.path, line: n), "a string that does not end or a bad escape, skipped", unscanned: .entry)); continue
            }
            if tokens.isEmpty { continue }
            var fields = tokens.map(\.text)
            if let b = block {
                if tokens.count == 1, tokens[0] == .close { block = nil; continue }
                if tokens.contains(where: { $0 == .open || $0 == .close }) {
                    diags.append(Diagnostic(Location(input.path, line: n), "a parenthesis inside a \(b) block, which Go refuses; skipped", unscanned: .entry)); continue
                }
                fields.insert(b, at: 0)
            } else if tokens.count >= 2, tokens[1] == .open, case .word = tokens[0] {
                sawDirective = true
                if tokens.count == 2 { block = fields[0]; continue }
                // `require ()` is an empty block; anything more on the line is what Go refuses.
                if tokens.count == 3, tokens[2] == .close { continue }
                diags.append(Diagnostic(Location(input.path, line: n), "a \(fields[0]) block must end its line after '(', as Go requires; skipped", unscanned: .entry)); continue
            } else if tokens.contains(where: { $0 == .open || $0 == .close }) {
                diags.append(Diagnostic(Location(input.path, line: n), "a parenthesis where Go allows none, skipped", unscanned: .entry)); continue
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
                // Go refuses a go.mod with a directive it does not know: what it would build is unknown.
                diags.append(Diagnostic(Location(input.path, line: n), "unknown go.mod directive '\(Redactor.quote(fields[0], max: 40))', which Go refuses", unscanned: .entry))
            }
        }
        if let b = block { diags.append(Diagnostic(Location(input.path), "a \(b) block is not closed", unscanned: .entry)) }
        let sums = goSum(input)
        var packages: [Package] = []
        // Replacements by module path, in file order, and refs already taken: looked up per
        // requirement, so a go.mod of many requires and replaces stays linear.
        // For each path, the first replacement of each version and the first of every version: a
        // search of the path's list per requirement took 31 s for 80,000 of each (found by helper-232).
        var replacesOfVersion: [String: [String: Replace]] = [:], replacesOfAll: [String: Replace] = [:]
        for r in replaces {
            if let v = r.oldVersion { if replacesOfVersion[r.oldPath]?[v] == nil { replacesOfVersion[r.oldPath, default: [:]][v] = r } }
            else if replacesOfAll[r.oldPath] == nil { replacesOfAll[r.oldPath] = r }
        }
        func replacement(_ path: String, _ version: String) -> Replace? { replacesOfVersion[path]?[version] ?? replacesOfAll[path] }
        var seen: Set<String> = []
        for r in requires {
            var path = r.path, version = r.version
            // Go takes a replacement of this very version first, one of every version only then (found by helper-82).
            if let rep = replacement(r.path, r.version) {
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
        // Before Go 1.17 a go.mod lists the direct requirements only; the rest of the build list is
        // in go.sum alone. Its modules are added, each at the highest version it lists, as trivy and
        // osv-scalibr read them (found by helper-82: they were dropped without a word).
        if Self.listsOnlyDirect(goVersion), !requires.isEmpty {
            let sumPath = input.sibling("go.sum")
            if input.index.contains(sumPath) {
                var best: [String: String] = [:]
                for key in sums.keys {
                    let f = key.split(separator: " ", maxSplits: 1).map(String.init)
                    guard f.count == 2 else { continue }
                    // Versions of equal precedence (`+incompatible`) are ordered as text, so the pick
                    // does not depend on the dictionary's order (found by review).
                    if let had = best[f[0]], !Self.semverLess(had, f[1]), Self.semverLess(f[1], had) || had >= f[1] { continue }
                    best[f[0]] = f[1]
                }
                let have = Set(packages.map(\.name))
                for (path, listed) in best.sorted(by: { $0.key < $1.key }) where !have.contains(path) {
                    // Replacements apply to these modules as to required ones: one to another module
                    // leaves this path unused (the other is in go.sum itself); one to another version of
                    // the same module pins that version (found by review: such a module was dropped).
                    var version = listed
                    if let rep = replacement(path, listed) {
                        if rep.newPath != path { continue }
                        version = rep.newVersion ?? listed
                    }
                    var p = Make.package(.golang, path, version, at: sumPath, by: name)
                    p.isDirect = false
                    if let h = sums["\(path) \(version)"] { p.digests = [h] }
                    if seen.insert(p.ref).inserted { packages.append(p) }
                }
            } else if !input.path.hasPrefix("testdata/") && !input.path.contains("/testdata/") {
                // Go builds nothing from testdata, so a module there is not held to this.
                diags.append(Diagnostic(Location(input.path), "a go.mod for Go \(goVersion ?? "before 1.17") lists only direct requirements, and there is no go.sum beside it: the indirect modules are not known",
                                        unscanned: .entry))
            }
        }
        if let v = Self.stdlibVersion(toolchain: toolchain, go: goVersion) {
            var p = Make.package(.golang, "stdlib", v, at: input.path, by: name)
            p.isDirect = true
            packages.append(p)
        }
        return Extraction(packages, diagnostics: diags)
    }

    enum Token: Equatable {
        case word(String), open, close
        var text: String {
            switch self {
            case .word(let w): w
            case .open: "("
            case .close: ")"
            }
        }
    }

    /// The tokens of one go.mod line and its comment, or nil for a string that does not end or an
    /// escape Go does not know.
    static func tokens(_ line: String) -> ([Token], String)? {
        let b = Array(line.utf8)
        var out: [Token] = []
        var i = 0
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D }
        while i < b.count {
            let c = b[i]
            if isSpace(c) { i += 1; continue }
            if c == UInt8(ascii: "/"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "/") {
                return (out, String(decoding: b[(i + 2)...], as: UTF8.self).trimmed)
            }
            if c == UInt8(ascii: "(") { out.append(.open); i += 1; continue }
            if c == UInt8(ascii: ")") { out.append(.close); i += 1; continue }
            if c == UInt8(ascii: "`") {
                guard let end = b[(i + 1)...].firstIndex(of: c) else { return nil }
                out.append(.word(String(decoding: b[(i + 1)..<end], as: UTF8.self)))
                i = end + 1
                continue
            }
            if c == UInt8(ascii: "\"") {
                var j = i + 1
                var escaped = false
                while j < b.count, escaped || b[j] != c { escaped = !escaped && b[j] == UInt8(ascii: "\\"); j += 1 }
                guard j < b.count, let text = GoString.unquote(b[(i + 1)..<j]) else { return nil }
                out.append(.word(text))
                i = j + 1
                continue
            }
            var j = i
            while j < b.count, !isSpace(b[j]), b[j] != UInt8(ascii: "("), b[j] != UInt8(ascii: ")"),
                  !(b[j] == UInt8(ascii: "/") && j + 1 < b.count && b[j + 1] == UInt8(ascii: "/")) { j += 1 }
            out.append(.word(String(decoding: b[i..<j], as: UTF8.self)))
            i = j
        }
        return (out, "")
    }


    /// Whether a go.mod of this `go` line lists only direct requirements: before 1.17, or none given.
    static func listsOnlyDirect(_ go: String?) -> Bool {
        guard let go else { return true }
        let f = go.split(separator: ".").map { Int($0.prefix { $0.isNumber }) ?? 0 }
        return (f.first ?? 0, f.count > 1 ? f[1] : 0) < (1, 17)
    }

    /// Semantic-version order of two module versions (`v1.2.3`, `v1.2.3-pre.1`, `+incompatible` ignored).
    static func semverLess(_ a: String, _ b: String) -> Bool {
        func parts(_ v: String) -> (core: [Int], pre: [Substring]?) {
            var v = Substring(v.hasPrefix("v") ? String(v.dropFirst()) : v)
            if let plus = v.firstIndex(of: "+") { v = v[..<plus] }
            let dash = v.firstIndex(of: "-")
            let core = (dash.map { v[..<$0] } ?? v).split(separator: ".").map { Int($0) ?? 0 }
            return (core + Array(repeating: 0, count: max(0, 3 - core.count)), dash.map { v[v.index(after: $0)...].split(separator: ".") })
        }
        let x = parts(a), y = parts(b)
        if x.core != y.core { return x.core.lexicographicallyPrecedes(y.core) }
        switch (x.pre, y.pre) {
        case (nil, nil), (nil, _): return false
        case (_, nil): return true
        case let (p?, q?):
            for (l, r) in zip(p, q) where l != r {
                switch (Int(l), Int(r)) {
                case let (m?, n?): return m < n
                case (_?, nil): return true
                case (nil, _?): return false
                default: return l < r
                }
            }
            return p.count < q.count
        }
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
