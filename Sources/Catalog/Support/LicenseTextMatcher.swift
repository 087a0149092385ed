import Foundation
import Crypto
import ProvenantCore

/// Names licenses in free text by their well-known wording: the GNU licenses' "version N ... or (at
/// your option) any later version", Debian's `/usr/share/common-licenses/NAME` references, and the
/// MIT, BSD, ISC, zlib and Apache boilerplate. Only SPDX ids from `spdxLicenseIDList` (and
/// `LicenseRef-public-domain`) come out; text that names nothing known yields nothing.
public enum LicenseTextMatcher {
    /// The SPDX ids (and LicenseRefs) the text names, deduplicated and sorted.
    public static func identify(_ text: String) -> [String] {
        identify(normalized: normalize(Array(text.utf8)))
    }

    /// Lowercase ASCII letters, digits and `.+/-` kept; every other run of bytes becomes one space,
    /// so line breaks, comment markers, quotes and punctuation do not break a phrase.
    static func normalize(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var space = true
        for b in bytes {
            let c: UInt8
            switch b {
            case 65...90: c = b + 32
            case 97...122, 48...57, 0x2E, 0x2B, 0x2F, 0x2D: c = b
            default: c = 32
            }
            if c == 32 {
                if !space { out.append(32); space = true }
            } else {
                out.append(c); space = false
            }
        }
        if out.last == 32 { out.removeLast() }
        return out
    }

    /// Starts of every occurrence of `needle` in `hay`, at most `limit` of them.
    static func find(_ needle: String, in hay: [UInt8], from: Int = 0, to: Int? = nil, limit: Int = 64) -> [Int] {
        let n = Array(needle.utf8)
        let stop = min(to ?? hay.count, hay.count)
        guard !n.isEmpty, stop >= n.count else { return [] }
        var out: [Int] = []
        var i = max(0, from)
        // Matches do not overlap: the next search starts after the last match.
        while out.count < limit, let at = ByteSearch.firstOffset(of: n, in: hay, from: i, to: stop) {
            out.append(at)
            i = at + n.count
        }
        return out
    }

    static func contains(_ needle: String, in hay: [UInt8]) -> Bool { !find(needle, in: hay, limit: 1).isEmpty }

    /// A GNU license family as the text names it, with the SPDX id stem for each version.
    struct GNUFamily {
        var phrases: [String]
        var stem: String
        /// The version an unversioned reference means ("any version" for the GPL).
        var anyVersion: String
    }

    static let gnu: [GNUFamily] = [
        GNUFamily(phrases: ["gnu general public license", "gnu general public licence", "gnu gpl"], stem: "GPL", anyVersion: "1.0"),
        GNUFamily(phrases: ["gnu lesser general public license", "gnu library general public license",
                            "gnu lesser general public licence", "gnu library general public licence", "gnu lgpl"], stem: "LGPL", anyVersion: "2.0"),
        GNUFamily(phrases: ["gnu affero general public license"], stem: "AGPL", anyVersion: "3.0"),
        GNUFamily(phrases: ["gnu free documentation license", "gnu free documentation licence"], stem: "GFDL", anyVersion: "1.1"),
    ]

    /// Every phrase that starts a GNU license name, so one mention's window stops at the next.
    static let gnuStarts: [String] = gnu.flatMap(\.phrases)

    /// `GPL` + `2` → `GPL-2.0`; LGPL 2.1 and GFDL 1.x keep their minor version.
    static func gnuID(stem: String, version: String, orLater: Bool) -> String? {
        var v = version
        if !v.contains(".") { v += ".0" }
        let id = "\(stem)-\(v)-\(orLater ? "or-later" : "only")"
        return SPDXLicenses.isKnown(id) ? id : nil
    }

