import ProvenantCore
#if canImport(CZlib)
import CZlib
#elseif canImport(zlib)
import zlib
#endif

/// What one top-level archive may cost, against zip bombs: a total of inflated bytes shared by every
/// entry and every nested archive, a compression-ratio cap per entry, and a nesting limit.
public struct ArchiveLimits: Sendable {
    /// Inflated bytes, summed over all entries read from one top-level archive and the archives inside it.
    public var totalInflatedBytes: UInt64 = 512 << 20
    /// The same total may also not exceed this many times the top-level archive's own size (with a
    /// floor of `smallArchiveAllowance`), so a small file cannot make a large amount of work.
    public var maxTotalRatio: UInt64 = 256
    public var smallArchiveAllowance: UInt64 = 16 << 20
    /// An entry that inflates past `ratioCheckedAbove` bytes may not exceed this many times its compressed size.
    public var maxRatio: UInt64 = 200
    public var ratioCheckedAbove: UInt64 = 1 << 20
    /// Archives inside archives are read this many levels deep; deeper ones are reported, not read.
    public var maxNesting = 4
    public init() {}
}

/// The inflated bytes still allowed for one top-level archive; shared by the archives nested in it.
public struct InflateBudget: Sendable {
    public let limits: ArchiveLimits
    public var remaining: UInt64
    public init(_ limits: ArchiveLimits, archiveSize: Int = .max) {
        self.limits = limits
        let (scaled, o) = UInt64(max(0, archiveSize)).multipliedReportingOverflow(by: limits.maxTotalRatio)
        remaining = min(limits.totalInflatedBytes, o ? .max : max(scaled, limits.smallArchiveAllowance))
        limit = remaining
    }
    /// What this archive may inflate in all.
    public let limit: UInt64

    /// Thrown when the archive as a whole has inflated more than its budget: reading it stops.
    public struct Exhausted: Error, CustomStringConvertible {
        public var limit: UInt64
        public var description: String { "archive inflates to more than \(limit >> 20) MiB; stopped reading it, what was read before the limit is kept (zip bomb?)" }
    }
}

/// A zip archive held in memory, read from its central directory with every offset and size checked
/// against the bytes actually present, and inflated against an `InflateBudget`. Nothing declared in a
/// header is trusted: sizes are counted as the data inflates, and a deflate stream must end inside
/// its entry's compressed bytes.
public struct ZipArchive {
    public struct Entry {
        public var path: String
        var method: UInt16
        /// The general-purpose flags; bit 0 marks an encrypted entry.
        var flags: UInt16 = 0
        var compressedSize: UInt64
        var uncompressedSize: UInt64
        /// Where the entry's (compressed) bytes start in the archive; `dataStart + compressedSize` is in range.
        var dataStart: Int
        /// Where its local header starts.
        var headerStart = 0
        public var isDirectory: Bool { path.hasSuffix("/") }
    }

    let bytes: [UInt8]
    public private(set) var entries: [Entry] = []
    /// Bytes before the archive's first record (a zipapp's `#!` line, a launch script): 0 for a zip
    /// that starts the file.
    public private(set) var prefixLength = 0
    /// Each entry's comment and the archive's, which no extraction writes out: a secret scan reads
    /// them (found by review). All of them: the archive is in memory already, and 65,535 entries may
    /// each carry 64 KiB of comment, which a 1 MiB cap left partly scanned.
    public private(set) var comments = CappedBytes(cap: .max)
    /// Ranges whose bytes a reader has elsewhere: the comments (in `comments`) and each local header's
    /// name where it repeats the directory's.
    private var readElsewhere: [Range<Int>] = []
    /// Names and extra fields: each is a part of its own in `bytesOutsideEntries`, so a token that
    /// is a name does not run into the next record's signature (found by helper-180).
    private var ownParts: [Range<Int>] = []
    /// The central directory through the end record and the archive's comment.
    private var directory = 0..<0

