import Foundation
import ProvenantCore

/// JAR, WAR and EAR archives, including jars nested inside them: `pom.properties` and `MANIFEST.MF`.
/// Each top-level archive is read within `ArchiveLimits`: a zip bomb ends in a diagnostic, not a stall.
public struct JarExtractor: Extractor {
    public var readsItsOwnFileOnly: Bool { true }
    public let name = "java-archive"
    public let limits: ArchiveLimits
    public init(limits: ArchiveLimits = ArchiveLimits()) { self.limits = limits }
    static let extensions = [".jar", ".war", ".ear", ".jpi", ".hpi", ".par", ".sar", ".nar", ".kar"]

    public func wants(_ file: IndexedFile, fileName: String) -> Bool {
        Self.extensions.contains { fileName.hasSuffix($0) }
    }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        let bytes = try input.bytes()
        var out = Extraction()
        var budget = InflateBudget(limits, archiveSize: bytes.count)
        do { try scan(bytes, label: input.path, fileName: input.fileName, depth: 0, budget: &budget, into: &out) }
        catch let e as InflateBudget.Exhausted {
            // What was found before the budget ran out stays; the rest of the archive is reported unread.
            out.diagnostics.append(Diagnostic(Location(input.path), "\(name): \(e)", unscanned: .input))
        }
        return out
    }

    private func scan(_ data: [UInt8], label: String, fileName: String, depth: Int, budget: inout InflateBudget,
                      into out: inout Extraction) throws {
        let archive = try ZipArchive(data)
        var poms: [(dir: String, props: [String: String])] = []
        var pomLicenses: [String: [String]] = [:]
        var manifest: [String: String] = [:]
        var nested: [(String, [UInt8])] = []
        // When the budget runs out mid-archive, what was read so far is still identified, then the
        // exhaustion goes up to the top level, which reports the archive as partly read.
        var exhausted: InflateBudget.Exhausted?
        for entry in archive.entries where !entry.isDirectory {
            let p = entry.path
            let isPom = p.hasPrefix("META-INF/maven/") && p.hasSuffix("/pom.properties")
            let isPomXML = p.hasPrefix("META-INF/maven/") && p.hasSuffix("/pom.xml")
            let isNested = Self.extensions.contains(where: { p.hasSuffix($0) })
            guard isPom || isPomXML || p == "META-INF/MANIFEST.MF" || isNested else { continue }
            if isNested && depth + 1 > limits.maxNesting {
                out.diagnostics.append(Diagnostic(Location(label + "!/" + p), "\(name): archive nested more than \(limits.maxNesting) levels deep, not read", unscanned: .input))
                continue
            }
            let d: [UInt8]
            do { d = try archive.read(entry, budget: &budget) }
            catch let e as ParseError { out.diagnostics.append(Diagnostic(Location(label + "!/" + p), "\(name): \(e.message)", unscanned: .input)); continue }
            catch let e as InflateBudget.Exhausted { exhausted = e; break }
            let dir = String(p[..<(p.lastIndex(of: "/") ?? p.endIndex)])
            if isPom { poms.append((dir, Self.properties(String(decoding: d, as: UTF8.self)))) }
            else if isPomXML { pomLicenses[dir] = Self.pomLicenses(d) }
            else if isNested { nested.append((p, d)) }
            else { manifest = Self.manifest(String(decoding: d, as: UTF8.self)) }
        }
        let digest = FileDigest.sha1(data)
        let stem = (fileName as NSString).deletingPathExtension
        var found: [Package] = []
        for (dir, props) in poms {
            guard let g = props["groupId"], let a = props["artifactId"], let v = props["version"], !g.isEmpty, !a.isEmpty, !v.isEmpty else { continue }
            var p = Make.package(.maven, "\(g):\(a)", v, at: label, by: name)
            // The pom.xml beside pom.properties is that artifact's own: its <licenses> are the artifact's.
            p.licenses = pomLicenses[dir] ?? []
            found.append(p)
        }
        // Shaded jars carry the pom.properties of what they bundle; the archive's own is the one
        // matching its file name. Without one, the manifest names the archive.
        let (fnName, fnVersion) = Self.splitFileName(stem)
        // The exact name first, else the longest that starts the file name: guava-extras-2.0.jar bundling
        // guava's pom.properties gave guava the archive's digest, license and supplier (found by helper-151).
        // A prefix counts with its version (`log4j-1.2-api-2.17.1`): a bundled guava's name alone
        // prefixes guava-extras-2.0 (helper-153).
        let prefixed = found.indices.filter { stem == found[$0].purl.name || stem.hasPrefix(found[$0].purl.name + "-" + found[$0].version) }
        if let own = found.firstIndex(where: { $0.purl.name == fnName }) ?? prefixed.max(by: { found[$0].purl.name.utf8.count < found[$1].purl.name.utf8.count }) {
            found[own].digests = [digest]
        } else if var p = Self.fromManifest(manifest, fileName: (fnName, fnVersion), stem: stem, label: label, by: name) {
            p.digests = [digest]
            found.append(p)
            // Only a vendor id states a Maven group; one taken from the module or bundle name, or the
            // artifact standing in for it, is a guess (spring-beans read as group `spring`), and an
            // advisory under the real group would never match: listed, but not checked (helper-127).
            if (manifest["Implementation-Vendor-Id"] ?? "").isEmpty {
                out.diagnostics.append(Diagnostic(Location(label), "java archive identified from its manifest alone as '\(Redactor.quote(p.name, max: 200))': "
                    + "its Maven group is a guess, so advisories for its real group are not checked", unscanned: .entry))
            }
        } else if found.count == 1 {
            found[0].digests = [digest]
        } else if found.isEmpty {
            // Nothing names it, so nothing about it is checked (found by helper-127).
            out.diagnostics.append(Diagnostic(Location(label), "java archive without Maven metadata or version, not identified", unscanned: .input))
        }
        if let lics = manifest["Bundle-License"].map(Self.bundleLicenses), !lics.isEmpty {
            for i in found.indices where found[i].digests.contains(digest) && found[i].licenses.isEmpty { found[i].licenses = lics }
        }
        if let vendor = manifest["Implementation-Vendor"] ?? manifest["Bundle-Vendor"] {
            for i in found.indices where found[i].digests.contains(digest) { found[i].supplier = vendor }
        }
        out.packages += found
        if let exhausted { throw exhausted }
        for (p, d) in nested {
            do { try scan(d, label: label + "!/" + p, fileName: PathText.lastComponent(p), depth: depth + 1, budget: &budget, into: &out) }
            catch let e as InflateBudget.Exhausted { throw e }
            catch { out.diagnostics.append(Diagnostic(Location(label + "!/" + p), "\(error)", unscanned: .input)) }
        }
    }

    /// Coordinates from MANIFEST.MF, then the file name. The group comes from the vendor id, the OSGi
    /// symbolic name (less a trailing artifact id), or the module name less its last component.
    static func fromManifest(_ m: [String: String], fileName: (String, String?), stem: String, label: String, by extractor: String) -> Package? {
        let title = m["Implementation-Title"] ?? m["Bundle-SymbolicName"] ?? m["Specification-Title"]
        guard let version = m["Implementation-Version"] ?? m["Bundle-Version"] ?? m["Specification-Version"] ?? fileName.1,
              !version.isEmpty else { return nil }
        let artifact = fileName.0.isEmpty ? (title?.split(separator: ";").first.map(String.init) ?? stem) : fileName.0
        let symbolic = m["Bundle-SymbolicName"].map { String($0.split(separator: ";").first ?? "").trimmed }
        let group = m["Implementation-Vendor-Id"]
            ?? symbolic.map { $0.hasSuffix("." + artifact) ? String($0.dropLast(artifact.count + 1)) : $0 }
            ?? m["Automatic-Module-Name"].map { $0.split(separator: ".").dropLast().joined(separator: ".") }
        guard let g = group, !g.isEmpty else {
            var p = Make.package(.maven, artifact, version, at: label, by: extractor)
            p.purl = PackageURL(type: "maven", namespace: artifact, name: artifact, version: version)
            return p
        }
        return Make.package(.maven, "\(g):\(artifact)", version, at: label, by: extractor)
    }

    /// OSGi `Bundle-License`: a comma-separated list of licenses, each with `;attribute=…` after it
    /// (`EPL-2.0;link=…, MIT`). A name may itself hold a comma (`Apache License, Version 2.0`): a part
    /// that starts with "Version" or a digit continues the one before it.
    static func bundleLicenses(_ raw: String) -> [String] {
        // A manifest header is a line or a few; a longer one is cut (by bytes: one character can hold any
        // number of combining marks), and at most `maxLicenses` are kept.
        var parts: [String] = [], current = "", quoted = false
        var cut = raw.utf8.prefix(maxHeaderBytes)
        if cut.count < raw.utf8.count {
            // Back to a character's first byte, so the cut leaves no broken sequence behind.
            while let last = cut.last, last & 0xC0 == 0x80 { cut = cut.dropLast() }
            if let last = cut.last, last >= 0xC0 { cut = cut.dropLast() }
        }
        for ch in String(decoding: cut, as: UTF8.self) {
            if ch == "\"" { quoted.toggle() }
            if ch == ",", !quoted { parts.append(current); current = ""; continue }
            current.append(ch)
        }
        parts.append(current)
        var merged: [String] = []
        for part in parts {
            let t = part.drop { $0 == " " || $0 == "\t" }
            if !merged.isEmpty, t.lowercased().hasPrefix("version") || t.first?.isNumber == true {
                merged[merged.count - 1] += "," + part
            } else if merged.count < maxLicenses {
                merged.append(part)
            } else {
                break
            }
        }
        var seen: Set<String> = []
        return merged.compactMap(bundleLicense).filter { seen.insert($0).inserted }
    }
    static let maxHeaderBytes = 16 << 10
    static let maxLicenses = 64

    /// One license of `Bundle-License`: `Apache-2.0`, `Apache License, Version 2.0;link=...`, or a URL. A
    /// URL counts only when it is one of a known license; anything else is kept as the name it is.
    static func bundleLicense(_ raw: String) -> String? {
        var v = raw.trimmingCharacters(in: .whitespaces)
        if v.hasPrefix("\""), let close = v.dropFirst().firstIndex(of: "\"") { v = String(v[v.index(after: v.startIndex)..<close]) }
        else if let semi = v.firstIndex(of: ";") { v = String(v[..<semi]).trimmingCharacters(in: .whitespaces) }
        // OSGi's word for "the license is given elsewhere": no license to report.
        if v.isEmpty || v == "<<EXTERNAL>>" { return nil }
        if v.contains("://") { return LicenseURL.spdx(v) }
        return v
    }

    /// `<project><licenses><license><name>`, or the `<url>` when it names a known license and the name
    /// is missing. A pom.xml that is not well-formed gives none.
    static func pomLicenses(_ bytes: [UInt8]) -> [String] {
        var stack: [String] = []
        var text = ""
        var name = "", url = ""
        var out: [String] = []
        do {
            try MiniXML.parse(bytes, start: { n, _ in stack.append(n); text = "" }, text: { text += $0 }, end: { n in
                // Trimmed only where it is kept: a pom ends hundreds of elements, and Foundation's trim
                // of each was half the time of reading a jar.
                if stack.count == 4, stack[0] == "project", stack[1] == "licenses", stack[2] == "license", n == "name" || n == "url" {
                    let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
                    if n == "name" { name = value } else { url = value }
                }
                if stack.count == 3, n == "license", stack[0] == "project", stack[1] == "licenses" {
                    if let id = LicenseURL.spdx(url), SPDXLicenses.canonical(name) == nil { out.append(id) }
                    else if !name.isEmpty { out.append(name) }
                    name = ""; url = ""
                }
                if !stack.isEmpty { stack.removeLast() }
                text = ""
            })
        } catch { return [] }
        var seen: Set<String> = []
        return out.filter { seen.insert($0).inserted }
    }

    static func properties(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for (_, l) in Lines(text: text) {
            let t = l.trimmed
            guard !t.hasPrefix("#"), let eq = t.firstIndex(of: "=") else { continue }
            out[String(t[..<eq]).trimmed] = String(t[t.index(after: eq)...]).trimmed
        }
        return out
    }

    /// MANIFEST.MF main section; continuation lines start with one space.
    static func manifest(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        var last: String?
        for (_, l) in Lines(text: text) {
            if l.isEmpty { break }
            if l.hasPrefix(" "), let k = last { out[k, default: ""] += l.dropFirst(); continue }
            guard let c = l.firstIndex(of: ":") else { continue }
            let k = String(l[..<c]).trimmed
            out[k] = String(l[l.index(after: c)...]).trimmed
            last = k
        }
        return out
    }

    /// `commons-lang3-3.12.0` → ("commons-lang3", "3.12.0").
    static func splitFileName(_ stem: String) -> (String, String?) {
        let parts = stem.split(separator: "-")
        if let i = parts.firstIndex(where: { $0.first?.isNumber == true }), i > 0 {
            return (parts[..<i].joined(separator: "-"), parts[i...].joined(separator: "-"))
        }
        return (stem, nil)
    }
}
