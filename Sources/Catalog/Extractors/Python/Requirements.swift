import ProvenantCore

/// `requirements*.txt`: exact `==` pins become packages; anything else is reported as unresolved.
public struct RequirementsExtractor: Extractor {
    public let name = "python-requirements"
    public init() {}

    public func wants(_ file: IndexedFile, fileName: String) -> Bool {
        fileName.hasSuffix(".txt") && (fileName.hasPrefix("requirements") || fileName.hasSuffix("requirements.txt")
            || file.path.containsBytes("requirements/"))
    }

    /// Includes nest at most this deep, and one file pulls in at most this many: a chain or a web
    /// of includes (through links to `.`) must neither exhaust the stack nor run for ever.
    static let maxIncludeDepth = 16, maxIncludes = 256

    public func extract(_ input: ExtractInput) throws -> Extraction {
        var seen: Set<String> = []
        var out = Extraction()
        try read(input.path, input: input, seen: &seen, into: &out, includedFrom: nil, depth: 0)
        return out
    }

    private func read(_ path: String, input: ExtractInput, seen: inout Set<String>, into out: inout Extraction,
                      includedFrom: Location?, depth: Int) throws {
        guard seen.insert(path).inserted else { return }
        let text: String
        do { text = try TextDecoding.string(input.readBytes(path)) } catch {
            if let from = includedFrom {
                out.diagnostics.append(Diagnostic(from, "included requirements file '\(path)' not readable: \(error)", unscanned: .input))
                return
            }
            throw error
        }
        var logical: [(Int, String)] = []
        var pending: (Int, String)?
        for (n, raw) in Lines(text: text) {
            var line = String(raw)
            if let hash = Self.commentStart(line) { line = String(line[..<hash]) }
            let continued = line.hasSuffix("\\")
            if continued { line.removeLast() }
            if var p = pending { p.1 += " " + line; pending = p } else { pending = (n, line) }
            if !continued, let p = pending { logical.append(p); pending = nil }
        }
        if let p = pending { logical.append(p) }
        let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : ""
        for (n, line) in logical {
            let t = line.trimmed
            if t.isEmpty { continue }
            let loc = Location(path, line: n)
            if let target = Self.includeTarget(t) {
                // Whatever an include holds is unknown when it is not read: the scan counts each of
                // these skips as an input not read, never as clean.
                if target.contains("://") {
                    out.diagnostics.append(Diagnostic(loc, "included requirements file '\(target)' is a URL; not fetched", unscanned: .input))
                    continue
                }
                guard depth < Self.maxIncludeDepth else {
                    out.diagnostics.append(Diagnostic(loc, "includes nest deeper than \(Self.maxIncludeDepth); '\(target)' skipped", unscanned: .input))
                    continue
                }
                guard seen.count < Self.maxIncludes else {
                    out.diagnostics.append(Diagnostic(loc, "more than \(Self.maxIncludes) included files; '\(target)' skipped", unscanned: .input))
                    continue
                }
                // Includes are resolved inside the target only; one that leaves it is reported, never read.
                // Links are followed to the file's one canonical name, which must be a file the walk
                // indexed (so not under .git, not excluded, not a sibling of a single-file target).
                let rel: String
                do {
                    rel = try input.index.source.canonicalPath(try RootPath.resolve(target, from: dir))
                } catch {
                    out.diagnostics.append(Diagnostic(loc, "included requirements file: \(error)", unscanned: .input))
                    continue
                }
                guard input.index.contains(rel) else {
                    out.diagnostics.append(Diagnostic(loc, "included requirements file '\(target)' is not among the scanned files; skipped, not read", unscanned: .input))
                    continue
                }
                try read(rel, input: input, seen: &seen, into: &out, includedFrom: loc, depth: depth + 1)
                continue
            }
            if t.hasPrefix("-") {
                if !(t.hasPrefix("-c") || t.hasPrefix("--constraint") || t.hasPrefix("-i") || t.hasPrefix("--index-url")
                     || t.hasPrefix("--extra-index-url") || t.hasPrefix("-f") || t.hasPrefix("--find-links")
                     || t.hasPrefix("--trusted-host") || t.hasPrefix("--no-binary") || t.hasPrefix("--only-binary")
                     || t.hasPrefix("--pre") || t.hasPrefix("-e") || t.hasPrefix("--editable")) {
                    out.diagnostics.append(Diagnostic(loc, "unresolved requirement: unknown option '\(Redactor.quote(t, max: 60))'"))
                }
                continue
            }
            // Per-requirement options (`--hash`, `-C`) follow the specifier.
            var spec = t, hashes: [Digest] = []
            if let opt = t.range(of: " -") {
                spec = String(t[..<opt.lowerBound])
                for tok in t[opt.lowerBound...].split(separator: " ") where tok.hasPrefix("--hash=sha256:") {
                    if let d = Digest(.sha256, hex: String(tok.dropFirst(14))) { hashes.append(d) }
                }
            }
            if let (n2, v) = Requirement.pinned(spec) {
                var p = Make.package(.pypi, n2, v, at: path, line: n, by: name)
                p.digests = hashes.uniqueSorted()
                p.isDirect = true
                out.packages.append(p)
            } else {
                out.diagnostics.append(Diagnostic(loc, "unresolved requirement '\(Redactor.quote(spec, max: 80))': not pinned with ==", unscanned: .entry))
            }
        }
    }

    /// The file an include line names, spelled as pip's option parser takes it: `-r FILE`, `-rFILE`,
    /// `-r<TAB>FILE`, `--requirement FILE`, `--requirement=FILE`; nil for any other line.
    static func includeTarget(_ t: String) -> String? {
        var rest: Substring
        if t.hasPrefix("--requirement") {
            rest = t.dropFirst("--requirement".count)
            if rest.first == "=" { rest = rest.dropFirst() } else if let c = rest.first, c == " " || c == "\t" { rest = rest.drop { $0 == " " || $0 == "\t" } } else if !rest.isEmpty { return nil }
        } else if t.hasPrefix("-r") {
            rest = t.dropFirst(2).drop { $0 == " " || $0 == "\t" }
        } else {
            return nil
        }
        return String(rest.prefix { $0 != " " && $0 != "\t" })
    }

    private static func commentStart(_ s: String) -> String.Index? {
        var prev: Character = " "
        for i in s.indices {
            if s[i] == "#" && (prev == " " || prev == "\t") { return i }
            prev = s[i]
        }
        return nil
    }
}
