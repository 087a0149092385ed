import ProvenantCore

/// One entry of a layer's tar stream, its header read; its data is next in the stream.
public struct TarHeader: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case file, hardLink, symbolicLink, directory
        /// Devices, FIFOs and anything else: listed for policy, never read.
        case other(UInt8)
    }
    public var name: String
    public var kind: Kind
    public var size: Int
    public var mode: Int
    public var uid: Int
    public var gid: Int
    /// The target of a link.
    public var linkName: String
    /// `SCHILY.xattr.*` pax records, keyed without the prefix (`security.capability`).
    public var xattrs: [String: [UInt8]]
}

/// A tar stream read entry by entry from a `ByteStream`: ustar, GNU long names and links (`L`, `K`),
/// and pax extended headers (`path`, `linkpath`, `size`, `uid`, `gid`, `SCHILY.xattr.*`). Nothing is
/// buffered beyond one header; the data of an entry is read or skipped by the caller. Every number is
/// parsed with checked arithmetic, and a stream that ends inside an entry is an error.
public final class StreamingTar {
    let stream: ByteStream
    let name: String
    /// Bytes of the current entry's data not yet consumed, and its padding.
    var dataLeft = 0
    var padLeft = 0
    var entries = 0
    var ended = false
    var block = [UInt8](repeating: 0, count: 512)
    /// When set, `extendedHeaders` keeps what `next()` read before its entry (or before the end).
    public var keepsExtendedHeaders = false
    /// The extended headers (pax, global pax, GNU long name and long link) the last `next()` read,
    /// their data as stored, when `keepsExtendedHeaders` is set: a secret scan reads what they carry,
    /// which no file of the layer holds.
    public private(set) var extendedHeaders: [[UInt8]] = []
    /// Set when the headers before one entry passed `keptHeaderBytes`: the rest were read past, not kept.
    public private(set) var extendedHeadersCut = false
    /// Extended headers kept before one entry, at most: thousands of 1 MiB pax headers in a row held
    /// gigabytes (found by review).
    public static let keptHeaderBytes = 8 << 20
    private var keptBytes = 0

    /// Long names, pax headers and the like may not exceed this.
    public static let maxMetaSize = 1 << 20
    /// Entries per layer, against streams of millions of empty entries.
    public static let maxEntries = 2_000_000

    public init(_ stream: ByteStream, name: String) { self.stream = stream; self.name = name }

