public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)
    public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The value of one hex digit, either case; nil for any other byte.
    @inlinable public static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }

    /// The bytes an even run of hex digits (either case) spells; nil for anything else.
    public static func decode(_ s: String) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let hi = nibble(u[i]), let lo = nibble(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}

/// Base64 decoding that accepts both the standard and the URL-safe alphabet, with or without padding.
public enum Base64 {
    /// 0...63 for alphabet bytes, 64 for skipped bytes (padding, whitespace), 255 for anything else.
    private static let table: [UInt8] = {
        var t = [UInt8](repeating: 255, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8.enumerated() { t[Int(c)] = UInt8(i) }
        t[Int(UInt8(ascii: "+"))] = 62; t[Int(UInt8(ascii: "-"))] = 62
        t[Int(UInt8(ascii: "/"))] = 63; t[Int(UInt8(ascii: "_"))] = 63
        for c in "= \r\n".utf8 { t[Int(c)] = 64 }
        return t
    }()

    public static func decode(_ s: String) -> [UInt8]? { decode(bytes: s.utf8) }

    public static func decode(bytes: some Collection<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 3 / 4)
        var acc: UInt32 = 0, bits = 0
        for c in bytes {
            let v = table[Int(c)]
            if v == 64 { continue }
            if v == 255 { return nil }
            acc = (acc << 6) | UInt32(v); bits += 6
            if bits >= 8 { bits -= 8; out.append(UInt8((acc >> UInt32(bits)) & 0xFF)) }
        }
        return out
    }
}

/// RFC 3986 percent-encoding: unreserved bytes (letters, digits, `- . _ ~`) and those in `keeping`
/// stay literal; every other byte becomes `%XX` in upper-case hex.
public enum PercentEncoding {
    private static let upperHex = Array("0123456789ABCDEF".utf8)

    public static func encode(_ bytes: some Collection<UInt8>, keeping: [UInt8] = [], into o: inout [UInt8]) {
        for b in bytes {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "~"):
                o.append(b)
            default:
                if keeping.contains(b) { o.append(b); continue }
                o.append(UInt8(ascii: "%")); o.append(upperHex[Int(b >> 4)]); o.append(upperHex[Int(b & 0xF)])
            }
        }
    }

    public static func encode(_ s: String, keeping: [UInt8] = []) -> String {
        var o: [UInt8] = []
        encode(s.utf8, keeping: keeping, into: &o)
        return String(decoding: o, as: UTF8.self)
    }
}
