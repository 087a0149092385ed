import ProvenantCore

/// `requirements*.txt`: exact `==` pins become packages; anything else is reported as unresolved.
public struct RequirementsExtractor: Extractor {
    public let name = "python-requirements"
    public init() {}

    public func wants(_ file: IndexedFile, fileName: String) -> Bool {
        fileName.hasSuffix(".txt") && (fileName.hasPrefix("requirements") || fileName.hasSuffix("requirements.txt")
            || file.path.containsBytes("requirements/"))
    }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        var out = Extraction()
        // Each requirements file is read once a scan, by its own job or by the first job whose file
        // includes it: its packages and warnings are named by its own path, so the result is the
        // same whichever job read it, and a file that thousands include is not read thousands of
        // times. The includes are a queue, not a recursion: a chain of them cannot exhaust the stack.
        guard input.index.claims.claim(Self.claimKey(input.path)) else { return out }
        var queue = [input.path], next = 0
        while next < queue.count {
            let path = queue[next]
            next += 1
            try read(path, input: input, top: next == 1, into: &out) { rel in
                // A file this extractor wants by its name is read by its own job.
                if let f = input.index.file(rel), wants(f, fileName: PathText.lastComponent(rel)) { return }
                if input.index.claims.claim(Self.claimKey(rel)) { queue.append(rel) }
            }
        }
        return out
    }

    static func claimKey(_ path: String) -> String { "python-requirements:" + path }

    private func read(_ path: String, input: ExtractInput, top: Bool, into out: inout Extraction, include: (String) -> Void) throws {
        let text: String
        do { text = try TextDecoding.string(input.readBytes(path)) } catch {
            // Named by its own path, whoever included it: the warning is the same whichever job read it.
            if !top {
                out.diagnostics.append(Diagnostic(Location(path), "included requirements file not readable: \(error)", unscanned: .input))
                return
            }
            throw error
        }
        var logical: [(Int, String)] = []
        // A continued line grows in place: copied out of an optional on every line, 400,000 continued
        // lines took 23 s (found by helper-107).
        var pendingLine: Int?
        var pendingText = ""
        for (n, raw) in Lines(text: text) {
            var line = String(raw)
            if let hash = Self.commentStart(line) { line = String(line[..<hash]) }
            let continued = line.hasSuffix("\\")
            if continued { line.removeLast() }
            if pendingLine == nil { pendingLine = n; pendingText = line } else { pendingText += " "; pendingText += line }
            if !continued, let start = pendingLine { logical.append((start, pendingText)); pendingLine = nil; pendingText = "" }
        }
        if let start = pendingLine { logical.append((start, pendingText)) }
        let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : ""
        // An include named again in the same file is the same file: resolved once (a million `-r x.txt`
        // lines each resolved through the filesystem took minutes; found by review).
        var includedHere = Set<String>()
        for (n, line) in logical {
            let t = line.trimmed
            if t.isEmpty { continue }
            let loc = Location(path, line: n)
            if let target = Self.includeTarget(t) {
                guard includedHere.insert(target).inserted else { continue }
                // Whatever an include holds is unknown when it is not read: the scan counts each of
                // these skips as an input not read, never as clean.
                if target.contains("://") {
                    out.diagnostics.append(Diagnostic(loc, "included requirements file '\(target)' is a URL; not fetched", unscanned: .input))
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
                include(rel)
                continue
            }
            // An editable install of a VCS or URL source installs what it names at no pinned version:
            // skipped in silence, `-e git+…#egg=urllib3` scanned clean (found by helper-82). A local
            // path is source in the tree, read where it lies.
            if t.hasPrefix("-e") || t.hasPrefix("--editable") {
                let target = (t.hasPrefix("--editable") ? t.dropFirst("--editable".count) : t.dropFirst(2)).drop { $0 == " " || $0 == "\t" || $0 == "=" }
                // pip expands `${VAR}` first, often to such a URL (found by review).
                if target.contains("://") || target.hasPrefix("$") || target.hasPrefix("git+") || target.hasPrefix("hg+") || target.hasPrefix("svn+") || target.hasPrefix("bzr+") {
                    out.diagnostics.append(Diagnostic(loc, "unresolved requirement '\(Redactor.quote(String(target), max: 80))': an editable install from a URL has no pinned version", unscanned: .entry))
                }
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

    /// Where a comment starts: a `#` at the line's start or after a space or tab.
    static func commentStart(_ s: String) -> String.Index? {
        // A line holds no "\n" (`Lines` cuts there), so one of ASCII alone has a Character for each
        // byte: read by bytes. By Characters, this took most of the 50 ms a 270 KB pip-compile file
        // took to read.
        s.utf8.allSatisfy({ $0 < 0x80 }) ? firstComment(s.utf8) { $0 } : commentStartByCharacters(s)
    }

    static func commentStartByCharacters(_ s: String) -> String.Index? { firstComment(s) { $0.asciiValue } }

    /// The first `#` after a space, a tab or nothing, among elements that `ascii` names by the ASCII
    /// byte each one is (nil for any other).
    private static func firstComment<C: Collection>(_ c: C, _ ascii: (C.Element) -> UInt8?) -> String.Index? where C.Index == String.Index {
        var prev: UInt8? = 0x20
        for i in c.indices {
            let b = ascii(c[i])
            if b == 0x23 && (prev == 0x20 || prev == 0x09) { return i }
            prev = b
        }
        return nil
    }
}
