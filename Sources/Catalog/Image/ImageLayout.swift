import Foundation
import Synchronization
import ProvenantCore

/// The files of an image layout (OCI's `oci-layout`, `index.json` and `blobs/`, or Docker's
/// `manifest.json` and layer tars), read from a directory or from inside an uncompressed tar.
protocol LayoutFiles: Sendable {
    var displayName: String { get }
    func has(_ path: String) -> Bool
    /// A stream of the file's bytes and its size.
    func open(_ path: String) throws(ImageError) -> (stream: ByteStream, size: Int)
    /// Files of the archive the read never opened and that are not an image's own (see `ArchiveLayout`).
    var unreadEntries: [String] { get }
    /// Bytes of the archive no file holds (see `ArchiveLayout.eachHidden`), at most `keep` of each.
    func eachHidden(keep: Int, _ body: (String, [UInt8], Bool) throws(ImageError) -> Void) throws(ImageError)
}

extension LayoutFiles {
    /// A directory layout: only what the image references is looked at, and a directory beside it is
    /// not part of the target.
    var unreadEntries: [String] { [] }
    func eachHidden(keep: Int, _ body: (String, [UInt8], Bool) throws(ImageError) -> Void) throws(ImageError) {}

    func read(_ path: String, limit: Int) throws(ImageError) -> [UInt8] {
        let (s, size) = try open(path)
        guard size <= limit else { throw ImageError(subject(path), "is \(size) bytes, over the \(limit >> 10) KiB a manifest or config may be") }
        return try s.readAll(limit: limit, name: subject(path))
    }

    func subject(_ path: String) -> String { "\(displayName): '\(Redactor.quote(path, max: 160))'" }
}

/// An open file descriptor, closed when the last stream reading it is gone.
final class SharedDescriptor: @unchecked Sendable {
    let fd: Int32
    init(_ fd: Int32) { self.fd = fd }
    deinit { close(fd) }
}

/// A stream over a range of a shared descriptor, keeping it open while it reads.
final class SharedRangeStream: ByteStream {
    let owner: SharedDescriptor
    let range: FileRangeStream
    init(_ owner: SharedDescriptor, offset: Int, length: Int, name: String) {
        self.owner = owner
        range = FileRangeStream(fd: owner.fd, offset: offset, length: length, name: name)
    }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int { try range.read(into: buffer) }
}

/// A layout directory; every file is opened through `RootedDirectory`, so a link inside it cannot
/// lead a read outside it.
struct DirectoryLayout: LayoutFiles {
    let directory: RootedDirectory
    let displayName: String

    init(path: String) {
        directory = RootedDirectory(root: path)
        displayName = Redactor.quote(path, max: 160)
    }

    func has(_ path: String) -> Bool { (try? directory.canonicalPath(path)) != nil }

    func open(_ path: String) throws(ImageError) -> (stream: ByteStream, size: Int) {
        let fd: Int32
        do { fd = try directory.open(path) } catch { throw ImageError(displayName, error.description) }
        let owner = SharedDescriptor(fd)
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ImageError(subject(path), "cannot be read: \(String(cString: strerror(errno)))") }
        return (SharedRangeStream(owner, offset: 0, length: Int(st.st_size), name: subject(path)), Int(st.st_size))
    }
}

/// An uncompressed tar holding a layout, indexed once by reading its headers only: blobs are then
/// read in place, by offset, however large the archive. Symbolic links between entries (Docker writes
/// them for layers two images share) are followed inside the archive.
final class ArchiveLayout: LayoutFiles, @unchecked Sendable {
    enum Entry { case file(offset: Int, size: Int), link(String) }
    let descriptor: SharedDescriptor
    let displayName: String
    private(set) var entries: [String: Entry] = [:]
    /// Bytes of the archive that no file of it holds, which `docker load` and skopeo pass over but
    /// whoever is handed the archive has: its extended headers (pax records, a `comment=` among them,
    /// GNU long names), the data of entries that are no file (a volume label), and what follows the
    /// archive's end from its first block that is not zeros (a second archive appended there). By
    /// what each is, and where: the secret scan reads them (`eachHidden(keep:_:)`).
    private(set) var hidden: [(what: String, offset: Int, length: Int)] = []
    /// Parts past `maxEntries` of them, not kept: the scan says they were not checked (found by review).
    private(set) var hiddenDropped = 0
    /// Where the header fields no loader reads are (`TarArchive.unusedHeaderFields`), at most
    /// `maxEntries` of them; and whether more were left out.
    private var unusedFields: [(offset: Int, length: Int)] = []
    private var unusedFieldsDropped = false
    static let maxEntries = 100_000
    /// Every entry `open` reached, links followed.
    private let opened = Mutex<Set<String>>([])

