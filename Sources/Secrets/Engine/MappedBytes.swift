/// The bytes of a view of a text (colour codes taken out, JSON escapes decoded) and, for each, the
/// offset in the text it stood at: what maps a match in the view back over the text.
struct MappedBytes {
    var bytes: [UInt8] = []
    var source: [Int32] = []

    /// Begins with the text's first `first` bytes as they are, with room for `n`.
    init(_ b: UnsafePointer<UInt8>, first: Int, capacity n: Int) {
        bytes.reserveCapacity(n)
        source.reserveCapacity(n)
        bytes.append(contentsOf: UnsafeBufferPointer(start: b, count: first))
        source.append(contentsOf: (0..<Int32(first)))
    }

    /// `c`, standing at offset `at` of the text.
    mutating func append(_ c: UInt8, from at: Int) {
        bytes.append(c)
        source.append(Int32(at))
    }
}
