import Foundation
import ProvenantCore
import Catalog
/// Turns the license text a package states into an SPDX ID, an SPDX expression, or a free-text name.
public enum LicenseKind: Equatable, Sendable {
    case id(String), expression(String), name(String)
}

public enum Licenses {
    static let ids: [String: String] = Dictionary(spdxLicenseIDList.map { ($0.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })

    /// Common spellings in package metadata that name exactly one SPDX license.
    static let aliases: [String: String] = [
        "mit license": "MIT", "the mit license": "MIT", "mit/x11": "MIT", "expat": "MIT",
        "apache 2.0": "Apache-2.0", "apache-2": "Apache-2.0", "apache 2": "Apache-2.0", "apache2": "Apache-2.0",
        "apache license 2.0": "Apache-2.0", "apache license, version 2.0": "Apache-2.0", "apache software license": "Apache-2.0",
        "apache license version 2.0": "Apache-2.0", "the apache software license, version 2.0": "Apache-2.0",
        "the apache license, version 2.0": "Apache-2.0", "asl 2.0": "Apache-2.0", "apache-2.0 license": "Apache-2.0",
        "bsd-3": "BSD-3-Clause", "new bsd license": "BSD-3-Clause", "bsd 3-clause": "BSD-3-Clause", "3-clause bsd license": "BSD-3-Clause",
        "modified bsd license": "BSD-3-Clause", "bsd-2": "BSD-2-Clause", "simplified bsd license": "BSD-2-Clause",
        "isc license": "ISC", "isc license (iscl)": "ISC", "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0", "mpl 2.0": "MPL-2.0",
        "python software foundation license": "PSF-2.0", "psf": "PSF-2.0", "psfl": "PSF-2.0",
        "the unlicense (unlicense)": "Unlicense", "public domain": "LicenseRef-Public-Domain",
        "gplv2": "GPL-2.0-only", "gplv2+": "GPL-2.0-or-later", "gplv3": "GPL-3.0-only", "gplv3+": "GPL-3.0-or-later",
        "gpl-2": "GPL-2.0-only", "gpl-3": "GPL-3.0-only", "gpl-2+": "GPL-2.0-or-later", "gpl-3+": "GPL-3.0-or-later",
        "lgplv2": "LGPL-2.0-only", "lgplv2+": "LGPL-2.0-or-later", "lgplv3": "LGPL-3.0-only", "lgplv3+": "LGPL-3.0-or-later",
        "gnu general public license v2 (gplv2)": "GPL-2.0-only", "gnu general public license v3 (gplv3)": "GPL-3.0-only",
        "gnu lesser general public license v3 (lgplv3)": "LGPL-3.0-only", "eclipse public license 2.0": "EPL-2.0",
        "eclipse public license - v 2.0": "EPL-2.0", "eclipse public license 1.0": "EPL-1.0", "zlib license": "Zlib",
        "zlib/libpng": "Zlib", "cc0": "CC0-1.0", "0bsd": "0BSD", "artistic-2": "Artistic-2.0", "boost software license 1.0": "BSL-1.0",
    ]

    public static func canonicalID(_ s: String) -> String? {
        let k = s.trimmingCharacters(in: .whitespaces).lowercased()
        // An exception alone is no license (SPDX readers refuse it outside `WITH`: helper-135); it is
        // kept as the name it is.
        if let id = ids[k] { return isException(id) ? nil : id }
        return aliases[k].flatMap { $0.hasPrefix("LicenseRef-") ? nil : $0 }
    }

    public static func classify(_ raw: String) -> LicenseKind {
        let s = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if let id = canonicalID(s) { return .id(id) }
        if let e = expression(s) { return .expression(e) }
        return .name(s)
    }

    /// Accepts `A OR (B AND C WITH X)` when every operand is a known ID, a `+` form, or a LicenseRef.
    static func expression(_ s: String) -> String? {
        var tokens: [String] = []
        var cur = ""
        for ch in s {
            if ch == "(" || ch == ")" {
                if !cur.isEmpty { tokens.append(cur); cur = "" }
                tokens.append(String(ch))
            } else if ch == " " || ch == "\t" {
                if !cur.isEmpty { tokens.append(cur); cur = "" }
            } else { cur.append(ch) }
        }
        if !cur.isEmpty { tokens.append(cur) }
        guard tokens.count > 1 else { return nil }
        var out: [String] = []
        var depth = 0, expectOperand = true, afterWith = false
        for t in tokens {
            let u = t.uppercased()
            if t == "(" { guard expectOperand else { return nil }; depth += 1; out.append(t); continue }
            if t == ")" { guard !expectOperand, depth > 0 else { return nil }; depth -= 1; out.append(t); continue }
            if u == "AND" || u == "OR" || u == "WITH" {
                guard !expectOperand else { return nil }
                out.append(u); expectOperand = true; afterWith = u == "WITH"; continue
            }
            guard expectOperand else { return nil }
            let base = t.hasSuffix("+") ? String(t.dropLast()) : t
            // After WITH an exception, and only there; a LicenseRef only as SPDX's idstring allows (a
            // DocumentRef names a document this one does not reference): otherwise not an expression
            // SPDX readers take (found by helper-90).
            if afterWith {
                guard let id = ids[t.lowercased()], isException(id) else { return nil }
                out.append(id)
            } else if let id = ids[base.lowercased()], !isException(id),
                      // `+` only where the list knows an "or later" (`GPL-2.0+`, `GPL-2.0-or-later`):
                      // `MIT+ AND ISC` was written as it came, and SPDX tools refuse `MIT+` (helper-148).
                      !t.hasSuffix("+") || ids[t.lowercased()] != nil || ids[base.lowercased() + "-or-later"] != nil {
                out.append(id + (t.hasSuffix("+") ? "+" : ""))
            }
            else if isLicenseRef(t) { out.append(t) }
            else { return nil }
            expectOperand = false; afterWith = false
        }
        guard depth == 0, !expectOperand else { return nil }
        return out.joined(separator: " ").replacingOccurrences(of: "( ", with: "(").replacingOccurrences(of: " )", with: ")")
    }

    /// Whether an id of SPDX's list is a license exception (they share one list here).
    static func isException(_ id: String) -> Bool {
        id.lowercased().contains("exception") || ["Linux-syscall-note", "GPL-CC-1.0", "SHL-2.0", "SHL-2.1", "LLGPL"].contains(id)
    }

    /// `LicenseRef-` followed by what SPDX idstrings allow (letters, digits, '.', '-').
    public static func isLicenseRef(_ s: String) -> Bool {
        guard s.hasPrefix("LicenseRef-"), s.utf8.count > 11 else { return false }
        return s.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "." || $0 == "-") }
    }

    /// What a list of licenses requires, for comparing two SBOMs' word for one package: each entry
    /// split at its top-level `AND`s (SPDX writes a list as one conjunction, CycloneDX as entries), with
    /// free-text names as the LicenseRef SPDX gives them. `(A OR B)` stays one term.
    public static func terms(_ ls: [String]) -> Set<String> {
        var out = Set<String>()
        for l in ls {
            for part in conjuncts(l.trimmingCharacters(in: .whitespacesAndNewlines), depth: 0) {
                switch classify(part) {
                case .id(let id): out.insert(id)
                case .expression(let e): out.insert(e)
                case .name(let n): out.insert(isLicenseRef(n) ? n : licenseRef(n))
                }
            }
        }
        return out
    }

    /// `s` cut at each ` AND ` outside parentheses (none when an OR is outside them too), a pair of
    /// parentheses around a whole part taken off.
    private static func conjuncts(_ s: String, depth: Int) -> [String] {
        var parts: [String] = [], level = 0, start = s.startIndex, i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if c == "(" { level += 1 } else if c == ")" { level -= 1 }
            // `A AND B OR C` is `(A AND B) OR C`: a top-level OR makes the whole one term.
            if level == 0, s[i...].hasPrefix(" OR ") { return [s] }
            if level == 0, s[i...].hasPrefix(" AND ") {
                parts.append(String(s[start..<i]))
                i = s.index(i, offsetBy: 5); start = i
                continue
            }
            i = s.index(after: i)
        }
        parts.append(String(s[start...]))
        return parts.flatMap { p -> [String] in
            let t = p.trimmingCharacters(in: .whitespaces)
            guard depth < 8, t.hasPrefix("("), t.hasSuffix(")"), enclosesWhole(t) else { return [t] }
            return conjuncts(String(t.dropFirst().dropLast()), depth: depth + 1)
        }
    }

    /// Whether the first `(` of `t` closes at its last character.
    private static func enclosesWhole(_ t: String) -> Bool {
        var level = 0
        for (k, c) in t.enumerated() {
            if c == "(" { level += 1 } else if c == ")" { level -= 1 }
            if level == 0 { return k == t.count - 1 }
        }
        return false
    }

    /// A LicenseRef id for free text, stable for the same text: the catalog's one idstring rule.
    public static func licenseRef(_ name: String) -> String { LicenseTextMatcher.nameRef(name) }
}
