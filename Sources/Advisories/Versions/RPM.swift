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