    private static func u16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
    private static func u32(_ b: [UInt8], _ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * UInt32($1)) } }
    private static func u64(_ b: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) } }

    /// `start + length` when it fits inside the archive, else nil (also on overflow).
    private func range(_ start: UInt64, _ length: UInt64) -> Range<Int>? {
        let (end, o) = start.addingReportingOverflow(length)
        guard !o, end <= UInt64(bytes.count) else { return nil }
        return Int(start)..<Int(end)
    }

    /// True when `b` starts with a local file header or an empty archive's end record.
    public static func isZip(_ b: [UInt8]) -> Bool {
        b.count >= 4 && b[0] == 0x50 && b[1] == 0x4B && ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6))
    }

    /// Where the end-of-central-directory record is: the last signature within the final 64 KiB + 22
    /// bytes whose comment length reaches the end of the bytes exactly; nil when there is none.
    public static func endRecordOffset(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 22 else { return nil }
        var p = bytes.count - 22
        while p >= max(0, bytes.count - 22 - 0xFFFF) {
            if u32(bytes, p) == 0x0605_4B50, p + 22 + Int(u16(bytes, p + 20)) == bytes.count { return p }
            p -= 1
        }
        return nil
    }

    public init(_ bytes: [UInt8]) throws(ParseError) {
        self.bytes = bytes
        func bad(_ why: String) -> ParseError { ParseError("not a readable zip archive: \(why)") }
        // The end-of-central-directory record: the last signature within the final 64 KiB + 22 bytes.
        guard bytes.count >= 22 else { throw bad("too short") }
        var eocd = -1
        var p = bytes.count - 22
        while p >= max(0, bytes.count - 22 - 0xFFFF) {
            if Self.u32(bytes, p) == 0x0605_4B50 { eocd = p; break }
            p -= 1
        }
        guard eocd >= 0 else { throw bad("no end of central directory record") }
        // Bytes before the archive (a zipapp's `#!` line, a launch script) shift every offset its
        // records give: the directory ends where the end record starts, as Python's zipfile reckons.
        var shift: UInt64 = 0
        var count = UInt64(Self.u16(bytes, eocd + 10))
        var cdSize = UInt64(Self.u32(bytes, eocd + 12))
        var cdOffset = UInt64(Self.u32(bytes, eocd + 16))
        // ZIP64: a locator right before the record points at the 64-bit record.
        if eocd >= 20, Self.u32(bytes, eocd - 20) == 0x0706_4B50 {
            guard let r = range(Self.u64(bytes, eocd - 20 + 8), 56), Self.u32(bytes, r.lowerBound) == 0x0606_4B50 else {
                throw bad("the ZIP64 end of central directory record lies outside the file")
            }
            count = Self.u64(bytes, r.lowerBound + 32)
            cdSize = Self.u64(bytes, r.lowerBound + 40)
            cdOffset = Self.u64(bytes, r.lowerBound + 48)
        }
        let zip64 = eocd >= 20 && Self.u32(bytes, eocd - 20) == 0x0706_4B50
        if !zip64, UInt64(eocd) > cdSize, UInt64(eocd) - cdSize > cdOffset {
            let actual = UInt64(eocd) - cdSize
            if cdSize >= 4, Self.u32(bytes, Int(actual)) == 0x0201_4B50 { shift = actual - cdOffset; cdOffset = actual }
        }
        guard let cd = range(cdOffset, cdSize) else { throw bad("the central directory (offset \(cdOffset), \(cdSize) bytes) lies outside the \(bytes.count)-byte file") }
        // The directory comes before its end record in every archive a tool writes; one said to lie
        // after it trapped the reader where it joins the two (found by fuzzing).
        guard cd.upperBound <= eocd else { throw bad("the central directory (offset \(cdOffset), \(cdSize) bytes) runs past its end record at \(eocd)") }
        // Each record takes at least 46 bytes, so the count cannot claim more than the directory holds.
        guard count <= UInt64(cd.count / 46) else { throw bad("the central directory claims \(count) entries in \(cd.count) bytes") }
        var at = cd.lowerBound
        var firstHeader = Int.max
        for n in 0..<Int(count) {
            guard at + 46 <= cd.upperBound, Self.u32(bytes, at) == 0x0201_4B50 else { throw bad("central directory record \(n + 1) is damaged") }
            let flags = Self.u16(bytes, at + 8), method = Self.u16(bytes, at + 10)
            var csize = UInt64(Self.u32(bytes, at + 20)), usize = UInt64(Self.u32(bytes, at + 24))
            let nameLen = Int(Self.u16(bytes, at + 28)), extraLen = Int(Self.u16(bytes, at + 30)), commentLen = Int(Self.u16(bytes, at + 32))
            var local = UInt64(Self.u32(bytes, at + 42))
            let nameStart = at + 46, extraStart = nameStart + nameLen, next = extraStart + extraLen + commentLen
            guard next <= cd.upperBound else { throw bad("central directory record \(n + 1) runs past the directory") }
            // ZIP64 extended information replaces, in order, each 32-bit field that is all ones.
            var e = extraStart
            while e + 4 <= extraStart + extraLen {
                let id = Self.u16(bytes, e), len = Int(Self.u16(bytes, e + 2))
                guard e + 4 + len <= extraStart + extraLen else { break }
                if id == 0x0001 {
                    var f = e + 4
                    func take(_ v: inout UInt64) {
                        guard v == 0xFFFF_FFFF, f + 8 <= e + 4 + len else { return }
                        v = Self.u64(bytes, f); f += 8
                    }
                    take(&usize); take(&csize); take(&local)
                }
                e += 4 + len
            }
            let path = String(decoding: bytes[nameStart..<extraStart], as: UTF8.self)
            // Named by number, not by name: a name is input, and a secret scan masks its known values
            // only in a name it has whole, not in one this message would shorten (found by helper-117).
            let which = "entry \(entries.count + 1)"
            let (shifted, over) = local.addingReportingOverflow(shift)
            guard !over else { throw bad("the local header of \(which) lies outside the file") }
            local = shifted
            guard let header = range(local, 30), Self.u32(bytes, header.lowerBound) == 0x0403_4B50 else {
                throw bad("the local header of \(which) lies outside the file")
            }
            let skip = 30 + UInt64(Self.u16(bytes, header.lowerBound + 26)) + UInt64(Self.u16(bytes, header.lowerBound + 28))
            guard let data = range(local, skip).flatMap({ range(UInt64($0.upperBound), csize) }) else {
                throw bad("the data of \(which) (\(csize) bytes) runs past the end of the file")
            }
            // An entry is encrypted when either header says so.
            let localFlags = Self.u16(bytes, header.lowerBound + 6)
            entries.append(Entry(path: path, method: method, flags: flags | (localFlags & 1), compressedSize: csize, uncompressedSize: usize,
                                 dataStart: data.lowerBound, headerStart: header.lowerBound))
            ownParts.append(nameStart..<extraStart)
            ownParts.append(extraStart..<(extraStart + extraLen))
            // The local header's name and extra field, in range: `data` starts after both.
            let localName = (header.lowerBound + 30)..<(header.lowerBound + 30 + Int(Self.u16(bytes, header.lowerBound + 26)))
            let localExtra = localName.upperBound..<(localName.upperBound + Int(Self.u16(bytes, header.lowerBound + 28)))
            // Said once when both headers hold the same extra field, as for the name.
            if bytes[localExtra].elementsEqual(bytes[extraStart..<(extraStart + extraLen)]) { readElsewhere.append(localExtra) } else { ownParts.append(localExtra) }
            firstHeader = min(firstHeader, header.lowerBound)
            if commentLen > 0 {
                comments.appendPart(bytes[(extraStart + extraLen)..<next])
                readElsewhere.append((extraStart + extraLen)..<next)
            }
            if bytes[localName].elementsEqual(bytes[nameStart..<extraStart]) { readElsewhere.append(localName) } else { ownParts.append(localName) }
            at = next
        }
        // The archive's own comment, after the end record (as long as the file has it).
        let archiveComment = (eocd + 22)..<min(bytes.count, eocd + 22 + Int(Self.u16(bytes, eocd + 20)))
        if !archiveComment.isEmpty {
            comments.appendPart(bytes[archiveComment])
            readElsewhere.append(archiveComment)
        }
        prefixLength = min(firstHeader, Int(cdOffset))
        directory = cd.lowerBound..<max(eocd + 22, archiveComment.upperBound)
        // Entries never share bytes in a real archive; many records pointing at one compressed blob
        // would make a small file inflate the same data over and over.
        let spans = entries.filter { $0.compressedSize > 0 }.map { $0.dataStart..<($0.dataStart + Int($0.compressedSize)) }
            .sorted { $0.lowerBound < $1.lowerBound }
        for (a, b) in zip(spans, spans.dropFirst()) where b.lowerBound < a.upperBound {
            throw bad("entries share compressed data (at offset \(b.lowerBound)); refused as a zip bomb")
        }
    }

    /// What follows the end record and the archive's comment: another archive (`cat a.zip b.gz`) is
    /// opened there, as after a tar's end (found by helper-180).
    public var trailing: Range<Int> { directory.upperBound..<bytes.count }

    /// Local entries the central directory does not list, found by their signature in the bytes no
    /// listed entry or the directory holds (the prefix included): Java's streaming reader (`jar x <`)
    /// extracts them, and a deflated one passed a secret scan (found by helper-180). At most 10,000;
    /// one with a data descriptor runs to the end of its stretch (deflate ends itself). Made when
    /// asked: the SBOM's jar reader never does.
    public func unlistedEntries() -> [Entry] {
        var taken = entries.map { $0.headerStart..<($0.dataStart + Int($0.compressedSize)) } + [directory, trailing]
        taken.sort { $0.lowerBound < $1.lowerBound }
        var found: [Entry] = []
        var at = 0
        func search(_ gap: Range<Int>) {
            var p = gap.lowerBound
            while p + 30 <= gap.upperBound, found.count < 10_000 {
                guard bytes[p] == 0x50, Self.u32(bytes, p) == 0x0403_4B50 else { p += 1; continue }
                let flags = Self.u16(bytes, p + 6), method = Self.u16(bytes, p + 8)
                let csize = Int(Self.u32(bytes, p + 18)), usize = UInt64(Self.u32(bytes, p + 22))
                let nameLength = Int(Self.u16(bytes, p + 26)), nameEnd = p + 30 + nameLength
                let dataStart = nameEnd + Int(Self.u16(bytes, p + 28))
                // Only what could be an entry: a stub that holds the signature as data (a self-extractor
                // looks for it) has no name, an unknown method or the encrypted flag there.
                guard (1...4096).contains(nameLength), method == 0 || method == 8, flags & 1 == 0,
                      nameEnd <= gap.upperBound, dataStart <= gap.upperBound else { p += 4; continue }
                // Without a size (one in a data descriptor after it), the data runs to the next local
                // header or descriptor signature: deflate ends itself, and entries never overlap, so the
                // work stays linear in the file (found by helper-181).
                let length: Int
                if csize > 0 && csize <= gap.upperBound - dataStart {
                    length = csize
                } else {
                    var q = dataStart
                    while q + 4 <= gap.upperBound, !(bytes[q] == 0x50 && bytes[q + 1] == 0x4B && (Self.u16(bytes, q + 2) == 0x0403 || Self.u16(bytes, q + 2) == 0x0807)) { q += 1 }
                    length = (q + 4 <= gap.upperBound ? q : gap.upperBound) - dataStart
                }
                found.append(Entry(path: String(decoding: bytes[(p + 30)..<nameEnd], as: UTF8.self), method: method, flags: flags,
                                   compressedSize: UInt64(length), uncompressedSize: usize, dataStart: dataStart, headerStart: p))
                p = dataStart + length
            }
        }
        for r in taken {
            if r.lowerBound > at { search(at..<r.lowerBound) }
            at = max(at, r.upperBound)
        }
        return found
    }

    /// The bytes of the archive, after its prefix and before `trailing`, that no entry's content or
    /// comment holds: the headers' fixed fields, data descriptors, whatever lies between entries, and
    /// as parts of their own each name (once) and extra field. No extraction writes them out, and a
    /// token there passed a secret scan that `grep` would have failed (found by helper-179). The bytes
    /// of `unlisted` (from `unlistedEntries`) are kept too, what they hold may not read as their content,
    /// and their names are parts of their own as well. Made when asked: the SBOM's jar reader never
    /// does. Held in memory already, they are kept whole.
    public func bytesOutsideEntries(unlisted: [Entry] = []) -> CappedBytes {
        var covered = readElsewhere + ownParts + [trailing]
        for e in entries where e.compressedSize > 0 { covered.append(e.dataStart..<(e.dataStart + Int(e.compressedSize))) }
        let unlistedNames = unlisted.map { ($0.headerStart + 30)..<($0.headerStart + 30 + Int(Self.u16(bytes, $0.headerStart + 26))) }
        covered.sort { $0.lowerBound < $1.lowerBound }
        var out = CappedBytes(cap: .max)
        var at = prefixLength
        for r in covered {
            if r.lowerBound > at { out.appendPart(bytes[at..<r.lowerBound]) }
            at = max(at, r.upperBound)
        }
        for r in ownParts + unlistedNames where !r.isEmpty { out.appendPart(bytes[r]) }
        return out
    }

    /// How the message ends when an entry inflates past the ratio a real archive has.
    public static let bombRefusal = "not read (zip bomb?)"

    /// The entry's content, inflated while counting against `budget`. Throws `InflateBudget.Exhausted`
    /// when the archive as a whole is over budget, and `ParseError` for this entry alone otherwise.
    public func read(_ e: Entry, budget: inout InflateBudget) throws -> [UInt8] {
        let limits = budget.limits
        func count(_ produced: UInt64, total: UInt64) throws {
            guard produced <= budget.remaining else {
                budget.remaining = 0
                throw InflateBudget.Exhausted(limit: budget.limit)
            }
            budget.remaining -= produced
            let (cap, o) = e.compressedSize.multipliedReportingOverflow(by: limits.maxRatio)
            if total > limits.ratioCheckedAbove, !o, total > cap {
                var refusal = ParseError("'\(Redactor.quote(e.path, max: 120))' inflates more than \(limits.maxRatio) times its \(e.compressedSize) compressed bytes; \(Self.bombRefusal)")
                refusal.refusedAsBomb = true
                throw refusal
            }
        }
        let src = e.dataStart..<(e.dataStart + Int(e.compressedSize))
        // Ciphertext read as content says nothing of what it hides: an encrypted entry stored
        // uncompressed was scanned as text and passed clean (found by helper-132).
        guard e.flags & 1 == 0 else { throw ParseError("'\(Redactor.quote(e.path, max: 120))' is encrypted; not read") }
        switch e.method {
        case 0:
            try count(UInt64(src.count), total: UInt64(src.count))
            return Array(bytes[src])
        case 8:
            return try Inflate.run(bytes, src, windowBits: -MAX_WBITS, path: e.path) { try count($0, total: $1) }
        default:
            throw ParseError("'\(Redactor.quote(e.path, max: 120))' uses compression method \(e.method), which is not supported")
        }
    }

}

