import ProvenantCore

/// A run of base64 or hex in a text that decodes to text, decoded: a Kubernetes Secret's `data:`
/// values, a config file an agent sends base64 in a JSON payload, a `.dockerconfigjson`, a token
/// written as hex. The engine reads the decoded text as it reads any text (`SecretEngine.scanDecoding`),
/// and places what it finds back over the characters that encode it, whole quanta of four (base64)
/// or pairs (hex), so a redaction leaves no bit of the secret. Before, a GitHub token in a Secret
/// was only a generic token, and one in a payload of several lines or in hex passed (betterleaks
/// decodes both by default).
///
/// A base64 run is at least `minimumRun` characters of either alphabet (`+/` or `-_`), with its `=`
/// padding; a run of at least `minimumHexRun` hex digits that is no text as base64 is tried as hex.
/// It is taken for text when nine in ten of its decoded bytes are printable ASCII, a tab or a line
/// break: random bytes are that with a chance of about 0.37 a byte, so a hash, a long identifier or
/// binary data is given up within a few bytes.
public struct DecodedRun: Sendable {
    public enum Encoding: Sendable { case base64, hex }
    public let encoding: Encoding
    /// The characters, base64's padding included, in the text.
    public let run: Range<Int>
    /// Where its first quantum (or pair) starts in the text.
    public let start: Int
    /// The bytes they decode to.
    public let bytes: [UInt8]

    static let minimumRun = 20
    static let minimumHexRun = 32

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

    /// Each run of `n` bytes at `b` that decodes to text. Its quanta are tried from each of its first
    /// four characters (pairs from each of two): a run may be glued to base64 characters before it
    /// (a URL's path, `k:\t` in JSON), or be the tail of one a chunk's window cut (helper-193).
    /// `wrapped` is told each block of base64 wrapped across lines (`wrappedBlock`), found on the
    /// same pass.
    public static func find(_ b: UnsafePointer<UInt8>, _ n: Int, wrapped: (Range<Int>) -> Void = { _ in }, _ visit: (DecodedRun) -> Void) {
        var blockEnd = 0
        runs(b, n, minimum: minimumRun) { r, padded in
            if let run = decoded(b, r, padded: padded) { visit(run) }
            if r.lowerBound >= blockEnd, r.count >= 40, padded == r.upperBound, breakLength(b, n, at: blanks(b, n, from: r.upperBound)) > 0 {
                let block = wrappedBlock(b, n, from: r.lowerBound)
                blockEnd = block.upperBound
                wrapped(block)
            }
            return true
        }
    }

    /// Where the spaces and tabs from `at` end: trailing blanks before a line break (helper-194).
    static func blanks(_ b: UnsafePointer<UInt8>, _ n: Int, from at: Int) -> Int {
        var i = at
        while i < n, b[i] == 32 || b[i] == 9 { i += 1 }
        return i
    }

    /// The length of a line break at `at`: CR LF, LF, CR, or JSON's `\n` (`\r\n`), or 0.
    static func breakLength(_ b: UnsafePointer<UInt8>, _ n: Int, at: Int) -> Int {
        guard at < n else { return 0 }
        switch b[at] {
        case 13: return at + 1 < n && b[at + 1] == 10 ? 2 : 1
        case 10: return 1
        case 92 where at + 1 < n && b[at + 1] == 110: return 2
        case 92 where at + 3 < n && b[at + 1] == 114 && b[at + 2] == 92 && b[at + 3] == 110: return 4
        default: return 0
        }
    }

    /// The block of base64 wrapped across lines that starts with the line at `from` (a run of 40 or
    /// more characters a line break ends, as `base64`, MIME and GitHub's API wrap at 76 or 64): the
    /// lines after it, each indented or quoted (`>`) as it may be, and each line ending in blanks as
    /// it may, while the one before was 40 characters or more; the last may be shorter, and padded.
    static func wrappedBlock(_ b: UnsafePointer<UInt8>, _ n: Int, from: Int) -> Range<Int> {
        var end = from, i = from
        while i < n {
            var e = i
            while e < n, sextets[Int(b[e])] < 64 { e += 1 }
            let length = e - i
            while e < n, e - i - length < 2, b[e] == 61 { e += 1 }
            guard length > 0 else { break }
            end = e
            let after = blanks(b, n, from: e)
            let br = breakLength(b, n, at: after)
            guard length >= 40, br > 0 else { break }
            i = after + br
            // Indentation: blanks, a quote's `>`, JSON's `\t` (helper-194).
            while i < n, b[i] == 32 || b[i] == 9 || b[i] == 62 || (b[i] == 92 && i + 1 < n && b[i + 1] == 116) { i += b[i] == 92 ? 2 : 1 }
        }
        return from..<end
    }

