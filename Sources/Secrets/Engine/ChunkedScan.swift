/// Runs the engine over a stream in bounded chunks, correct across read boundaries.
///
/// Each round scans the unhandled bytes plus `engine.overlap` bytes of context on both sides, and
/// accepts only the matches that start before the trailing context: a secret cut by one read is
/// found whole in the next round, and memory stays at one chunk plus the context.
public struct ChunkedScan {
    public let engine: SecretEngine
    public var chunkSize: Int

    public init(engine: SecretEngine, chunkSize: Int = 4 << 20) {
        self.engine = engine
        self.chunkSize = max(1 << 12, chunkSize)
    }

    /// `read` appends up to `max` bytes to its argument and returns how many (0 at the end).
    /// `visit(buffer, base, done, matches)` sees the bytes whose handling is now final: `done` is the
    /// range of `buffer` (at absolute offset `base`) newly final, and `matches` those starting in it,
    /// sorted, with offsets relative to `buffer`. A match may end past `done`; the next `done` then
    /// starts after it.
    public func run<E: Error>(read: (inout [UInt8], Int) throws(E) -> Int,
                              visit: (UnsafeRawBufferPointer, _ base: Int, _ done: Range<Int>, [SecretMatch]) -> Void) throws(E) {
        let overlap = engine.overlap
        var buffer: [UInt8] = []
        buffer.reserveCapacity(chunkSize + 2 * overlap)
        var base = 0
        var handled = 0
        var atEnd = false
        while true {
            while !atEnd && buffer.count < handled + chunkSize + overlap {
                let got = try read(&buffer, handled + chunkSize + overlap - buffer.count)
                if got == 0 { atEnd = true }
            }
            let limit = atEnd ? buffer.count : max(handled, buffer.count - overlap)
            var cut = limit
            buffer.withUnsafeBytes { raw in
                let matches = engine.scan(raw).filter { $0.value.lowerBound >= handled && $0.value.lowerBound < limit }
                for m in matches { cut = max(cut, m.value.upperBound) }
                visit(raw, base, handled..<cut, matches)
            }
            if atEnd && cut >= buffer.count { return }
            let keepFrom = max(0, cut - overlap)
            buffer.removeFirst(keepFrom)
            base += keepFrom
            handled = cut - keepFrom
        }
    }
}
