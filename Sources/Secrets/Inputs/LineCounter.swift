#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns byte offsets into 1-based line and column numbers while a stream is read once, in order.
///
/// A line feed is a byte 10. In a stream that starts with a UTF-16 byte order mark, a byte 10 that
/// is the low byte of a code unit with a high byte (`上` is `0A 4E` little-endian) is half of a
/// character when the text around it has a zero byte, as UTF-16 has and UTF-8 never does; each of
/// those had added a line to every finding after it. Guessing UTF-16 without a mark, from stretches
/// read either way, lost lines in UTF-8 after a stray zero and in UTF-8 after a UTF-16 start
/// (found by helper-192), so only the mark is believed. A byte order mark is no column.
struct LineCounter {
    private(set) var line = 1
    /// Absolute offset of the first byte of the current line.
    private(set) var lineStart = 0
    /// Absolute offset counted up to.
    private(set) var counted = 0
    /// For a stream that starts with a UTF-16 byte order mark: whether it is little-endian.
    private var utf16Little: Bool?

    /// Counts line feeds in `buffer` (at absolute `base`) up to absolute `offset`.
    mutating func advance(_ buffer: UnsafeRawBufferPointer, base: Int, to offset: Int) {
        guard offset > counted else { return }
        var i = counted - base
        let end = offset - base
        precondition(i >= 0 && end <= buffer.count)
        if counted == 0, base == 0 {
            lineStart = Self.byteOrderMark(buffer)
            utf16Little = lineStart == 2 ? buffer[0] == 0xFF : nil
        }
        guard let start = buffer.baseAddress else { counted = offset; return }
        while i < end, let p = memchr(start + i, 10, end - i) {
            let at = start.distance(to: UnsafeRawPointer(p))
            if let next = lineStart(after: at, in: buffer, base: base) { line += 1; lineStart = base + next }
            i = at + 1
        }
        counted = offset
    }

    func position(of offset: Int) -> (line: Int, column: Int) { (line, offset - lineStart + 1) }

    /// The line and column of `offset`, also when it lies before what has been counted: a match a
    /// round takes from the last round's part (`ChunkedScan`) starts there, and was given the line
    /// the count had reached (found by review). `buffer` holds `base` up to the count.
    func position(of offset: Int, in buffer: UnsafeRawBufferPointer, base: Int) -> (line: Int, column: Int) {
        guard offset < counted, offset >= base, counted - base <= buffer.count else { return position(of: offset) }
        let target = offset - base
        var newlines = 0
        for j in target..<(counted - base) where buffer[j] == 10 && lineStart(after: j, in: buffer, base: base) != nil { newlines += 1 }
        guard newlines > 0 else { return position(of: offset) }
        // The start of the line `target` is on: after the last line feed before it.
        var start = base == 0 ? Self.byteOrderMark(buffer) : 0
        var j = target - 1
        while j >= 0 {
            if buffer[j] == 10, let next = lineStart(after: j, in: buffer, base: base), next <= target { start = next; break }
            j -= 1
        }
        return (line - newlines, offset - (base + start) + 1)
    }

    /// Where the line after the byte 10 at `i` of `buffer` (at absolute `base`) starts, or nil when
    /// that byte is half of a UTF-16 character: the low byte of a unit whose high byte is not zero, in
    /// the byte order mark's order and alignment, with a zero byte within 16 bytes of it.
    func lineStart(after i: Int, in buffer: UnsafeRawBufferPointer, base: Int) -> Int? {
        guard let little = utf16Little, (base + i) & 1 == (little ? 0 : 1) else { return i + 1 }
        let high = little ? i + 1 : i - 1
        guard high >= 0, high < buffer.count else { return i + 1 }
        if buffer[high] == 0 { return little ? i + 2 : i + 1 }
        let near = max(0, i - 16)..<min(buffer.count, i + 17)
        return near.contains { buffer[$0] == 0 } ? nil : i + 1
    }

    /// The length of a byte order mark at the start of the stream (UTF-8's, or UTF-16's either way).
    static func byteOrderMark(_ b: UnsafeRawBufferPointer) -> Int {
        if b.count >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { return 3 }
        if b.count >= 2, (b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF) { return 2 }
        return 0
    }
}
