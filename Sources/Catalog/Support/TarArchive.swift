import ProvenantCore

/// A tar archive held in memory: ustar, GNU long names (`L`) and pax `path` records. Every size is read
/// with checked arithmetic and checked against the bytes present; only regular files are listed.
public struct TarArchive {
    public struct Entry: Sendable {
        public var path: String
        public var data: Range<Int>
    }
    public let bytes: [UInt8]
    public private(set) var entries: [Entry] = []
    /// Entries that could not be read, one line each; reading goes on after them where it can.
    public private(set) var problems: [String] = []
    /// Bytes the listing leaves out that everyone who gets the archive gets too: the data of extended
    /// headers (pax records, long names) and of entries that are not regular files, and what follows
    /// the end of the archive when any of it is not zero. Each with what it is.
    public private(set) var unlisted: [(what: String, data: Range<Int>)] = []
    /// The header fields no runtime reads (`unusedHeaderFields`) and the padding after entries' data
    /// that is not zeros: each field or padding a part, at most `keptBytes` of each.
    public private(set) var unusedFields = CappedBytes(cap: keptBytes)
    public private(set) var padding = CappedBytes(cap: keptBytes)
    public static let keptBytes = 8 << 20

    /// At most this many entries are listed, against archives of millions of empty files.
    public static let maxEntries = 200_000

    /// True when `b` carries the ustar magic (or an old-style header with a valid checksum).
    public static func isTar(_ b: [UInt8]) -> Bool {
        guard b.count >= 512 else { return false }
        if b[257..<262].elementsEqual("ustar".utf8) { return true }
        return checksumMatches(b, 0)
    }

    static func checksumMatches(_ b: [UInt8], _ at: Int) -> Bool {
        guard let stored = octal(b, at + 148, 8) else { return false }
        // The checksum field counts as eight spaces. Summed unchecked over the block (a header is
        // checked at every entry of every layer), after one bounds check for the whole block.
        guard at >= 0, at + 512 <= b.count else { return false }
        var sum = 8 * 32
        b.withUnsafeBufferPointer { p in
            for i in at..<(at + 148) { sum &+= Int(p[i]) }
            for i in (at + 156)..<(at + 512) { sum &+= Int(p[i]) }
        }
        return sum == stored && sum != 8 * 32
    }

    /// A numeric field: octal text, or GNU base-256 when the top bit is set. Nil when malformed or huge.
    /// A numeric field read exactly as Go's archive/tar reads it (`parseNumeric`), for the fields a
    /// runtime applies to the file it extracts (mode, uid, gid): base-256 with its sign (any value in
    /// 63 bits, negative ones too), else octal text between leading and trailing spaces and NULs, cut
    /// at the first NUL inside. Nil where Go rejects the header.
    static func goNumeric(_ b: [UInt8], _ at: Int, _ width: Int) -> Int64? {
        let field = b[at..<(at + width)]
        if let first = field.first, first & 0x80 != 0 {
            let inv: UInt8 = first & 0x40 != 0 ? 0xFF : 0
            var x: UInt64 = 0
            for (i, raw) in field.enumerated() {
                var c = raw ^ inv
                if i == 0 { c &= 0x7F }
                if x >> 56 > 0 { return nil }
                x = x << 8 | UInt64(c)
            }
            if x >> 63 > 0 { return nil }
            return inv == 0xFF ? ~Int64(x) : Int64(x)
        }
        var text = field[...]
        while let c = text.first, c == 0 || c == 32 { text = text.dropFirst() }
        while let c = text.last, c == 0 || c == 32 { text = text.dropLast() }
        if let nul = text.firstIndex(of: 0) { text = text[..<nul] }
        guard !text.isEmpty else { return 0 }
        var v: UInt64 = 0
        for c in text {
            guard c >= 48 && c <= 55 else { return nil }
            let (m, o) = v.multipliedReportingOverflow(by: 8)
            if o { return nil }
            v = m + UInt64(c - 48)
        }
        return Int64(bitPattern: v)
    }