    /// Debian's `/usr/share/common-licenses` names (lowercased) and the license each file holds.
    /// `GPL`, `LGPL` and `GFDL` are links to the newest version; a reference to them names no version.
    static let commonLicenses: [String: (stem: String?, id: String?, version: String?)] = [
        "gpl": ("GPL", nil, nil), "gpl-1": ("GPL", nil, "1.0"), "gpl-2": ("GPL", nil, "2.0"), "gpl-3": ("GPL", nil, "3.0"),
        "lgpl": ("LGPL", nil, nil), "lgpl-2": ("LGPL", nil, "2.0"), "lgpl-2.1": ("LGPL", nil, "2.1"), "lgpl-3": ("LGPL", nil, "3.0"),
        "gfdl": ("GFDL", nil, nil), "gfdl-1.2": ("GFDL", nil, "1.2"), "gfdl-1.3": ("GFDL", nil, "1.3"),
        "artistic": (nil, "Artistic-1.0-Perl", nil), "apache-2.0": (nil, "Apache-2.0", nil), "bsd": (nil, "BSD-3-Clause", nil),
        "mpl-1.1": (nil, "MPL-1.1", nil), "mpl-2.0": (nil, "MPL-2.0", nil), "cc0-1.0": (nil, "CC0-1.0", nil),
    ]

    /// Boilerplate sentences that name one license each (normalized as `normalize` does).
    static let phrases: [(String, String)] = [
        ("permission is hereby granted free of charge to any person obtaining a copy", "MIT"),
        ("distribute this software for any purpose with or without fee is hereby granted", "ISC"),
        ("permission is granted to anyone to use this software for any purpose including commercial applications and to alter it and redistribute it freely", "Zlib"),
        ("apache license version 2.0", "Apache-2.0"), ("apache license v2.0", "Apache-2.0"), ("apache license 2.0", "Apache-2.0"),
        ("mozilla public license version 2.0", "MPL-2.0"), ("mozilla public license v. 2.0", "MPL-2.0"), ("mozilla public license 2.0", "MPL-2.0"),
        ("mozilla public license version 1.1", "MPL-1.1"), ("boost software license version 1.0", "BSL-1.0"),
        ("cc0 1.0 universal", "CC0-1.0"), ("artistic license 2.0", "Artistic-2.0"),
        ("placed in the public domain", publicDomain), ("placed into the public domain", publicDomain),
        ("released into the public domain", publicDomain), ("released to the public domain", publicDomain),
        ("dedicated to the public domain", publicDomain), ("is in the public domain", publicDomain),
        ("are in the public domain", publicDomain), ("put into the public domain", publicDomain),
    ]

    public static let publicDomain = "LicenseRef-public-domain"

    static let bsdStart = "redistribution and use in source and binary forms with or without modification are permitted provided that"