/// zlib inflation of an in-memory stream, counted chunk by chunk so a budget can stop it.
enum Inflate {
    /// Inflates exactly `src` of `bytes`: raw deflate with `windowBits` -15, gzip with 31.
    /// `step(produced, total)` sees every chunk before it is kept. With `members`, gzip members that
    /// follow one another (`cat a.gz b.gz`, what `gzip` itself reads as one file) are all inflated.
    static func run(_ bytes: [UInt8], _ src: Range<Int>, windowBits: Int32, path: String, members: Bool = false,
                    step: (UInt64, UInt64) throws -> Void) throws -> [UInt8] {
        var damaged: ParseError?
        return try run(bytes, src, windowBits: windowBits, path: path, members: members, damagedTail: &damaged, step: step)
    }

    /// With `members`, damage after the first complete member ends the inflation there: what the
    /// complete members held is returned and the damage goes to `damagedTail`. `nextMember` is told
    /// the offset in `bytes` where each member after the first begins.
    static func run(_ bytes: [UInt8], _ src: Range<Int>, windowBits: Int32, path: String, members: Bool,
                    damagedTail: inout ParseError?, nextMember: (Int) -> Void = { _ in },
                    step: (UInt64, UInt64) throws -> Void) throws -> [UInt8] {
        func corrupt(_ why: String) -> ParseError { ParseError("'\(Redactor.quote(path, max: 120))' has damaged deflate data: \(why)") }
        guard src.count <= Int(UInt32.max) else { throw corrupt("compressed entry larger than 4 GiB") }
        var stream = z_stream()
        guard inflateInit2_(&stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw corrupt("zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var total: UInt64 = 0
        // Where the output of the members completed so far ends.
        var completeEnd = -1
        do {
        try bytes.withUnsafeBufferPointer { all in
            stream.next_in = UnsafeMutablePointer(mutating: all.baseAddress.map { $0 + src.lowerBound })
            stream.avail_in = UInt32(src.count)
            while true {
                var rc: Int32 = Z_OK
                let produced = chunk.withUnsafeMutableBufferPointer { buf -> Int in
                    stream.next_out = buf.baseAddress
                    stream.avail_out = UInt32(buf.count)
                    rc = CZlibInflate(&stream)
                    return buf.count - Int(stream.avail_out)
                }
                guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else { throw corrupt("zlib error \(rc)") }
                total += UInt64(produced)
                try step(UInt64(produced), total)
                out += chunk[0..<produced]
                if rc == Z_STREAM_END {
                    completeEnd = out.count
                    guard members, stream.avail_in > 0, let next = stream.next_in else { return }
                    let rest = UnsafeBufferPointer(start: next, count: Int(stream.avail_in))
                    // Another member (gzip), or another stream (zlib): inflated too.
                    let another = windowBits == MAX_WBITS ? rest.count >= 2 && Zlib.isZlib([rest[0], rest[1]])
                        : rest.count >= 3 && rest[0] == 0x1f && rest[1] == 0x8b && rest[2] == 8
                    if another {
                        if let base = all.baseAddress { nextMember(UnsafePointer(next) - base) }
                        guard inflateReset(&stream) == Z_OK else { throw corrupt("zlib could not restart for the next member") }
                        continue
                    }
                    // Zeros padding a block are nothing; other bytes after the last stream are said, not
                    // dropped unseen (a token appended in clear, found by review).
                    if rest.allSatisfy({ $0 == 0 }) { return }
                    throw corrupt("\(rest.count) bytes follow the last compressed stream and are not another")
                }
                // Every pass either makes output (bounded by the budget) or ends here: a stream that
                // stops before its end marker cannot spin.
                if produced == 0 { throw corrupt("the stream ends before its last block") }
            }
        }
        } catch let e as ParseError where members && completeEnd >= 0 {
            damagedTail = e
            return Array(out[0..<completeEnd])
        }
        return out
    }
}

/// A gzip file (every member, one after another, as `gzip -d` reads it), inflated against a budget.
public enum Gzip {
    public static func isGzip(_ b: [UInt8]) -> Bool { b.count >= 3 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8 }

    /// The first member's header fields no decompressor writes out (FEXTRA, FNAME, FCOMMENT), a line
    /// break between them, at most `cap` (`cut` when more was left out, found by helper-179): a
    /// writer may put anything there, and a secret scan reads them (found by review: a token as a
    /// `.gz` file's stored name passed).
    public static func headerFields(_ b: [UInt8], cap: Int = 1 << 20) -> CappedBytes {
        var out = CappedBytes(cap: cap)
        headerFields(b, at: 0, into: &out)
        return out
    }

    /// Adds the header fields of the member that begins at `start` to `out`.
    static func headerFields(_ b: [UInt8], at start: Int, into out: inout CappedBytes) {
        guard start >= 0, start <= b.count - 10, isGzip(Array(b[start..<(start + 3)])) else { return }
        let flags = b[start + 3]
        var at = start + 10
        if flags & 0x04 != 0 {
            guard at + 2 <= b.count else { return }
            let end = min(b.count, at + 2 + (Int(b[at]) | Int(b[at + 1]) << 8))
            out.appendPart(b[(at + 2)..<end])
            at = end
        }
        for bit: UInt8 in [0x08, 0x10] where flags & bit != 0 {
            guard at < b.count else { break }
            let end = b[at...].firstIndex(of: 0) ?? b.count
            out.appendPart(b[at..<end])
            at = end + 1
        }
    }

    /// Throws `InflateBudget.Exhausted` when the budget runs out, `ParseError` when the first member is
    /// damaged. Damage in a later member ends the output after the last complete one and is reported in
    /// `damagedTail`. Each later member's header fields are added to `headers`: `cat a.gz b.gz` keeps
    /// `b.gz`'s name and comment as well, which no reader writes out either (found by helper-179).
    public static func decompress(_ bytes: [UInt8], name: String, budget: inout InflateBudget, damagedTail: inout ParseError?,
                                  headers: inout CappedBytes) throws -> [UInt8] {
        var remaining = budget.remaining
        let limit = budget.limit
        defer { budget.remaining = remaining }
        var starts: [Int] = []
        defer { for s in starts { headerFields(bytes, at: s, into: &headers) } }
        return try Inflate.run(bytes, 0..<bytes.count, windowBits: 16 + MAX_WBITS, path: name, members: true, damagedTail: &damagedTail,
                               nextMember: { starts.append($0) }) { produced, _ in
            guard produced <= remaining else { remaining = 0; throw InflateBudget.Exhausted(limit: limit) }
            remaining -= produced
        }
    }
}

/// A zlib stream (RFC 1950): what HTTP's `deflate` content coding and many libraries' "compress"
/// write, inflated against a budget.
public enum Zlib {
    /// A two-byte header zlib accepts: deflate (CM 8) with a window of at most 32 KiB, no preset
    /// dictionary, and its check bits right.
    public static func isZlib(_ b: [UInt8]) -> Bool {
        guard b.count >= 2 else { return false }
        return b[0] & 0x0F == 8 && b[0] >> 4 <= 7 && b[1] & 0x20 == 0 && (Int(b[0]) << 8 | Int(b[1])) % 31 == 0
    }

    /// The headers zlib itself writes (a 32 KiB window, any level): `78 01`, `78 9C`, `78 DA`, which
    /// text never starts with, and `78 5E` (`x^`, which `x^2 + y^2` starts with too: only with a control
    /// byte after it, found by review). Other valid headers (`hC`, `HK`) begin ordinary text, so only
    /// these are sure enough to call damaged when they fail.
    public static func isStandard(_ b: [UInt8]) -> Bool {
        guard b.count >= 2, b[0] == 0x78 else { return false }
        if [0x01, 0x9C, 0xDA].contains(b[1]) { return true }
        return b[1] == 0x5E && hasControlByte(b.dropFirst(2).prefix(8190))
    }

    /// A byte text does not hold: below tab, between carriage return and space but ESC (a colour
    /// code is text, as the scanner's binary test has it; found by review), or DEL.
    public static func hasControlByte(_ b: some Sequence<UInt8>) -> Bool {
        b.contains { $0 < 9 || ($0 > 13 && $0 < 32 && $0 != 27) || $0 == 127 }
    }

    /// Throws `InflateBudget.Exhausted` when the budget runs out, `ParseError` when the first stream
    /// is damaged (its checksum included). Streams that follow one another are all inflated; what
    /// follows them that is no stream is reported in `damagedTail`, the output kept.
    public static func decompress(_ bytes: [UInt8], name: String, budget: inout InflateBudget, damagedTail: inout ParseError?) throws -> [UInt8] {
        var remaining = budget.remaining
        let limit = budget.limit
        defer { budget.remaining = remaining }
        return try Inflate.run(bytes, 0..<bytes.count, windowBits: MAX_WBITS, path: name, members: true, damagedTail: &damagedTail) { produced, _ in
            guard produced <= remaining else { remaining = 0; throw InflateBudget.Exhausted(limit: limit) }
            remaining -= produced
        }
    }
}

/// `inflate` with no flush, named so the call reads the same whichever zlib module provides it.
@inline(__always) private func CZlibInflate(_ s: inout z_stream) -> Int32 { inflate(&s, Z_NO_FLUSH) }
