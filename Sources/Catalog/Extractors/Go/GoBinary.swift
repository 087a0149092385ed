import Foundation
import ProvenantCore

/// The build information the Go linker embeds in ELF binaries: main module, dependencies,
/// replacements and the toolchain, read from `.go.buildinfo` without loading the whole file.
public struct GoBinaryExtractor: Extractor {
    public var readsItsOwnFileOnly: Bool { true }
    public let name = "go-binary"
    public init() {}

    public func wants(_ file: IndexedFile, fileName: String) -> Bool {
        file.isExecutable && file.size > 4096 && !fileName.hasSuffix(".so") && !fileName.containsBytes(".so.")
            && !fileName.hasSuffix(".sh") && !fileName.hasSuffix(".py")
    }

    static let buildInfoMagic: [UInt8] = [0xFF] + Array(" Go buildinf:".utf8)

    /// Whether `r` is an ELF file that holds the build-info magic where Go's `debug/buildinfo` looks
    /// when no `.go.buildinfo` section leads to it: the first writable, non-executable `PT_LOAD`
    /// segment, its first 64 MiB, a MiB at a time. Not the whole file: every other executable of a
    /// root filesystem was read end to end, and a sparse 2 GiB one took 14 s (found by helper-154).
    static func holdsBuildInfo(_ r: RandomAccessFile) -> Bool {
        guard let h = r.read(0, 64), h[0] == 0x7F, h[1] == 0x45, h[2] == 0x4C, h[3] == 0x46, h[4] == 1 || h[4] == 2, h[5] == 1 || h[5] == 2 else { return false }
        let is64 = h[4] == 2, little = h[5] == 1
        func uint(_ b: [UInt8], _ at: Int, _ n: Int) -> UInt64 {
            var v: UInt64 = 0
            for k in 0..<n { v |= UInt64(b[at + k]) << UInt64(8 * (little ? k : n - 1 - k)) }
            return v
        }
        let phoff = is64 ? uint(h, 0x20, 8) : uint(h, 0x1C, 4)
        let phentsize = Int(uint(h, is64 ? 0x36 : 0x2A, 2)), phnum = Int(uint(h, is64 ? 0x38 : 0x2C, 2))
        guard phnum > 0, phnum < 4096, phentsize >= (is64 ? 56 : 32), let table = r.read(phoff, phnum * phentsize) else { return false }
        for i in 0..<phnum {
            let e = Array(table[(i * phentsize)..<((i + 1) * phentsize)])
            let type = uint(e, 0, 4), flags = is64 ? uint(e, 4, 4) : uint(e, 24, 4)
            guard type == 1, flags & 2 != 0, flags & 1 == 0 else { continue }
            let offset = is64 ? uint(e, 8, 8) : uint(e, 4, 4), filesz = is64 ? uint(e, 32, 8) : uint(e, 16, 4)
            guard offset < r.size else { return false }
            let end = offset + min(filesz, 64 << 20, r.size - offset)
            let chunk = UInt64(1 << 20), overlap = UInt64(buildInfoMagic.count - 1)
            var at = offset
            while at < end {
                let count = Int(min(chunk, end - at))
                guard let bytes = r.read(at, count) else { return false }
                if bytes.withUnsafeBytes({ b in buildInfoMagic.withUnsafeBytes { ByteSearch.firstOffset(of: $0, in: b) } }) != nil { return true }
                guard UInt64(count) > overlap, at + UInt64(count) < end else { break }
                at += UInt64(count) - overlap
            }
            return false
        }
        return false
    }

    /// Only ELF files holding the Go build-info magic: an image's other executables are not kept.
    public func keeps(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count > 16, bytes[0] == 0x7f, bytes[1] == 0x45, bytes[2] == 0x4c, bytes[3] == 0x46 else { return false }
        // Every executable of an image is asked this, so the search runs at memory speed.
        return Self.buildInfoMagic.withUnsafeBytes { ByteSearch.firstOffset(of: $0, in: bytes) } != nil
    }

