/// Turns byte offsets into 1-based line and column numbers while a stream is read once, in order.
///
/// A line feed is a byte 10, except in a UTF-16 stretch (`UTF16Runs.Stretch`), where it is a code
/// unit 10: there a byte 10 is as often half of another character (`上` is `0A 4E` little-endian, `ਪ`
/// `0A 2A` big-endian), and each of those added a line to every finding after it. A byte order mark
/// at the start is not a column.
struct LineCounter {
    private(set) var line = 1
    /// Absolute offset of the first byte of the current line.
    private(set) var lineStart = 0
    /// Absolute offset counted up to.
    private(set) var counted = 0
    /// How the stream's start says its UTF-16 is read (`LineBreaks.preferred`).
    private var preferred: (little: Bool, parity: Int)?

    /// Counts line feeds in `buffer` (at absolute `base`) up to absolute `offset`. `utf16` is where
    /// the buffer's UTF-16 stretches stand (`ChunkedScan.run` gives them).
    mutating func advance(_ buffer: UnsafeRawBufferPointer, base: Int, to offset: Int, utf16: [UTF16Runs.Stretch] = []) {
        guard offset > counted else { return }
        var i = counted - base
        let end = offset - base
        precondition(i >= 0 && end <= buffer.count)
        if counted == 0, base == 0 {
            lineStart = Self.byteOrderMark(buffer)
            preferred = LineBreaks.preferred(buffer)
        }
        let breaks = LineBreaks(buffer, base: base, utf16, preferred: preferred)
        var k = 0
        while i < end {
            if buffer[i] == 10, let next = breaks.lineStart(after: i, from: &k) { line += 1; lineStart = base + next }
            i += 1
        }
        counted = offset
    }

    func position(of offset: Int) -> (line: Int, column: Int) { (line, offset - lineStart + 1) }

    /// The line and column of `offset`, also when it lies before what has been counted: a match a
    /// round takes from the last round's part (`ChunkedScan`) starts there, and was given the line
    /// the count had reached (found by review). `buffer` holds `base` up to the count.
    func position(of offset: Int, in buffer: UnsafeRawBufferPointer, base: Int, utf16: [UTF16Runs.Stretch] = []) -> (line: Int, column: Int) {
        guard offset < counted, offset >= base, counted - base <= buffer.count else { return position(of: offset) }
        let target = offset - base
        let breaks = LineBreaks(buffer, base: base, utf16, preferred: preferred)
        var newlines = 0, k = 0
        for j in target..<(counted - base) where buffer[j] == 10 && breaks.lineStart(after: j, from: &k) != nil { newlines += 1 }
        guard newlines > 0 else { return position(of: offset) }
        // The start of the line `target` is on: after the last line feed before it.
        var start = base == 0 ? Self.byteOrderMark(buffer) : 0
        var j = target - 1
        while j >= 0 {
            var from = 0
            if buffer[j] == 10, let next = breaks.lineStart(after: j, from: &from), next <= target { start = next; break }
            j -= 1
        }
        return (line - newlines, offset - (base + start) + 1)
    }

    /// The length of a byte order mark at the start of the stream (UTF-8's, or UTF-16's either way).
    static func byteOrderMark(_ b: UnsafeRawBufferPointer) -> Int {
        if b.count >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { return 3 }
        if b.count >= 2, (b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF) { return 2 }
        return 0
    }

    /// Which bytes 10 of a buffer end a line, given its UTF-16 stretches.
    struct LineBreaks {
        let buffer: UnsafeRawBufferPointer
        let base: Int
        /// By where they start.
        let stretches: [UTF16Runs.Stretch]
        let preferred: (little: Bool, parity: Int)?

        init(_ buffer: UnsafeRawBufferPointer, base: Int, _ utf16: [UTF16Runs.Stretch], preferred: (little: Bool, parity: Int)?) {
            self.buffer = buffer
            self.base = base
            self.preferred = preferred
            stretches = utf16.enumerated().sorted { ($0.element.bytes.lowerBound, $0.offset) < ($1.element.bytes.lowerBound, $1.offset) }.map(\.element)
        }

