/// The bytes of a view of a text (colour codes taken out, JSON escapes decoded) and, for each, the
/// offset in the text it stood at: what maps a match in the view back over the text.
struct MappedBytes {
    var bytes: [UInt8] = []
    var source: [Int32] = []

    init() {}

    /// Begins with the text's first `first` bytes as they are, with room for `n`.
    init(_ b: UnsafePointer<UInt8>, first: Int, capacity n: Int) {
        reserve(n)
        append(UnsafeRawBufferPointer(start: b, count: first), 0..<first)
    }

    mutating func reserve(_ n: Int) {
        bytes.reserveCapacity(n)
        source.reserveCapacity(n)
    }

    /// The bytes of `range` of the text `b`, each standing at its own offset.
    mutating func append(_ b: UnsafeRawBufferPointer, _ range: Range<Int>) {
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[range]))
        source.append(contentsOf: Int32(range.lowerBound)..<Int32(range.upperBound))
    }

    /// `c`, standing at offset `at` of the text.
    mutating func append(_ c: UInt8, from at: Int) {
        bytes.append(c)
        source.append(Int32(at))
    }

    /// `r`, a range of `bytes`, as the range of the text it was read from: from its first byte's place
    /// to just past its last's, what was taken out between them included. An empty range stands where
    /// its byte came from, or just past the last byte.
    func original(_ r: Range<Int>) -> Range<Int> {
        guard !r.isEmpty else { let at = r.lowerBound < source.count ? Int(source[r.lowerBound]) : (source.last.map { Int($0) + 1 } ?? 0); return at..<at }
        return Int(source[r.lowerBound])..<(Int(source[r.upperBound - 1]) + 1)
    }
}

/// A reading of a window of text with something taken out or decoded (`ColourlessText`,
/// `UnescapedText`): its bytes, and the range of the window (`n` bytes at `b`) a range of them was
/// read from. The engine reads both kinds the same way (`SecretEngine.scanViews`).
protocol TextView {
    init?(_ b: UnsafePointer<UInt8>, _ n: Int)
    var bytes: [UInt8] { get }
    func original(_ r: Range<Int>, in b: UnsafePointer<UInt8>, _ n: Int) -> Range<Int>
}
