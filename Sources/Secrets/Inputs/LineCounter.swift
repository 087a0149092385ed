/// Turns byte offsets into 1-based line and column numbers while a stream is read once, in order.
struct LineCounter {
    private(set) var line = 1
    /// Absolute offset of the first byte of the current line.
    private(set) var lineStart = 0
    /// Absolute offset counted up to.
    private(set) var counted = 0

    /// Counts newlines in `buffer` (at absolute `base`) up to absolute `offset`.
    mutating func advance(_ buffer: UnsafeRawBufferPointer, base: Int, to offset: Int) {
        guard offset > counted else { return }
        var i = counted - base
        let end = offset - base
        precondition(i >= 0 && end <= buffer.count)
        while i < end {
            if buffer[i] == 10 { line += 1; lineStart = base + i + 1 }
            i += 1
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
        for j in target..<(counted - base) where buffer[j] == 10 { newlines += 1 }
        guard newlines > 0 else { return position(of: offset) }
        var s = target - 1
        while s >= 0, buffer[s] != 10 { s -= 1 }
        return (line - newlines, offset - (base + s + 1) + 1)
    }
}
