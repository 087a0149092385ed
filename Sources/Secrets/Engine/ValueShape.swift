import Foundation

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

    /// Markers no real credential carries.
    private static let placeholderMarkers: [[UInt8]] = [
        "example", "xxxx", "****", "....", "changeme", "change_me", "change-me", "placeholder", "your_", "your-",
        "yourkey", "yourtoken", "yoursecret", "yourpassword", "redacted", "<", ">", "${", "{{", "%(", "#{", "$(",
        "_here", "notreal", "not_real", "not-set", "notset",
    ].map { Array($0.utf8) }
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