    /// The next entry's header, or nil at the end of the archive.
    ///
    /// Headers are decoded as Go's archive/tar decodes them, since containerd, Docker, skopeo and umoci
    /// all extract layers with it: any difference would let a layer put files on disk that this reader
    /// never listed. So: links, devices, FIFOs and directories carry no data whatever their size says;
    /// empty pax values are ignored; a GNU long name or link wins over pax `path` or `linkpath`; of
    /// several pax headers in a row only the last applies; a global header ends any pending extended
    /// headers; an old-style (NUL) regular file whose name ends in '/' is a directory; and only ustar
    /// headers (magic `ustar\0`) have a name prefix, GNU ones keep times there.
    public func next() throws(ImageError) -> TarHeader? {
        try skipData()
        if !extendedHeaders.isEmpty || extendedHeadersCut { extendedHeaders.removeAll(); extendedHeadersCut = false; keptBytes = 0 }
        guard !ended else { return nil }
        var longName: String?, longLink: String?
        var pax: [String: [UInt8]]?
        while true {
            guard try readBlock() else {
                // A stream that stops at a block boundary without the two zero blocks is accepted
                // (some writers omit them), as GNU tar does.
                ended = true
                if longName != nil || longLink != nil || pax != nil { throw ImageError(name, "ends after an extended header, before its entry (truncated layer)") }
                return nil
            }
            if block.allSatisfy({ $0 == 0 }) { ended = true; return nil }
            guard TarArchive.checksumMatches(block, 0) else {
                throw ImageError(name, "has a tar header with a bad checksum after entry \(entries) (corrupt or not a tar layer)")
            }
            entries += 1
            guard entries <= Self.maxEntries else { throw ImageError(name, "has more than \(Self.maxEntries) tar entries; stopped") }
            guard let size = TarArchive.octal(block, 124, 12) else { throw ImageError(name, "has a tar header with an unreadable size") }
            var type = block[156]
            switch type {
            case UInt8(ascii: "L"), UInt8(ascii: "K"), UInt8(ascii: "x"):
                guard size <= Self.maxMetaSize else { throw ImageError(name, "has an extended header of \(size) bytes; refused") }
                keepUnusedFields(usesName: false, usesLink: false)
                let meta = try readMeta(size)
                keep(meta)
                if type == UInt8(ascii: "L") { longName = TarArchive.cString(meta[...]) }
                else if type == UInt8(ascii: "K") { longLink = TarArchive.cString(meta[...]) }
                // A later pax header replaces an earlier one (Go does not merge them).
                else { pax = try Self.paxRecords(meta, name: name) }
                continue
            case UInt8(ascii: "g"):
                // A global pax header changes defaults this reader does not use. Go returns it as an entry
                // of its own, which extractors skip, so whatever extended headers preceded it apply to nothing.
                guard size <= Self.maxMetaSize else { throw ImageError(name, "has a global header of \(size) bytes; refused") }
                keepUnusedFields(usesName: false, usesLink: false)
                let meta = try readMeta(size)
                keep(meta)
                longName = nil; longLink = nil; pax = nil
                continue
            default:
                break
            }
            // Go rejects a header whose mode, uid or gid does not parse, so no runtime extracts it.
            guard let mode = TarArchive.goNumeric(block, 100, 8), let uid = TarArchive.goNumeric(block, 108, 8),
                  let gid = TarArchive.goNumeric(block, 116, 8) else {
                throw ImageError(name, "has a tar header with an unreadable mode, uid or gid after entry \(entries - 1)")
            }
            try Self.refuseSparse(type, pax, name: name)
            var header = TarHeader(name: Self.entryName(block), kind: .file, size: size, mode: Self.permissions(mode),
                                   uid: Self.ownerID(uid), gid: Self.ownerID(gid),
                                   linkName: TarArchive.cString(block[157..<257]), xattrs: [:])
            for (k, v) in pax ?? [:] where !v.isEmpty {
                switch k {
                case "path": header.name = TarName.decode(v)
                case "linkpath": header.linkName = TarName.decode(v)
                case "size":
                    guard let s = Self.paxSize(v) else { throw ImageError(name, "has a pax size that is not a number of bytes") }
                    header.size = s
                case "uid", "gid":
                    guard let id = Int64(String(decoding: v, as: UTF8.self)) else { throw ImageError(name, "has a pax \(k) that is not a number") }
                    if k == "uid" { header.uid = Self.ownerID(id) } else { header.gid = Self.ownerID(id) }
                default:
                    if k.hasPrefix("SCHILY.xattr.") { header.xattrs[String(k.dropFirst(13))] = v }
                }
            }
            if let l = longName, !l.isEmpty { header.name = l }
            if let l = longLink, !l.isEmpty { header.linkName = l }
            if keepsExtendedHeaders {
                let read = Self.fieldsRead(type: type, longName: longName, longLink: longLink, pax: pax)
                keepUnusedFields(usesName: read.name, usesLink: read.link)
            }
            if type == 0 { type = header.name.hasSuffix("/") ? UInt8(ascii: "5") : UInt8(ascii: "0") }
            switch type {
            case UInt8(ascii: "0"), UInt8(ascii: "7"): header.kind = .file
            case UInt8(ascii: "1"): header.kind = .hardLink
            case UInt8(ascii: "2"): header.kind = .symbolicLink
            case UInt8(ascii: "5"): header.kind = .directory
            default: header.kind = .other(type)
            }
            let carries = !Self.isHeaderOnly(type)
            dataLeft = carries ? header.size : 0
            padLeft = carries ? (512 - header.size % 512) % 512 : 0
            return header
        }
    }