    public func extract(_ input: ExtractInput) throws -> Extraction {
        // A file that cannot be opened (a link out of the target, say) is an error the scan reports
        // as not read; only a readable file that is not a Go binary yields nothing.
        let ra = try input.randomAccess()
        let parsed = try ELFFile(ra)
        guard let elf = parsed, let info = try elf.goBuildInfo() else {
            // Without section headers (stripped after linking: it still runs), or with a renamed,
            // dropped or decoy `.go.buildinfo` header, the build info is not found by section, though
            // `go version -m` finds it in the data segment. Such a binary went by as no packages, its
            // SBOM complete (helper-151, helper-153, helper-154); it is said instead.
            guard Self.holdsBuildInfo(ra) else { return Extraction() }
            let said = parsed == nil ? "an ELF binary without section headers that holds Go build info"
                                     : "an ELF binary that holds Go build info outside a .go.buildinfo section"
            return Extraction([], diagnostics: [Diagnostic(Location(input.path), said + ": its modules are not read", unscanned: .input)])
        }
        var packages: [Package] = []
        if let v = info.goVersion {
            var p = Make.package(.golang, "stdlib", v, at: input.path, by: name)
            p.isDirect = true
            packages.append(p)
        }
        for d in info.deps {
            var p = Make.package(.golang, d.effectivePath, d.effectiveVersion, at: input.path, by: name)
            if let dg = Digest(goSum: d.effectiveSum) { p.digests = [dg] }
            packages.append(p)
        }
        if let m = info.main {
            // The binary is the main module's artifact, so its digest is the file's own.
            var p = Make.package(.golang, m.path, m.version, at: input.path, by: name)
            p.isDirect = true
            p.digests = [try ra.sha256()]
            p.dependsOn = packages.map(\.ref).sorted()
            p.dependenciesKnown = true
            packages.append(p)
        }
        return Extraction(packages)
    }
}

extension Digest {
    init?(goSum: String?) {
        guard let s = goSum, s.hasPrefix("h1:") else { return nil }
        self.init(.sha256, base64: String(s.dropFirst(3)))
    }
}

struct GoModule: Equatable {
    var path: String
    var version: String
    var sum: String?
    var replacePath: String?
    var replaceVersion: String?
    var replaceSum: String?
    var effectivePath: String { replacePath ?? path }
    var effectiveVersion: String { replacePath == nil ? version : (replaceVersion ?? version) }
    var effectiveSum: String? { replacePath == nil ? sum : replaceSum }
}

struct GoBuildInfo: Equatable {
    var goVersion: String?
    var main: GoModule?
    var deps: [GoModule] = []

    /// Parses the tab-separated module text that `runtime/debug.BuildInfo` prints.
    static func parse(goVersion raw: String?, modInfo text: String) -> GoBuildInfo {
        var info = GoBuildInfo()
        if var v = raw, v.hasPrefix("go") {
            v.removeFirst(2)
            // `go1.22.1 X:loopvar` and `go1.21.0-custom` carry build notes after the version.
            v = String(v.split(separator: " ").first ?? "")
            v = String(v.split(separator: "-").first ?? "")
            info.goVersion = v.isEmpty ? nil : v
        }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 2 else { continue }
            switch f[0] {
            case "mod":
                info.main = GoModule(path: f[1], version: f.count > 2 && !f[2].isEmpty ? f[2] : "(devel)", sum: f.count > 3 ? f[3] : nil)
            case "dep":
                info.deps.append(GoModule(path: f[1], version: f.count > 2 ? f[2] : "", sum: f.count > 3 ? f[3] : nil))
            case "=>":
                if let last = info.deps.indices.last {
                    info.deps[last].replacePath = f[1]
                    info.deps[last].replaceVersion = f.count > 2 ? f[2] : nil
                    info.deps[last].replaceSum = f.count > 3 ? f[3] : nil
                } else if info.main != nil {
                    info.main?.replacePath = f[1]
                }
            default: break
            }
        }
        return info
    }
}

