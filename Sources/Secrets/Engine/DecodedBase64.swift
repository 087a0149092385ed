/// A run of base64 in a text that decodes to text, decoded: a Kubernetes Secret's `data:` values, a
/// config file an agent sends base64 in a JSON payload, a `.dockerconfigjson`. The engine reads the
/// decoded text as it reads any text (`SecretEngine.decodedMatches`), and places what it finds back
/// over the base64 characters that encode it, whole quanta of four, so a redaction leaves no bit of
/// the secret. Before, a GitHub token in a Secret was only a generic token, and one in a payload of
/// several lines passed (betterleaks decodes base64 by default).
///
/// A run is at least `minimumRun` characters of either alphabet (`+/` or `-_`), with its `=` padding.
/// It is taken for text when nine in ten of its decoded bytes are printable ASCII, a tab or a line
/// break: random bytes are that with a chance of about 0.37 a byte, so a hash, a long identifier or
/// binary data is given up within a few bytes.
public struct DecodedBase64: Sendable {
    /// The base64 characters, padding included, in the text.
    public let run: Range<Int>
    /// Where its first quantum starts in the text.
    public let start: Int
    /// The bytes they decode to.
    public let bytes: [UInt8]

    static let minimumRun = 20

    /// Each character's six bits, or 64 for a character outside both alphabets.
    static let sextets: [UInt8] = (0..<256).map { c -> UInt8 in
        switch c {
        case 65...90: return UInt8(c - 65)
        case 97...122: return UInt8(c - 71)
        case 48...57: return UInt8(c + 4)
        case 43, 45: return 62
        case 47, 95: return 63
        default: return 64
        }
    }

    /// Each run of `n` bytes at `b` that decodes to text. A run that starts at the first byte may be
    /// the tail of one cut there (a chunk's window): its quanta are tried from each of its first
    /// four characters.
    public static func find(_ b: UnsafePointer<UInt8>, _ n: Int, _ visit: (DecodedBase64) -> Void) {
        // A run of `minimumRun` holds the byte `minimumRun - 1` after any place it may start from, so
        // text is probed a run's length at a time, and only a probe that lands on base64 is walked back
        // and on to its run's ends: byte by byte, a scan of a corpus spent a tenth of its time here.
        sextets.withUnsafeBufferPointer { table in
            let t = table.baseAddress!
            // Every run starting before `i` has been seen.
            var i = 0
            while i + minimumRun <= n {
                let probe = i + minimumRun - 1
                guard t[Int(b[probe])] < 64 else { i = probe + 1; continue }
                var s = probe
                while s > i, t[Int(b[s - 1])] < 64 { s -= 1 }
                var characters = probe + 1
                while characters < n, t[Int(b[characters])] < 64 { characters += 1 }
                i = characters
                guard characters - s >= minimumRun else { continue }
                while i < n, i - characters < 2, b[i] == 61 { i += 1 }
                for shift in 0..<(s == 0 ? 4 : 1) {
                    if let bytes = decode(b, from: s + shift, to: characters) {
                        visit(DecodedBase64(run: s..<i, start: s + shift, bytes: bytes))
                        break
                    }
                }
            }
        }
    }

    /// The bytes the characters from `from` to `to` decode to (a last quantum of 2 or 3 characters
    /// gives 1 or 2), or nil when they are not text.
    static func decode(_ b: UnsafePointer<UInt8>, from: Int, to: Int) -> [UInt8]? {
        let count = to - from
        let total = count / 4 * 3 + max(0, count % 4 - 1)
        guard total >= minimumRun / 4 * 3 else { return nil }
        let allowed = total / 10
        var out: [UInt8] = []
        out.reserveCapacity(total)
        var other = 0
        func add(_ c: UInt8) -> Bool {
            if !(c >= 32 && c < 127) && c != 9 && c != 10 && c != 13 {
                other += 1
                if other > allowed { return false }
            }
            out.append(c)
            return true
        }
        var i = from
        while i + 4 <= to {
            let q = UInt32(sextets[Int(b[i])]) << 18 | UInt32(sextets[Int(b[i + 1])]) << 12 | UInt32(sextets[Int(b[i + 2])]) << 6 | UInt32(sextets[Int(b[i + 3])])
            guard add(UInt8(q >> 16)), add(UInt8(q >> 8 & 0xFF)), add(UInt8(q & 0xFF)) else { return nil }
            i += 4
        }
        let rest = to - i
        if rest >= 2 {
            let q = UInt32(sextets[Int(b[i])]) << 18 | UInt32(sextets[Int(b[i + 1])]) << 12 | (rest == 3 ? UInt32(sextets[Int(b[i + 2])]) << 6 : 0)
            guard add(UInt8(q >> 16)) else { return nil }
            if rest == 3 { guard add(UInt8(q >> 8 & 0xFF)) else { return nil } }
        }
        return out
    }

    /// `r`, a range of `bytes`, as the characters of the text that encode it: whole quanta, and the
    /// padding too when they reach the run's last character.
    public func original(_ r: Range<Int>) -> Range<Int> {
        let lo = min(run.upperBound, start + 4 * (r.lowerBound / 3))
        guard !r.isEmpty else { return lo..<lo }
        var hi = min(run.upperBound, start + 4 * ((r.upperBound + 2) / 3))
        // The last quantum's characters, then its padding.
        if hi >= run.upperBound - 2 { hi = run.upperBound }
        return lo..<max(lo, hi)
    }
}
