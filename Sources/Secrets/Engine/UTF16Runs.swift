#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Stretches of UTF-16 anywhere in a stream's bytes, each read as the UTF-8 text it encodes, with the
/// code unit each byte of that text came from: what `ChunkedScan.wideMatches` scans, so that `secrets
/// redact` and `secrets scan` read UTF-16 where it stands, whatever comes before or after it (UTF-8
/// appended to a PowerShell log, UTF-16 after a shell's `OK`, a file of each byte order `cat` joined).
///
/// A stretch starts at a code unit whose high byte is zero and low byte is not (ASCII or Latin-1, the
/// characters keys, names and secrets are written in), and goes on through any units but U+0000
/// (other scripts, quotes such as `“`, `«` and `€`, the halves of an emoji) until more than
/// `maximumGap` units in a row read as ASCII the other way round: so a password with an `ä` or in
/// Cyrillic, a token in typographic quotes and a token after a colour code are read as decoding the
/// whole text reads them (found by helper-185 and helper-186), while UTF-8, which has no zero byte,
/// starts no stretch.
public enum UTF16Runs {
    /// How a stretch is read: its byte order, and the parity of the offsets its code units start at.
    public struct Reading: Equatable, Sendable {
        public var little: Bool
        public var start: Int
        public init(little: Bool, start: Int) { self.little = little; self.start = start & 1 }
        /// The parity of the offsets the units' low bytes stand at.
        public var lowBytes: Int { little ? start : start ^ 1 }
    }

    /// Where a stretch stands in the bytes, and how it is read.
    public struct Stretch: Equatable, Sendable {
        public var bytes: Range<Int>
        public var reading: Reading
        public init(bytes: Range<Int>, reading: Reading) { self.bytes = bytes; self.reading = reading }
    }

    public struct Run {
        public var reading: Reading
        /// The bytes of its code units.
        public var bytes: Range<Int>
        /// Its text, in UTF-8.
        public var text: [UInt8]
        /// For each byte of `text`, the index of the code unit it came from.
        public var unit: [Int32]
    }

    static let maximumGap = 8
    /// How far a stretch is read the other way from a turn in it: more than a token and its name.
    static let turnUnits = 256
    /// The fewest code units a stretch has to be read: a short word between two binary bytes holds no
    /// secret a rule would take.
    static let minimumUnits = 8

