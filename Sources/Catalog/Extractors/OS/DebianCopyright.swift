import Foundation
import ProvenantCore

/// The licenses of one Debian package, read from `/usr/share/doc/<package>/copyright`.
///
/// Machine-readable files (DEP-5, `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/`)
/// name their licenses in `License:` fields by Debian's short names, which map to SPDX ids. Free-form
/// files are read for the well-known texts (`LicenseTextMatcher`). Every license the file names is
/// reported, as a sorted set; a short name SPDX has no id for becomes `LicenseRef-<name>` (with the
/// hash of its text when the file gives one), and a file that names nothing known at all becomes
/// `LicenseRef-<hash of the text>`.
public struct DebianCopyright: Sendable, Equatable {
    /// SPDX ids and LicenseRefs, deduplicated and sorted.
    public var licenses: [String]
    /// The text behind each LicenseRef that has one, for SPDX's `hasExtractedLicensingInfos`.
    public var texts: [String: String]
    /// Whether the file is in the machine-readable format.
    public var machineReadable: Bool

    /// Larger files are not read: the biggest in Debian are a few hundred KiB.
    public static let maxBytes = 4 << 20
    /// At most this many paragraphs of a machine-readable file are read.
    public static let maxParagraphs = 20_000

    public init(licenses: [String], texts: [String: String] = [:], machineReadable: Bool) {
        self.licenses = licenses; self.texts = texts; self.machineReadable = machineReadable
    }

    /// Parses a copyright file's bytes. Never fails: text that is not UTF-8 is decoded lossily, and a
    /// file that is empty or names nothing yields no license.
    public static func parse(_ bytes: [UInt8]) -> DebianCopyright {
        let capped = bytes.count > maxBytes ? Array(bytes[..<maxBytes]) : bytes
        let text = String(decoding: capped, as: UTF8.self)
        if isMachineReadable(text) {
            let r = parseMachineReadable(text)
            if !r.licenses.isEmpty { return r }
        }
        return parseFreeForm(text)
    }

    /// The first field of the first paragraph is `Format:` (or the draft's `Format-Specification:`).
    static func isMachineReadable(_ text: String) -> Bool {
        for (_, line) in Lines(text: text) {
            let t = line.trimmed
            if t.isEmpty || t.hasPrefix("#") { continue }
            let l = t.lowercased()
            return l.hasPrefix("format:") || l.hasPrefix("format-specification:")
        }
        return false
    }