        /// The reading a stream's start gives its UTF-16, by absolute parity: a byte order mark's, or,
        /// when its first 64 bytes hold zeros at one parity only (4 or more), the order those zeros are high bytes
        /// in. ASCII in UTF-16 reads the same both ways a byte apart, so the same bytes are often read
        /// in both (`UTF16Runs.find`), and only the stream's own order tells which halves of other
        /// characters are line feeds.
        static func preferred(_ b: UnsafeRawBufferPointer) -> (little: Bool, parity: Int)? {
            if b.count >= 2, b[0] == 0xFF, b[1] == 0xFE { return (true, 0) }
            if b.count >= 2, b[0] == 0xFE, b[1] == 0xFF { return (false, 0) }
            var even = 0, odd = 0
            for i in 0..<min(b.count & ~1, 64) where b[i] == 0 { if i & 1 == 0 { even += 1 } else { odd += 1 } }
            // Four at least: a UTF-8 file with a stray zero or two is no UTF-16.
            if odd >= 4, even == 0 { return (true, 0) }
            if even >= 4, odd == 0 { return (false, 0) }
            return nil
        }

        /// Where the line after a byte 10 at `i` starts, or nil when that byte is half of another
        /// character. `k` is where to look among the stretches from, for `i` that grow. Of stretches
        /// over the same bytes (read both ways, or a turn read the other way round), the one in the
        /// stream's own reading decides, or else the one that started first, when it has a zero high
        /// byte within 16 bytes.
        func lineStart(after i: Int, from k: inout Int) -> Int? {
            while k < stretches.count, stretches[k].bytes.upperBound <= i { k += 1 }
            var first: UTF16Runs.Stretch?
            var j = k
            while j < stretches.count, stretches[j].bytes.lowerBound <= i {
                let s = stretches[j]
                j += 1
                guard s.bytes.contains(i) else { continue }
                if let p = preferred, s.reading.little == p.little, (s.reading.start + base) & 1 == p.parity { return lineStart(after: i, in: s) }
                if first == nil { first = s }
            }
            // Another stretch is trusted to say a byte 10 is half of a character only with a zero high
            // byte near it: after a stray zero, UTF-8 in another script reads as a stretch too, whose
            // line feeds are then halves of characters.
            if let first { return zeroNear(i, in: first) ? lineStart(after: i, in: first) : i + 1 }
            // Before the stream's first stretch, which starts at an ASCII character, a first line in
            // another script is read in the stream's own reading; but only a low byte is taken for half
            // of a character there: UTF-8 after a short UTF-16 line has its line feeds at either parity.
            if base == 0, let p = preferred, i < (stretches.first?.bytes.lowerBound ?? buffer.count) {
                let s = UTF16Runs.Stretch(bytes: 0..<buffer.count, reading: UTF16Runs.Reading(little: p.little, start: p.parity))
                if i & 1 == s.reading.lowBytes, zeroNear(i, in: s) { return lineStart(after: i, in: s) }
            }
            return i + 1
        }

        /// Whether a high byte of `s` within 16 bytes of `i` is zero.
        func zeroNear(_ i: Int, in s: UTF16Runs.Stretch) -> Bool {
            stride(from: max(s.bytes.lowerBound, i - 16), to: min(s.bytes.upperBound, i + 17), by: 1).contains { $0 & 1 != s.reading.lowBytes && buffer[$0] == 0 }
        }

        /// Where the line after a byte 10 at `i` in stretch `s` starts: past its code unit when that
        /// is a line feed (its low byte this one, its high byte zero), or nil.
        func lineStart(after i: Int, in s: UTF16Runs.Stretch) -> Int? {
            guard i & 1 == s.reading.lowBytes else { return nil }
            let high = s.reading.little ? i + 1 : i - 1
            guard high >= 0, high < buffer.count, buffer[high] == 0 else { return nil }
            return s.reading.little ? i + 2 : i + 1
        }
    }
}
