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
