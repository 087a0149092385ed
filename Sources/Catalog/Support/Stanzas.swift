import ProvenantCore

/// One "Key: value" record as dpkg status, apk's `K:value` database and Python METADATA write them.
struct Stanza {
    var line: Int
    var fields: [(String, String)] = []
    func first(_ key: String) -> String? { fields.first { $0.0 == key }?.1 }
    func all(_ key: String) -> [String] { fields.filter { $0.0 == key }.map(\.1) }
}

enum Stanzas {
    /// RFC 822-style records separated by blank lines; indented lines continue the previous field.
    static func rfc822(_ text: String, stopAtBlank: Bool = false) -> [Stanza] {
        var out: [Stanza] = []
        var cur: Stanza?
        for (n, raw) in Lines(text: text) {
            if raw.trimmingCharacters(in: .whitespaces).isEmpty {
                if let c = cur, !c.fields.isEmpty { out.append(c) }
                cur = nil
                if stopAtBlank && !out.isEmpty { break }
                continue
            }
            if raw.first == " " || raw.first == "\t" {
                if var c = cur, !c.fields.isEmpty {
                    c.fields[c.fields.count - 1].1 += "\n" + raw.trimmed
                    cur = c
                }
                continue
            }
            guard let colon = raw.firstIndex(of: ":") else { continue }
            if cur == nil { cur = Stanza(line: n) }
            cur?.fields.append((String(raw[..<colon]).trimmed, String(raw[raw.index(after: colon)...]).trimmed))
        }
        if let c = cur, !c.fields.isEmpty { out.append(c) }
        return out
    }
}

/// Shared package construction so every extractor spells purls and locations the same way.
enum Make {
    static func package(_ eco: Ecosystem, _ name: String, _ version: String, at path: String, line: Int? = nil,
                        by extractor: String, scope: Scope = .required, qualifiers: [String: String] = [:],
                        namespace: String? = nil) -> Package {
        Package(ecosystem: eco, name: name, version: version,
                purl: PackageIdentity.purl(eco, name: name, version: version, qualifiers: qualifiers, namespace: namespace),
                locations: [Location(path, line: line)], scope: scope, foundBy: extractor)
    }
}

extension Array where Element == Package {
    /// Drops dev packages unless asked for; they stay marked with their scope when kept.
    func filteredForDev(_ includeDev: Bool) -> [Package] {
        includeDev ? self : filter { $0.scope != .dev }
    }
}
