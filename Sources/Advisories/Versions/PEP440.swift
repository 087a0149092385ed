import ProvenantCore

/// PyPI: PEP 440, with pip's pre-PEP 440 "legacy" ordering for strings PEP 440 rejects. Legacy
/// versions sort before every valid one, as `packaging` did while it still accepted them.
public struct PEP440: VersionScheme {
    public var name: String { "PyPI" }
    public init() {}

    public enum Parsed: Sendable {
        case valid(Key)
        case legacy([String])
    }

    public struct Key: Sendable {
        var epoch: Substring = "0"
        var release: [Substring] = []
        var pre: (rank: Int, n: Substring)?     // a=0, b=1, rc=2
        var post: Substring?
        var dev: Substring?
        var local: [Substring]?
    }

    public func parse(_ raw: String) throws(VersionError) -> Parsed {
        let s = raw.trimmed.lowercased()
        guard !s.isEmpty else { throw VersionError(raw, name, "empty version") }
        if let k = Self.strict(s) { return .valid(k) }
        return .legacy(Self.legacyKey(s))
    }

    /// Longest spelling first, so `alpha` is not read as `a` followed by `lpha`.
    static let preLabels: [(StaticString, Int)] = [("alpha", 0), ("a", 0), ("beta", 1), ("b", 1), ("preview", 2), ("pre", 2), ("rc", 2), ("c", 2)]

    static func strict(_ s: String) -> Key? {
        var c = Cursor(Array(s.utf8))
        var k = Key()
        _ = c.eat("v")
        guard var first = c.digits() else { return nil }
        if c.eat("!") {
            k.epoch = first
            guard let next = c.digits() else { return nil }
            first = next
        }
        k.release = [first]
        while c.peek == UInt8(ascii: "."), let d = c.lookahead({ $0.skip(1); return $0.digits() }) { k.release.append(d) }
        // Pre-release: [-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?N?
        if let (rank, n) = c.lookahead({ cur -> (Int, Substring)? in
            cur.sep()
            guard let r = Self.preLabels.first(where: { cur.eat($0.0) })?.1 else { return nil }
            return (r, cur.number())
        }) { k.pre = (rank, n) }
        // Post-release: -N or [-_.]?(post|rev|r)[-_.]?N?
        if let n = c.lookahead({ cur -> Substring? in cur.eat("-") ? cur.digits() : nil }) { k.post = n }
        else if let n = c.lookahead({ cur -> Substring? in
            cur.sep()
            guard cur.eat("post") || cur.eat("rev") || cur.eat("r") else { return nil }
            return cur.number()
        }) { k.post = n }
        if let n = c.lookahead({ cur -> Substring? in
            cur.sep()
            guard cur.eat("dev") else { return nil }
            return cur.number()
        }) { k.dev = n }
        if c.eat("+") {
            let rest = String(decoding: c.bytes[c.i...], as: UTF8.self)
            let parts = rest.split(omittingEmptySubsequences: false) { $0 == "." || $0 == "-" || $0 == "_" }
            guard parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }) else { return nil }
            k.local = parts
            c.i = c.bytes.count
        }
        return c.atEnd ? k : nil
    }

    public func compare(_ a: Parsed, _ b: Parsed) -> Int {
        switch (a, b) {
        case (.legacy, .valid): return -1
        case (.valid, .legacy): return 1
        case let (.legacy(x), .legacy(y)):
            for (p, q) in zip(x, y) where p != q { return lex(p.unicodeScalars.map(\.value), q.unicodeScalars.map(\.value)) }
            return cmp(x.count, y.count)
        case let (.valid(x), .valid(y)): return Self.compare(x, y)
        }
    }

    static func compare(_ x: Key, _ y: Key) -> Int {
        var c = Digits.compare(x.epoch, y.epoch)
        if c != 0 { return c }
        let rx = stripZeros(x.release), ry = stripZeros(y.release)
        for (p, q) in zip(rx, ry) { c = Digits.compare(p, q); if c != 0 { return c } }
        c = cmp(rx.count, ry.count)
        if c != 0 { return c }
        // A dev release with no pre or post sorts before the pre-releases of the same version.
        func preRank(_ k: Key) -> (Int, Substring) {
            if let p = k.pre { return (p.rank, p.n) }
            return k.post == nil && k.dev != nil ? (-1, "0") : (3, "0")
        }
        let px = preRank(x), py = preRank(y)
        c = px.0 != py.0 ? cmp(px.0, py.0) : Digits.compare(px.1, py.1)
        if c != 0 { return c }
        c = compareOptional(x.post, y.post, missingFirst: true)
        if c != 0 { return c }
        c = compareOptional(x.dev, y.dev, missingFirst: false)
        if c != 0 { return c }
        switch (x.local, y.local) {
        case (nil, nil): return 0
        case (nil, _): return -1
        case (_, nil): return 1
        case let (lx?, ly?):
            for (p, q) in zip(lx, ly) {
                let dp = Digits.isDigits(p), dq = Digits.isDigits(q)
                if dp && dq { c = Digits.compare(p, q) } else if dp != dq { c = dp ? 1 : -1 } else { c = lex(p.utf8, q.utf8) }
                if c != 0 { return c }
            }
            return cmp(lx.count, ly.count)
        }
    }

    private static func compareOptional(_ a: Substring?, _ b: Substring?, missingFirst: Bool) -> Int {
        switch (a, b) {
        case (nil, nil): return 0
        case (nil, _): return missingFirst ? -1 : 1
        case (_, nil): return missingFirst ? 1 : -1
        case let (p?, q?): return Digits.compare(p, q)
        }
    }

    private static func stripZeros(_ r: [Substring]) -> ArraySlice<Substring> {
        var r = r[...]
        while let l = r.last, l.utf8.allSatisfy({ $0 == 48 }) { r = r.dropLast() }
        return r
    }

    /// setuptools' legacy key: runs of digits zero-padded, words prefixed with `*`, and pre-release
    /// words sorting before `*final`.
    static func legacyKey(_ s: String) -> [String] {
        var parts: [String] = []
        var tokens: [String] = []
        var cur = ""
        var curDigit: Bool?
        func flush() { if !cur.isEmpty { tokens.append(cur) }; cur = ""; curDigit = nil }
        for ch in s {
            if ch == "." || ch == "-" { flush(); tokens.append(String(ch)); continue }
            let isDigit = ch.isASCII && ch.isNumber
            let isLetter = ch.isASCII && ch.isLetter
            if !isDigit && !isLetter { flush(); tokens.append(String(ch)); continue }
            if curDigit != nil && curDigit != isDigit { flush() }
            cur.append(ch); curDigit = isDigit
        }
        flush()
        let replace = ["pre": "c", "preview": "c", "-": "final-", "rc": "c", "dev": "@"]
        var mapped: [String] = []
        for t in tokens {
            let p = replace[t] ?? t
            if p.isEmpty || p == "." { continue }
            if let f = p.first, f.isASCII, f.isNumber { mapped.append(String(repeating: "0", count: max(0, 8 - p.count)) + p) } else { mapped.append("*" + p) }
        }
        mapped.append("*final")
        for part in mapped {
            if part.hasPrefix("*") {
                if part < "*final" { while parts.last == "*final-" { parts.removeLast() } }
                while parts.last == "00000000" { parts.removeLast() }
            }
            parts.append(part)
        }
        return parts
    }
}