    /// Each stretch of `b` with at least `minimumUnits` units, in order. `lead` is the reading of a
    /// stretch that began before `b` and goes on into it (`ChunkedScan` carries it from one round to
    /// the next): read from the start of `b` that way, since ASCII in UTF-16 reads the same in both byte
    /// orders a byte apart, and only the units with a high byte tell which it is.
    /// Where a stretch could start either way (a byte, a zero, a byte: UTF-8 then big-endian UTF-16,
    /// or little-endian UTF-16 from that byte), both are read: the other way round, a token after
    /// `Get-Item ` lost its first character, or had the text's last character glued to it
    /// (helper-185).
    public static func find(_ b: UnsafeRawBufferPointer, lead: Reading?, _ visit: (Run) -> Void) {
        // Unit indices are 32-bit: `ChunkedScan` hands over a chunk and its context, far below that;
        // a caller with more than 2 GiB at once has what lies past it read by its next call.
        let n = min(b.count, Int(Int32.max))
        guard n >= 2, let base = b.baseAddress, memchr(base, 0, n) != nil else { return }
        var text: [UInt8] = [], unit: [Int32] = []
        // Where a stretch turned from a unit of two bytes to an ASCII character in a way that may be
        // text in the other order a byte out (`turnUnits`).
        var turns: [Int] = []
        // Reads the stretch from `at` in `reading`, at most `limit` units, visits it if it is long
        // enough, and returns where it ends.
        func read(_ reading: Reading, from at: Int, limit: Int = .max) -> Int {
            text.removeAll(keepingCapacity: true)
            unit.removeAll(keepingCapacity: true)
            var j = at, k: Int32 = 0, gap = 0
            var mixed = false
            // Where the units that read as ASCII the other way round (a zero low byte, an ASCII high
            // byte) or as two ASCII characters began: more than `maximumGap` of them in a row are text
            // in the other order, a byte out (after an odd-length piece of UTF-8), or UTF-8, so they
            // end the stretch there and the search goes on from a byte before them, where both orders
            // are tried. Counting every unit with a high byte cut passwords in Cyrillic or CJK (found
            // by helper-186).
            var gapStart = at, gapText = 0
            while j + 1 < n {
                let lo = reading.little ? b[j] : b[j + 1], hi = reading.little ? b[j + 1] : b[j]
                if lo == 0 && hi == 0 { break }
                func isText(_ c: UInt8) -> Bool { c == 9 || c == 10 || c == 13 || (c >= 0x20 && c < 0x7F) }
                // Also units of two ASCII bytes: UTF-8 after UTF-16, whose next UTF-16 part may be in
                // the other order a byte out (the stretch read on through it and glued its first
                // character to the last byte of the UTF-8). Real text in another script rarely has
                // nine such units in a row.
                if !isText(hi) || (lo != 0 && !isText(lo)) { gap = 0 } else {
                    if gap == 0 { gapStart = j; gapText = text.count }
                    gap += 1
                    if gap > maximumGap {
                        j = max(at, gapStart - 1)
                        k -= Int32(maximumGap)
                        text.removeSubrange(gapText...)
                        unit.removeSubrange(gapText...)
                        if k >= minimumUnits { visit(Run(reading: reading, bytes: at..<gapStart, text: text, unit: unit)) }
                        return j
                    }
                }
                if limit < .max, k >= limit { break }
                // A unit of two bytes, then an ASCII character: big-endian, the unit's low byte may be
                // that text's first character, little-endian a byte out; little-endian after two
                // ASCII bytes (UTF-8), the character may be the UTF-8's last, and the text big-endian
                // from its zero. Read the other way from the unit's second byte as well.
                // Only before eight ASCII characters in a row, as a token has: a short word between
                // two characters of CJK text made a turn at every word, and redaction ten times slower.
                if hi == 0, lo != 0, mixed, limit == .max, asciiAhead(reading, from: j) { turns.append(j - 1) }
                mixed = lo != 0 && hi != 0 && isText(lo) && (!reading.little || isText(hi))
                let before = text.count
                // A surrogate pair is one character (an emoji): as U+FFFD each, two emoji gave one value
                // and one fingerprint, and a baseline suppressed a rotated secret (found by helper-187).
                if hi >= 0xD8, hi <= 0xDB, j + 3 < n {
                    let lo2 = reading.little ? b[j + 2] : b[j + 3], hi2 = reading.little ? b[j + 3] : b[j + 2]
                    if hi2 >= 0xDC, hi2 <= 0xDF {
                        let scalar = 0x10000 + (UInt32(hi & 0x03) << 18 | UInt32(lo) << 10 | UInt32(hi2 & 0x03) << 8 | UInt32(lo2))
                        text += [0xF0 | UInt8(scalar >> 18), 0x80 | UInt8(scalar >> 12 & 0x3F), 0x80 | UInt8(scalar >> 6 & 0x3F), 0x80 | UInt8(scalar & 0x3F)]
                        unit.append(contentsOf: repeatElement(k, count: 4))
                        k += 2
                        j += 4
                        mixed = false
                        continue
                    }
                }
                Self.append(UInt16(hi) << 8 | UInt16(lo), to: &text)
                unit.append(contentsOf: repeatElement(k, count: text.count - before))
                k += 1
                j += 2
            }
            if k >= minimumUnits { visit(Run(reading: reading, bytes: at..<j, text: text, unit: unit)) }
            return j
        }
        // Whether the 8 units from `at` are all ASCII or Latin-1 characters.
        func asciiAhead(_ reading: Reading, from at: Int) -> Bool {
            guard at + 16 <= n else { return false }
            for u in 0..<8 {
                let p = at + 2 * u
                let lo = reading.little ? b[p] : b[p + 1], hi = reading.little ? b[p + 1] : b[p]
                if hi != 0 || lo == 0 { return false }
            }
            return true
        }
        // A stretch, then a short one the other way from each turn in it. The turns of one stretch are
        // all read in one other way (the same order and parity), so a turn that an earlier turn's
        // reading runs on past by `turnUnits` is read there already: CJK text with English words made
        // a turn every few units, each read anew, and a 200 KB log took 13 s (found by helper-187).
        func readWithTurns(_ reading: Reading, from at: Int) -> Int {
            turns.removeAll(keepingCapacity: true)
            let end = read(reading, from: at)
            var covered = 0
            for t in turns where t + 2 * turnUnits > covered {
                covered = read(Reading(little: !reading.little, start: t & 1), from: t, limit: 4 * turnUnits)
            }
            return end
        }
        var i = 0
        if let lead { i = max(readWithTurns(lead, from: lead.start), 1) }
        while i + 1 < n {
            let little = b[i] != 0 && b[i + 1] == 0, big = b[i] == 0 && b[i + 1] != 0
            guard little || big else { i += 1; continue }
            var end = readWithTurns(Reading(little: little, start: i & 1), from: i)
            if little, i + 2 < n, b[i + 2] != 0 { end = max(end, readWithTurns(Reading(little: false, start: (i + 1) & 1), from: i + 1)) }
            // And the other way round: after a U+0000 (or any zero byte), little-endian text starts
            // one byte after a zero that looks like a big-endian unit's high byte, and read that way
            // alone every character with a high byte was glued to the next (found by helper-187).
            if big, i + 2 < n, b[i + 2] == 0 { end = max(end, readWithTurns(Reading(little: true, start: (i + 1) & 1), from: i + 1)) }
            i = max(end, i + 1)
        }
    }