    static func parseMachineReadable(_ text: String) -> DebianCopyright {
        // Each `License:` field: its first line names licenses; a paragraph with no `Files:` whose
        // License field has a body is a stand-alone license text for that name. Paragraphs are read as
        // dpkg's status is (`Stanzas.rfc822`), but in one pass over the bytes that makes strings of the
        // License fields alone: the Files and Copyright fields are most of a file, and a Debian image's
        // catalog waited on them.
        var named: [String] = []
        var bodies: [String: String] = [:]
        let b = Array(text.utf8)
        func string(_ r: Range<Int>) -> String {
            var s = r.lowerBound, e = r.upperBound
            while s < e, b[s] == 32 || b[s] == 9 { s += 1 }
            while e > s, b[e - 1] == 32 || b[e - 1] == 9 { e -= 1 }
            return String(decoding: b[s..<e], as: UTF8.self)
        }
        func keyIs(_ r: Range<Int>, _ word: String) -> Bool {
            var s = r.lowerBound, e = r.upperBound
            while s < e, b[s] == 32 || b[s] == 9 { s += 1 }
            while e > s, b[e - 1] == 32 || b[e - 1] == 9 { e -= 1 }
            return e - s == word.utf8.count && zip(b[s..<e], word.utf8).allSatisfy { $0 | 0x20 == $1 }
        }
        var paragraphs = 0, inParagraph = false, isFiles = false, lastIsLicense = false
        var licenses: [(first: String, body: [String])] = []
        func endParagraph() {
            guard inParagraph else { return }
            paragraphs += 1
            for l in licenses {
                let names = shortNames(l.first)
                named += names
                let body = l.body.joined(separator: "\n")
                if !isFiles, names.count == 1, !body.trimmed.isEmpty, bodies[names[0].lowercased()] == nil {
                    bodies[names[0].lowercased()] = body
                }
            }
            inParagraph = false; isFiles = false; lastIsLicense = false; licenses = []
        }
        var i = 0
        while i < b.count, paragraphs < maxParagraphs {
            var e = b[i...].firstIndex(of: 10) ?? b.count
            let next = e + 1
            if e > i, b[e - 1] == 13 { e -= 1 }
            defer { i = next }
            if b[i..<e].allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { endParagraph(); continue }
            if b[i] == 32 || b[i] == 9 {
                if inParagraph, lastIsLicense { licenses[licenses.count - 1].body.append(string(i..<e)) }
                continue
            }
            guard let colon = b[i..<e].firstIndex(of: UInt8(ascii: ":")) else { continue }
            inParagraph = true
            if keyIs(i..<colon, "files") { isFiles = true }
            lastIsLicense = keyIs(i..<colon, "license")
            if lastIsLicense { licenses.append((string((colon + 1)..<e), [])) }
        }
        if paragraphs < maxParagraphs { endParagraph() }
        var out: Set<String> = []
        var texts: [String: String] = [:]
        // Each name once: a License line may repeat a name many times, and each unknown one hashes its text.
        // Once whatever its case, as its text is found whatever the case: 500 spellings of one name
        // each hashed and kept a 1.6 MB text, for 37 s and an 800 MB SBOM (found by helper-232).
        var seen = Set<String>()
        for name in named where seen.insert(name.lowercased()).inserted {
            let ids = spdx(forShortName: name)
            if !ids.isEmpty { out.formUnion(ids); continue }
            // No SPDX id: the name, made unique by its text when the file gives one.
            let base = name.hasSuffix("+") ? String(name.dropLast()) : name
            if let body = bodies[name.lowercased()] ?? bodies[base.lowercased()] {
                let ref = LicenseTextMatcher.hashRef(body, prefix: base)
                out.insert(ref)
                texts[ref] = body.replacingOccurrences(of: "\n.\n", with: "\n\n")
            } else {
                out.insert(LicenseTextMatcher.nameRef(base))
            }
        }
        return DebianCopyright(licenses: out.sorted(), texts: texts, machineReadable: true)
    }

