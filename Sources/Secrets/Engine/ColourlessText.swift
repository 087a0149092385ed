#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Text with its terminal colour codes taken out (`ESC[32m`, or `\e[0m`, `\x1b[1m`, `\033[31m` and
/// `\u001b[0m` as scripts and JSON logs write them: `RulePattern.colourEnd`), and where each byte of
/// it stood in the text. The engine reads it as well as the text: a coloured name (`ESC[32mDB_PASSWORD
/// ESC[0m=…`), a rule whose match starts before its prefix (`pvt_`, EasyPost's `EZAK`), and a rule that
/// wants its value straight after its `=` (an AWS secret key, Azure's client secret) missed the value
/// after a code (found by helper-184).
struct ColourlessText: TextView {
    private var mapped: MappedBytes
    var bytes: [UInt8] { mapped.bytes }
    /// For each byte of `bytes`, its offset in the text.
    var source: [Int32] { mapped.source }

    /// The text without its colour codes, or nil when it has none (or is too long to map).
    init?(_ b: UnsafePointer<UInt8>, _ n: Int) {
        guard n < Int(Int32.max), let first = Self.firstCode(b, n) else { return nil }
        mapped = MappedBytes(b, first: first, capacity: n)
        var i = first
        while i < n {
            if b[i] == 27 || b[i] == 92, let e = RulePattern.colourEnd(b, n, at: i) { i = e; continue }
            mapped.append(b[i], from: i)
            i += 1
        }
    }

    /// Where each colour code in the text starts, in order.
    static func codes(_ b: UnsafePointer<UInt8>, _ n: Int) -> [Int] {
        var out: [Int] = []
        for introducer in [UInt8(27), 92] {
            var from = 0
            while from < n, let p = memchr(b + from, Int32(introducer), n - from) {
                let at = b.distance(to: p.assumingMemoryBound(to: UInt8.self))
                if let end = RulePattern.colourEnd(b, n, at: at) { out.append(at); from = end } else { from = at + 1 }
            }
        }
        return out.sorted()
    }

    /// Where the first colour code in the text starts: ESC and backslash bytes found by `memchr`, each
    /// then checked whole.
    static func firstCode(_ b: UnsafePointer<UInt8>, _ n: Int) -> Int? {
        var best: Int?
        for introducer in [UInt8(27), 92] {
            var from = 0
            while from < n, best.map({ from < $0 }) ?? true, let p = memchr(b + from, Int32(introducer), n - from) {
                let at = b.distance(to: p.assumingMemoryBound(to: UInt8.self))
                if best.map({ at >= $0 }) ?? false { break }
                if RulePattern.colourEnd(b, n, at: at) != nil { best = at; break }
                from = at + 1
            }
        }
        return best
    }

    /// `r`, a range of `bytes`, as the range of the text it was read from: from its first byte's place
    /// to just past its last's, the codes between them included.
    func original(_ r: Range<Int>) -> Range<Int> { mapped.original(r) }
    func original(_ r: Range<Int>, in _: UnsafePointer<UInt8>, _: Int) -> Range<Int> { original(r) }
}
