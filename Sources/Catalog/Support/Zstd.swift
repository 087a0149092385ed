import ProvenantCore

/// A zstd file held in memory (every frame, as `zstd -d` reads them), inflated against a budget by
/// the same decoder as zstd image layers: what a secret scan opens, `.deb` members among them.
public enum Zstd {
    /// A frame's magic, or a skippable frame's (`0x184D2A5?`), which may come first.
    public static func isZstd(_ b: some Collection<UInt8>) -> Bool {
        let h = Array(b.prefix(4))
        return h == [0x28, 0xB5, 0x2F, 0xFD] || (h.count == 4 && h[0] & 0xF0 == 0x50 && h[1...] == [0x2A, 0x4D, 0x18])
    }

    /// Throws `InflateBudget.Exhausted` when the budget runs out and `ParseError` when nothing could
    /// be read; damage after some output ends it there, the output is returned and the damage goes to
    /// `damagedTail`. The skippable frames, which every decoder passes over, are kept in `skippable`
    /// (up to its cap).
    public static func decompress(_ bytes: [UInt8], name: String, budget: inout InflateBudget, damagedTail: inout ParseError?,
                                  skippable: inout CappedBytes) throws -> [UInt8] {
        var out: [UInt8] = []
        let shown = "'\(Redactor.quote(name, max: 120))'"
        // The secret scan's budget is the one that counts; the layer budget's own limits lie beyond it.
        let stream: ZstdStream
        do { stream = try ZstdStream(MemoryStream(bytes), name: shown, budget: InflatedBytes(limit: .max), keepingHidden: skippable.cap, whole: "file") }
        catch { throw ParseError("\(shown) \(error.message)") }
        defer { skippable = stream.skippableFrames }
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        do {
            while true {
                let n = try withBytes(&chunk) { (b) throws(ImageError) -> Int in try stream.read(into: b) }
                if n == 0 { return out }
                guard UInt64(n) <= budget.remaining else { budget.remaining = 0; throw InflateBudget.Exhausted(limit: budget.limit) }
                budget.remaining -= UInt64(n)
                out += chunk[0..<n]
            }
        } catch let e as ImageError {
            guard !out.isEmpty else { throw ParseError("\(shown) \(e.message)") }
            damagedTail = ParseError("\(shown) \(e.message)")
            return out
        }
    }
}