    /// One code unit as UTF-8; a surrogate alone, which is half a character, as U+FFFD.
    static func append(_ u: UInt16, to out: inout [UInt8]) {
        switch u {
        case ..<0x80: out.append(UInt8(u))
        case ..<0x800: out += [0xC0 | UInt8(u >> 6), 0x80 | UInt8(u & 0x3F)]
        case 0xD800...0xDFFF: out += [0xEF, 0xBF, 0xBD]
        default: out += [0xE0 | UInt8(u >> 12), 0x80 | UInt8(u >> 6 & 0x3F), 0x80 | UInt8(u & 0x3F)]
        }
    }

    /// The bytes a range of `run.text` stands for: from its first unit's low byte to its last unit's
    /// low byte, a unit's high byte too when it is not zero, so that a mark written over them in the
    /// same parity (`StreamRedactor.wideMark`) leaves every code unit around them whole.
    public static func bytes(_ r: Range<Int>, of run: Run, in b: UnsafeRawBufferPointer) -> Range<Int> {
        guard !r.isEmpty else {
            let at = r.lowerBound < run.unit.count ? run.bytes.lowerBound + 2 * Int(run.unit[r.lowerBound]) : run.bytes.upperBound
            return at..<at
        }
        let lowOffset = run.reading.little ? 0 : 1
        func unitStart(_ textOffset: Int) -> Int { run.bytes.lowerBound + 2 * Int(run.unit[textOffset]) }
        func highIsZero(_ start: Int) -> Bool { b[start + 1 - lowOffset] == 0 }
        let first = unitStart(r.lowerBound), last = unitStart(r.upperBound - 1)
        let from = highIsZero(first) ? first + lowOffset : first
        // A surrogate pair's text stands on its first unit: the range takes its second unit too.
        let highAt = last + 1 - lowOffset, nextHigh = last + 3 - lowOffset
        // (Within the stretch: a high surrogate its reading ended on stands alone, whatever follows it.)
        let pair = (0xD8...0xDB).contains(b[highAt]) && last + 4 <= run.bytes.upperBound && (0xDC...0xDF).contains(b[nextHigh])
        let to = highIsZero(last) ? last + lowOffset + 1 : (pair ? last + 4 : last + 2)
        return from..<to
    }
}