    static func octal(_ b: [UInt8], _ at: Int, _ width: Int) -> Int? {
        let field = b[at..<(at + width)]
        if let first = field.first, first & 0x80 != 0 {
            var v = Int(first & 0x7f)
            for c in field.dropFirst() {
                let (m, o1) = v.multipliedReportingOverflow(by: 256)
                if o1 || m > Int(Int32.max) * 1024 { return nil }
                v = m + Int(c)
            }
            return v
        }
        var v = 0, seen = false
        for c in field {
            if c == 0 || c == 32 { if seen { break } else { continue } }
            guard c >= 48 && c <= 55 else { return nil }
            let (m, o) = v.multipliedReportingOverflow(by: 8)
            if o { return nil }
            v = m + Int(c - 48); seen = true
        }
        return v
    }

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var at = 0
        var longName: String?, longLink = false
        var paxPath: String?, paxLink = false
        var seenFields: Set<ArraySlice<UInt8>> = []
        var stopped = false
        while at + 512 <= bytes.count {
            if bytes[at..<(at + 512)].allSatisfy({ $0 == 0 }) { break }
            guard entries.count < Self.maxEntries else { problems.append("more than \(Self.maxEntries) entries; the rest is not read"); stopped = true; break }
            guard Self.checksumMatches(bytes, at) else { problems.append("header at offset \(at) has a bad checksum; stopped reading"); stopped = true; break }
            guard let size = Self.octal(bytes, at + 124, 12) else { problems.append("header at offset \(at) has an unreadable size; stopped reading"); stopped = true; break }
            let dataStart = at + 512
            let (padded, o) = size.addingReportingOverflow(511)
            guard !o, dataStart + size <= bytes.count else { problems.append("entry at offset \(at) claims \(size) bytes, past the end of the archive; stopped reading"); stopped = true; break }
            let next = dataStart + (padded / 512) * 512
            let type = bytes[at + 156]
            let data = dataStart..<(dataStart + size)
            let file = type == UInt8(ascii: "0") || type == 0 || type == UInt8(ascii: "7")
            let meta = type == UInt8(ascii: "L") || type == UInt8(ascii: "K") || type == UInt8(ascii: "x") || type == UInt8(ascii: "g")
            let link = type == UInt8(ascii: "1") || type == UInt8(ascii: "2")
            // As a layer's are (`StreamingTar.next`): a long name or pax path replaces any entry's name field.
            for r in Self.unusedHeaderFields(bytes, at, usesName: !meta && longName == nil && paxPath == nil,
                                             usesLink: link && !longLink && !paxLink) where seenFields.insert(bytes[r]).inserted {
                unusedFields.appendPart(bytes[r])
            }
            // Every entry's: this reader steps over `size` bytes whatever the type (found by helper-176).
            if size > 0 {
                let pad = data.upperBound..<min(next, bytes.count)
                padding.appendPadding(bytes[pad])
            }
            if size > 0, !file {
                let extended = type == UInt8(ascii: "L") || type == UInt8(ascii: "K") || type == UInt8(ascii: "x") || type == UInt8(ascii: "g")
                unlisted.append((extended ? "tar extended header" : "data of a tar entry that is not a file", data))
            }
            switch type {
            case UInt8(ascii: "L"):
                longName = Self.cString(bytes[data])
            case UInt8(ascii: "K"):
                longLink = !Self.cString(bytes[data]).isEmpty
            case UInt8(ascii: "x"):
                paxPath = Self.paxPath(bytes[data]) ?? paxPath
                paxLink = Self.paxPath(bytes[data], key: "linkpath").map { !$0.isEmpty } ?? paxLink
            case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
                var name = Self.cString(bytes[at..<(at + 100)])
                if bytes[(at + 257)..<(at + 262)].elementsEqual("ustar".utf8) {
                    let prefix = Self.cString(bytes[(at + 345)..<(at + 500)])
                    if !prefix.isEmpty { name = prefix + "/" + name }
                }
                if let l = longName { name = l }
                if let p = paxPath { name = p }
                entries.append(Entry(path: name, data: data))
                longName = nil; paxPath = nil; longLink = false; paxLink = false
            default:
                longName = nil; paxPath = nil; longLink = false; paxLink = false
            }
            at = next
        }
        // From the first block that is not zeros: a second archive appended starts on one, and is then
        // told by its head (found by review: the zeros before it made it read as binary).
        guard !stopped else { return }
        var rest = at
        while rest + 512 <= bytes.count, bytes[rest..<(rest + 512)].allSatisfy({ $0 == 0 }) { rest += 512 }
        if rest < bytes.count, bytes[rest...].contains(where: { $0 != 0 }) {
            unlisted.append(("bytes after the tar's end", rest..<bytes.count))
        }
    }

    public func content(_ e: Entry) -> ArraySlice<UInt8> { bytes[e.data] }

    /// The bytes of the 512-byte header at `at` that no runtime reads (Go's archive/tar, and so
    /// containerd, Docker, skopeo and umoci, apply the numeric owner and the name and link as given):
    /// the name field when a GNU long name or pax `path` replaces it, or in an extended header; the
    /// link field unless the entry is a link that it names; the owner and group names; the device
    /// numbers of an entry that is no device; what the format leaves after its fields (a ustar
    /// header's bytes past its prefix, a GNU header's times and sparse map, everything past an
    /// old-style header's link field); and, in a name, link or prefix field that is read, the bytes
    /// after the NUL that ends it (found by helper-175). Fields next to each other are one range, so a
    /// value written across two is kept whole (helper-175); each range from its first to its last
    /// byte that is not NUL, and ranges that are all NULs are left out. A writer may put anything
    /// there, and everyone who pulls the archive gets it.
    public static func unusedHeaderFields(_ b: [UInt8], _ at: Int, usesName: Bool, usesLink: Bool) -> [Range<Int>] {
        guard at >= 0, at + 512 <= b.count else { return [] }
        var fields: [Range<Int>] = []
        // A field read as text ends at its first NUL.
        func text(_ f: Range<Int>, read: Bool) {
            guard read else { fields.append(f); return }
            if let nul = b[(at + f.lowerBound)..<(at + f.upperBound)].firstIndex(of: 0) { fields.append((nul - at + 1)..<f.upperBound) }
        }
        text(0..<100, read: usesName)
        text(157..<257, read: usesLink)
        let magic = b[(at + 257)..<(at + 263)]
        let ustar = magic.elementsEqual("ustar\0".utf8)
        let gnu = magic.elementsEqual("ustar ".utf8) && b[(at + 263)..<(at + 265)].elementsEqual(" \0".utf8)
        if ustar || gnu {
            // A ustar header's version is read by no one either (found by helper-176); the usual `00` is
            // left out, since joined to the owner name it hid a token that name began with (helper-177).
            let version = b[(at + 263)..<(at + 265)]
            fields += [ustar && !version.elementsEqual("00".utf8) ? 263..<297 : 265..<297, 297..<329]
            let type = b[at + 156]
            if type != UInt8(ascii: "3"), type != UInt8(ascii: "4") { fields.append(329..<345) }
            if ustar {
                let prefixEnd = b[(at + 508)..<(at + 512)].elementsEqual("tar\0".utf8) ? 476 : 500
                text(345..<prefixEnd, read: usesName)
                fields.append(prefixEnd..<512)
            } else if usesName, StreamingTar.gnuTimesReadAsPrefix(b, at) {
                text(345..<500, read: true)
                fields.append(500..<512)
            } else {
                fields.append(345..<512)
            }
        } else {
            fields.append(257..<512)
        }
        var merged: [Range<Int>] = []
        for f in fields.sorted(by: { $0.lowerBound < $1.lowerBound }) where !f.isEmpty {
            if let last = merged.last, last.upperBound >= f.lowerBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, f.upperBound)
            } else {
                merged.append(f)
            }
        }
        return merged.compactMap { f in
            let r = (at + f.lowerBound)..<(at + f.upperBound)
            guard let first = b[r].firstIndex(where: { $0 != 0 }), let last = b[r].lastIndex(where: { $0 != 0 }) else { return nil }
            return first..<(last + 1)
        }
    }

    static func cString(_ s: ArraySlice<UInt8>) -> String {
        TarName.decode(s.prefix(while: { $0 != 0 }))
    }

    /// The `path` record of a pax header: lines `LEN key=value\n`.
    static func paxPath(_ s: ArraySlice<UInt8>, key: String = "path") -> String? {
        var found: String?
        let prefix = Array((key + "=").utf8)
        for line in s.split(separator: 10) {
            guard let space = line.firstIndex(of: 32) else { continue }
            let kv = line[(space + 1)...]
            if kv.starts(with: prefix) { found = TarName.decode(kv.dropFirst(prefix.count)) }
        }
        return found
    }
}

