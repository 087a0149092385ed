/// Text with the breaks inside base64 taken out, and where each byte of it stood in the text. GNU
/// `base64`, `openssl base64` and Python's `encodebytes` wrap at 64 or 76 columns, so a known value's
/// encoded form split across lines passed the proxy (found by helper-81), and `secrets redact` and
/// `scan` (helper-183 #5). The engine looks for known values, and only those, in this view: joined
/// words could look like anything to a pattern, but not like a known value's exact form.
///
/// A break is a run of spaces, tabs, line breaks, `>` (a quoted reply's prefix) and the `\n`, `\r`
/// and `\t` escapes of a JSON string between base64 characters: at most 32 bytes without a line break,
/// after at least 16 base64 characters (lines joined with spaces, `tr '\n' ' '`), or up to 1 KiB with
/// one (an indented YAML block, a quoted reply). With `plusIsSpace` (a form body's `+`), a `+` after a
/// line break is indentation too.
public struct WrappedBase64 {
    private var mapped = MappedBytes()
    public var bytes: [UInt8] { mapped.bytes }
    /// For each byte of `bytes`, its offset in the text.
    public var source: [Int32] { mapped.source }

    /// The text joined, or nil when no break was taken out (or it is too long to map).
    public init?(_ b: UnsafeRawBufferPointer, plusIsSpace: Bool = false) {
        guard b.count > 2, b.count < Int(Int32.max) else { return nil }
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
        var changed = false
        // Bytes copied up to `copied` once the first break is taken out; until then none are.
        var copied = 0
        func copy(to end: Int) {
            guard changed, end > copied else { return }
            mapped.append(b, copied..<end)
            copied = end
        }
        var i = 0
        // The base64 characters just before `i`, joined runs included: only a run as long as a wrapped
        // line's start (16) is joined across spaces alone, so prose split at a space ("Super Secret")
        // is not read as one word (found by review).
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
                // a segment as long as a wrapped line's (16) before it, and after a join the next
                // segment must be as long again (found by review).
                if skip <= (afterBreak ? 1024 : 32), i + skip < b.count, isBase64(b[i + skip]), afterBreak || run >= 16 {
                    if !changed {
                        changed = true
                        mapped.reserve(b.count)
                    }
                    copy(to: i)
                    i += skip
                    copied = i
                    run = 0
                    continue
                }
                i += skip
                run = 0
                continue
            }
            run = isBase64(c) ? run + 1 : 0
            i += 1
        }
        guard changed else { return nil }
        copy(to: b.count)
    }

    /// `r`, a range of `bytes`, as the range of the text it was read from: from its first byte's place
    /// to just past its last's, the breaks between them included.
    func original(_ r: Range<Int>) -> Range<Int> { mapped.original(r) }
}
