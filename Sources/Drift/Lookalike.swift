/// Typosquatting distance: is one package name a near miss of another? Near means one edit (an
/// inserted, deleted or substituted character, or two neighbours swapped), one separator swapped for
/// another (`-`, `_`, `.`, or none), or one homoglyph swapped (`0`/`o`, `1`/`l`/`i`, `rn`/`m`, `vv`/`w`).
/// Names in one scope (`@babel/…`) belong to one publisher, so they are not compared with each other,
/// and names that differ only in trailing digits (`node10`, `node12`) are a series, not a near miss.
public enum Lookalike {
    /// Why `a` looks like `b`, or nil when it does not (or they are the same name).
    public static func reason(_ a: String, _ b: String) -> String? {
        reason(Name(a), Name(b))
    }

    /// A name prepared once for many comparisons.
    public struct Name: Sendable {
        public let text: String
        let bytes: [UInt8], stripped: [UInt8], folded: [UInt8], scope: Substring?
        public init(_ s: String) {
            text = s
            bytes = Array(s.lowercased().utf8)
            stripped = Lookalike.stripSeparators(bytes)
            folded = Lookalike.folded(bytes)
            scope = s.hasPrefix("@") ? s.split(separator: "/").first : nil
        }
    }

    static func reason(_ x: Name, _ y: Name) -> String? {
        guard x.bytes != y.bytes else { return nil }
        if let s = x.scope, s == y.scope { return nil }
        if x.stripped == y.stripped { return "differs only in separators" }
        if x.folded == y.folded { return "differs by a look-alike character" }
        if withinOneEdit(x.bytes, y.bytes), !differOnlyInTrailingDigits(x.bytes, y.bytes) { return "one character apart" }
        return nil
    }

    /// Known names, indexed so a new name is compared only with the few that could be near it: by the
    /// name with its separators dropped, by its look-alike folding, and by every way of deleting one
    /// character (two names one edit apart share such a key). Lookups cost the name's length, however
    /// many names there are.
    public struct Index: Sendable {
        let names: [Name]
        var keys: [String: [Int]] = [:]

        public init(_ list: [String]) {
            names = Set(list).sorted().map(Name.init)
            for (i, n) in names.enumerated() { for k in Self.keys(n) { keys[k, default: []].append(i) } }
        }

        static func keys(_ n: Name) -> Set<String> {
            var out: Set<String> = ["s:" + String(decoding: n.stripped, as: UTF8.self), "f:" + String(decoding: n.folded, as: UTF8.self),
                                    "d:" + String(decoding: n.bytes, as: UTF8.self)]
            guard n.bytes.count <= 256 else { return out }
            for i in n.bytes.indices {
                var b = n.bytes
                b.remove(at: i)
                out.insert("d:" + String(decoding: b, as: UTF8.self))
            }
            return out
        }

        /// The first known name (in sorted order) `name` is a near miss of, and why.
        public func nearMiss(_ name: String) -> (name: String, reason: String)? {
            let n = Name(name)
            let candidates = Set(Self.keys(n).flatMap { keys[$0] ?? [] }).sorted()
            for i in candidates { if let r = Lookalike.reason(n, names[i]) { return (names[i].text, r) } }
            return nil
        }
    }

    static func differOnlyInTrailingDigits(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        let ta = a.reversed().prefix(while: isDigit).count, tb = b.reversed().prefix(while: isDigit).count
        guard ta > 0 || tb > 0 else { return false }
        return a.dropLast(ta) == b.dropLast(tb)
    }

    static func isSeparator(_ c: UInt8) -> Bool { c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: ".") }

    static func stripSeparators(_ s: [UInt8]) -> [UInt8] { s.filter { !isSeparator($0) } }

    /// Each character that reads like another is replaced by one representative.
    static func folded(_ s: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            let c = s[i]
            let next = i + 1 < s.count ? s[i + 1] : 0
            if c == UInt8(ascii: "r"), next == UInt8(ascii: "n") { out.append(UInt8(ascii: "m")); i += 2; continue }
            if c == UInt8(ascii: "v"), next == UInt8(ascii: "v") { out.append(UInt8(ascii: "w")); i += 2; continue }
            switch c {
            case UInt8(ascii: "0"): out.append(UInt8(ascii: "o"))
            case UInt8(ascii: "1"), UInt8(ascii: "i"): out.append(UInt8(ascii: "l"))
            case UInt8(ascii: "5"): out.append(UInt8(ascii: "s"))
            default: out.append(c)
            }
            i += 1
        }
        return out
    }

    /// Damerau distance at most one, without building a matrix.
    static func withinOneEdit(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        // Very short names are one edit from too much to mean anything.
        guard min(a.count, b.count) >= 4, abs(a.count - b.count) <= 1 else { return false }
        var i = 0
        while i < a.count, i < b.count, a[i] == b[i] { i += 1 }
        if a.count == b.count {
            if a[(i + 1)...] == b[(i + 1)...] { return true }
            // Two neighbours swapped.
            return i + 1 < a.count && a[i] == b[i + 1] && a[i + 1] == b[i] && a[(i + 2)...] == b[(i + 2)...]
        }
        let (long, short) = a.count > b.count ? (a, b) : (b, a)
        return long[(i + 1)...] == short[i...]
    }
}
