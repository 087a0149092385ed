/// UTF-16 text, as Windows editors, PowerShell (`Out-File`, `>` in Windows PowerShell) and `.reg`
/// exports write it: recognised from a file's first bytes and turned into UTF-8, so that the engine,
/// which reads UTF-8 and raw bytes, sees the credentials in it. Without this such a file has a NUL in
/// every other byte and is skipped as binary.
public enum UTF16Text {
    public enum ByteOrder: Sendable { case little, big }

    /// The byte order of `head` (a file's first bytes) when it is UTF-16 text, else nil: a byte order
    /// mark with no U+0000 after it, or, without one, code units that are mostly printable ASCII or
    /// line breaks (80% of at least 8, and none U+0000), the same byte of each being the NUL; or text in
    /// another script (95% letters, punctuation and ASCII, at least 5% ASCII): Japanese or Russian text
    /// with a credential in it was skipped as binary.
    public static func detect(_ head: some Collection<UInt8>) -> ByteOrder? {
        let b = Array(head.prefix(8192))
        let units = b.count / 2
        func unit(_ i: Int, _ order: ByteOrder) -> UInt16 {
            order == .little ? UInt16(b[2 * i]) | UInt16(b[2 * i + 1]) << 8 : UInt16(b[2 * i]) << 8 | UInt16(b[2 * i + 1])
        }
        for order in [ByteOrder.little, .big] where units >= 1 && unit(0, order) == 0xFEFF {
            // A U+0000 is no text's: a binary file that happens to start FF FE stays binary.
            return (1..<units).contains { unit($0, order) == 0 } ? nil : order
        }
        // ASCII-range UTF-16 has a NUL in every other byte; most files have none, and are done here.
        guard units >= 8, b.contains(0) else { return nil }
        func ascii(_ u: UInt16) -> Bool { u == 0x09 || u == 0x0A || u == 0x0D || (0x20...0x7E).contains(u) }
        // Mostly ASCII in either order first: ASCII read in the other order looks like CJK, so the
        // script test below would otherwise take big-endian text for little-endian (found by review).
        var counts: [(text: Int, other: Int, nul: Bool)] = []
        for order in [ByteOrder.little, .big] {
            var text = 0, other = 0
            var nul = false
            for i in 0..<units {
                let u = unit(i, order)
                if u == 0 { nul = true; break }
                if ascii(u) { text += 1 } else if letterLike(u) { other += 1 }
            }
            if text * 100 >= units * 80 { return order }
            counts.append((text, other, nul))
        }
        guard units >= 32 else { return nil }
        // When both orders pass, the one with more ASCII: read the wrong way round, ASCII comes only
        // from characters whose low byte is zero (found by review).
        let passing = zip([ByteOrder.little, .big], counts).filter { !$0.1.nul && $0.1.text * 100 >= units * 5 && ($0.1.text + $0.1.other) * 100 >= units * 95 }
        return passing.max { $0.1.text < $1.1.text }?.0
    }

    /// Code units of the scripts and punctuation text is written in: Latin-1 and Latin Extended,
    /// Greek, Cyrillic, Hebrew, Arabic, general punctuation, CJK (with kana and Hangul), surrogates
    /// (the halves of a pair) and fullwidth forms.
    static func letterLike(_ u: UInt16) -> Bool {
        switch u {
        case 0x00A0...0x024F, 0x0370...0x06FF, 0x2000...0x206F, 0x2100...0x27BF, 0x3000...0x9FFF, 0xAC00...0xD7AF,
             0xD800...0xDFFF, 0xFF00...0xFFEF: true
        default: false
        }
    }

    /// Turns UTF-16 code units, fed in pieces of any length, into UTF-8. A leading byte order mark is
    /// dropped; unpaired surrogates and a last odd byte become U+FFFD.
    public struct Decoder: Sendable {
        let order: ByteOrder
        var carry: UInt8?
        var high: UInt16?
        var first = true

        public init(_ order: ByteOrder) { self.order = order }

        public mutating func feed(_ bytes: some Sequence<UInt8>, into out: inout [UInt8]) {
            for byte in bytes {
                guard let c = carry else { carry = byte; continue }
                carry = nil
                take(order == .little ? UInt16(c) | UInt16(byte) << 8 : UInt16(c) << 8 | UInt16(byte), into: &out)
            }
        }

        public mutating func finish(into out: inout [UInt8]) {
            if high != nil { high = nil; Self.encode(0xFFFD, into: &out) }
            if carry != nil { carry = nil; Self.encode(0xFFFD, into: &out) }
        }

        mutating func take(_ u: UInt16, into out: inout [UInt8]) {
            if first {
                first = false
                if u == 0xFEFF { return }
            }
            if let h = high {
                high = nil
                if (0xDC00...0xDFFF).contains(u) {
                    Self.encode(0x10000 + (UInt32(h - 0xD800) << 10) + UInt32(u - 0xDC00), into: &out)
                    return
                }
                Self.encode(0xFFFD, into: &out)
            }
            switch u {
            case 0xD800...0xDBFF: high = u
            case 0xDC00...0xDFFF: Self.encode(0xFFFD, into: &out)
            default: Self.encode(UInt32(u), into: &out)
            }
        }

        static func encode(_ s: UInt32, into out: inout [UInt8]) {
            switch s {
            case ..<0x80: out.append(UInt8(s))
            case ..<0x800: out += [0xC0 | UInt8(s >> 6), 0x80 | UInt8(s & 0x3F)]
            case ..<0x10000: out += [0xE0 | UInt8(s >> 12), 0x80 | UInt8(s >> 6 & 0x3F), 0x80 | UInt8(s & 0x3F)]
            default: out += [0xF0 | UInt8(s >> 18), 0x80 | UInt8(s >> 12 & 0x3F), 0x80 | UInt8(s >> 6 & 0x3F), 0x80 | UInt8(s & 0x3F)]
            }
        }
    }

    /// All of `bytes` as UTF-8.
    public static func decode(_ bytes: some Sequence<UInt8>, _ order: ByteOrder) -> [UInt8] {
        var d = Decoder(order)
        var out: [UInt8] = []
        d.feed(bytes, into: &out)
        d.finish(into: &out)
        return out
    }
}