    init(path: String) throws(ImageError) {
        displayName = Redactor.quote(path, max: 160)
        let fd = Foundation.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ImageError(displayName, "cannot be opened: \(String(cString: strerror(errno)))") }
        descriptor = SharedDescriptor(fd)
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw ImageError(displayName, "is not a regular file") }
        let fileSize = Int(st.st_size)
        var header = [UInt8](repeating: 0, count: 512)
        var at = 0
        // Headers are read by the same rules as a layer's (`StreamingTar.next()`), which are Go's archive/tar's.
        var longName: String?, longLink: String?
        var pax: [String: [UInt8]]?
        var named: Set<String> = []
        // Extended headers, named once the entry they belong to is read.
        var pending: [(offset: Int, length: Int)] = []
        while at + 512 <= fileSize {
            guard header.withUnsafeMutableBytes({ pread(fd, $0.baseAddress!, 512, off_t(at)) }) == 512 else {
                throw ImageError(displayName, "cannot be read at offset \(at)")
            }
            if header.allSatisfy({ $0 == 0 }) { break }
            if at == 0, LayerCompression.sniff(header[...]) != .none {
                throw ImageError(displayName, "is a compressed archive; decompress it first (images are read from plain tar archives)")
            }
            guard TarArchive.checksumMatches(header, 0) else { throw ImageError(displayName, "is not a tar archive (bad header at offset \(at))") }
            guard var size = TarArchive.octal(header, 124, 12) else { throw ImageError(displayName, "has an unreadable entry size at offset \(at)") }
            var type = header[156]
            func noteUnusedFields(usesName: Bool, usesLink: Bool) {
                for r in TarArchive.unusedHeaderFields(header, 0, usesName: usesName, usesLink: usesLink) {
                    if unusedFields.count < Self.maxEntries { unusedFields.append((at + r.lowerBound, r.count)) } else { unusedFieldsDropped = true }
                }
            }
            if type == UInt8(ascii: "L") || type == UInt8(ascii: "K") || type == UInt8(ascii: "x") || type == UInt8(ascii: "g") {
                noteUnusedFields(usesName: false, usesLink: false)
                guard size <= StreamingTar.maxMetaSize else { throw ImageError(displayName, "has an extended header of \(size) bytes; refused") }
                let end = at + 512 + size
                guard end <= fileSize else { throw ImageError(displayName, "is truncated: the entry at offset \(at) claims \(size) bytes past its end") }
                var meta = [UInt8](repeating: 0, count: size)
                guard meta.withUnsafeMutableBytes({ pread(fd, $0.baseAddress!, size, off_t(at + 512)) }) == size else {
                    throw ImageError(displayName, "cannot be read at offset \(at)")
                }
                if size > 0 { if hidden.count + pending.count < Self.maxEntries { pending.append((at + 512, size)) } else { hiddenDropped += 1 } }
                switch type {
                case UInt8(ascii: "L"): longName = TarArchive.cString(meta[...])
                case UInt8(ascii: "K"): longLink = TarArchive.cString(meta[...])
                case UInt8(ascii: "x"): pax = try StreamingTar.paxRecords(meta, name: displayName)
                default: longName = nil; longLink = nil; pax = nil
                }
                at = (end + 511) / 512 * 512
                continue
            }
            try StreamingTar.refuseSparse(type, pax, name: displayName)
            var name = StreamingTar.entryName(header)
            var link = TarArchive.cString(header[157..<257])
            for (k, v) in pax ?? [:] where !v.isEmpty {
                switch k {
                case "path": name = TarName.decode(v)
                case "linkpath": link = TarName.decode(v)
                case "size":
                    guard let s = StreamingTar.paxSize(v) else { throw ImageError(displayName, "has a pax size that is not a number of bytes") }
                    size = s
                default: break
                }
            }
            let read = StreamingTar.fieldsRead(type: type, longName: longName, longLink: longLink, pax: pax)
            noteUnusedFields(usesName: read.name, usesLink: read.link)
            if let l = longName, !l.isEmpty { name = l }
            if let l = longLink, !l.isEmpty { link = l }
            longName = nil; longLink = nil; pax = nil
            if type == 0 { type = name.hasSuffix("/") ? UInt8(ascii: "5") : UInt8(ascii: "0") }
            if StreamingTar.isHeaderOnly(type) { size = 0 }
            let (end, o1) = (at + 512).addingReportingOverflow(size)
            guard !o1, end <= fileSize else { throw ImageError(displayName, "is truncated: the entry at offset \(at) claims \(size) bytes past its end") }
            // Loaders find an entry by its cleaned name (skopeo takes the first, `docker load` extracts
            // them all and the last wins): an archive whose names need `..` to clean, or where two
            // entries clean to one name, would show them another image than this reader reads.
            guard let key = Self.clean(name) else {
                throw ImageError(displayName, "has an entry '\(Redactor.escapeControls(Redactor.quote(name, max: 120)))' with '..' in its name; refused")
            }
            if type == UInt8(ascii: "0") || type == UInt8(ascii: "7") || type == UInt8(ascii: "2") || type == UInt8(ascii: "1") {
                guard named.insert(key).inserted else {
                    throw ImageError(displayName, "has two entries named '\(Redactor.escapeControls(Redactor.quote(key, max: 120)))'; refused, since loaders disagree on which one is the image's")
                }
            }
            for m in pending { hidden.append(("\(key) (tar extended header of the archive)", m.offset, m.length)) }
            pending = []
            if type == UInt8(ascii: "0") || type == UInt8(ascii: "7") {
                entries[key] = .file(offset: at + 512, size: size)
            } else if type == UInt8(ascii: "2") {
                entries[key] = .link(link)
            }
            if size > 0, type != UInt8(ascii: "0"), type != UInt8(ascii: "7") {
                if hidden.count < Self.maxEntries { hidden.append(("\(key) (data of an archive entry that is not a file)", at + 512, size)) } else { hiddenDropped += 1 }
            }
            guard entries.count <= Self.maxEntries else { throw ImageError(displayName, "has more than \(Self.maxEntries) entries; refused") }
            at = (end + 511) / 512 * 512
        }
        for m in pending { hidden.append(("(tar extended header at the archive's end)", m.offset, m.length)) }
        archiveEnd = at
        self.fileSize = fileSize
    }

    /// Where the archive's entries end, and its file's size: what lies between is looked at only by
    /// `eachHidden`, so an SBOM does not read through a padded tail.
    private var archiveEnd = 0, fileSize = 0

    /// Gives `body` each `hidden` part, and what follows the archive's end from its first block (or
    /// short tail) that is not all zeros, one at a time: at most `keep` bytes of each, with whether
    /// more of it was left unread.
    func eachHidden(keep: Int, _ body: (String, [UInt8], Bool) throws(ImageError) -> Void) throws(ImageError) {
        func read(_ offset: Int, _ count: Int) throws(ImageError) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: count)
            guard count == 0 || bytes.withUnsafeMutableBytes({ pread(descriptor.fd, $0.baseAddress!, count, off_t(offset)) }) == count else {
                throw ImageError(displayName, "cannot be read at offset \(offset)")
            }
            return bytes
        }
        let keep = max(0, keep)
        for h in hidden {
            try body(h.what, try read(h.offset, min(h.length, keep)), h.length > keep)
        }
        // The padding after each entry's data that is not zeros, in the archive's order (found by review;
        // extended headers' and other entries' too, helper-175).
        var padding = CappedBytes(cap: keep)
        let files = entries.values.compactMap { e -> (offset: Int, size: Int)? in if case .file(let o, let n) = e { return (o, n) } else { return nil } }
        for f in (files + hidden.map { ($0.offset, $0.length) }).sorted(by: { $0.offset < $1.offset }) {
            let pad = (512 - f.size % 512) % 512
            guard pad > 0, f.offset + f.size + pad <= fileSize else { continue }
            let bytes = try read(f.offset + f.size, pad)
            padding.appendPadding(bytes[...])
        }
        if !padding.isEmpty { try body("(tar padding after the archive's entries)", padding.bytes, padding.cut) }
        var fields = CappedBytes(cap: keep), seen: Set<[UInt8]> = []
        for f in unusedFields {
            // Full: what is left is not read (each range is at most 512 bytes).
            guard fields.bytes.isEmpty || fields.room > 1 else { fields.markCut(); break }
            let part = try read(f.offset, f.length)
            if seen.insert(part).inserted { fields.appendPart(part) }
        }
        if unusedFieldsDropped { fields.markCut() }
        if !fields.isEmpty { try body("(tar header fields of the archive no loader reads)", fields.bytes, fields.cut) }
        if hiddenDropped > 0 { try body("(\(hiddenDropped) more extended headers and entries that are not files, past \(Self.maxEntries))", [], true) }
        var scan = archiveEnd
        while scan < fileSize {
            let block = try read(scan, min(1 << 16, fileSize - scan))
            if let first = block.firstIndex(where: { $0 != 0 }) {
                let start = scan + first / 512 * 512
                try body("(bytes after the archive's end)", try read(start, min(fileSize - start, keep)), fileSize - start > keep)
                return
            }
            scan += block.count
        }
    }

    /// Regular files in the archive that the read never opened, other than the layout's own metadata
    /// (`oci-layout`, `index.json`, `manifest.json`, `repositories`, Docker's per-layer `json` and
    /// `VERSION`) and the content-addressed blobs of other platforms (reported as such): something put
    /// beside the image, which nothing scanned.
    var unreadEntries: [String] {
        let seen = opened.withLock { $0 }
        return entries.compactMap { key, entry -> String? in
            guard case .file = entry, !seen.contains(key) else { return nil }
            let name = PathText.lastComponent(key)
            if ["oci-layout", "index.json", "manifest.json", "repositories"].contains(key) { return nil }
            if key.hasPrefix("blobs/") || name == "json" || name == "VERSION" || name == "layer.tar" { return nil }
            return key
        }.sorted()
    }

    /// An entry's name as Go's `path.Clean` leaves it, relative: nil when it has a `..` component
    /// (loaders clean `a/../x` to `x`; a name that must be cleaned is refused rather than guessed).
    static func clean(_ name: String) -> String? {
        let parts = PathText.components(name).filter { $0 != "." }
        return parts.contains("..") ? nil : parts.joined(separator: "/")
    }

    func has(_ path: String) -> Bool { Self.clean(path).flatMap { entries[$0] } != nil }

    func open(_ path: String) throws(ImageError) -> (stream: ByteStream, size: Int) {
        // No entry's name needs `..` to clean (those archives are refused), so a path that does names none.
        guard var key = Self.clean(path) else { throw ImageError(subject(path), "is not in the archive") }
        for _ in 0..<8 {
            opened.withLock { _ = $0.insert(key) }
            switch entries[key] {
            case .file(let offset, let size)?:
                return (SharedRangeStream(descriptor, offset: offset, length: size, name: subject(path)), size)
            case .link(let target)?:
                let base = PathText.components(key).dropLast().joined(separator: "/")
                do { key = try RootPath.resolve(target, from: base) } catch {
                    throw ImageError(subject(path), "is a link out of the archive; refused")
                }
            case nil:
                throw ImageError(subject(path), "is not in the archive")
            }
        }
        throw ImageError(subject(path), "goes through too many links")
    }
}
