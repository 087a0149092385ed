import Foundation
import ProvenantCore

/// What a candidate value looks like: how random, and whether it is a placeholder.
public enum ValueShape {
    /// Shannon entropy in bits per byte.
    public static func entropy<C: Collection>(_ bytes: C) -> Double where C.Element == UInt8 {
        guard !bytes.isEmpty else { return 0 }
        var counts = [Int](repeating: 0, count: 256)
        for b in bytes { counts[Int(b)] += 1 }
        let n = Double(bytes.count)
        var h = 0.0
        for c in counts where c > 0 { let p = Double(c) / n; h -= p * log2(p) }
        return h
    }

    /// Words no real credential carries.
    private static let placeholderMarkers: [[UInt8]] = [
        "example", "changeme", "change_me", "change-me", "placeholder", "your_", "your-",
        "yourkey", "yourtoken", "yoursecret", "yourpassword", "redacted",
        "notreal", "not_real", "not-set", "notset",
    ].map { Array($0.utf8) }
    /// Template openers, each a placeholder only with its closer after it (`${VAR}`, `{{ .token }}`).
    private static let templates: [([UInt8], [UInt8])] = [("${", "}"), ("{{", "}}"), ("%(", ")"), ("#{", "}"), ("$(", ")")].map { (Array($0.0.utf8), Array($0.1.utf8)) }

    /// Marks that stand in for a value only when they are much of it. Anywhere, they threw real
    /// secrets away: about one PEM key body in 600 holds `xxxx` (case ignored), and a third of
    /// generated passwords hold a `<` or `>` (found by helper-166). Runs of four or more `x`, `*` or
    /// `.` making up a quarter of the value (`sk_live_xxxx`, `AKIAXXXXXXXXXXXXXXXX`), or a `<word>`
    /// making up half of it (`<your-key>`, `Bearer <token>`).
    static func mostlyFiller(_ v: [UInt8]) -> Bool {
        var filler = 0, i = 0
        while i < v.count {
            let b = v[i]
            var j = i + 1
            while j < v.count, v[j] == b { j += 1 }
            if j - i >= 4, b == UInt8(ascii: "x") || b == UInt8(ascii: "*") || b == UInt8(ascii: ".") { filler += j - i }
            i = j
        }
        if filler * 4 >= v.count, filler > 0 { return true }
        var k = 0
        while k < v.count {
            guard v[k] == UInt8(ascii: "<") else { k += 1; continue }
            var e = k + 1
            while e < v.count, isWordByte(v[e]) { e += 1 }
            if e < v.count, v[e] == UInt8(ascii: ">"), e > k + 1, (e - k + 1) * 2 >= v.count { return true }
            k = e
        }
        return false
    }

    static func isWordByte(_ b: UInt8) -> Bool {
        (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-") || b == UInt8(ascii: " ") || b == UInt8(ascii: ".")
    }

    static func holdsTemplate(_ v: [UInt8]) -> Bool {
        for (open, close) in templates {
            guard let at = ByteSearch.firstOffset(of: open, in: v) else { continue }
            if ByteSearch.firstOffset(of: close, in: v, from: at + open.count) != nil { return true }
        }
        return false
    }

    /// Words that make a free-form value (a generic assignment) a stand-in rather than a secret.
    private static let placeholderWords: [[UInt8]] = [
        "dummy", "sample", "insert", "replace", "todo", "fixme", "fake", "abcdefgh", "12345678", "00000000",
        "test123", "password", "qwerty", "secret", "mysecret", "letmein", "default", "required", "none", "null",
        "undefined", "empty", "hunter2",
    ].map { Array($0.utf8) }

    /// True for values that stand in for a secret: `xxxx`, `changeme`, `${VAR}`, `<your-key>`, documentation
    /// examples, one character repeated. `strict` (for free-form values) also refuses stand-in words and
    /// runs like `abcdef`/`123456` making up most of the value.
    public static func isPlaceholder<C: Collection>(_ value: C, strict: Bool = false) -> Bool where C.Element == UInt8 {
        let v = value.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        if v.isEmpty { return true }
        for w in placeholderMarkers where contains(v, w) { return true }
        // `_here` ends a stand-in (`paste_token_here`); anywhere, it threw away a GitHub token whose
        // random part began `HeRE` after `ghp_` (found by helper-193).
        if v.count >= 5, v.suffix(5).elementsEqual("_here".utf8) { return true }
        if mostlyFiller(v) || holdsTemplate(v) { return true }
        if strict { for w in placeholderWords where contains(v, w) { return true } }
        var counts = [Int](repeating: 0, count: 256)
        var run = 1, longest = 1
        for (i, b) in v.enumerated() {
            counts[Int(b)] += 1
            if i > 0 { run = v[i - 1] == b ? run + 1 : 1; longest = max(longest, run) }
        }
        // One byte making up most of the value; for free-form values also eight alike in a row
        // (real formats have long runs: Twitter bearer tokens, OpenSSH keys start with AAAA…).
        if (counts.max() ?? 0) * 2 > v.count { return true }
        guard strict, v.count >= 2 else { return false }
        if longest >= 8 { return true }
        // Ascending or descending sequences (abcdef, 123456) covering half the value.
        var seq = 1, longestSeq = 1
        for i in 1..<v.count {
            let d = Int(v[i]) - Int(v[i - 1])
            seq = (d == 1 || d == -1) ? seq + 1 : 1
            longestSeq = max(longestSeq, seq)
        }
        return longestSeq * 2 >= v.count && v.count >= 6
    }

    static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        hay.withUnsafeBufferPointer { h in
            guard let base = h.baseAddress else { return false }
            return SecretEngine.contains(base, 0, h.count, needle)
        }
    }

    /// Character classes present: lower, upper, digit, other.
    public static func classes<C: Collection>(_ value: C) -> Int where C.Element == UInt8 {
        var lower = false, upper = false, digit = false, other = false
        for b in value {
            switch b {
            case 97...122: lower = true
            case 65...90: upper = true
            case 48...57: digit = true
            default: other = true
            }
        }
        return [lower, upper, digit, other].filter { $0 }.count
    }
}