    static func parseFreeForm(_ text: String) -> DebianCopyright {
        let found = LicenseTextMatcher.identify(text)
        if !found.isEmpty { return DebianCopyright(licenses: found, machineReadable: false) }
        guard !text.utf8.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }) else { return DebianCopyright(licenses: [], machineReadable: false) }
        let ref = LicenseTextMatcher.hashRef(text)
        return DebianCopyright(licenses: [ref], texts: [ref: text], machineReadable: false)
    }

    /// `GPL-2+ or Artistic, and BSD-3-clause with OpenSSL exception` → ["GPL-2+", "Artistic", "BSD-3-clause"].
    /// Exceptions (`with X exception`) are dropped: the set names licenses, not their exceptions.
    static func shortNames(_ line: String) -> [String] {
        var out: [String] = []
        var skipping = false
        for raw in line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," || $0 == "(" || $0 == ")" || $0 == "|" }) {
            let w = String(raw)
            let l = w.lowercased()
            if l == "or" || l == "and" || l == "and/or" || l == "&" { skipping = false; continue }
            // "none" and "unknown" say a file has no license: nothing to report for it.
            if l == "none" || l == "unknown" { continue }
            if l == "with" { skipping = true; continue }
            if skipping { continue }
            out.append(w)
        }
        return out
    }

    /// Debian short names (copyright-format 1.0, §7.2, and those common in the archive) that are not
    /// SPDX ids as written.
    static let shortNameTable: [String: [String]] = [
        "expat": ["MIT"], "mit": ["MIT"], "mit/x11": ["MIT"], "x11": ["X11"], "isc": ["ISC"], "zlib": ["Zlib"],
        "bsd": ["BSD-3-Clause"], "bsd-2": ["BSD-2-Clause"], "bsd-3": ["BSD-3-Clause"], "bsd-4": ["BSD-4-Clause"],
        "artistic": ["Artistic-1.0-Perl"], "artistic-1": ["Artistic-1.0"], "artistic-1.0": ["Artistic-1.0"],
        "artistic-2": ["Artistic-2.0"], "artistic-2.0": ["Artistic-2.0"],
        "perl": ["Artistic-1.0-Perl", "GPL-1.0-or-later"],
        "apache": ["Apache-2.0"], "apache-2": ["Apache-2.0"], "apache-2.0": ["Apache-2.0"], "apache-1.1": ["Apache-1.1"],
        "cc0": ["CC0-1.0"], "cc0-1.0": ["CC0-1.0"], "mpl-2": ["MPL-2.0"], "python": ["PSF-2.0"], "psf-2": ["PSF-2.0"],
        "zope": ["ZPL-2.1"], "zpl": ["ZPL-2.1"], "ofl-1.1": ["OFL-1.1"], "sil-ofl-1.1": ["OFL-1.1"], "boost": ["BSL-1.0"],
        "public-domain": [LicenseTextMatcher.publicDomain], "public_domain": [LicenseTextMatcher.publicDomain],
        "pd": [LicenseTextMatcher.publicDomain], "publicdomain": [LicenseTextMatcher.publicDomain],
        "bzip2-1.0.6": ["bzip2-1.0.6"], "curl": ["curl"], "openssl": ["OpenSSL"], "ssleay": ["SSLeay-standalone"],
    ]

    /// The SPDX ids one Debian short name stands for; empty when SPDX has none.
    public static func spdx(forShortName name: String) -> [String] {
        let orLater = name.hasSuffix("+")
        let base = orLater ? String(name.dropLast()) : name
        let l = base.lowercased()
        if l.isEmpty { return [] }
        if let gnu = gnuShortName(l, orLater: orLater) { return [gnu] }
        if let t = shortNameTable[l] { return t.filter { $0.hasPrefix("LicenseRef-") || SPDXLicenses.isKnown($0) } }
        if orLater, let id = SPDXLicenses.canonical(base + "-or-later") { return [id] }
        if let id = SPDXLicenses.canonical(base) { return [id] }
        if let id = SPDXLicenses.canonical(base + ".0") { return [id] }
        return []
    }

    /// `GPL-2`, `GPLv2`, `gpl2`, `LGPL-2.1`, `GFDL-NIV-1.3`, `AGPL-3` and unversioned `GPL`/`LGPL`.
    static func gnuShortName(_ l: String, orLater: Bool) -> String? {
        let families: [(String, String, String)] = [
            ("gfdl-niv", "GFDL", "1.1"), ("agpl", "AGPL", "3.0"), ("lgpl", "LGPL", "2.0"), ("gpl", "GPL", "1.0"), ("gfdl", "GFDL", "1.1"),
        ]
        for (prefix, stem, anyVersion) in families where l.hasPrefix(prefix) {
            var rest = Substring(l.dropFirst(prefix.count))
            if rest.hasPrefix("-") { rest = rest.dropFirst() }
            if rest.hasPrefix("v") { rest = rest.dropFirst() }
            if rest.hasPrefix("-") { rest = rest.dropFirst() }
            if rest.hasSuffix("-only") { rest = rest.dropLast(5) }
            var later = orLater
            if rest.hasSuffix("-or-later") { rest = rest.dropLast(9); later = true }
            let version: String
            if rest.isEmpty { version = anyVersion; later = true }
            else {
                guard rest.allSatisfy({ $0.isNumber || $0 == "." }), let major = rest.split(separator: ".").first.flatMap({ Int($0) }),
                      (1...3).contains(major) else { return nil }
                version = rest.contains(".") ? String(rest) : rest + ".0"
            }
            let id = prefix == "gfdl-niv"
                ? "GFDL-\(version)-no-invariants-\(later ? "or-later" : "only")"
                : "\(stem)-\(version)-\(later ? "or-later" : "only")"
            return SPDXLicenses.canonical(id)
        }
        return nil
    }
}