    /// The mode bits a runtime applies (Go's `FileInfo().Mode()`): permissions, setuid, setgid and
    /// sticky, from the low 12 bits of the field, whatever it holds above them (a negative base-256
    /// value included).
    static func permissions(_ mode: Int64) -> Int { Int(mode & 0o7777) }

    /// The owner a runtime gives the file: Go passes the id to `lchown`, whose `uid_t` keeps the low 32
    /// bits, and -1 there leaves the owner unchanged: the extracting process's, root.
    static func ownerID(_ id: Int64) -> Int {
        let kept = UInt32(truncatingIfNeeded: id)
        return kept == UInt32.max ? 0 : Int(kept)
    }

    /// GNU sparse files (type `S`, or pax `GNU.sparse.*` records) are expanded by Go's reader, which
    /// also renames them from `GNU.sparse.name` and sizes them from `GNU.sparse.realsize`: a runtime
    /// would write a file this reader never listed, or other bytes than it read. No image builder
    /// writes them, so a layer holding one is refused.
    static func refuseSparse(_ type: UInt8, _ pax: [String: [UInt8]]?, name: String) throws(ImageError) {
        if type == UInt8(ascii: "S") { throw ImageError(name, "has a GNU sparse file entry, which this reader does not expand; refused") }
        if let key = pax?.keys.first(where: { $0.hasPrefix("GNU.sparse.") }) {
            throw ImageError(name, "has a GNU sparse pax record (\(Redactor.escapeControls(Redactor.quote(key, max: 40)))), which this reader does not expand; refused")
        }
    }

    /// Types whose entries carry no data whatever their size field says (Go's `isHeaderOnlyType`): hard
    /// and symbolic links, character and block devices, directories and FIFOs.
    static func isHeaderOnly(_ type: UInt8) -> Bool { type >= UInt8(ascii: "1") && type <= UInt8(ascii: "6") }

    /// A header's own name: the name field, after the prefix field in a ustar header (magic
    /// `ustar\0`; its star variant, with `tar\0` at 508, has a shorter prefix). A GNU header (`ustar `,
    /// version ` \0`) keeps access and change times where ustar has the prefix, and an old one has
    /// neither; but when a GNU header's access or change time is set and does not parse as a number, Go
    /// reads the field as a ustar prefix after all if it is ASCII (its fallback for archives Go wrote
    /// before 1.8, golang.org/issue/12594), and so do containerd, Docker and umoci: a file this reader
    /// named `evil` was put at `usr/bin/evil` (found by re-reading, checked with umoci).
    static func entryName(_ b: [UInt8]) -> String {
        let n = TarArchive.cString(b[0..<100])
        let magic = b[257..<263]
        if magic.elementsEqual("ustar\0".utf8) {
            let star = b[508..<512].elementsEqual("tar\0".utf8)
            let prefix = TarArchive.cString(b[345..<(star ? 476 : 500)])
            return prefix.isEmpty ? n : prefix + "/" + n
        }
        guard magic.elementsEqual("ustar ".utf8), b[263..<265].elementsEqual(" \0".utf8), gnuTimesReadAsPrefix(b, 0) else { return n }
        let field = b[345..<500]
        let prefix = field[..<(field.firstIndex(of: 0) ?? field.endIndex)]
        guard !prefix.isEmpty, prefix.allSatisfy({ $0 < 0x80 }) else { return n }
        return String(decoding: prefix, as: UTF8.self) + "/" + n
    }

    /// Whether a runtime reads a header's name and link fields, after the extended headers before it:
    /// a GNU long name or pax `path` replaces the name, a long link or pax `linkpath` the link, which
    /// only links read (empty values are ignored, as Go ignores them).
    static func fieldsRead(type: UInt8, longName: String?, longLink: String?, pax: [String: [UInt8]]?) -> (name: Bool, link: Bool) {
        let nameReplaced = !(longName ?? "").isEmpty || !(pax?["path"] ?? []).isEmpty
        let linkReplaced = !(longLink ?? "").isEmpty || !(pax?["linkpath"] ?? []).isEmpty
        return (!nameReplaced, (type == UInt8(ascii: "1") || type == UInt8(ascii: "2")) && !linkReplaced)
    }

