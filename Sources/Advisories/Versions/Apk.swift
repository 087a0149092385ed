/// Alpine (apk): `1.2.3a_rc1_p2-r4` is numbers, one optional lower-case letter, suffixes (`_alpha`
/// to `_rc` sort before the plain release, `_cvs` to `_p` after it), then the `-r` build number.
/// Whatever does not fit is kept as a remainder that sorts lower, and a string that does not even
/// start with a number sorts below all that do, in plain string order among its kind.
public struct AlpineVersion: VersionScheme {
    public var name: String { "Alpine" }
    public init() {}

    public struct Parsed: Sendable {
        var original: String
        var valid: Bool
        var components: [Substring] = []
        var letter: Character?
        var suffixes: [(weight: Int, n: Substring)] = []
        var build: Substring?
        var remainder: Substring = ""
    }

    static let suffixWeights: [(String, Int)] = [("alpha", 0), ("beta", 1), ("pre", 2), ("rc", 3), ("cvs", 5), ("svn", 6), ("git", 7), ("hg", 8), ("p", 9)]

    public func parse(_ raw: String) throws(VersionError) -> Parsed {
        let s = raw.trimmed
        guard !s.isEmpty else { throw VersionError(raw, name, "empty version") }
        var v = Parsed(original: s, valid: true)
        var rest = s[...]
        func digits() -> Substring { let d = rest.prefix { $0.isASCII && $0.isNumber }; rest = rest.dropFirst(d.count); return d }
        let first = digits()
        guard !first.isEmpty else { v.valid = false; return v }
        v.components = [first]
        while rest.first == ".", rest.dropFirst().first?.isNumber == true, rest.dropFirst().first?.isASCII == true {
            rest = rest.dropFirst()
            v.components.append(digits())
        }
        if let c = rest.first, c.isASCII, c.isLowercase { v.letter = c; rest = rest.dropFirst() }
        while rest.first == "_" {
            let body = rest.dropFirst()
            guard let (word, w) = Self.suffixWeights.first(where: { body.hasPrefix($0.0) }) else { break }
            rest = body.dropFirst(word.count)
            v.suffixes.append((w, digits()))
        }
        if rest.hasPrefix("~") {
            // A commit hash: `~` and hex digits; it carries no order.
            rest = rest.dropFirst()
            rest = rest.drop { $0.isHexDigit }
        }
        if rest.hasPrefix("-r"), rest.dropFirst(2).first.map({ $0.isASCII && $0.isNumber }) ?? true {
            rest = rest.dropFirst(2)
            v.build = digits()
        }
        v.remainder = rest
        return v
    }

    public func compare(_ a: Parsed, _ b: Parsed) -> Int {
        // A string that does not start with a number sorts below every one that does, and among its
        // kind as text. By text alone the two kinds interleaved where a combining mark follows the
        // first digit (`1\u{301}`, not a number here, sorted between `10` and `9`; found by review).
        if !a.valid || !b.valid {
            if a.valid != b.valid { return a.valid ? 1 : -1 }
            return lex(a.original.utf8, b.original.utf8)
        }
        for i in 0..<max(a.components.count, b.components.count) {
            if i == a.components.count { return -1 }
            if i == b.components.count { return 1 }
            let x = a.components[i], y = b.components[i]
            // After the first number, a leading zero makes the number a decimal fraction.
            let c = i > 0 && (x.first == "0" || y.first == "0") ? lex(x.utf8, y.utf8) : Digits.compare(x, y)
            if c != 0 { return c }
        }
        switch (a.letter, b.letter) {
        case (nil, nil): break
        case (nil, _): return -1
        case (_, nil): return 1
        case let (x?, y?): if x != y { return x < y ? -1 : 1 }
        }
        for i in 0..<max(a.suffixes.count, b.suffixes.count) {
            if i == a.suffixes.count { return b.suffixes[i].weight < 4 ? 1 : -1 }
            if i == b.suffixes.count { return a.suffixes[i].weight < 4 ? -1 : 1 }
            let x = a.suffixes[i], y = b.suffixes[i]
            if x.weight != y.weight { return cmp(x.weight, y.weight) }
            let c = Digits.compare(x.n, y.n)
            if c != 0 { return c }
        }
        let c = Digits.compare(a.build ?? "", b.build ?? "")
        if c != 0 { return c }
        // Unparsed text sorts lower; two such tails compare as text unless both are a broken
        // `-r` build, whose contents apk ignores.
        if a.remainder.isEmpty != b.remainder.isEmpty { return a.remainder.isEmpty ? 1 : -1 }
        // By byte, as `lex` compares: a `-` carrying a combining mark is another Character, not
        // another byte (found by review).
        if a.remainder.utf8.first == 0x2D && b.remainder.utf8.first == 0x2D { return 0 }
        return lex(a.remainder.utf8, b.remainder.utf8)
    }
}
