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
            if raw.utf8.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) {
                if let c = cur, !c.fields.isEmpty { out.append(c) }
                cur = nil
                if stopAtBlank && !out.isEmpty { break }
                continue
            }
            if raw.first == " " || raw.first == "\t" {
                // In place: copying the stanza out and back made every continuation line copy the value.
                if cur?.fields.isEmpty == false {
                    cur!.fields[cur!.fields.count - 1].1 += "\n" + raw.trimmed
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
