/// Debian and Ubuntu: dpkg's `[epoch:]upstream[-revision]`, where `~` sorts before everything,
/// even the end of the string, and letters sort before other symbols.
public struct DebianVersion: VersionScheme {
    public var name: String { "Debian" }
    public init() {}
    public struct Parsed: Sendable { var epoch: Substring; var upstream: [UInt8]; var revision: [UInt8] }

    public func parse(_ raw: String) throws(VersionError) -> Parsed {
        let s = raw.trimmed[...]
        guard !s.isEmpty else { throw VersionError(raw, name, "empty version") }
        var epoch: Substring = "0", rest = s
        if let colon = s.firstIndex(of: ":") {
            epoch = s[..<colon]
            guard Digits.isDigits(epoch) else { throw VersionError(raw, name, "epoch '\(epoch)' is not a number") }
            rest = s[s.index(after: colon)...]
        }
        var upstream = rest, revision: Substring = ""
        if let dash = rest.lastIndex(of: "-") { upstream = rest[..<dash]; revision = rest[rest.index(after: dash)...] }
        guard !upstream.isEmpty else { throw VersionError(raw, name, "empty upstream version") }
        guard upstream.first?.isNumber == true else { throw VersionError(raw, name, "upstream version must start with a digit") }
        // Policy §5.6.12: alphanumerics and . + ~ (and - only before the revision).
        func allowed(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || ".+~-".contains(c)) }
        guard upstream.allSatisfy(allowed), revision.allSatisfy({ allowed($0) && $0 != "-" }) else {
            throw VersionError(raw, name, "only letters, digits and . + ~ - are allowed")
        }
        return Parsed(epoch: epoch, upstream: Array(upstream.utf8), revision: Array(revision.utf8))
    }

    public func compare(_ a: Parsed, _ b: Parsed) -> Int {
        var c = Digits.compare(a.epoch, b.epoch)
        if c != 0 { return c }
        c = Self.verrevcmp(a.upstream, b.upstream)
        return c != 0 ? c : Self.verrevcmp(a.revision, b.revision)
    }

    private static func order(_ c: UInt8?) -> Int {
        guard let c else { return 0 }
        if c >= 48 && c <= 57 { return 0 }
        if (c >= 65 && c <= 90) || (c >= 97 && c <= 122) { return Int(c) }
        if c == UInt8(ascii: "~") { return -1 }
        return Int(c) + 256
    }

    static func verrevcmp(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var i = 0, j = 0
        func at(_ s: [UInt8], _ k: Int) -> UInt8? { k < s.count ? s[k] : nil }
        func isDigit(_ c: UInt8?) -> Bool { c.map { $0 >= 48 && $0 <= 57 } ?? false }
        while i < a.count || j < b.count {
            while (i < a.count && !isDigit(a[i])) || (j < b.count && !isDigit(b[j])) {
                let ac = order(at(a, i)), bc = order(at(b, j))
                if ac != bc { return cmp(ac, bc) }
                i += 1; j += 1
            }
            while at(a, i) == 48 { i += 1 }
            while at(b, j) == 48 { j += 1 }
            var firstDiff = 0
            while isDigit(at(a, i)) && isDigit(at(b, j)) {
                if firstDiff == 0 { firstDiff = cmp(a[i], b[j]) }
                i += 1; j += 1
            }
            if isDigit(at(a, i)) { return 1 }
            if isDigit(at(b, j)) { return -1 }
            if firstDiff != 0 { return firstDiff }
        }
        return 0
    }
}
