import ProvenantCore

/// The encoded forms a secret value takes when a program serialises it: each named, for findings.
enum KnownEncodings {
    /// How often `v` switches between ASCII letters and digits, other bytes aside: `ab12cd` twice.
    static func letterDigitSwitches(_ v: [UInt8]) -> Int {
        var switches = 0, last: Bool?
        for c in v {
            let digit = c >= 48 && c <= 57, letter = (c | 0x20) >= 97 && (c | 0x20) <= 122
            guard digit || letter else { continue }
            if let l = last, l != digit { switches += 1 }
            last = digit
        }
        return switches
    }

    static func forms(of v: [UInt8]) -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = [("plain", v)]
        // Host names, e-mail domains and `tr` lose case: a value sent all lower or all upper case is
        // still the value (a hex or base32 secret entirely so), and is matched too. A value of 16
        // bytes or more, or a shorter one that switches between letters and digits three times or
        // more: a short one of letters folded is a word (`Postgres` found in every `postgres`:
        // review), and so is a word and a number (`Postgres16`, `Welcome2024`: helper-113); one like
        // `k9Xq2mL7` is neither.
        let foldable = v.count >= 16 || Self.letterDigitSwitches(v) >= 3
        for folded in [v.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }, v.map { $0 >= 97 && $0 <= 122 ? $0 & ~0x20 : $0 }]
            where foldable && folded != v {
            out.append(("case-changed", folded))
        }
        let hex = Hex.encode(v)
        out.append(("hex", Array(hex.utf8)))
        out.append(("hex", Array(hex.uppercased().utf8)))
        for align in 0..<3 {
            let std = base64Inner(v, align: align)
            out.append(("base64", std))
            let url = std.map { $0 == 43 ? 45 : ($0 == 47 ? 95 : $0) } // + -> -, / -> _
            if url != std { out.append(("base64url", url)) }
        }
        let pct = percent(v, upper: true)
        if pct != v {
            out.append(("url-encoded", pct))
            out.append(("url-encoded", percent(v, upper: false)))
            if v.contains(32) { out.append(("url-encoded", percent(v, upper: true, plusForSpace: true))) }
            // JavaScript's encodeURIComponent keeps !*'() as well.
            out.append(("url-encoded", percent(v, upper: true, keep: Array("!*'()".utf8))))
            // Python's quote() keeps '/' by default.
            if v.contains(47) { out.append(("url-encoded", percent(v, upper: true, keepSlash: true))) }
            // Encoded twice, as a URL inside another URL's query carries it (found by helper-115).
            out.append(("url-encoded-twice", percent(pct, upper: true)))
        }
        // Every byte encoded, as some clients and obfuscators do (found by helper-115).
        out.append(("url-encoded", everyBytePercent(v, upper: true)))
        out.append(("url-encoded", everyBytePercent(v, upper: false)))
        let html = htmlEscaped(v)
        if html != v { out.append(("html-escaped", html)) }
        // Python's html.escape writes `'` as `&#x27;` (helper-117).
        if v.contains(39) { out.append(("html-escaped", v.flatMap { $0 == 39 ? Array("&#x27;".utf8) : htmlEscaped([$0]) })) }
        for (name, form) in [("json-escaped", json(v, slash: false, html: false)), ("json-escaped", json(v, slash: true, html: false)),
                             ("json-escaped", json(v, slash: false, html: true)), ("json-escaped", json(v, slash: true, html: true)),
                             ("json-escaped", jsonASCII(v)),
                             ("unicode-escaped", unicodeEscaped(v, upper: false)),
                             ("unicode-escaped", unicodeEscaped(v, upper: true))] where form != v {
            out.append((name, form))
        }
        return out
    }

    private static let digitsLower = Array("0123456789abcdef".utf8)
    private static let digitsUpper = Array("0123456789ABCDEF".utf8)

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// The base64 characters that depend only on `v`'s bits when `v` starts `align` bytes into a
    /// 3-byte group of a longer payload: the characters at the edges, which mix in neighbouring bytes,
    /// are left out. With `align` 0 this is the start of the standard encoding of `v` itself.
    static func base64Inner(_ v: [UInt8], align: Int) -> [UInt8] {
        let padded = [UInt8](repeating: 0, count: align) + v
        var chars: [UInt8] = []
        var i = 0
        while i < padded.count {
            let b0 = Int(padded[i]), b1 = i + 1 < padded.count ? Int(padded[i + 1]) : 0, b2 = i + 2 < padded.count ? Int(padded[i + 2]) : 0
            let n = (b0 << 16) | (b1 << 8) | b2
            chars += [alphabet[(n >> 18) & 63], alphabet[(n >> 12) & 63], alphabet[(n >> 6) & 63], alphabet[n & 63]]
            i += 3
        }
        // Character k covers bits [6k, 6k+6); keep those inside [8*align, 8*(align+count)).
        let first = (8 * align + 5) / 6
        let end = (8 * (align + v.count)) / 6
        guard end > first else { return [] }
        return Array(chars[first..<end])
    }

    static func percent(_ v: [UInt8], upper: Bool, plusForSpace: Bool = false, keepSlash: Bool = false, keep: [UInt8] = []) -> [UInt8] {
        let d = upper ? digitsUpper : digitsLower
        var out: [UInt8] = []
        for b in v {
            let unreserved = (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 45 || b == 46 || b == 95 || b == 126 || (keepSlash && b == 47) || keep.contains(b)
            if unreserved { out.append(b) } else if plusForSpace && b == 32 { out.append(43) } else { out += [37, d[Int(b >> 4)], d[Int(b & 15)]] }
        }
        return out
    }

    static func everyBytePercent(_ v: [UInt8], upper: Bool) -> [UInt8] {
        let d = upper ? digitsUpper : digitsLower
        return v.flatMap { [37, d[Int($0 >> 4)], d[Int($0 & 15)]] }
    }

    /// HTML's escapes of `&`, `<`, `>`, `"` and `'`, as a template writes a value into a page or an
    /// attribute.
    static func htmlEscaped(_ v: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for b in v {
            switch b {
            case 38: out += Array("&amp;".utf8)
            case 60: out += Array("&lt;".utf8)
            case 62: out += Array("&gt;".utf8)
            case 34: out += Array("&quot;".utf8)
            case 39: out += Array("&#39;".utf8)
            default: out.append(b)
            }
        }
        return out
    }

    static func json(_ v: [UInt8], slash: Bool, html: Bool) -> [UInt8] {
        var out: [UInt8] = []
        for b in v {
            switch b {
            case 34: out += [92, 34]
            case 92: out += [92, 92]
            case 10: out += [92, 110]
            case 13: out += [92, 114]
            case 9: out += [92, 116]
            case 47 where slash: out += [92, 47]
            case 60 where html, 62 where html, 38 where html: out += Array("\\u00".utf8) + [digitsLower[Int(b >> 4)], digitsLower[Int(b & 15)]]
            case 0..<32: out += Array("\\u00".utf8) + [digitsLower[Int(b >> 4)], digitsLower[Int(b & 15)]]
            default: out.append(b)
            }
        }
        return out
    }

    /// JSON as Python's json.dumps writes it by default: the minimal escapes, and every non-ASCII
    /// character as `\uXXXX`.
    static func jsonASCII(_ v: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for unit in String(decoding: v, as: UTF8.self).utf16 {
            if unit < 0x80 { out += json([UInt8(unit)], slash: false, html: false) }
            else { out += [92, 117, digitsLower[Int(unit >> 12)], digitsLower[Int((unit >> 8) & 15)], digitsLower[Int((unit >> 4) & 15)], digitsLower[Int(unit & 15)]] }
        }
        return out
    }

    /// Every character as `\uXXXX` (Java properties, some loggers). Multi-byte UTF-8 is decoded first.
    static func unicodeEscaped(_ v: [UInt8], upper: Bool) -> [UInt8] {
        let d = upper ? digitsUpper : digitsLower
        var out: [UInt8] = []
        for unit in String(decoding: v, as: UTF8.self).utf16 {
            out += [92, 117, d[Int(unit >> 12)], d[Int((unit >> 8) & 15)], d[Int((unit >> 4) & 15)], d[Int(unit & 15)]]
        }
        return out
    }
}
