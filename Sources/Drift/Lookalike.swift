/// Typosquatting distance: is one package name a near miss of another? Near means one edit (an
/// inserted, deleted or substituted character, or two neighbours swapped), one separator swapped for
/// another (`-`, `_`, `.`, or none), or one homoglyph swapped (`0`/`o`, `1`/`l`/`i`, `rn`/`m`, `vv`/`w`).
public enum Lookalike {
    /// Why `a` looks like `b`, or nil when it does not (or they are the same name).
    public static func reason(_ a: String, _ b: String) -> String? {
        let x = Array(a.lowercased().utf8), y = Array(b.lowercased().utf8)
        guard x != y else { return nil }
        if stripSeparators(x) == stripSeparators(y) { return "differs only in separators" }
        if folded(x) == folded(y) { return "differs by a look-alike character" }
        if withinOneEdit(x, y) { return "one character apart" }
        return nil
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
