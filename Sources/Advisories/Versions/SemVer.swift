/// SemVer 2.0 ordering (npm, crates.io, Hex, Pub), read leniently the way advisories write
/// versions: an optional `v`, missing minor or patch as zero, numbers past the third ordered too (up
/// to 32), and anything after the numbers that is not a pre-release treated as build metadata.
public struct SemVer: VersionScheme {
    public var name: String { buildOrders ? "Pub" : "SemVer" }
    /// Pub orders build metadata too: `1.0.0` < `1.0.0+1` < `1.0.0+a`.
    public var buildOrders = false
    public init(buildOrders: Bool = false) { self.buildOrders = buildOrders }

    public struct Parsed: Sendable {
        var core: [Substring]          // three digit strings, or more when the version has more
        var pre: [Substring]           // pre-release identifiers; empty for a release
        var build: [Substring] = []
    }

    public func parse(_ raw: String) throws(VersionError) -> Parsed { try parse(raw.trimmed[...], raw: raw) }

    /// The numbers are found on UTF-8 bytes; only the rarer pre-release test looks at Characters.
    func parse(_ input: Substring, raw: String) throws(VersionError) -> Parsed {
        var s = input
        func isDigit(_ b: UInt8?) -> Bool { b.map { $0 >= 48 && $0 <= 57 } ?? false }
        if s.utf8.first == UInt8(ascii: "v") || s.utf8.first == UInt8(ascii: "V") { s = s[s.utf8.index(after: s.startIndex)...] }
        var core: [Substring] = []
        core.reserveCapacity(3)
        // Numbers past the third (`1.2.3.4`) are ordered too: ignored, they made `1.2.3.4` the same
        // version as `1.2.3` (found by helper-131).
        while core.count < Self.maxComponents {
            let u = s.utf8
            var end = u.startIndex
            while end < u.endIndex, isDigit(u[end]) { end = u.index(after: end) }
            guard end > u.startIndex else {
                if core.isEmpty { throw VersionError(raw, name, "does not start with a number") }
                break
            }
            core.append(s[..<end])
            s = s[end...]
            // A dot continues the core only before another number; anything else is left for below.
            guard core.count < Self.maxComponents, s.utf8.first == UInt8(ascii: "."), isDigit(s.utf8.dropFirst().first) else { break }
            s = s[s.utf8.index(after: s.startIndex)...]
        }
        // More numbers than are read would be dropped with what follows them (found by helper-134).
        if s.utf8.first == UInt8(ascii: "."), isDigit(s.utf8.dropFirst().first) {
            throw VersionError(raw, name, "has more than \(Self.maxComponents) numbers")
        }
        while core.count < 3 { core.append("0") }
        var pre: [Substring] = []
        if s.first == "-" || (s.first?.isLetter ?? false) {
            let body = (s.first == "-" ? s.dropFirst() : s).prefix { $0 != "+" }
            pre = body.split(separator: ".", omittingEmptySubsequences: false)
            s = s.dropFirst(body.count + (s.first == "-" ? 1 : 0))
        }
        var build: [Substring] = []
        if s.first == "+" { build = s.dropFirst().split(separator: ".", omittingEmptySubsequences: false) }
        return Parsed(core: core, pre: pre, build: build)
    }

    /// The most numbers read from a version's core.
    static let maxComponents = 32

    public func compare(_ a: Parsed, _ b: Parsed) -> Int {
        for i in 0..<max(a.core.count, b.core.count) {
            let c = Digits.compare(i < a.core.count ? a.core[i] : "0", i < b.core.count ? b.core[i] : "0")
            if c != 0 { return c }
        }
        let c = Self.comparePre(a.pre, b.pre, caseInsensitive: false)
        guard c == 0, buildOrders else { return c }
        // No build sorts first; then identifiers compare as pre-release ones do.
        if a.build.isEmpty || b.build.isEmpty { return a.build.isEmpty == b.build.isEmpty ? 0 : (a.build.isEmpty ? -1 : 1) }
        return Self.comparePre(a.build, b.build, caseInsensitive: false)
    }

    /// SemVer §11: a release sorts after its pre-releases; identifiers compare numerically when
    /// both are digits, digits sort before letters, and a longer list wins a tie.
    static func comparePre(_ a: [Substring], _ b: [Substring], caseInsensitive: Bool) -> Int {
        if a.isEmpty || b.isEmpty { return a.isEmpty == b.isEmpty ? 0 : (a.isEmpty ? 1 : -1) }
        for (x, y) in zip(a, b) {
            let dx = Digits.isDigits(x), dy = Digits.isDigits(y)
            let c: Int
            switch (dx, dy) {
            case (true, true): c = Digits.compare(x, y)
            case (true, false): c = -1
            case (false, true): c = 1
            case (false, false):
                c = caseInsensitive ? lex(x.lowercased().utf8, y.lowercased().utf8) : lex(x.utf8, y.utf8)
            }
            if c != 0 { return c }
        }
        return cmp(a.count, b.count)
    }
}
