import ProvenantCore
import Foundation
import Secrets

/// The views of a request the leak check reads besides its raw bytes, and masking of client text.
enum LeakView {
    /// The bytes as a server would decode them: `%XX`, and in JSON `\uXXXX` (ASCII) and `\/`. Nil when
    /// nothing in them is escaped, so the common request is scanned once.
    static func decoded(_ b: ArraySlice<UInt8>) -> [UInt8]? {
        b.withUnsafeBytes { decoded($0) }
    }

    /// `decoded` over raw bytes. Only `%` and `\` start an escape: bytes with neither are returned as nil
    /// at once, without building a copy to compare.
    static func decoded(_ b: UnsafeRawBufferPointer) -> [UInt8]? {
        guard b.count > 1, mayBeEscaped(b) else { return nil }
        let hex = Hex.nibble
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var changed = false
        var i = b.startIndex
        while i < b.endIndex {
            let c = b[i]
            if c == 37, i + 2 < b.endIndex, let h = hex(b[i + 1]), let l = hex(b[i + 2]) {
                out.append(h << 4 | l); i += 3; changed = true; continue
            }
            if c == 92, i + 1 < b.endIndex {
                if b[i + 1] == 47 { out.append(47); i += 2; changed = true; continue }
                if b[i + 1] == 117, i + 5 < b.endIndex, b[i + 2] == 48, b[i + 3] == 48, let h = hex(b[i + 4]), let l = hex(b[i + 5]), h < 8 {
                    out.append(h << 4 | l); i += 6; changed = true; continue
                }
                // JSON's one-character escapes: `"x\nghp_…"` holds a token after a line break, which a
                // pattern opening with \b did not see after the `n` (found by review).
                let single: UInt8? = switch b[i + 1] {
                case 110: 10    // \n
                case 116: 9     // \t
                case 114: 13    // \r
                case 98: 8      // \b
                case 102: 12    // \f
                case 34: 34     // \"
                case 92: 92     // \\
                default: nil
                }
                if let single { out.append(single); i += 2; changed = true; continue }
            }
            out.append(c); i += 1
        }
        return changed ? out : nil
    }

    /// The bytes with the breaks inside base64 text taken out, or nil when there are none: GNU
    /// `base64`, `openssl base64` and Python's `encodebytes` wrap at 64 or 76 columns, and a known
    /// value's encoded form split across lines passed the proxy (found by helper-81). A break is a run
    /// of spaces, tabs, line breaks, `>` (a quoted reply's prefix) and the `\n`, `\r` and `\t` escapes
    /// of a JSON string (at most 32 bytes, or 1 KiB with a line break in it) between base64 characters,
    /// after at least 16 of them when it holds no line break: lines joined with
    /// spaces (`tr '\n' ' '`), indented (a YAML block) or quoted (`> `) are joined back. With
    /// `plusIsSpace` (a form body's `+`), a `+` after a line break is indentation too. Only known values
    /// are looked for in this view: joined words could look like anything to a pattern, but not like a
    /// known value's exact form.
    static func unwrapped(_ b: UnsafeRawBufferPointer, plusIsSpace: Bool = false) -> [UInt8]? {
        guard b.count > 2 else { return nil }
        func isBase64(_ c: UInt8) -> Bool {
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 43 || c == 47 || c == 45 || c == 95
        }
        /// The length of the separator at `i` (a byte, or an escape's two), 0 for none.
        func separator(at i: Int, afterBreak: Bool) -> Int {
            switch b[i] {
            case 32, 9, 10, 13, 62: return 1
            case 43 where plusIsSpace && afterBreak: return 1
            case 92 where i + 1 < b.count && (b[i + 1] == 110 || b[i + 1] == 114 || b[i + 1] == 116): return 2
            default: return 0
            }
        }
        var out: [UInt8] = []
        var changed = false
        var i = 0
        // The base64 characters just before `i`, joined runs included: only a run as long as a wrapped
        // line's start (16) is joined to what follows, so prose split at a space ("Super Secret") is
        // not read as one word (found by review).
        var run = 0
        while i < b.count {
            let c = b[i]
            if run > 0, separator(at: i, afterBreak: false) > 0 {
                // A run with a line break may be indented as deep as it likes (up to 1 KiB); one without
                // is a short gap (up to 32 bytes).
                var skip = 0, afterBreak = false
                while i + skip < b.count, skip <= (afterBreak ? 1024 : 32) {
                    let n = separator(at: i + skip, afterBreak: afterBreak)
                    if n == 0 { break }
                    if b[i + skip] == 10 || b[i + skip] == 13 || (n == 2 && b[i + skip + 1] != 116) { afterBreak = true }
                    skip += n
                }
                // Across a line break, lines of any width (base64 -w 12) are joined; across spaces only,
                // a segment as long as a wrapped line's (16) before it: prose split at a space is not
                // one word, and after a join the next segment must be as long again (found by review).
                if skip <= (afterBreak ? 1024 : 32), i + skip < b.count, isBase64(b[i + skip]), afterBreak || run >= 16 {
                    if !changed { out.reserveCapacity(b.count); changed = true }
                    i += skip
                    run = 0
                    continue
                }
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[i..<min(b.count, i + skip)]))
                i += skip
                run = 0
                continue
            }
            out.append(c)
            run = isBase64(c) ? run + 1 : 0
            i += 1
        }
        return changed ? out : nil
    }

    /// Whether `b` holds a `%` or a `\` (memchr, not a byte loop).
    static func mayBeEscaped(_ b: UnsafeRawBufferPointer) -> Bool {
        guard let base = b.baseAddress, b.count > 0 else { return false }
        return memchr(base, 37, b.count) != nil || memchr(base, 92, b.count) != nil
    }

    /// `text` with whatever the engine finds in it replaced by `[REDACTED:<rule>]`.
    static func masked(_ text: String, _ engine: SecretEngine) -> String {
        let bytes = Array(text.utf8)
        let hits = bytes.withUnsafeBytes { engine.scan($0) }
        guard !hits.isEmpty else { return text }
        // Each hit's whole redacted span, the values of overlapping matches it won over included.
        return String(decoding: Redactor.masking(bytes, hits.map { ($0.redacted, "[REDACTED:\($0.ruleID)]") }), as: UTF8.self)
    }
}
