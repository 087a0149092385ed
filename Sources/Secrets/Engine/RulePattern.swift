import Foundation
import ProvenantCore

/// A rule's regular expression, compiled on first use (most rules never see a candidate in a given
/// run, and compiling all of them cost a fifth of a scan), and what its start says about where a
/// match can begin.
final class RulePattern: @unchecked Sendable {
    let source: String
    /// Keywords (lowercased) that matches start with: when set, every match begins at a hit of one of
    /// them (or one byte before), so each hit is tried there only (an anchored match), not across a window.
    let anchoredKeywords: Set<String>
    /// The pattern opens with a boundary group (`(?:^|[...])`, `(?:\b|_)`) that may take the byte before
    /// the keyword, so an anchored match is also tried one byte earlier.
    let startsOneBefore: Bool
    private let lock = NSLock()
    private var compiled: NSRegularExpression??

    /// For a rule with one leading literal: the literal (lowercased), whether case is ignored, and the
    /// byte class (with its minimum count, at most 16) that must follow it. A hit that fails this is
    /// rejected without running the expression: `pat` in `path` never reaches ICU.
    let guardLiteral: [UInt8]
    /// The literal as written, for a pattern that never ignores case: `A{22}`'s literal is not `a…`.
    let guardExact: [UInt8]?
    let guardClass: [Bool]
    let guardCount: Int
    let caseInsensitive: Bool
    /// The pattern opens with `\b` before a word character: no match starts right after another word
    /// character, so a hit inside a run (`AAAA…` of a keyword of A's) is not an attempt.
    let startsAtWordBoundary: Bool

    /// No `*`, `+` or `{n,}` outside a class: every attempt ends within a bounded reach, so a pass over a
    /// long span costs about what attempts one by one do (`SecretEngine.crowdedAttempts`).
    let bounded: Bool

    init(_ source: String, keywords: [String]) {
        self.source = source
        bounded = Self.isBounded(source)
        caseInsensitive = source.hasPrefix("(?i)")
        let (literals, oneBefore) = Self.leadingLiterals(source)
        if literals.count == 1, let (cls, count) = Self.classAfterLiteral(source, literal: literals[0]) {
            guardLiteral = Array(literals[0].lowercased().utf8)
            guardExact = source.contains("(?i") ? nil : Array(literals[0].utf8)
            var table = cls
            if caseInsensitive { for c in 65...90 where table[c] || table[c + 32] { table[c] = true; table[c + 32] = true } }
            guardClass = table
            guardCount = min(count, 16)
        } else {
            guardLiteral = []; guardExact = nil; guardClass = []; guardCount = 0
        }
        // `\b` then (after any opening groups) a word character: the byte before a match is no word byte.
        let lead = source.hasPrefix("(?i)") ? Array(source.utf8.dropFirst(4)) : Array(source.utf8)
        if lead.count > 2, lead[0] == 92, lead[1] == UInt8(ascii: "b"), let first = literals.first?.utf8.first, literals.count == 1 {
            var i = 2
            while i < lead.count, lead[i] == UInt8(ascii: "(") { i += lead[i...].starts(with: Array("(?:".utf8)) ? 3 : 1 }
            startsAtWordBoundary = i < lead.count && lead[i] == first && Self.isWordByte(first) && !oneBefore
        } else {
            startsAtWordBoundary = false
        }
        startsOneBefore = oneBefore
        let lowered = literals.map { $0.lowercased() }
        // Anchoring is sound only when every leading literal starts with a keyword: then each match
        // begins at (or one byte before) a keyword hit, which the prefilter reports.
        if !lowered.isEmpty, lowered.allSatisfy({ l in keywords.contains { l.hasPrefix($0) } }) {
            anchoredKeywords = Set(keywords.filter { k in lowered.contains { $0.hasPrefix(k) } })
        } else {
            anchoredKeywords = []
        }
    }

    /// Whether `source` has no unbounded repetition: `*`, `+` (a possessive `++` included) or `{n,}`
    /// outside a character class and not escaped. `\Q…\E` quoting, which this does not follow, counts
    /// as unbounded.
    static func isBounded(_ source: String) -> Bool {
        let b = Array(source.utf8)
        var i = 0, depth = 0
        while i < b.count {
            let c = b[i]
            if c == 92 {  // backslash: the next byte is escaped
                if i + 1 < b.count, b[i + 1] == UInt8(ascii: "Q") { return false }
                i += 2; continue
            }
            if c == 91 { depth += 1 }                     // [
            else if c == 93, depth > 0 { depth -= 1 }     // ]
            else if depth == 0 {
                if c == 42 || c == 43 { return false }    // * +
                if c == 123 {                             // {n,} and {,}
                    var j = i + 1
                    while j < b.count, b[j] >= 48 && b[j] <= 57 { j += 1 }
                    if j < b.count, b[j] == 44, j + 1 < b.count, b[j + 1] == 125 { return false }
                }
            }
            i += 1
        }
        return depth == 0
    }

