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

/// Red Hat and other RPM distributions: `[epoch:]version[-release]` compared with rpmvercmp,
/// where `~` sorts before everything and `^` after the base version but before anything longer.
public struct RPMVersion: VersionScheme {
    public var name: String { "RPM" }
    public init() {}
    public struct Parsed: Sendable { var epoch: [UInt8]; var version: [UInt8]; var release: [UInt8]? }

    public func parse(_ raw: String) throws(VersionError) -> Parsed {
        let s = raw.trimmed[...]
        guard !s.isEmpty else { throw VersionError(raw, name, "empty version") }
        var epoch: Substring = "0", rest = s
        if let colon = s.firstIndex(of: ":") { epoch = s[..<colon]; rest = s[s.index(after: colon)...] }
        var version = rest
        var release: Substring?
        if let dash = rest.lastIndex(of: "-") { version = rest[..<dash]; release = rest[rest.index(after: dash)...] }
        return Parsed(epoch: Array(epoch.utf8), version: Array(version.utf8), release: release.map { Array($0.utf8) })
    }

    public func compare(_ a: Parsed, _ b: Parsed) -> Int {
        var c = Self.rpmvercmp(a.epoch, b.epoch)
        if c != 0 { return c }
        c = Self.rpmvercmp(a.version, b.version)
        if c != 0 { return c }
        switch (a.release, b.release) {
        case (nil, nil): return 0
        case (nil, _): return -1
        case (_, nil): return 1
        case let (x?, y?): return Self.rpmvercmp(x, y)
        }
    }

    static func rpmvercmp(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a == b { return 0 }
        func alnum(_ c: UInt8) -> Bool { isDigit(c) || isAlpha(c) }
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        func isAlpha(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
        let tilde = UInt8(ascii: "~"), caret = UInt8(ascii: "^")
        var i = 0, j = 0
        while i < a.count || j < b.count {
            while i < a.count, !alnum(a[i]), a[i] != tilde, a[i] != caret { i += 1 }
            while j < b.count, !alnum(b[j]), b[j] != tilde, b[j] != caret { j += 1 }
            let ca: UInt8? = i < a.count ? a[i] : nil, cb: UInt8? = j < b.count ? b[j] : nil
            if ca == tilde || cb == tilde {
                if ca != tilde { return 1 }
                if cb != tilde { return -1 }
                i += 1; j += 1; continue
            }
            if ca == caret || cb == caret {
                if ca == nil { return -1 }
                if cb == nil { return 1 }
                if ca != caret { return 1 }
                if cb != caret { return -1 }
                i += 1; j += 1; continue
            }
            guard let x = ca, cb != nil else { break }
            let numeric = isDigit(x)
            let test = numeric ? isDigit : isAlpha
            var ei = i, ej = j
            while ei < a.count, test(a[ei]) { ei += 1 }
            while ej < b.count, test(b[ej]) { ej += 1 }
            if ej == j { return numeric ? 1 : -1 }
            var sa = a[i..<ei], sb = b[j..<ej]
            if numeric {
                sa = sa.drop { $0 == 48 }; sb = sb.drop { $0 == 48 }
                if sa.count != sb.count { return cmp(sa.count, sb.count) }
            }
            if sa != sb { return lex(sa, sb) }
            i = ei; j = ej
        }
        if i >= a.count && j >= b.count { return 0 }
        return i >= a.count ? -1 : 1
    }
}