    static func identify(normalized t: [UInt8]) -> [String] {
        var out: Set<String> = []
        // GNU: each mention, up to the next mention or 400 bytes, gives the version and "or later".
        var starts: [(Int, Int)] = []  // (position, family index)
        for (fi, fam) in gnu.enumerated() {
            for p in fam.phrases { for at in find(p, in: t) { starts.append((at, fi)) } }
        }
        starts.sort { $0.0 < $1.0 }
        var versioned: [String: Set<String>] = [:]  // stem → versions stated in the text
        var references: [(String, String)] = []
        for (k, (at, fi)) in starts.enumerated() {
            let fam = gnu[fi]
            let next = k + 1 < starts.count ? starts[k + 1].0 : t.count
            // The GPL "lesser" and "library" phrases start inside a GPL one's text only at another
            // offset, so a window is bounded by the next mention of any family.
            var end = min(next > at ? next : t.count, at + 400, t.count)
            // A mention's version is in its own sentence: "You should have received a copy of the GNU
            // ... License along with ..." states none, and the next paragraph's must not count for it.
            if let stop = find(". ", in: t, from: at, to: end, limit: 1).first { end = stop }
            let window = Array(t[at..<end])
            guard let version = statedVersion(window) else { continue }
            // "The complete text of the GNU General Public License version 3 can be found in ..." points
            // at a text; it says nothing of "or later", so it counts as a reference, after the grants.
            if contains("can be found", in: window) || contains("common-licenses", in: window) {
                references.append((fam.stem, version)); continue
            }
            // "version 2 only, and not any later version" states no "or later" (found by helper-151).
            let denied = contains("not any later", in: window) || contains("no later version", in: window)
                || contains("\(version) only", in: window) || contains("\(version)-only", in: window)
            let orLater = !denied && (contains("any later version", in: window) || contains("or later", in: window)
                || contains("\(version)+", in: window) || contains("or newer", in: window))
            if let id = gnuID(stem: fam.stem, version: version, orLater: orLater) {
                out.insert(id)
                versioned[fam.stem, default: []].insert(id.split(separator: "-")[1].description)
            }
        }
        for (stem, version) in references {
            guard let id = gnuID(stem: stem, version: version, orLater: false) else { continue }
            let v = id.split(separator: "-")[1].description
            if versioned[stem]?.contains(v) == true { continue }
            out.insert(id); versioned[stem, default: []].insert(v)
        }
        // common-licenses references: a versioned one names that version unless the wording above
        // already said which; an unversioned one counts only when the text states no version.
        var unversioned: Set<String> = []
        for at in find("/usr/share/common-licenses/", in: t) {
            var e = at + 27
            while e < t.count, t[e] != 32 { e += 1 }
            var name = String(decoding: t[(at + 27)..<e], as: UTF8.self)
            while name.hasSuffix(".") || name.hasSuffix("/") { name.removeLast() }
            guard let entry = commonLicenses[name] else { continue }
            if let id = entry.id { out.insert(id); continue }
            guard let stem = entry.stem else { continue }
            if let v = entry.version {
                if versioned[stem]?.contains(v) == true { continue }
                if let id = gnuID(stem: stem, version: v, orLater: false) { out.insert(id); versioned[stem, default: []].insert(v) }
            } else {
                unversioned.insert(stem)
            }
        }
        for stem in unversioned where versioned[stem] == nil {
            if let fam = gnu.first(where: { $0.stem == stem }), let id = gnuID(stem: stem, version: fam.anyVersion, orLater: true) { out.insert(id) }
        }
        for (p, id) in phrases where contains(p, in: t) { out.insert(id) }
        // BSD: the clauses that follow the permission sentence tell 2-, 3- and 4-clause apart.
        let bsd = find(bsdStart, in: t)
        for (k, at) in bsd.enumerated() {
            let end = min(k + 1 < bsd.count ? bsd[k + 1] : t.count, at + 2500)
            let w = Array(t[at..<end])
            if contains("all advertising materials mentioning", in: w) { out.insert("BSD-4-Clause") }
            else if contains("neither the name", in: w) || contains("may not be used to endorse or promote", in: w)
                        || contains("may be used to endorse or promote", in: w) { out.insert("BSD-3-Clause") }
            else { out.insert("BSD-2-Clause") }
        }
        return out.sorted()
    }

    /// The first "version N", "vN" or "-N" in a GNU license mention (N like 2, 2.1, 3.0, 1.3).
    static func statedVersion(_ w: [UInt8]) -> String? {
        var best: (Int, String)?
        for marker in ["version ", " v", "gplv"] {
            for at in find(marker, in: w, limit: 8) {
                var i = at + marker.utf8.count
                var s = ""
                while i < w.count, (w[i] >= 48 && w[i] <= 57) || (w[i] == 0x2E && !s.isEmpty && i + 1 < w.count && w[i + 1] >= 48 && w[i + 1] <= 57) {
                    s.append(Character(UnicodeScalar(w[i]))); i += 1
                }
                guard let major = s.split(separator: ".").first.flatMap({ Int($0) }), (1...3).contains(major) else { continue }
                if best == nil || at < best!.0 { best = (at, s) }
                break
            }
        }
        guard var v = best?.1 else { return nil }
        if v.hasSuffix(".0") && v.count == 3 { v = String(v.dropLast(2)) }
        return v
    }

