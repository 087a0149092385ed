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
}
