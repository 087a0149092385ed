/// Bytes gathered from many parts under one cap, a line break between parts: what a secret scan
/// keeps of the bytes no runtime reads (tar padding, gzip header fields and trailing bytes, zstd
/// skippable frames). The line break counts against the cap, and `cut` says whether anything was
/// left out.
public struct CappedBytes: Sendable, Equatable {
    public let cap: Int
    public private(set) var bytes: [UInt8] = []
    public private(set) var cut = false
    /// Set when the part being kept was left out whole: its later chunks are left out too.
    private var refusing = false

    public init(cap: Int) { self.cap = max(0, cap) }

    /// Bytes that can still be kept.
    public var room: Int { cap - bytes.count }
    /// Nothing kept and nothing left out: there is nothing to report.
    public var isEmpty: Bool { bytes.isEmpty && !cut }

    /// Starts a new part, after a line break when something is kept already. A part for which only
    /// the line break would fit is left out whole.
    public mutating func appendPart<C: Collection<UInt8>>(_ part: C) {
        guard !part.isEmpty else { return }
        refusing = false
        if !bytes.isEmpty {
            guard room > 1 else { cut = true; refusing = true; return }
            bytes.append(10)
        }
        append(part)
    }

    /// Starts a new part of a tar block's padding, from its first non-zero byte; nothing when every
    /// byte is zero. The zeros after the last non-zero byte stay: an archive hidden there ends in
    /// zero fields (a zip's comment length).
    public mutating func appendPadding(_ part: ArraySlice<UInt8>) {
        guard let first = part.firstIndex(where: { $0 != 0 }) else { return }
        appendPart(part[first...])
    }

    /// Adds to the part being kept, as a stream's bytes arrive in chunks.
    public mutating func append<C: Collection<UInt8>>(_ more: C) {
        guard !refusing else { if !more.isEmpty { cut = true }; return }
        let take = min(more.count, room)
        if take > 0 { bytes += more.prefix(take) }
        if take < more.count { cut = true }
    }

    /// Records that something was left out before it reached here (a field a decoder shortened).
    public mutating func markCut() { cut = true }
}
