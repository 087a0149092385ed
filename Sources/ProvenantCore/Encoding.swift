public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)
    public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out: [UInt8] = []
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Base64 decoding that accepts both the standard and the URL-safe alphabet, with or without padding.
public enum Base64 {
    public static func decode(_ s: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count * 3 / 4)
        var acc: UInt32 = 0, bits = 0
        for c in s.utf8 {
            let v: UInt8
            switch c {
            case 65...90: v = c - 65
            case 97...122: v = c - 71
            case 48...57: v = c + 4
            case 43, 45: v = 62
            case 47, 95: v = 63
            case 61: continue
            case 10, 13, 32: continue
            default: return nil
            }
            acc = (acc << 6) | UInt32(v); bits += 6
            if bits >= 8 { bits -= 8; out.append(UInt8((acc >> UInt32(bits)) & 0xFF)) }
        }
        return out
    }
}