    /// Whether Go reads the times of the GNU header at `at` as a ustar prefix: one of them is set and
    /// does not parse as a number (see `entryName`).
    static func gnuTimesReadAsPrefix(_ b: [UInt8], _ at: Int) -> Bool {
        (b[at + 345] != 0 && TarArchive.goNumeric(b, at + 345, 12) == nil) || (b[at + 357] != 0 && TarArchive.goNumeric(b, at + 357, 12) == nil)
    }

    /// A pax `size` value, or nil when it is not a plausible number of bytes.
    static func paxSize(_ v: [UInt8]) -> Int? {
        guard let s = Int(String(decoding: v, as: UTF8.self)), s >= 0, s < Int(Int32.max) * 1024 else { return nil }
        return s
    }

    /// Reads the current entry's data whole (it must be at most `limit` bytes).
    public func readData(limit: Int) throws(ImageError) -> [UInt8] {
        guard dataLeft <= limit else { throw ImageError(name, "entry of \(dataLeft) bytes exceeds \(limit) bytes") }
        // Read into uninitialised storage: zeroing it first was a pass over every kept byte.
        var failure: ImageError?
        let out = [UInt8](unsafeUninitializedCapacity: dataLeft) { b, count in
            do throws(ImageError) {
                count = try stream.readFully(into: UnsafeMutableRawBufferPointer(b))
            } catch { failure = error; count = 0 }
        }
        if let failure { throw failure }
        guard out.count == dataLeft else { throw ImageError(name, "ends inside a file's data (truncated layer)") }
        dataLeft = 0
        return out
    }