/// A byte cursor with backtracking, for hand-written version grammars.
struct Cursor {
    let bytes: [UInt8]
    var i = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var atEnd: Bool { i >= bytes.count }
    var peek: UInt8? { i < bytes.count ? bytes[i] : nil }
    mutating func skip(_ n: Int) { i += n }
    /// Consumes `s` when the bytes at the cursor spell it; compared in place, no copies.
    mutating func eat(_ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard i + n <= bytes.count else { return false }
        let matches = s.withUTF8Buffer { u in (0..<n).allSatisfy { bytes[i + $0] == u[$0] } }
        if matches { i += n }
        return matches
    }
    mutating func digits() -> Substring? {
        let start = i
        while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1 }
        return i > start ? Substring(String(decoding: bytes[start..<i], as: UTF8.self)) : nil
    }
    /// An optional `-`, `_` or `.` separator.
    mutating func sep() { if let p = peek, p == 45 || p == 95 || p == 46 { i += 1 } }
    /// `[-_.]?N?`, with a separator only kept when digits follow it; absent means 0.
    mutating func number() -> Substring {
        if let d = lookahead({ c -> Substring? in c.sep(); return c.digits() }) { return d }
        return "0"
    }
    /// Runs `f` on a copy and keeps its progress only when it succeeds.
    mutating func lookahead<T>(_ f: (inout Cursor) -> T?) -> T? {
        var copy = self
        guard let r = f(&copy) else { return nil }
        self = copy
        return r
    }
}
