#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ProvenantCore

/// Text with the JSON escapes that change a secret's characters decoded: `\/` (PHP's `json_encode`
/// writes every slash so, and a Slack webhook's URL then read `https:\/\/hooks.slack.com\/…`) and
/// `\uXXXX` of a printable character (Gson writes `=` as `\u003d`, so a base64 value's padding and a
/// `password=` were cut off), and where each byte of it stood in the text. The engine reads it as
/// well as the text, in `secrets scan` and `redact` as the proxy reads a request (found by
/// helper-183 #9). Control characters stay escaped: a colour code's `\u001b[` is `ColourlessText`'s.
public struct UnescapedText: TextView {
    private var mapped: MappedBytes
    public var bytes: [UInt8] { mapped.bytes }
    /// For each byte of `bytes`, its offset in the text (an escape's first byte for what it decodes to).
    public var source: [Int32] { mapped.source }
    /// The text decoded, or nil when it holds none of these escapes (or is too long to map).
    public init?(_ b: UnsafePointer<UInt8>, _ n: Int) {
        guard n < Int(Int32.max), let first = Self.firstEscape(b, n) else { return nil }
        mapped = MappedBytes(b, first: first, capacity: n)
        var i = first
        while i < n {
            if b[i] == 92, i + 1 < n, b[i + 1] == 92 {
                mapped.append(92, from: i)
                mapped.append(92, from: i + 1)
                i += 2
                continue
            }
            if b[i] == 92, let (decoded, length) = Self.escape(b, n, at: i) {
                var utf8: [UInt8] = []
                Self.appendUTF8(decoded, to: &utf8)
                for c in utf8 { mapped.append(c, from: i) }
                i += length
                continue
            }
            mapped.append(b[i], from: i)
            i += 1
        }
    }

    /// The escape at `at` (a backslash) this view decodes: the character and the escape's length.
    static func escape(_ b: UnsafePointer<UInt8>, _ n: Int, at: Int) -> (UInt16, Int)? {
        guard at + 1 < n, b[at] == 92 else { return nil }
        if b[at + 1] == 47 { return (47, 2) }
        guard b[at + 1] == 117, at + 5 < n, let h1 = Hex.nibble(b[at + 2]), let h2 = Hex.nibble(b[at + 3]),
              let h3 = Hex.nibble(b[at + 4]), let h4 = Hex.nibble(b[at + 5]) else { return nil }
        let u = UInt16(h1) << 12 | UInt16(h2) << 8 | UInt16(h3) << 4 | UInt16(h4)
        // Printable characters only, and no half of a surrogate pair.
        // (A backslash stays escaped, so that a decoded byte is never the backslash it stood at.)
        guard u >= 0x20, u != 0x7F, u != 0x5C, !(0xD800...0xDFFF).contains(u) else { return nil }
        return (u, 6)
    }

    /// Where the first escape this view decodes starts: backslashes found by `memchr`, each checked.
    static func firstEscape(_ b: UnsafePointer<UInt8>, _ n: Int) -> Int? { escapes(b, n, first: true).first }

    /// Where each escape this view decodes starts (only the first with `first`), in order.
    static func escapes(_ b: UnsafePointer<UInt8>, _ n: Int, first: Bool = false) -> [Int] {
        var out: [Int] = []
        var from = 0
        while from < n, let p = memchr(b + from, 92, n - from) {
            let at = b.distance(to: p.assumingMemoryBound(to: UInt8.self))
            if let (_, length) = escape(b, n, at: at) {
                out.append(at)
                if first { break }
                from = at + length
                continue
            }
            // `\\` escapes the backslash: what follows it is no escape.
            from = at + (at + 1 < n && b[at + 1] == 92 ? 2 : 1)
        }
        return out
    }

    static func appendUTF8(_ u: UInt16, to out: inout [UInt8]) {
        switch u {
        case ..<0x80: out.append(UInt8(u))
        case ..<0x800: out += [0xC0 | UInt8(u >> 6), 0x80 | UInt8(u & 0x3F)]
        default: out += [0xE0 | UInt8(u >> 12), 0x80 | UInt8(u >> 6 & 0x3F), 0x80 | UInt8(u & 0x3F)]
        }
    }

    /// `r`, a range of `bytes`, as the range of the text `b` (`n` bytes) it was read from: from its
    /// first byte's place to the end of its last byte's escape, or just past that byte.
    public func original(_ r: Range<Int>, in b: UnsafePointer<UInt8>, _ n: Int) -> Range<Int> {
        guard !r.isEmpty else { let at = r.lowerBound < source.count ? Int(source[r.lowerBound]) : n; return at..<at }
        let last = Int(source[r.upperBound - 1])
        // A byte copied is the text's own; one decoded is not the backslash its escape starts with.
        let end = bytes[r.upperBound - 1] != b[last] ? (Self.escape(b, n, at: last).map { last + $0.1 } ?? last + 1) : last + 1
        return Int(source[r.lowerBound])..<end
    }
}