    /// Reads up to `count` bytes of the current entry's data (fewer only at its end).
    public func readData(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        let want = min(buffer.count, dataLeft)
        guard want > 0 else { return 0 }
        let got = try stream.readFully(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]))
        guard got == want else { throw ImageError(name, "ends inside a file's data (truncated layer)") }
        dataLeft -= got
        return got
    }

    /// Reads the archive to its end, for a digest over all of it.
    public func drain() throws(ImageError) {
        while try next() != nil {}
        while try stream.skip(1 << 30) > 0 {}
    }

    private func keep(_ meta: [UInt8]) {
        guard keepsExtendedHeaders else { return }
        guard keptBytes + meta.count <= Self.keptHeaderBytes else { extendedHeadersCut = true; return }
        keptBytes += meta.count
        extendedHeaders.append(meta)
    }

    /// After the end of the archive: reads what the stream holds past it, for a digest over all of it,
    /// and returns up to `keep` bytes of it from the first 512-byte block that is not all zeros (writers
    /// pad with zeros; a second archive appended starts on a block), with whether more followed; nil
    /// when all of it is zeros. A secret scan reads those bytes, which no extractor writes out but
    /// everyone who pulls the layer gets.
    public func trailingBytes(keep: Int) throws(ImageError) -> (bytes: [UInt8], more: Bool)? {
        while try next() != nil {}
        var kept = CappedBytes(cap: keep), nonZero = false
        // A multiple of 512, and the stream is at a block boundary: a block never spans two chunks.
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = try withBytes(&chunk) { (b) throws(ImageError) -> Int in try stream.readFully(into: b) }
            if got == 0 { break }
            var part = chunk[..<got]
            if !nonZero {
                guard let first = part.firstIndex(where: { $0 != 0 }) else { continue }
                nonZero = true
                part = part[(first / 512 * 512)...]
            }
            kept.append(part)
        }
        return nonZero ? (kept.bytes, kept.cut) : nil
    }

    /// The header bytes no runtime reads (`TarArchive.unusedHeaderFields`), kept when
    /// `keepsExtendedHeaders` is set: each range a part, once (Go's writer puts the same owner names and
    /// device numbers in every header), at most `keptHeaderBytes` until `takeUnusedFields()`.
    public private(set) var unusedFields = CappedBytes(cap: keptHeaderBytes)
    private var seenFields: Set<[UInt8]> = []

    private func keepUnusedFields(usesName: Bool, usesLink: Bool) {
        guard keepsExtendedHeaders else { return }
        for r in TarArchive.unusedHeaderFields(block, 0, usesName: usesName, usesLink: usesLink) {
            let part = Array(block[r])
            if seenFields.insert(part).inserted { unusedFields.appendPart(part) }
        }
    }

    /// The unused header bytes kept so far, which are then let go: a scan takes them as they grow, so
    /// a layer of millions of entries is read in pieces, not cut at the cap.
    public func takeUnusedFields() -> CappedBytes {
        defer { unusedFields = CappedBytes(cap: Self.keptHeaderBytes); seenFields = [] }
        return unusedFields
    }

    /// The padding after entries' data that is not zeros, kept when `keepsExtendedHeaders` is set (a
    /// secret scan): no extractor writes it out, and a writer may put anything there (found by review).
    /// Each entry's, a line break between them, at most `keptHeaderBytes` in all.
    public private(set) var padding = CappedBytes(cap: keptHeaderBytes)

    private func skipData() throws(ImageError) {
        if keepsExtendedHeaders, padLeft > 0 {
            let data = dataLeft, pad = padLeft
            dataLeft = 0; padLeft = 0
            guard try stream.skip(data) == data else { throw ImageError(name, "ends inside a file's data (truncated layer)") }
            var bytes = [UInt8](repeating: 0, count: pad)
            let got = try withBytes(&bytes) { (b) throws(ImageError) -> Int in try stream.readFully(into: b) }
            guard got == pad else { throw ImageError(name, "ends inside a file's data (truncated layer)") }
            padding.appendPadding(bytes[...])
            return
        }
        let left = dataLeft + padLeft
        dataLeft = 0; padLeft = 0
        guard left > 0 else { return }
        guard try stream.skip(left) == left else { throw ImageError(name, "ends inside a file's data (truncated layer)") }
    }

    private func readBlock() throws(ImageError) -> Bool {
        let got = try withBytes(&block) { (b) throws(ImageError) -> Int in try stream.readFully(into: b) }
        if got == 0 { return false }
        guard got == 512 else { throw ImageError(name, "ends inside a tar header (truncated layer)") }
        return true
    }

    private func readMeta(_ size: Int) throws(ImageError) -> [UInt8] {
        let padded = (size + 511) / 512 * 512
        var out = [UInt8](repeating: 0, count: padded)
        let got = try withBytes(&out) { (b) throws(ImageError) -> Int in try stream.readFully(into: b) }
        guard got == padded else { throw ImageError(name, "ends inside an extended header (truncated layer)") }
        // Its padding is kept as an entry's is (found by helper-175).
        if keepsExtendedHeaders { padding.appendPadding(out[size...]) }
        return Array(out[0..<size])
    }

    /// pax records: `LEN key=value\n`, where LEN counts the whole record.
    static func paxRecords(_ b: [UInt8], name: String) throws(ImageError) -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        var at = 0
        while at < b.count {
            if b[at] == 0 { break }
            var len = 0, i = at
            while i < b.count, b[i] >= 48, b[i] <= 57, i - at < 8 { len = len * 10 + Int(b[i] - 48); i += 1 }
            guard i < b.count, b[i] == 32, len > i - at + 1 else { throw ImageError(name, "has a malformed pax record") }
            let (end, o) = at.addingReportingOverflow(len)
            guard !o, end <= b.count, b[end - 1] == 10 else { throw ImageError(name, "has a pax record longer than its header") }
            let kv = b[(i + 1)..<(end - 1)]
            guard let eq = kv.firstIndex(of: UInt8(ascii: "=")) else { throw ImageError(name, "has a pax record without '='") }
            out[String(decoding: kv[..<eq], as: UTF8.self)] = Array(kv[(eq + 1)...])
            at = end
        }
        return out
    }
}
