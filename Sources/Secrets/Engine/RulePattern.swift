import Foundation

/// A rule's regular expression, compiled on first use (most rules never see a candidate in a given
/// run, and compiling all of them cost a fifth of a scan), and what its start says about where a
/// match can begin.
final class RulePattern: @unchecked Sendable {
    let source: String
    /// Keywords (lowercased) that every match starts with: a hit of one of them is tried only at the
    /// hit itself (an anchored match), not across a window.
    let anchoredKeywords: Set<String>
    /// The pattern opens with a one-character boundary group `(?:^|[...])`, so an anchored match starts
    /// one byte before the keyword.
    let startsOneBefore: Bool
    private let lock = NSLock()
    private var compiled: NSRegularExpression??

    init(_ source: String, keywords: [String]) {
        self.source = source
        let (literal, oneBefore) = Self.leadingLiteral(source)
        startsOneBefore = oneBefore
        let lowered = literal.lowercased()
        anchoredKeywords = lowered.isEmpty ? [] : Set(keywords.filter { lowered.hasPrefix($0) })
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

    /// The literal every match of `p` starts with, after `(?i)`, `\b` and groups without alternation;
    /// empty when a match may start otherwise (a top-level `|`, a class, a quantified first character).
    static func leadingLiteral(_ p: String) -> (String, oneBefore: Bool) {
        let c = Array(p)
        if hasTopLevelAlternation(c) { return ("", false) }
        var i = 0
        var oneBefore = false
        while i < c.count {
            if c[i...].starts(with: "(?i)") { i += 4; continue }
            if c[i...].starts(with: "\\b") { i += 2; continue }
            if !oneBefore, c[i...].starts(with: "(?:^|["), let close = groupEnd(c, i), !c[(i + 6)..<close].contains("|"),
               c[close - 1] == "]" {
                oneBefore = true; i = close + 1; continue
            }
            if c[i] == "(" {
                guard let close = groupEnd(c, i), !c[i..<close].contains("|") else { return ("", false) }
                if c[i...].starts(with: "(?:") { i += 3; continue }
                if i + 1 < c.count, c[i + 1] == "?" { return ("", false) }
                i += 1; continue
            }
            break
        }
        var literal: [Character] = []
        while i < c.count {
            let ch = c[i]
            if ch.isLetter || ch.isNumber || ch == "_" || ch == "-" || ch == "=" || ch == ":" || ch == "/" {
                literal.append(ch); i += 1
            } else if ch == "\\", i + 1 < c.count, ".-_/:".contains(c[i + 1]) {
                literal.append(c[i + 1]); i += 2
            } else { break }
        }
        // A quantifier after the literal applies to its last character, which may then be absent.
        if i < c.count, "?*{".contains(c[i]), !literal.isEmpty { literal.removeLast() }
        return (String(literal), oneBefore)
    }

    static func groupEnd(_ c: [Character], _ open: Int) -> Int? {
        var depth = 0, i = open, inClass = false
        while i < c.count {
            let ch = c[i]
            if ch == "\\" { i += 2; continue }
            if inClass { if ch == "]" { inClass = false } }
            else if ch == "[" { inClass = true }
            else if ch == "(" { depth += 1 }
            else if ch == ")" { depth -= 1; if depth == 0 { return i } }
            i += 1
        }
        return nil
    }

    static func hasTopLevelAlternation(_ c: [Character]) -> Bool {
        var depth = 0, i = 0, inClass = false
        while i < c.count {
            let ch = c[i]
            if ch == "\\" { i += 2; continue }
            if inClass { if ch == "]" { inClass = false } }
            else if ch == "[" { inClass = true }
            else if ch == "(" { depth += 1 }
            else if ch == ")" { depth -= 1 }
            else if ch == "|" && depth == 0 { return true }
            i += 1
        }
        return false
    }
}
