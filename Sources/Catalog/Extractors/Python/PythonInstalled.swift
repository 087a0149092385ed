import ProvenantCore

/// Installed Python distributions: `*.dist-info/METADATA` with `RECORD`, and `*.egg-info/PKG-INFO`.
public struct PythonInstalledExtractor: Extractor {
    public let name = "python-installed"
    public init() {}

    public func wants(_ file: IndexedFile, fileName: String) -> Bool {
        if fileName == "METADATA" { return file.path.hasSuffix(".dist-info/METADATA") }
        if fileName == "PKG-INFO" { return file.path.hasSuffix(".egg-info/PKG-INFO") || file.path.hasSuffix("EGG-INFO/PKG-INFO") }
        // A bare `name-1.0.egg-info` file holds PKG-INFO text.
        return fileName.hasSuffix(".egg-info")
    }

    public func alsoReads(_ path: String, fileName: String) -> Bool {
        fileName == "RECORD" && path.hasSuffix(".dist-info/RECORD")
    }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        let text = try input.text()
        guard let st = Stanzas.rfc822(text, stopAtBlank: true).first,
              let n = st.first("Name"), !n.isEmpty else {
            throw ParseError("no Name field in package metadata")
        }
        guard let v = st.first("Version"), !v.isEmpty else { throw ParseError("no Version field for '\(n)'") }
        var p = Make.package(.pypi, n, v, at: input.path, by: name)
        if let expr = st.first("License-Expression"), !expr.isEmpty { p.licenses = [expr] }
        else if let l = st.first("License"), !l.isEmpty, l != "UNKNOWN", !l.contains("\n") { p.licenses = [l] }
        else {
            // Classifiers are the only license statement many packages make.
            // "License :: OSI Approved" alone names a category, not a license (found by helper-151).
            p.licenses = st.all("Classifier").compactMap { c in
                c.hasPrefix("License :: ") ? String(c.split(separator: ":").last.map { $0.trimmed } ?? "") : nil
            }.filter { !$0.isEmpty && $0 != "OSI Approved" && $0 != "DFSG approved" }
        }
        let author = st.first("Author").flatMap { $0.isEmpty ? nil : $0 } ?? st.first("Author-email")
        p.author = author.flatMap { $0.isEmpty ? nil : $0 }
        p.supplier = p.author
        p.description = st.first("Summary")
        p.homepage = st.first("Home-page") ?? st.all("Project-URL").first { $0.lowercased().hasPrefix("homepage") }
            .map { String($0.split(separator: ",", maxSplits: 1).last ?? "").trimmed }
        p.files = record(input)
        p.dependsOn = st.all("Requires-Dist").compactMap { req in
            // Extras-only requirements are optional; the graph keeps unconditional ones.
            if req.contains("extra ==") || req.contains("extra==") { return nil }
            return Requirement.name(of: req).map(PackageIdentity.pep503)
        }
        p.dependenciesKnown = true
        return Extraction([p])
    }

    /// RECORD rows: `path,sha256=<urlsafe b64>,size` (see `PythonRecord`).
    private func record(_ input: ExtractInput) -> [PackageFile] {
        guard input.fileName == "METADATA" else { return [] }
        let path = input.sibling("RECORD")
        guard input.index.contains(path), let text = try? TextDecoding.string(input.readBytes(path)) else { return [] }
        return PythonRecord.rows(text).map { PackageFile(path: $0.path, digest: $0.digest) }
    }
}

/// Resolves the name edges read from installed metadata into purls once every package is known.
enum PythonInstalledLinker {
    static func link(_ packages: inout [Package]) {
        var byName: [String: String] = [:]
        for p in packages where p.foundBy == "python-installed" { byName[PackageIdentity.pep503(p.name)] = p.ref }
        for i in packages.indices where packages[i].foundBy == "python-installed" {
            packages[i].dependsOn = packages[i].dependsOn.compactMap { byName[$0] }.uniqueSorted()
        }
    }
}

enum CSV {
    static func row(_ line: Substring) -> [String] {
        // RECORD rows rarely quote; split on bytes unless they do.
        if !line.utf8.contains(34) {
            return line.utf8.split(separator: 44, omittingEmptySubsequences: false).map { String(Substring($0)) }
        }
        var out: [String] = [], cur = "", quoted = false
        var it = line.makeIterator()
        while let c = it.next() {
            if c == "\"" { quoted.toggle() }
            else if c == "," && !quoted { out.append(cur); cur = "" }
            else { cur.append(c) }
        }
        out.append(cur)
        return out
    }
}

/// PEP 508 requirement strings, just far enough to get the name and an exact pin.
enum Requirement {
    static func isNameChar(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_" || c == ".") }

    static func name(of req: String) -> String? {
        let t = req.trimmed
        let n = String(t.prefix(while: isNameChar))
        guard let f = n.first, f.isLetter || f.isNumber, let l = n.last, l.isLetter || l.isNumber else { return nil }
        return n
    }

    /// `name[extras] == 1.2` or `=== 1.2` → (name, version); nil when not a single exact pin.
    static func pinned(_ req: String) -> (String, String)? {
        var t = Substring(req.trimmed)
        if let semi = t.firstIndex(of: ";") { t = t[..<semi] }
        guard let n = name(of: String(t)) else { return nil }
        var rest = t.dropFirst(n.count).drop(while: { $0 == " " })
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            rest = rest[rest.index(after: close)...].drop(while: { $0 == " " })
        }
        // PEP 508 allows the version specifier in parentheses: `urllib3 (==1.25.7)`.
        if rest.hasPrefix("("), rest.hasSuffix(")") { rest = rest.dropFirst().dropLast().drop(while: { $0 == " " }) }
        if rest.hasPrefix("===") { rest = rest.dropFirst(3) }
        else if rest.hasPrefix("==") { rest = rest.dropFirst(2) }
        else { return nil }
        let v = rest.trimmed
        guard !v.isEmpty, !v.contains(","), !v.contains("*"), !v.contains(" "), !v.contains("$"),
              v.allSatisfy({ $0.isLetter || $0.isNumber || ".+-_!".contains($0) }) else { return nil }
        return (n, v)
    }
}
