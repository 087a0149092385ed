/// RubyGems' Gem::Version: runs of digits and letters; a letter makes a pre-release; trailing
/// zeros of the numeric part and of the pre-release part are ignored.
public struct RubyGemsVersion: VersionScheme {
    public var name: String { "RubyGems" }
    public init() {}
    public enum Segment: Sendable, Equatable { case num(Substring), word(Substring) }

    public func parse(_ raw: String) throws(VersionError) -> [Segment] {
        // Gem::Version reads `-` as `.pre.`.
        let s = raw.trimmed.split(separator: "-", omittingEmptySubsequences: false).joined(separator: ".pre.")
        var segs: [Segment] = []
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if c.isASCII && c.isNumber {
                let j = s[i...].firstIndex { !($0.isASCII && $0.isNumber) } ?? s.endIndex
                segs.append(.num(s[i..<j].drop { $0 == "0" })); i = j
            } else if c.isASCII && c.isLetter {
                let j = s[i...].firstIndex { !($0.isASCII && $0.isLetter) } ?? s.endIndex
                segs.append(.word(s[i..<j])); i = j
            } else { i = s.index(after: i) }
        }
        if segs.isEmpty && !s.isEmpty && !s.allSatisfy({ "._+-".contains($0) }) {
            throw VersionError(raw, name, "no numbers or letters")
        }
        // canonical_segments: the numeric run and the rest, each without trailing zeros.
        let split = segs.firstIndex { if case .word = $0 { return true }; return false } ?? segs.count
        func trim(_ a: ArraySlice<Segment>) -> [Segment] {
            var a = a
            while a.last == .num("") { a = a.dropLast() }
            return Array(a)
        }
        return trim(segs[..<split]) + trim(segs[split...])
    }

    public func compare(_ a: [Segment], _ b: [Segment]) -> Int {
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? a[i] : .num(""), y = i < b.count ? b[i] : .num("")
            switch (x, y) {
            case let (.num(p), .num(q)): let c = Digits.compare(p, q); if c != 0 { return c }
            case (.word, .num): return -1
            case (.num, .word): return 1
            case let (.word(p), .word(q)): if p != q { return lex(p.utf8, q.utf8) }
            }
        }
        return 0
    }
}

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