    /// `LicenseRef-` and the first 16 hex digits of SHA-256 over the text's words (ASCII letters and
    /// digits, lowercased): the same text, up to spacing, case and punctuation, gets the same reference.
    /// The hash is of the text as the SBOM may show it, through the redactor: a hash of a password in a
    /// license file's URL would let anyone holding the SBOM test guesses offline (found by helper-75).
    public static func hashRef(_ raw: String, prefix: String = "") -> String {
        let text = Redactor.redact(raw)
        // Letters and digits only, one space between words: punctuation is no part of a text's identity.
        var n: [UInt8] = []
        for b in normalize(Array(text.utf8)) {
            let word = (b >= 97 && b <= 122) || (b >= 48 && b <= 57)
            if word { n.append(b) } else if n.last != 32, !n.isEmpty { n.append(32) }
        }
        if n.last == 32 { n.removeLast() }
        // Words in another script (two or more non-ASCII letters: 许可, Лицензия; not François's one
        // ç) have no ASCII to hash: they are added, lower-cased, NFC, one space apart, so two texts in
        // another script stay two references, and spacing and case still do not count. An English
        // text with an accented name hashes as before.
        var foreign: [String] = [], word = "", nonASCII = 0
        func endWord() { if nonASCII >= 2 { foreign.append(word) }; word = ""; nonASCII = 0 }
        // An ASCII text has no such word; most license texts are ASCII, and this walk costs most of the hash.
        let scalars = text.utf8.allSatisfy { $0 < 0x80 } ? "".unicodeScalars : text.precomposedStringWithCanonicalMapping.lowercased().unicodeScalars
        for u in scalars {
            if u.properties.isAlphabetic || u.properties.numericType != nil {
                word.unicodeScalars.append(u)
                if !u.isASCII { nonASCII += 1 }
            } else {
                endWord()
            }
        }
        endWord()
        if !foreign.isEmpty { n += Array(((n.isEmpty ? "" : " ") + foreign.joined(separator: " ")).utf8) }
        let h = Hex.encode(SHA256.hash(data: n)).prefix(16)
        return "LicenseRef-" + (prefix.isEmpty ? "" : sanitize(prefix) + "-") + h
    }

    /// A LicenseRef for a license known only by its name, one per name. A name that is already an
    /// idstring (`Commercial`, `other-permissive`) is kept as it is. Any other name loses characters
    /// to `sanitize`, so it also keeps a hash of itself: `Commercial: no use permitted` and
    /// `Commercial, no use permitted?` stay two references, each with its own text, and `商业许可` and
    /// `开源许可` stay two. An idstring that already ends like such a hash is hashed too, so no name can
    /// take another's reference.
    public static func nameRef(_ name: String) -> String {
        let s = sanitize(name)
        if s == name, !endsInHash(s) { return "LicenseRef-" + s }
        return "LicenseRef-" + s + "-" + String(FileDigest.sha256(Array(name.utf8)).value.prefix(16))
    }

    /// Whether `s` is 16 lowercase hex digits, as `hashRef` without a prefix makes, or ends in `-` and
    /// 16 of them, as every other hashed reference does (the bare form found by helper-113).
    static func endsInHash(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count == 16 || (b.count > 17 && b[b.count - 17] == UInt8(ascii: "-")) else { return false }
        return b[(b.count - 16)...].allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// Letters, digits, '.' and '-' only, as SPDX idstrings allow.

    public static func sanitize(_ s: String) -> String {
        var out = ""
        var dash = false
        for ch in s.unicodeScalars {
            if ch.isASCII && (ch.properties.isAlphabetic || ("0"..."9").contains(ch) || ch == ".") {
                out.unicodeScalars.append(ch); dash = false
            } else if !dash && !out.isEmpty { out.append("-"); dash = true }
        }
        while out.hasSuffix("-") { out.removeLast() }
        return out.isEmpty ? "unknown" : out
    }
}

/// Lookups in the SPDX license list, case-insensitive as SPDX ids are.
public enum SPDXLicenses {
    static let byLower: [String: String] = Dictionary(spdxLicenseIDList.map { ($0.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
    public static func canonical(_ s: String) -> String? { byLower[s.lowercased()] }
    public static func isKnown(_ s: String) -> Bool { byLower[s.lowercased()] != nil }
}