    /// Each run of at least `minimum` base64 characters, and where its padding ends, until `visit`
    /// says stop. A run of `minimum` holds the byte `minimum - 1` after any place it may start from,
    /// so text is probed a run's length at a time, and only a probe that lands on base64 is walked back
    /// and on to its run's ends: byte by byte, a scan of a corpus spent a tenth of its time here.
    static func runs(_ b: UnsafePointer<UInt8>, _ n: Int, minimum: Int, _ visit: (Range<Int>, _ padded: Int) -> Bool) {
        sextets.withUnsafeBufferPointer { table in
            let t = table.baseAddress!
            // Every run starting before `i` has been seen.
            var i = 0
            while i + minimum <= n {
                let probe = i + minimum - 1
                guard t[Int(b[probe])] < 64 else { i = probe + 1; continue }
                var characters = probe + 1
                while characters < n, t[Int(b[characters])] < 64 { characters += 1 }
                // A run long enough holds the byte `minimum` before its end: most words do not, and
                // are passed without walking back to their start.
                let from = i
                i = characters
                guard t[Int(b[characters - minimum])] < 64 else { continue }
                var s = probe
                while s > from, t[Int(b[s - 1])] < 64 { s -= 1 }
                guard characters - s >= minimum else { continue }
                while i < n, i - characters < 2, b[i] == 61 { i += 1 }
                guard visit(s..<characters, i) else { return }
            }
        }
    }

    /// The characters `r` of `b` (and their padding up to `padded`) decoded, as base64, or else a
    /// stretch of `minimumHexRun` or more hex digits in them as hex, or nil when neither gives text.
    static func decoded(_ b: UnsafePointer<UInt8>, _ r: Range<Int>, padded: Int) -> DecodedRun? {
        for shift in 0..<4 where r.count - shift >= minimumRun {
            if let bytes = base64(b, from: r.lowerBound + shift, to: r.upperBound) {
                return DecodedRun(encoding: .base64, run: r.lowerBound..<padded, start: r.lowerBound + shift, bytes: bytes)
            }
        }
        guard padded == r.upperBound, r.count >= minimumHexRun else { return nil }
        // Hex may have a prefix or a name glued on (`0x…`, `secret_…`), which base64's alphabet takes
        // into the run: each stretch of hex digits long enough is tried (found by helper-194).
        var i = r.lowerBound
        while i < r.upperBound {
            guard Hex.nibble(b[i]) != nil else { i += 1; continue }
            var e = i
            while e < r.upperBound, Hex.nibble(b[e]) != nil { e += 1 }
            if e - i >= minimumHexRun {
                for shift in 0..<2 {
                    if let bytes = hex(b, from: i + shift, to: e) { return DecodedRun(encoding: .hex, run: i..<e, start: i + shift, bytes: bytes) }
                }
            }
            i = e
        }
        return nil
    }

    /// Collects decoded bytes while nine in ten of them are text.
    struct TextBytes {
        var out: [UInt8] = []
        let allowed: Int
        var other = 0
        init(_ total: Int) { allowed = total / 10; out.reserveCapacity(total) }
        mutating func add(_ c: UInt8) -> Bool {
            if !(c >= 32 && c < 127) && c != 9 && c != 10 && c != 13 {
                other += 1
                if other > allowed { return false }
            }
            out.append(c)
            return true
        }
    }

    /// The bytes the base64 characters from `from` to `to` decode to (a last quantum of 2 or 3
    /// characters gives 1 or 2), or nil when they are not text.
    static func base64(_ b: UnsafePointer<UInt8>, from: Int, to: Int) -> [UInt8]? {
        let count = to - from
        let total = count / 4 * 3 + max(0, count % 4 - 1)
        guard total >= minimumRun / 4 * 3 else { return nil }
        var text = TextBytes(total)
        var i = from
        while i + 4 <= to {
            let q = UInt32(sextets[Int(b[i])]) << 18 | UInt32(sextets[Int(b[i + 1])]) << 12 | UInt32(sextets[Int(b[i + 2])]) << 6 | UInt32(sextets[Int(b[i + 3])])
            guard text.add(UInt8(q >> 16)), text.add(UInt8(q >> 8 & 0xFF)), text.add(UInt8(q & 0xFF)) else { return nil }
            i += 4
        }
        let rest = to - i
        if rest >= 2 {
            let q = UInt32(sextets[Int(b[i])]) << 18 | UInt32(sextets[Int(b[i + 1])]) << 12 | (rest == 3 ? UInt32(sextets[Int(b[i + 2])]) << 6 : 0)
            guard text.add(UInt8(q >> 16)) else { return nil }
            if rest == 3 { guard text.add(UInt8(q >> 8 & 0xFF)) else { return nil } }
        }
        return text.out
    }

    /// The bytes the hex digits from `from` to `to` decode to, pair by pair (an odd last digit is
    /// left), or nil when they are not text.
    static func hex(_ b: UnsafePointer<UInt8>, from: Int, to: Int) -> [UInt8]? {
        var text = TextBytes((to - from) / 2)
        var i = from
        while i + 2 <= to {
            guard let hi = Hex.nibble(b[i]), let lo = Hex.nibble(b[i + 1]), text.add(hi << 4 | lo) else { return nil }
            i += 2
        }
        return text.out
    }

    /// `r`, a range of `bytes`, as the characters of the text that encode it: whole quanta (pairs),
    /// and base64's padding too when they reach the run's last characters.
    public func original(_ r: Range<Int>) -> Range<Int> {
        let (chars, bytesPer) = encoding == .base64 ? (4, 3) : (2, 1)
        let lo = min(run.upperBound, start + chars * (r.lowerBound / bytesPer))
        guard !r.isEmpty else { return lo..<lo }
        var hi = min(run.upperBound, start + chars * ((r.upperBound + bytesPer - 1) / bytesPer))
        // The last quantum's characters, then its padding.
        if encoding == .base64, hi >= run.upperBound - 2 { hi = run.upperBound }
        return lo..<max(lo, hi)
    }
}