struct ELFFile {
    struct Section { var name: String; var type: UInt32; var addr: UInt64; var offset: UInt64; var size: UInt64 }
    let r: RandomAccessFile
    let is64: Bool
    let little: Bool
    var sections: [Section] = []

    /// nil when the file is not ELF or has no section table; throws when it claims to be ELF but its
    /// section table or section names lie outside the file.
    init?(_ r: RandomAccessFile) throws(ParseError) {
        self.r = r
        guard let h = r.read(0, 64), h[0] == 0x7F, h[1] == 0x45, h[2] == 0x4C, h[3] == 0x46,
              h[4] == 1 || h[4] == 2, h[5] == 1 || h[5] == 2 else { return nil }
        is64 = h[4] == 2
        little = h[5] == 1
        let shoff = is64 ? u64(h, 0x28) : UInt64(u32(h, 0x20))
        let shentsize = Int(u16(h, is64 ? 0x3A : 0x2E))
        let shnum = Int(u16(h, is64 ? 0x3C : 0x30))
        let shstrndx = Int(u16(h, is64 ? 0x3E : 0x32))
        guard shnum > 0 else { return nil }
        guard shnum < 10_000, shentsize >= (is64 ? 64 : 40), shstrndx < shnum else {
            throw ParseError("damaged ELF header: \(shnum) section headers of \(shentsize) bytes, names in section \(shstrndx)")
        }
        guard let table = r.read(shoff, shnum * shentsize) else {
            throw ParseError("damaged ELF header: the section header table at offset \(shoff) lies outside the \(r.size)-byte file")
        }
        var raw: [(UInt32, Section)] = []
        for i in 0..<shnum {
            let b = Array(table[(i * shentsize)..<((i + 1) * shentsize)])
            let nameOff = u32(b, 0), type = u32(b, 4)
            let s = is64 ? Section(name: "", type: type, addr: u64(b, 16), offset: u64(b, 24), size: u64(b, 32))
                         : Section(name: "", type: type, addr: UInt64(u32(b, 12)), offset: UInt64(u32(b, 16)), size: UInt64(u32(b, 20)))
            raw.append((nameOff, s))
        }
        let strSec = raw[shstrndx].1
        guard strSec.size < 1 << 20, let strtab = r.read(strSec.offset, Int(strSec.size)) else {
            throw ParseError("damaged ELF file: the section name table (offset \(strSec.offset), \(strSec.size) bytes) lies outside the \(r.size)-byte file")
        }
        sections = raw.map { off, s in
            var s = s
            var end = Int(off)
            while end < strtab.count, strtab[end] != 0 { end += 1 }
            if Int(off) < strtab.count { s.name = String(decoding: strtab[Int(off)..<end], as: UTF8.self) }
            return s
        }
    }

    func u16(_ b: [UInt8], _ o: Int) -> UInt16 {
        little ? UInt16(b[o]) | UInt16(b[o + 1]) << 8 : UInt16(b[o]) << 8 | UInt16(b[o + 1])
    }
    func u32(_ b: [UInt8], _ o: Int) -> UInt32 {
        (0..<4).reduce(0) { acc, i in acc | UInt32(b[o + (little ? i : 3 - i)]) << (8 * UInt32(i)) }
    }
    func u64(_ b: [UInt8], _ o: Int) -> UInt64 {
        (0..<8).reduce(0) { acc, i in acc | UInt64(b[o + (little ? i : 7 - i)]) << (8 * UInt64(i)) }
    }