    /// False when the bytes at `at` cannot start a match: the literal, then `guardCount` bytes of the class.
    @inline(__always)
    func mayMatch(_ b: UnsafePointer<UInt8>, _ n: Int, at: Int) -> Bool {
        if startsAtWordBoundary, at > 0, Self.isWordByte(b[at - 1]), !Self.endsEscape(b, at) { return false }
        guard guardCount > 0 else { return true }
        let end = at + guardLiteral.count + guardCount
        guard end <= n else { return false }
        if let exact = guardExact {
            for (k, l) in exact.enumerated() where b[at + k] != l { return false }
        } else {
            for (k, l) in guardLiteral.enumerated() {
                let c = b[at + k]
                let folded = c >= 65 && c <= 90 ? c + 32 : c
                if caseInsensitive ? folded != l : (c != l && folded != l) { return false }
            }
        }
        var i = at + guardLiteral.count
        while i < end { if !guardClass[Int(b[i])] { return false }; i += 1 }
        return true
    }

    /// Whether the bytes before `at` end an escape whose decoded character is no word character: `%3D`
    /// and `=3D` (URL and quoted-printable encoding), `\n`, `\t` and the like, `\xNN` and `\uNNNN`. A
    /// token right after one (`?t=%3Dghp_…`, `"cloning\nghp_…"`) starts at a boundary once decoded,
    /// and was missed because its `\b` saw the escape's last letter (found by helper-132).
    static func endsEscape(_ b: UnsafePointer<UInt8>, _ at: Int) -> Bool {
        // A terminal colour code (`ESC[1m`, or `\u001b[1m` as Docker's JSON logs write it) is no
        // character at all: a token right after one was missed by every rule (helper-183).
        if endsColour(b, at) { return true }
        // The character the `count` hex digits before `at` spell; nil when one is no hex digit.
        func decoded(_ count: Int) -> UInt32? {
            var v: UInt32 = 0
            for k in stride(from: count, to: 0, by: -1) {
                guard let d = Hex.nibble(b[at - k]) else { return nil }
                v = v << 4 | UInt32(d)
            }
            return v
        }
        func noWord(_ v: UInt32) -> Bool { v < 0x80 && !isWordByte(UInt8(v)) }
        if at >= 3, b[at - 3] == 37 || b[at - 3] == 61, let v = decoded(2) { return noWord(v) }        // %XX, =XX
        if at >= 6, b[at - 6] == 92, b[at - 5] == UInt8(ascii: "u"), let v = decoded(4) { return noWord(v) }
        if at >= 4, b[at - 4] == 92, b[at - 3] == UInt8(ascii: "x"), let v = decoded(2) { return noWord(v) }
        guard at >= 2, b[at - 2] == 92 else { return false }
        switch b[at - 1] {
        case UInt8(ascii: "n"), UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "f"), UInt8(ascii: "v"), UInt8(ascii: "b"), UInt8(ascii: "0"): return true
        default: return false
        }
    }

    /// Whether the bytes before `at` end a terminal control sequence (`CSI params final`): its
    /// introducer ESC written as the byte or as `\e`, `\x1b`, `\033` or `\u001b` (in either case), then
    /// `[`, at most 64 digits or `;` (a 24-bit colour takes 18), and a final byte `@` to `~`.
    static let maxColourParameters = 64

    static func endsColour(_ b: UnsafePointer<UInt8>, _ at: Int) -> Bool {
        guard at >= 3, (64...126).contains(b[at - 1]) else { return false }
        var k = at - 2
        while k >= 0, at - 2 - k < maxColourParameters, (48...57).contains(b[k]) || b[k] == 59 { k -= 1 }
        guard k >= 1, b[k] == 91 else { return false }
        // The introducer is one of `colourEnd`'s spellings, 1, 2, 4 or 6 bytes before the bracket.
        return [1, 2, 4, 6].contains { k >= $0 && colourEnd(b, at, at: k - $0) == at }
    }

    /// Where the terminal control sequence starting at `at` ends (see `endsColour`), or nil.
    static func colourEnd(_ b: UnsafePointer<UInt8>, _ n: Int, at: Int) -> Int? {
        var k = at
        if k < n, b[k] == 27 { k += 1 }
        else if k + 1 < n, b[k] == 92, b[k + 1] | 32 == 101 { k += 2 }                       // \e
        else if k + 3 < n, b[k] == 92, b[k + 1] | 32 == 120, b[k + 2] == 49, b[k + 3] | 32 == 98 { k += 4 }   // \x1b
        else if k + 3 < n, b[k] == 92, b[k + 1] == 48, b[k + 2] == 51, b[k + 3] == 51 { k += 4 }      // \033
        else if k + 5 < n, b[k] == 92, b[k + 1] | 32 == 117, b[k + 2] == 48, b[k + 3] == 48, b[k + 4] == 49, b[k + 5] | 32 == 98 { k += 6 } // \u001b
        else { return nil }
        guard k < n, b[k] == 91 else { return nil }
        k += 1
        let params = k
        while k < n, k - params < maxColourParameters, (48...57).contains(b[k]) || b[k] == 59 { k += 1 }
        guard k < n, (64...126).contains(b[k]) else { return nil }
        return k + 1
    }

    @inline(__always)
    static func isWordByte(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 }

    /// The byte class right after `literal` in `p` and its minimum count: `pat[A-Za-z0-9]{14}` gives
    /// (A-Za-z0-9, 14). Nil when what follows is anything else.
    static func classAfterLiteral(_ p: String, literal: String) -> ([Bool], Int)? {
        let c = Array(p)
        // Find where the literal ends in the pattern text (escapes written as \. count one character).
        var i = 0, matched = 0
        let lit = Array(literal)
        while i < c.count && matched < lit.count {
            if c[i] == "\\", i + 1 < c.count, c[i + 1] == lit[matched] { i += 2; matched += 1; continue }
            if c[i] == lit[matched] { i += 1; matched += 1; continue }
            // Skip the prefix tokens leadingLiterals skipped.
            if matched == 0 {
                if c[i...].starts(with: "(?i)") { i += 4; continue }
                if c[i...].starts(with: "(?:\\b|_)") { i += 8; continue }
                if c[i...].starts(with: "(?:^|["), let close = groupEnd(c, i) { i = close + 1; continue }
                if c[i...].starts(with: "\\b") { i += 2; continue }
                if c[i...].starts(with: "(?:") { i += 3; continue }
                if c[i] == "(" { i += 1; continue }
            }
            return nil
        }
        guard matched == lit.count, i < c.count else { return nil }
        var table = [Bool](repeating: false, count: 256)
        func word() { for b in 0..<256 where (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95 { table[b] = true } }
        if c[i] == "\\", i + 1 < c.count, c[i + 1] == "w" { word(); i += 2 }
        else if c[i] == "\\", i + 1 < c.count, c[i + 1] == "d" { for b in 48...57 { table[b] = true }; i += 2 }
        else if c[i] == "[" {
            i += 1
            if i < c.count, c[i] == "^" { return nil }
            var prev: UInt8?
            while i < c.count && c[i] != "]" {
                var ch: Character = c[i]
                if ch == "\\" {
                    guard i + 1 < c.count else { return nil }
                    let e = c[i + 1]
                    if e == "w" { word(); i += 2; prev = nil; continue }
                    if e == "d" { for b in 48...57 { table[b] = true }; i += 2; prev = nil; continue }
                    guard !e.isLetter else { return nil }
                    ch = e; i += 1
                } else if ch == "-", let lo = prev, i + 1 < c.count, c[i + 1] != "]" {
                    guard let hi = c[i + 1].asciiValue, hi >= lo else { return nil }
                    for b in lo...hi { table[Int(b)] = true }
                    i += 2; prev = nil; continue
                }
                guard let v = ch.asciiValue else { return nil }
                table[Int(v)] = true; prev = v; i += 1
            }
            guard i < c.count else { return nil }
            i += 1
        } else { return nil }
        // The quantifier: {m}, {m,n}, + (one or more).
        guard i < c.count else { return nil }
        if c[i] == "+" { return (table, 1) }
        guard c[i] == "{" else { return nil }
        var m = 0
        i += 1
        while i < c.count, let d = c[i].wholeNumberValue { m = m * 10 + d; i += 1 }
        guard i < c.count, c[i] == "}" || c[i] == "," else { return nil }
        return m > 0 ? (table, m) : nil
    }

    /// The compiled expression, or nil when the pattern does not compile (the rule tests catch that).
    var regex: NSRegularExpression? {
        lock.lock()
        defer { lock.unlock() }
        if let c = compiled { return c }
        let r = try? NSRegularExpression(pattern: source)
        compiled = .some(r)
        return r
    }

    /// The literals one of which every match of `p` starts with, after `(?i)`, `\b`, a leading
    /// boundary group (`(?:\b|_)`, `(?:^|[...])`, which may take the one byte before), and groups whose
    /// alternatives are plain literals; empty when a match may start otherwise (a top-level `|`, a class,
    /// a quantified first character, an alternative without a literal start).
    static func leadingLiterals(_ p: String) -> ([String], oneBefore: Bool) {
        let c = Array(p)
        if hasTopLevelAlternation(c) { return ([], false) }
        var i = 0
        var oneBefore = false
        while i < c.count {
            if c[i...].starts(with: "(?i)") { i += 4; continue }
            if c[i...].starts(with: "\\b") { i += 2; continue }
            if !oneBefore, c[i...].starts(with: "(?:\\b|_)") { oneBefore = true; i += 8; continue }
            if !oneBefore, c[i...].starts(with: "(?:^|["), let close = groupEnd(c, i), !c[(i + 6)..<close].contains("|"),
               c[close - 1] == "]" {
                oneBefore = true; i = close + 1; continue
            }
            if c[i] == "(" {
                guard let close = groupEnd(c, i) else { return ([], false) }
                var inner = i + 1
                if c[i...].starts(with: "(?:") { inner = i + 3 } else if i + 1 < c.count, c[i + 1] == "?" { return ([], false) }
                let body = Array(c[inner..<close])
                if hasTopLevelAlternation(body) {
                    // Alternatives of literals: each must start with one.
                    let alternatives = splitTopLevel(body).map { literal(Array($0), from: 0) }
                    guard !alternatives.contains(where: \.isEmpty) else { return ([], false) }
                    return (alternatives, oneBefore)
                }
                i = inner; continue
            }
            break
        }
        let lit = literal(c, from: i)
        return (lit.isEmpty ? [] : [lit], oneBefore)
    }

    /// The literal text at `from`; a quantifier after it makes its last character optional, so that
    /// character is left out.
    static func literal(_ c: [Character], from start: Int) -> String {
        var i = start
        var literal: [Character] = []
        while i < c.count {
            let ch = c[i]
            if ch.isLetter || ch.isNumber || ch == "_" || ch == "-" || ch == "=" || ch == ":" || ch == "/" {
                literal.append(ch); i += 1
            } else if ch == "\\", i + 1 < c.count, ".-_/:".contains(c[i + 1]) {
                literal.append(c[i + 1]); i += 2
            } else { break }
        }
        if i < c.count, "?*{".contains(c[i]), !literal.isEmpty { literal.removeLast() }
        return String(literal)
    }

    /// Walks pattern text outside escapes and character classes, calling `visit(index, character,
    /// depth)` for each `(`, `)` and `|` with the group depth after an opening or before a closing
    /// parenthesis; `visit` returns false to stop.
    static func structure(_ c: ArraySlice<Character>, _ visit: (Int, Character, Int) -> Bool) {
        var depth = 0, i = c.startIndex, inClass = false
        while i < c.endIndex {
            let ch = c[i]
            if ch == "\\" { i += 2; continue }
            if inClass { if ch == "]" { inClass = false } }
            else if ch == "[" { inClass = true }
            else if ch == "(" { depth += 1; if !visit(i, ch, depth) { return } }
            else if ch == ")" { if !visit(i, ch, depth) { return }; depth -= 1 }
            else if ch == "|" { if !visit(i, ch, depth) { return } }
            i += 1
        }
    }

    /// The index of the `)` closing the group opened at `open`.
    static func groupEnd(_ c: [Character], _ open: Int) -> Int? {
        var end: Int?
        structure(c[open...]) { i, ch, depth in
            if ch == ")" && depth == 1 { end = i; return false }
            return true
        }
        return end
    }

    static func hasTopLevelAlternation<C: Collection>(_ c: C) -> Bool where C.Element == Character {
        var found = false
        structure(ArraySlice(c)) { _, ch, depth in
            if ch == "|" && depth == 0 { found = true; return false }
            return true
        }
        return found
    }

    static func splitTopLevel(_ c: [Character]) -> [ArraySlice<Character>] {
        var parts: [ArraySlice<Character>] = []
        var start = 0
        structure(c[...]) { i, ch, depth in
            if ch == "|" && depth == 0 { parts.append(c[start..<i]); start = i + 1 }
            return true
        }
        parts.append(c[start..<c.count])
        return parts
    }


}
