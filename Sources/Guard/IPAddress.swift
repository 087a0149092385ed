import Foundation

/// An IPv4 or IPv6 address, parsed strictly: the forms a client and the guard could read differently
/// (integer, octal, hex and short IPv4, zone ids) are told apart rather than accepted.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    case v6(UInt128)

    /// Dotted-quad decimal only: four parts, each 0–255, no leading zeros. This is the one IPv4 form
    /// every resolver, URL parser and socket call reads the same way.
    public static func canonicalIPv4(_ s: Substring) -> UInt32? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for p in parts {
            let b = Array(p.utf8)
            guard (1...3).contains(b.count), b.allSatisfy({ $0 >= 48 && $0 <= 57 }), b.count == 1 || b[0] != 48 else { return nil }
            let n = b.reduce(0) { $0 * 10 + UInt32($1 - 48) }
            guard n <= 255 else { return nil }
            value = value << 8 | n
        }
        return value
    }

    /// The address a WHATWG URL parser reads from a host whose last label is a number: `2130706433`,
    /// `0x7f.1`, `0177.0.0.1`, `127.1`. Nil when the host is not such a literal (or is invalid as one).
    public static func lenientIPv4(_ s: Substring) -> UInt32? {
        var parts = s.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count > 1, parts.last?.isEmpty == true { parts.removeLast() }
        guard (1...4).contains(parts.count) else { return nil }
        var numbers: [UInt64] = []
        for p in parts {
            var b = Array(p.utf8)
            guard !b.isEmpty else { return nil }
            var radix: UInt64 = 10
            if b.count >= 2, b[0] == 48, b[1] == 120 || b[1] == 88 { radix = 16; b.removeFirst(2) }
            else if b.count >= 2, b[0] == 48 { radix = 8; b.removeFirst() }
            var n: UInt64 = 0
            for c in b {
                let d: UInt64
                switch c {
                case 48...57: d = UInt64(c - 48)
                case 97...102 where radix == 16: d = UInt64(c - 87)
                case 65...70 where radix == 16: d = UInt64(c - 55)
                default: return nil
                }
                guard d < radix else { return nil }
                n = n * radix + d
                guard n <= UInt64(UInt32.max) else { return nil }
            }
            numbers.append(n)
        }
        let last = numbers.removeLast()
        guard numbers.allSatisfy({ $0 <= 255 }) else { return nil }
        let lastBits = UInt64(8 * (4 - numbers.count))
        guard lastBits == 32 || last < (1 << lastBits) else { return nil }
        var value: UInt64 = 0
        for (i, n) in numbers.enumerated() { value |= n << UInt64(24 - 8 * i) }
        return UInt32(value | last)
    }

    /// An IPv6 address as text, without brackets or zone.
    public static func ipv6(_ s: Substring) -> UInt128? {
        guard s.contains(":"), s.utf8.count <= 45 else { return nil }
        var a = in6_addr()
        guard inet_pton(AF_INET6, String(s), &a) == 1 else { return nil }
        return withUnsafeBytes(of: &a) { raw in raw.reduce(UInt128(0)) { $0 << 8 | UInt128($1) } }
    }

    public var description: String {
        switch self {
        case .v4(let a): return "\(a >> 24).\(a >> 16 & 255).\(a >> 8 & 255).\(a & 255)"
        case .v6(let a):
            var addr = in6_addr()
            withUnsafeMutableBytes(of: &addr) { raw in for i in 0..<16 { raw[i] = UInt8(truncatingIfNeeded: a >> UInt128(8 * (15 - i))) } }
            var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &addr, &buf, socklen_t(buf.count)) != nil else { return "?" }
            return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// The IPv4 address the IPv6 address `a` carries in its low 32 bits.
    static func low32(_ a: UInt128) -> UInt32 { UInt32(truncatingIfNeeded: a) }
}