    /// Reads `size` bytes at a virtual address through the section that maps it. Addresses, sizes and
    /// offsets are the file's own claims, so all arithmetic on them is checked: a section whose end
    /// wraps around, or a read that would, maps nothing.
    func readVirtual(_ addr: UInt64, _ size: Int) -> [UInt8]? {
        guard size >= 0 else { return nil }
        let (want, o1) = addr.addingReportingOverflow(UInt64(size))
        guard !o1, let s = sections.first(where: { sec in
            let (end, o) = sec.addr.addingReportingOverflow(sec.size)
            return sec.type != 8 && sec.addr != 0 && !o && addr >= sec.addr && addr < end
        }), want <= s.addr + s.size else { return nil }
        let (offset, o2) = s.offset.addingReportingOverflow(addr - s.addr)
        guard !o2 else { return nil }
        return r.read(offset, size)
    }

    func goBuildInfo() throws -> GoBuildInfo? {
        guard let sec = sections.first(where: { $0.name == ".go.buildinfo" }), sec.size >= 32 else { return nil }
        guard let hdr = r.read(sec.offset, 32) else {
            throw ParseError("damaged Go build info: section .go.buildinfo at offset \(sec.offset) lies outside the \(r.size)-byte file")
        }
        guard Array(hdr[0..<14]) == GoBinaryExtractor.buildInfoMagic else { return nil }
        let ptrSize = Int(hdr[14]), flags = hdr[15]
        if flags & 2 != 0 {
            // Go 1.18+: two varint-prefixed strings inline after the header.
            let want = Int(min(sec.size, 8 << 20))
            guard let body = r.read(sec.offset, want) else {
                throw ParseError("damaged Go build info: section .go.buildinfo (offset \(sec.offset), \(sec.size) bytes) runs past the end of the \(r.size)-byte file")
            }
            var pos = 32
            guard let vers = Self.varString(body, &pos), let mod = Self.varString(body, &pos) else {
                throw ParseError("truncated Go build info")
            }
            return GoBuildInfo.parse(goVersion: vers, modInfo: Self.stripSentinels(mod))
        }
        // Older toolchains store pointers to Go string headers.
        guard ptrSize == 4 || ptrSize == 8 else { return nil }
        let bigEndian = flags & 1 != 0
        func ptr(_ b: [UInt8], _ o: Int) -> UInt64 {
            (0..<ptrSize).reduce(UInt64(0)) { acc, i in acc | UInt64(b[o + (bigEndian ? ptrSize - 1 - i : i)]) << (8 * UInt64(i)) }
        }
        func goString(_ addr: UInt64, _ what: String) throws(ParseError) -> String {
            func bad(_ a: UInt64, _ n: UInt64) -> ParseError {
                ParseError("damaged Go build info: the \(what) string (\(n) bytes at address 0x\(String(a, radix: 16))) is not inside any section of the file")
            }
            guard let h = readVirtual(addr, ptrSize * 2) else { throw bad(addr, UInt64(ptrSize * 2)) }
            let data = ptr(h, 0), len = ptr(h, ptrSize)
            if len == 0 { return "" }
            guard len < 8 << 20, let bytes = readVirtual(data, Int(len)) else { throw bad(data, len) }
            return String(decoding: bytes, as: UTF8.self)
        }
        let vers = try goString(ptr(hdr, 16), "Go version")
        let mod = try goString(ptr(hdr, 16 + ptrSize), "module")
        return GoBuildInfo.parse(goVersion: vers, modInfo: Self.stripSentinels(mod))
    }

    static func varString(_ b: [UInt8], _ pos: inout Int) -> String? {
        var len = 0, shift = 0
        while pos < b.count {
            let c = b[pos]; pos += 1
            len |= Int(c & 0x7F) << shift
            if c & 0x80 == 0 { break }
            shift += 7
            if shift > 35 { return nil }
        }
        guard len >= 0, pos + len <= b.count else { return nil }
        defer { pos += len }
        return String(decoding: b[pos..<pos + len], as: UTF8.self)
    }

    /// The module text is framed by 16-byte sentinels.
    static func stripSentinels(_ s: String) -> String {
        let u = Array(s.utf8)
        guard u.count >= 33, u[u.count - 17] == 10 else { return s }
        return String(decoding: u[16..<(u.count - 16)], as: UTF8.self)
    }
}
