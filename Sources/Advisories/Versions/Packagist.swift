/// Packagist: PHP's version_compare as Composer uses it. `-`, `_` and `+` separate parts, so does
/// every switch between digits and letters, and words rank dev < alpha < beta < RC < number < patch.
public struct PackagistVersion: VersionScheme {
    public var name: String { "Packagist" }
    public init() {}

    public func parse(_ raw: String) throws(VersionError) -> [Substring] {
        var s = raw.trimmed
        if s.first == "v" || s.first == "V" { s.removeFirst() }
        guard !s.isEmpty else { throw VersionError(raw, name, "empty version") }
        var out = ""
        var last: Character?
        for c in s {
            if c == "-" || c == "_" || c == "+" { out.append("."); last = "."; continue }
            if let l = last, l != ".", c != ".", (l.isNumber != c.isNumber) { out.append(".") }
            out.append(c); last = c
        }
        return out[...].split(separator: ".")
    }

    static func special(_ s: Substring) -> Int {
        for (form, order) in [("dev", 0), ("alpha", 1), ("a", 1), ("beta", 2), ("b", 2), ("RC", 3), ("rc", 3), ("#", 4), ("pl", 5), ("p", 5)]
        where s.hasPrefix(form) { return order }
        return -1
    }

    public func compare(_ a: [Substring], _ b: [Substring]) -> Int {
        var i = 0
        while i < a.count || i < b.count {
            if i >= b.count {
                if Digits.isDigits(a[i]) { return 1 }
                let c = cmp(Self.special(a[i]), 4); if c != 0 { return c }
            } else if i >= a.count {
                if Digits.isDigits(b[i]) { return -1 }
                let c = cmp(4, Self.special(b[i])); if c != 0 { return c }
            } else {
                let x = a[i], y = b[i]
                let dx = Digits.isDigits(x), dy = Digits.isDigits(y)
                let c: Int
                if dx && dy { c = Digits.compare(x, y) }
                else if !dx && !dy { c = cmp(Self.special(x), Self.special(y)) }
                else if dx { c = cmp(4, Self.special(y)) }
                else { c = cmp(Self.special(x), 4) }
                if c != 0 { return c }
            }
            i += 1
        }
        return 0
    }
}
