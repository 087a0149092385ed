import Synchronization

/// A credential detector the redactor consults beyond its own patterns. The `Secrets` engine is one;
/// the CLI installs it once at start, so every diagnostic, SBOM and report passes through the same
/// rules `secrets scan` uses. (ProvenantCore depends on nothing, so the engine plugs in from above.)
public protocol SecretSpotter: Sendable {
    /// Byte ranges of `bytes` that hold a secret value. For an `identityField` (a package name, a
    /// version, a purl) only sure findings count, so public random-looking ids stay readable.
    func secretRanges(in bytes: [UInt8], identityField: Bool) -> [Range<Int>]
    /// False only when `secretRanges` with the same `identityField` can find nothing in `bytes` (no
    /// keyword of a rule it would report is there): a cheap first look for texts asked by the hundred
    /// thousand.
    func mayFind(in bytes: [UInt8], identityField: Bool) -> Bool
    /// `mayFind` of each of many texts, given joined: each text followed by one NUL, text `i` starting
    /// at `starts[i]`. A spotter may answer from one pass over the join.
    func mayFindEach(in joined: [UInt8], starts: [Int], identityField: Bool) -> [Bool]
}

extension SecretSpotter {
    public func mayFind(in bytes: [UInt8], identityField: Bool) -> Bool { true }
    public func mayFindEach(in joined: [UInt8], starts: [Int], identityField: Bool) -> [Bool] {
        starts.indices.map { i in mayFind(in: Array(joined[JoinedTexts.bounds(i, starts: starts, count: joined.count)]), identityField: identityField) }
    }
}

/// Many texts joined, each followed by one NUL, text `i` starting at `starts[i]`: how file lists are
/// handed to the byte rules and the spotter in one pass.
public enum JoinedTexts {
    /// Text `i`'s bytes, without its NUL, in a join of `count` bytes.
    public static func bounds(_ i: Int, starts: [Int], count: Int) -> Range<Int> {
        starts[i]..<(i + 1 < starts.count ? starts[i + 1] - 1 : count - 1)
    }

    /// The text holding offset `o`: the last one starting at or before it. `starts` is not empty.
    public static func text(containing o: Int, starts: [Int]) -> Int {
        var lo = 0, hi = starts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if starts[mid] <= o { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }
}

extension Redactor {
    private static let spotter = Mutex<(any SecretSpotter)?>(nil)

    /// Makes `redact` and `redactField` also remove what `s` finds. Call once, before any work.
    public static func install(_ s: any SecretSpotter) { spotter.withLock { $0 = s } }

    static var installedSpotter: (any SecretSpotter)? { spotter.withLock { $0 } }

    /// `bytes` with every range the installed spotter reports replaced by the mark.
    static func applySpotter(_ bytes: [UInt8], identityField: Bool = false) -> [UInt8] {
        // The cheap first look spares a whole scan of the thousands of fields an SBOM quotes.
        guard let s = installedSpotter, s.mayFind(in: bytes, identityField: identityField) else { return bytes }
        return masking(bytes, s.secretRanges(in: bytes, identityField: identityField))
    }

    /// `bytes` with each of `ranges` (in any order) replaced by the mark.
    public static func masking(_ bytes: [UInt8], _ ranges: [Range<Int>]) -> [UInt8] {
        masking(bytes, ranges.map { ($0, mark) })
    }

    /// `bytes` with each span replaced by its text, in any order. Overlapping spans are masked as
    /// their union, under the first one's text: one that began inside another was skipped whole, and
    /// what it held past the other's end stayed readable.
    public static func masking(_ bytes: [UInt8], _ spans: [(range: Range<Int>, text: String)]) -> [UInt8] {
        guard !spans.isEmpty else { return bytes }
        var out: [UInt8] = []
        var at = 0
        for s in spans.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) where s.range.upperBound > at && s.range.upperBound <= bytes.count {
            if s.range.lowerBound >= at {
                out += bytes[at..<s.range.lowerBound]
                out += Array(s.text.utf8)
            }
            at = s.range.upperBound
        }
        out += bytes[at...]
        return out
    }
}
