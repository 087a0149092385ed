/// SemVer 2.0 ordering (npm, crates.io, Hex, Pub), read leniently the way advisories write
/// versions: an optional `v`, missing minor or patch as zero, and anything after the third number
/// that is not a pre-release treated as build metadata.
public struct SemVer: VersionScheme {
    public var name: String { buildOrders ? "Pub" : "SemVer" }
    /// Pub orders build metadata too: `1.0.0` < `1.0.0+1` < `1.0.0+a`.
    public var buildOrders = false
    public init(buildOrders: Bool = false) { self.buildOrders = buildOrders }

    public struct Parsed: Sendable {
        var core: [Substring]          // up to three digit strings
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
        while core.count < 3 {
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
            guard core.count < 3, s.utf8.first == UInt8(ascii: "."), isDigit(s.utf8.dropFirst().first) else { break }
            s = s[s.utf8.index(after: s.startIndex)...]
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

    public func compare(_ a: Parsed, _ b: Parsed) -> Int {
        for i in 0..<3 { let c = Digits.compare(a.core[i], b.core[i]); if c != 0 { return c } }
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

/// Go module versions: SemVer with a `v` (or toolchain `go`) prefix. Pseudo-versions are
/// pre-releases and `+incompatible` is build metadata, so SemVer already orders both; two-number
/// toolchain versions (`1.19`) read as `1.19.0`.
public struct GoVersion: VersionScheme {
    public var name: String { "Go" }
    public init() {}
    public func parse(_ raw: String) throws(VersionError) -> SemVer.Parsed {
        var s = raw.trimmed[...]
        if s.utf8.starts(with: "go".utf8) { s = s.dropFirst(2) }
        let rest = s.trimmed
        do { return try SemVer().parse(rest[...], raw: rest) } catch { throw VersionError(raw, name, error.reason) }
    }
    public func compare(_ a: SemVer.Parsed, _ b: SemVer.Parsed) -> Int { SemVer().compare(a, b) }
}

/// NuGet: up to four numbers, case-insensitive pre-release labels, build metadata ignored.
public struct NuGetVersion: VersionScheme {
    public var name: String { "NuGet" }
    public init() {}
    public struct Parsed: Sendable { var nums: [Substring]; var pre: [Substring] }

    public func parse(_ raw: String) throws(VersionError) -> Parsed {
        var s = raw.trimmed[...]
        if s.first == "v" || s.first == "V" { s = s.dropFirst() }
        s = s.prefix { $0 != "+" }
        let main = s.prefix { $0 != "-" }
        let nums = main.split(separator: ".", omittingEmptySubsequences: false)
        guard !nums.isEmpty, nums.count <= 4, nums.allSatisfy(Digits.isDigits) else {
            throw VersionError(raw, name, "expected one to four dot-separated numbers")
        }
        let pre = main.count < s.count ? s.dropFirst(main.count + 1).split(separator: ".", omittingEmptySubsequences: false) : []
        return Parsed(nums: nums, pre: pre)
    }

    public func compare(_ a: Parsed, _ b: Parsed) -> Int {
        for i in 0..<4 {
            let c = Digits.compare(i < a.nums.count ? a.nums[i] : "0", i < b.nums.count ? b.nums[i] : "0")
            if c != 0 { return c }
        }
        return SemVer.comparePre(a.pre, b.pre, caseInsensitive: true)
    }
}

/// CRAN and Hackage: numbers separated by `.` or `-`, compared one by one; a version that is a
/// prefix of another sorts first (`0.1.0` < `0.1.0.0`).
public struct DottedVersion: VersionScheme {
    public let name: String
    public init(name: String) { self.name = name }

    public func parse(_ raw: String) throws(VersionError) -> [Substring] {
        let parts = raw.trimmed[...].split(omittingEmptySubsequences: false) { $0 == "." || $0 == "-" }
        guard parts.allSatisfy(Digits.isDigits) else { throw VersionError(raw, name, "expected numbers separated by '.' or '-'") }
        return parts
    }

    public func compare(_ a: [Substring], _ b: [Substring]) -> Int {
        for (x, y) in zip(a, b) { let c = Digits.compare(x, y); if c != 0 { return c } }
        return cmp(a.count, b.count)
    }
}