/// A tar entry's name (or link target) as text, one to one with its bytes. Names are bytes to the
/// kernel: decoding invalid UTF-8 to U+FFFD made `bin/a\xFF` and `bin/a\xFE` one file, so a later
/// entry or whiteout under one name replaced or deleted the other, and a setuid file a runtime keeps
/// vanished from `policy check` (found by helper-164). Valid UTF-8 is kept as it is; each byte that is
/// not is written U+FFFD and its two lowercase hex digits, and a U+FFFD the name really holds is
/// written U+FFFD `U`. The mapping works character by character, so prefixes (`.wh.`) and `/` keep
/// their meaning.
public enum TarName {
    /// The bytes `decode` read to make `s`: an escape of an invalid byte is one, of a real U+FFFD three.
    public static func rawByteCount(_ s: Substring) -> Int {
        var n = 0
        var scalars = s.unicodeScalars.makeIterator()
        while let u = scalars.next() {
            guard u == "\u{FFFD}" else { n += UTF8.width(u); continue }
            if let next = scalars.next(), next == "U" { n += 3 } else { _ = scalars.next(); n += 1 }
        }
        return n
    }

    public static func decode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        // U+FFFD is EF BF BD: a name without an EF byte (almost every name) needs no second look.
        if let s = String(validating: bytes, as: UTF8.self), !s.utf8.contains(0xEF) || !s.unicodeScalars.contains("\u{FFFD}") { return s }
        let b = Array(bytes)
        var out = String.UnicodeScalarView()
        let hex = Array("0123456789abcdef".unicodeScalars)
        var i = 0
        while i < b.count {
            let c = b[i]
            if c < 0x80 { out.append(Unicode.Scalar(c)); i += 1; continue }
            var length = 0, scalar = UInt32(0), low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch c {
            case 0xC2...0xDF: length = 2; scalar = UInt32(c & 0x1F)
            case 0xE0: length = 3; scalar = UInt32(c & 0x0F); low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3; scalar = UInt32(c & 0x0F)
            case 0xED: length = 3; scalar = UInt32(c & 0x0F); high = 0x9F
            case 0xF0: length = 4; scalar = UInt32(c & 0x07); low = 0x90
            case 0xF1...0xF3: length = 4; scalar = UInt32(c & 0x07)
            case 0xF4: length = 4; scalar = UInt32(c & 0x07); high = 0x8F
            default: length = 0
            }
            var valid = length > 0 && i + length <= b.count
            if valid {
                for k in 1..<length {
                    let d = b[i + k]
                    if d < (k == 1 ? low : 0x80) || d > (k == 1 ? high : 0xBF) { valid = false; break }
                    scalar = scalar << 6 | UInt32(d & 0x3F)
                }
            }
            if valid, let u = Unicode.Scalar(scalar) {
                out.append(u)
                if u == "\u{FFFD}" { out.append("U") }
                i += length
            } else {
                out.append("\u{FFFD}")
                out.append(hex[Int(c >> 4)]); out.append(hex[Int(c & 0x0F)])
                i += 1
            }
        }
        return String(out)
    }
}
