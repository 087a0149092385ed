import Catalog
import Foundation
import ProvenantCore
import Testing
import TestSupport

/// A layer's tar stream must decode as Go's archive/tar decodes it (containerd, Docker, skopeo and
/// umoci all use it): any difference lets a crafted layer put files on disk that the scan never saw.
/// Each test is one rule where this reader used to differ.
@Suite struct StreamingTarParityTests {
    /// A setuid binary and a file with a token: what a layer wants to hide.
    static func evil() -> [UInt8] {
        var t = TarWriter()
        t.add("usr/bin/evil", data: [0x7f, 0x45, 0x4c, 0x46] + [UInt8](repeating: 0, count: 60), mode: 0o4755)
        t.add("app/config.env", data: Array("GITHUB_TOKEN=ghp_R8x2Kq9ZpL4mT7vW1nB5cY3hJ6dF0sA2gE8k\n".utf8))
        return t.bytes
    }

    static func base() -> TarWriter {
        var t = TarWriter()
        t.add("etc/", .directory, mode: 0o755)
        t.add("etc/passwd", data: Array("root:x:0:0:root:/root:/bin/sh\n".utf8))
        t.add("usr/", .directory, mode: 0o755)
        t.add("usr/bin/", .directory, mode: 0o755)
        return t
    }

    static func headers(_ bytes: [UInt8]) throws -> [TarHeader] {
        let tar = StreamingTar(MemoryStream(bytes), name: "layer")
        var out: [TarHeader] = []
        while let h = try tar.next() { out.append(h) }
        return out
    }

    /// The regular files of a one-layer OCI image, read the way every command reads an image.
    static func imageFiles(_ layer: [UInt8], gzip: Bool = false, stored: [UInt8]? = nil) async throws -> Set<String> {
        let dir = try temporaryDirectory("tar-parity")
        defer { try? FileManager.default.removeItem(at: dir) }
        var w = try LayoutWriter(dir)
        if let stored {
            w.layers.append((stored, "application/vnd.oci.image.layer.v1.tar+gzip", LayoutWriter.digest(layer)))
            w.history.append("RUN test")
        } else {
            try w.addLayer(layer, gzip: gzip)
        }
        try w.write(user: "app")
        let source = try ImageSources.open(.ociDirectory(path: dir.path, tag: nil))
        let contents = try await ImageReader(capture: ImageCapture { _, _, _ in .keep }).read(source, budget: ReadBudget(total: 1 << 30))
        return Set(contents.filesystem.files().map(\.path))
    }

    // (a) Devices and FIFOs carry no data, whatever their size field says.
    static func deviceLayer(_ type: Character) -> [UInt8] {
        var t = base()
        let hidden = evil()
        t.header("dev/x", type: type.asciiValue!, size: hidden.count, mode: 0o600)
        t.bytes += hidden
        return t.finished()
    }

    @Test func headerOnlyTypesCarryNoData() throws {
        for type: Character in ["3", "4", "6"] {
            let names = try Self.headers(Self.deviceLayer(type)).map(\.name)
            #expect(names.contains("usr/bin/evil"), "a '\(type)' entry's size must not swallow the next entries")
            #expect(names.contains("app/config.env"))
        }
        // Types that are not header-only keep their data, as Go reads them.
        var t = TarWriter()
        t.header("weird", type: UInt8(ascii: "Q"), size: 512)
        t.append([UInt8](repeating: 0x41, count: 512))
        t.add("after", data: [1])
        #expect(try Self.headers(t.finished()).map(\.name) == ["weird", "after"])
    }

    /// Mode, uid and gid as Go reads them: base-256 values of any size and sign, the runtime keeping
    /// the low 12 mode bits and 32 id bits (-1 leaves the owner root). A field Go refuses is refused.
    @Test func numericFieldsAreReadAsGoReadsThem() throws {
        func layer(mode: [UInt8]? = nil, uid: [UInt8]? = nil, pax: [(String, String)] = []) -> [UInt8] {
            var t = TarWriter()
            if !pax.isEmpty { t.paxHeader(pax) }
            var extra: [(Int, [UInt8])] = []
            if let mode { extra.append((100, mode)) }
            if let uid { extra.append((108, uid)) }
            t.header("usr/bin/su", type: UInt8(ascii: "0"), size: 0, extra: extra)
            return t.finished()
        }
        // 2^48 + 0o4755 in base-256: Go (and umoci, containerd) extract a setuid file.
        let big = try Self.headers(layer(mode: [0x80, 0x01, 0, 0, 0, 0, 0x09, 0xED]))
        #expect(big.first?.mode == 0o4755)
        let negative = try Self.headers(layer(mode: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]))
        #expect(negative.first?.mode == 0o7777)
        // Octal between spaces and NULs, as Go trims it.
        #expect(try Self.headers(layer(mode: Array(" 4755 \0\0".utf8))).first?.mode == 0o4755)
        #expect(throws: ImageError.self) { try Self.headers(layer(mode: Array("0009755\0".utf8))) }
        // uid 2^32 is 0 to the kernel; -1 leaves the extracting root as owner.
        #expect(try Self.headers(layer(uid: [0x80, 0, 0, 0x01, 0, 0, 0, 0])).first?.uid == 0)
        #expect(try Self.headers(layer(uid: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])).first?.uid == 0)
        #expect(try Self.headers(layer(pax: [("uid", "4294968296")])).first?.uid == 1000)
        #expect(try Self.headers(layer(pax: [("uid", "-1")])).first?.uid == 0)
        #expect(throws: ImageError.self) { try Self.headers(layer(pax: [("gid", "abc")])) }
    }

    /// Names are bytes to the kernel: a precomposed and a decomposed `é` are two files, though Swift's
    /// String calls them equal. One must not replace the other in the squashed root filesystem (a
    /// setuid file would vanish behind a harmless one).
    @Test func canonicallyEqualNamesAreTwoFiles() async throws {
        var t = Self.base()
        t.add("usr/bin/caf\u{E9}", data: [0x7f, 0x45, 0x4c, 0x46], mode: 0o4755)
        t.add("usr/bin/cafe\u{301}", data: Array("#!/bin/sh\n".utf8), mode: 0o755)
        let dir = try temporaryDirectory("tar-names")
        defer { try? FileManager.default.removeItem(at: dir) }
        var w = try LayoutWriter(dir)
        try w.addLayer(t.finished())
        try w.write(user: "app")
        let source = try ImageSources.open(.ociDirectory(path: dir.path, tag: nil))
        let contents = try await ImageReader(capture: ImageCapture { _, _, _ in .keep }).read(source, budget: ReadBudget(total: 1 << 30))
        // Paths as bytes: a Set of Strings would merge them again.
        let named = contents.filesystem.files().map { Array($0.path.utf8) }.filter { $0.starts(with: Array("usr/bin/caf".utf8)) }
        #expect(named.count == 2, "\(named)")
        let setuid = contents.filesystem.files().filter { $0.node.mode & 0o4000 != 0 }.map(\.path)
        #expect(setuid.count == 1 && setuid.first.map { Array($0.utf8) } == Array("usr/bin/caf\u{E9}".utf8), "\(setuid)")
    }

    /// Two lockfiles whose paths are canonically equal but byte-different are two files to every
    /// reader: both are catalogued, in an image and in a directory, and the same way every run.
    @Test func canonicallyEqualPathsAreCataloguedApart() async throws {
        func lock(_ name: String) -> [UInt8] {
            Array(#"{"name":"x","lockfileVersion":3,"packages":{"":{"name":"x"},"node_modules/\#(name)":{"version":"1.0.0"}}}"#.utf8)
        }
        var t = Self.base()
        t.add("app/caf\u{E9}/package-lock.json", data: lock("left-pad"))
        t.add("app/cafe\u{301}/package-lock.json", data: lock("lodash"))
        t.add("app\u{600}/package-lock.json", data: lock("chalk"))
        let dir = try temporaryDirectory("tar-paths")
        defer { try? FileManager.default.removeItem(at: dir) }
        var w = try LayoutWriter(dir.appendingPathComponent("img"))
        try w.addLayer(t.finished())
        try w.write(user: "app")
        for _ in 0..<3 {
            let r = try runProcess(provenantBinary, ["sbom", "oci-dir:" + dir.appendingPathComponent("img").path, "--format", "json", "--quiet"])
            #expect(r.code == 0 && r.out.contains("\"left-pad\"") && r.out.contains("\"lodash\"") && r.out.contains("\"chalk\"") && !r.err.contains("freed"), "\(r.err)")
        }
        let tree = dir.appendingPathComponent("tree")
        for (sub, name) in [("app/caf\u{E9}", "left-pad"), ("app/cafe\u{301}", "lodash"), ("app\u{600}", "chalk")] {
            let d = tree.appendingPathComponent(sub)
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
            try Data(lock(name)).write(to: d.appendingPathComponent("package-lock.json"))
        }
        let r = try runProcess(provenantBinary, ["sbom", tree.path, "--format", "json", "--quiet"])
        #expect(r.out.contains("\"left-pad\"") && r.out.contains("\"lodash\"") && r.out.contains("\"chalk\""), "\(r.err)")
        // An exclude reaches a directory whose child begins with a combining mark.
        #expect(Glob.excludes([Glob("opt")], "opt/\u{301}x/package-lock.json") && ExcludeFilter([Glob("opt")]).excludes("opt/\u{301}x/package-lock.json"))
    }

    /// Go expands GNU sparse files and renames them from `GNU.sparse.name`: such an entry would land
    /// under a name, or with bytes, this reader never saw, so a layer holding one is refused.
    @Test func sparseEntriesAreRefused() throws {
        var old = Self.base()
        old.header("etc/shadow", type: UInt8(ascii: "S"), size: 0)
        #expect(throws: ImageError.self) { try Self.headers(old.finished()) }
        var pax = Self.base()
        pax.add("etc/decoy", data: Array("app:x:0:0\n".utf8),
                pax: ["GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "etc/passwd", "GNU.sparse.realsize": "10"])
        do {
            _ = try Self.headers(pax.finished())
            Issue.record("a GNU sparse pax entry was read")
        } catch {
            #expect("\(error)".contains("GNU sparse"), "\(error)")
        }
    }

    @Test func deviceWithSizeDoesNotHideFilesFromTheImage() async throws {
        let files = try await Self.imageFiles(Self.deviceLayer("3"), gzip: true)
        #expect(files.contains("usr/bin/evil"))
        #expect(files.contains("app/config.env"))
    }

    // (b) A pax record with an empty value is dropped; the ustar field stands.
    @Test func emptyPaxValuesAreIgnored() throws {
        var t = TarWriter()
        t.paxHeader([("path", ""), ("size", "")])
        t.add("usr/bin/evil", data: [1, 2, 3], mode: 0o4755)
        t.paxHeader([("linkpath", "")])
        t.add("usr/bin/ln", .symlink, link: "evil")
        let h = try Self.headers(t.finished())
        #expect(h.map(\.name) == ["usr/bin/evil", "usr/bin/ln"])
        #expect(h.first?.size == 3)
        #expect(h.last?.linkName == "evil")
    }

    // (c) A GNU long name or long link wins over pax path and linkpath.
    static func longNameLayer() -> [UInt8] {
        var t = base()
        t.gnuLong("usr/bin/evil")
        t.paxHeader([("path", "usr/share/doc/readme")])
        t.header("short", type: UInt8(ascii: "0"), size: 4, mode: 0o4755)
        t.append([0x7f, 0x45, 0x4c, 0x46])
        t.gnuLong("/etc/shadow", type: UInt8(ascii: "K"))
        t.paxHeader([("linkpath", "harmless")])
        t.header("usr/bin/ln", type: UInt8(ascii: "2"), size: 0, link: "x")
        return t.finished()
    }

    @Test func gnuLongNamesWinOverPax() throws {
        let h = try Self.headers(Self.longNameLayer())
        #expect(h.contains { $0.name == "usr/bin/evil" && $0.kind == .file })
        #expect(!h.contains { $0.name == "usr/share/doc/readme" })
        #expect(h.first { $0.name == "usr/bin/ln" }?.linkName == "/etc/shadow")
    }

    @Test func gnuLongNameIsWhereTheImagePutsTheFile() async throws {
        let files = try await Self.imageFiles(Self.longNameLayer())
        #expect(files.contains("usr/bin/evil"))
        #expect(!files.contains("usr/share/doc/readme"))
    }

    // (d) Of consecutive pax headers only the last applies.
    @Test func onlyTheLastOfConsecutivePaxHeadersApplies() throws {
        var t = TarWriter()
        t.paxHeader([("path", "usr/share/doc/readme")])
        t.paxHeader([("mtime", "1")])
        t.add("usr/bin/evil", data: [1], mode: 0o4755)
        #expect(try Self.headers(t.finished()).map(\.name) == ["usr/bin/evil"])
    }

    // (e) A NUL-typed (old regular file) entry whose name ends in '/' is a directory, and carries no data.
    @Test func oldRegularFileWithSlashIsADirectory() throws {
        var t = Self.base()
        let hidden = Self.evil()
        t.header("usr/lib/", type: 0, size: hidden.count, mode: 0o755)
        t.bytes += hidden
        let h = try Self.headers(t.finished())
        #expect(h.first { $0.name == "usr/lib/" }?.kind == .directory)
        #expect(h.contains { $0.name == "usr/bin/evil" })
    }

    // (f) A global header ends whatever extended headers came before it.
    @Test func globalHeaderDropsPendingExtendedHeaders() throws {
        var t = TarWriter()
        t.paxHeader([("path", "usr/share/doc/readme")])
        t.paxHeader([("comment", "x")], type: UInt8(ascii: "g"))
        t.add("usr/bin/evil", data: [1], mode: 0o4755)
        t.gnuLong("usr/share/doc/other")
        t.paxHeader([("comment", "y")], type: UInt8(ascii: "g"))
        t.add("app/config.env", data: [2])
        #expect(try Self.headers(t.finished()).map(\.name) == ["usr/bin/evil", "app/config.env"])
    }

    // (g) Only POSIX ustar headers have a name prefix; GNU headers keep times there.
    @Test func gnuHeadersHaveNoNamePrefix() throws {
        var t = TarWriter()
        let times = Array("00000000000\u{0}00000000000\u{0}".utf8)
        t.header("usr/bin/evil", type: UInt8(ascii: "0"), size: 1, mode: 0o4755, magic: Array("ustar  \u{0}".utf8), extra: [(345, times)])
        t.append([1])
        t.header("evil2", type: UInt8(ascii: "0"), size: 1, extra: [(345, Array("usr/bin".utf8))])
        t.append([2])
        #expect(try Self.headers(t.finished()).map(\.name) == ["usr/bin/evil", "usr/bin/evil2"])
    }

    // (g') But a GNU header whose access or change time is set and does not parse as a number has its
    // prefix after all, when it is ASCII (Go's fallback for archives Go wrote before 1.8): found by
    // re-reading, where this reader named the file `evil` and umoci put it at `usr/bin/evil`.
    static func gnuPrefixLayer() -> [UInt8] {
        var t = Self.base()
        let gnu = Array("ustar  \u{0}".utf8)
        t.header("evil", type: UInt8(ascii: "0"), size: 1, mode: 0o4755, magic: gnu, extra: [(345, Array("usr/bin".utf8))])
        t.append([1])
        // A change time that does not parse, after an access time that does.
        t.header("evil2", type: UInt8(ascii: "0"), size: 1, magic: gnu, extra: [(345, Array("00000000000\u{0}x".utf8))])
        t.append([2])
        t.header("plain", type: UInt8(ascii: "0"), size: 1, magic: gnu, extra: [(345, Array("00000000000\u{0}00000000000\u{0}".utf8))])
        t.append([3])
        t.header("wide", type: UInt8(ascii: "0"), size: 1, magic: gnu, extra: [(345, Array("usr/b\u{E9}n".utf8))])
        t.append([4])
        // `ustar ` with another version is an old-style header to Go: no prefix.
        t.header("old", type: UInt8(ascii: "0"), size: 1, magic: Array("ustar x\u{0}".utf8), extra: [(345, Array("usr/bin".utf8))])
        t.append([5])
        return t.finished()
    }

    @Test func gnuHeaderWithUnreadableTimesHasAPrefix() throws {
        let names = try Self.headers(Self.gnuPrefixLayer()).map(\.name).filter { !$0.hasSuffix("/") && $0 != "etc/passwd" }
        #expect(names == ["usr/bin/evil", "00000000000/evil2", "plain", "wide", "old"])
    }

    /// The same layer unpacked by umoci (Go's archive/tar): its files are where this reader puts them.
    @Test func gnuPrefixMatchesUmoci() async throws {
        let dir = try temporaryDirectory("gnu-prefix")
        defer { try? FileManager.default.removeItem(at: dir) }
        let layer = dir.appendingPathComponent("layer.tar").path, layout = dir.appendingPathComponent("layout").path
        try Data(Self.gnuPrefixLayer()).write(to: URL(fileURLWithPath: layer))
        _ = try tool("umoci", ["init", "--layout", layout])
        _ = try tool("umoci", ["new", "--image", layout + ":t"])
        _ = try tool("umoci", ["raw", "add-layer", "--image", layout + ":t", layer])
        let bundle = dir.appendingPathComponent("bundle").path
        _ = try tool("umoci", ["unpack", "--image", layout + ":t", bundle])
        let rootfs = bundle + "/rootfs/"
        let unpacked = Set((FileManager.default.subpaths(atPath: rootfs) ?? []).filter { p in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: rootfs + p, isDirectory: &isDir) && !isDir.boolValue
        })
        #expect(unpacked.contains("usr/bin/evil") && unpacked.contains("00000000000/evil2"), "\(unpacked.sorted())")
        let source = try ImageSources.open(.ociDirectory(path: layout, tag: "t"))
        let contents = try await ImageReader(capture: ImageCapture { _, _, _ in .keep }).read(source, budget: ReadBudget(total: 1 << 30))
        #expect(Set(contents.filesystem.files().map(\.path)) == unpacked)
    }

    // (h) A second gzip member is read even when the first ends one byte before the read buffer does.
    static func splitGzip() throws -> (tar: [UInt8], gzip: [UInt8]) {
        var a = base()
        var rng = SystemRandomNumberGenerator()
        a.add("usr/share/blob.bin", data: (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &rng) })
        let partA = a.bytes
        let partB = Self.evil() + [UInt8](repeating: 0, count: 1024)
        let dir = try temporaryDirectory("gzip-split")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(partA).write(to: dir.appendingPathComponent("a"))
        try Data(partB).write(to: dir.appendingPathComponent("b"))
        // The first member is padded with a FEXTRA field to exactly 131071 bytes: one short of the 128 KiB
        // the gzip reader reads at a time, so the next member's first byte is the buffer's last.
        let script = """
        import sys, zlib, struct
        d = sys.argv[1]
        A = open(d + '/a', 'rb').read(); B = open(d + '/b', 'rb').read()
        def body(x):
            c = zlib.compressobj(9, zlib.DEFLATED, -15); return c.compress(x) + c.flush()
        def member(x, total=None):
            b = body(x); tr = struct.pack('<II', zlib.crc32(x) & 0xffffffff, len(x) & 0xffffffff)
            if total is None: return b'\\x1f\\x8b\\x08\\x00' + b'\\0' * 4 + b'\\x00\\x03' + b + tr
            xlen = total - 12 - len(b) - 8
            assert 0 <= xlen < 65536, xlen
            return b'\\x1f\\x8b\\x08\\x04' + b'\\0' * 4 + b'\\x00\\x03' + struct.pack('<H', xlen) + b'X' * xlen + b + tr
        m1 = member(A, 131071); assert len(m1) == 131071
        open(d + '/out.gz', 'wb').write(m1 + member(B))
        """
        try tool("python3", ["-c", script, dir.path])
        let gz = [UInt8](try Data(contentsOf: dir.appendingPathComponent("out.gz")))
        return (partA + partB, gz)
    }

    @Test func gzipMemberEndingOneByteBeforeTheBufferEnd() async throws {
        let (tar, gz) = try Self.splitGzip()
        #expect(gz[131071] == 0x1f && gz[131072] == 0x8b)
        let stream = try GzipStream(MemoryStream(gz), name: "layer", budget: InflatedBytes(limit: 1 << 30))
        let reader = StreamingTar(stream, name: "layer")
        var names: [String] = []
        while let h = try reader.next() { names.append(h.name) }
        #expect(names.contains("usr/bin/evil"))
        #expect(names.contains("app/config.env"))
        let files = try await Self.imageFiles(tar, stored: gz)
        #expect(files.contains("usr/bin/evil"))
        #expect(files.contains("app/config.env"))
    }

    // The outer archive of a docker-archive or oci-archive follows the same rules.
    @Test func outerArchiveDeviceEntryDoesNotHideTheLayout() async throws {
        let dir = try temporaryDirectory("tar-parity-archive")
        defer { try? FileManager.default.removeItem(at: dir) }
        let layoutDir = dir.appendingPathComponent("layout")
        var w = try LayoutWriter(layoutDir)
        try w.addLayer(Self.base().finished())
        try w.write(user: "app")
        var rest = TarWriter()
        let fm = FileManager.default
        for f in (fm.enumerator(atPath: layoutDir.path)?.allObjects as? [String] ?? []).sorted() {
            var isDir: ObjCBool = false
            _ = fm.fileExists(atPath: layoutDir.appendingPathComponent(f).path, isDirectory: &isDir)
            if isDir.boolValue { continue }
            let data = [UInt8](try Data(contentsOf: layoutDir.appendingPathComponent(f)))
            // A GNU header with times where a POSIX one has its prefix.
            rest.header(f, type: UInt8(ascii: "0"), size: data.count, magic: Array("ustar  \u{0}".utf8),
                         extra: [(345, Array("00000000000\u{0}".utf8))])
            rest.append(data)
        }
        // A device whose size field covers the whole layout.
        var outer = TarWriter()
        outer.header("dev/x", type: UInt8(ascii: "3"), size: rest.bytes.count)
        outer.bytes += rest.bytes
        let archive = dir.appendingPathComponent("image.tar")
        try Data(outer.finished()).write(to: archive)
        let source = try ImageSources.open(.ociArchive(path: archive.path, tag: nil))
        let contents = try await ImageReader(capture: ImageCapture { _, _, _ in .keep }).read(source, budget: ReadBudget(total: 1 << 30))
        #expect(contents.filesystem.files().map(\.path).contains("etc/passwd"))
    }

    /// Reads the docker archive at `path` (removed after) whole: nil when it reads, else the error.
    static func readError(archive path: String) async -> String? {
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let source = try ImageSources.open(try #require(try ImageReference.parse("docker-archive:" + path)))
            _ = try await ImageReader(capture: ImageCapture { _, _, _ in .keep }).read(source, budget: ReadBudget(total: 1 << 30))
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Found by helper-120: entries that are not strings were left out of `diff_ids` and of a
    /// docker-archive's `Layers` before their counts were compared, so four diff IDs for one layer, or
    /// a second layer named by an object, read as a clean image. Go's runtimes refuse such documents;
    /// so does this reader, as it does any such list in the config.
    @Test func listsWithEntriesThatAreNotStringsAreRefused() async throws {
        var layer = TarWriter()
        layer.add("etc/hostname", data: Array("x\n".utf8))
        let layerBytes = layer.finished(), diffID = LayoutWriter.digest(layerBytes)
        func outcome(config: String, layers: String) async throws -> String? {
            var t = TarWriter()
            t.add("cfg.json", data: Array(config.utf8))
            t.add("layer.tar", data: layerBytes)
            t.add("manifest.json", data: Array(#"[{"Config":"cfg.json","RepoTags":["x:v1"],"Layers":\#(layers)}]"#.utf8))
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("non-string-\(UUID().uuidString).tar").path
            try Data(t.finished()).write(to: URL(fileURLWithPath: path))
            return await Self.readError(archive: path)
        }
        func config(_ ids: String, _ inner: String = "") -> String {
            #"{"architecture":"amd64","os":"linux","config":{\#(inner)},"rootfs":{"type":"layers","diff_ids":\#(ids)}}"#
        }
        #expect(try await outcome(config: config(#"["\#(diffID)"]"#), layers: #"["layer.tar"]"#) == nil)
        #expect(try await outcome(config: config(#"["\#(diffID)"]"#, #""Env":null,"Cmd":null"#), layers: #"["layer.tar"]"#) == nil)
        // Docker reads a string as a one-item list for Cmd, Entrypoint and Shell (helper-123).
        #expect(try await outcome(config: config(#"["\#(diffID)"]"#, #""Cmd":"/bin/sh","Entrypoint":"run","Shell":"sh""#), layers: #"["layer.tar"]"#) == nil)
        let cases: [(String, String, String)] = [
            (config(#"["\#(diffID)", 5, null, {"x": 1}]"#), #"["layer.tar"]"#, "'rootfs.diff_ids' whose entry 2 is not a string"),
            (config(#""\#(diffID)""#), #"["layer.tar"]"#, "'rootfs.diff_ids' that is not a list"),
            (config(#"["\#(diffID)"]"#), #"["layer.tar", {"x": "l2.tar"}]"#, "'Layers' whose entry 2 is not a string"),
            (config(#"["\#(diffID)"]"#, #""Env":["A=1", 2]"#), #"["layer.tar"]"#, "'config.Env' whose entry 2"),
            (config(#"["\#(diffID)"]"#, #""Env":"A=1""#), #"["layer.tar"]"#, "'config.Env' that is not a list"),
            (config(#"["\#(diffID)"]"#, #""Cmd":["sh", 1]"#), #"["layer.tar"]"#, "'config.Cmd' whose entry 2"),
        ]
        for (cfg, layers, words) in cases {
            let r = try await outcome(config: cfg, layers: layers)
            #expect(r?.contains(words) == true, "\(words): \(r ?? "read")")
        }
    }

    /// Loaders find a docker-archive's entries by their cleaned names (skopeo takes the first match,
    /// `docker load` the last one extracted): names that need `..` cleaned, or two entries with one
    /// name, would show them another config or manifest than this reader reads, so they are refused.
    @Test func ambiguousArchiveNamesAreRefused() async throws {
        var layer = TarWriter()
        layer.add("etc/hostname", data: Array("x\n".utf8))
        let layerBytes = layer.finished()
        func config(_ user: String) -> [UInt8] {
            Array(#"{"architecture":"amd64","os":"linux","config":{"User":"\#(user)"},"rootfs":{"type":"layers","diff_ids":["\#(LayoutWriter.digest(layerBytes))"]}}"#.utf8)
        }
        let manifest = Array(#"[{"Config":"cfg.json","RepoTags":["x:v1"],"Layers":["layer.tar"]}]"#.utf8)
        func archive(_ extra: (inout TarWriter) -> Void) throws -> String {
            var t = TarWriter()
            extra(&t)
            t.add("cfg.json", data: config("1000:1000"))
            t.add("layer.tar", data: layerBytes)
            t.add("manifest.json", data: manifest)
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("ambiguous-\(UUID().uuidString).tar").path
            try Data(t.finished()).write(to: URL(fileURLWithPath: path))
            return path
        }
        func outcome(_ path: String) async -> String? { await Self.readError(archive: path) }
        #expect(await outcome(try archive { _ in }) == nil)
        let climbing = await outcome(try archive { $0.add("a/../cfg.json", data: config("root")) })
        #expect(climbing?.contains("'..'") == true, "\(climbing ?? "read")")
        let twice = await outcome(try archive { $0.add("./cfg.json", data: config("root")) })
        #expect(twice?.contains("two entries named 'cfg.json'") == true, "\(twice ?? "read")")
        // A `/` followed by a combining mark is one Character to Swift, a separator to Go: the names
        // clean to one, and are refused as two entries with one name.
        let marked = await outcome(try archive { t in
            t.add("c/\u{301}.json", data: config("1000"))
            t.add("c//\u{301}.json", data: config("root"))
        })
        #expect(marked?.contains("two entries named") == true, "\(marked ?? "read")")
        #expect(PathText.components("a/\u{301}b//c") == ["a", "\u{301}b", "c"])
        #expect(PathText.components("/a//\u{301}/", omittingEmpty: false) == ["", "a", "", "\u{301}", ""])
        #expect(PathText.components("").isEmpty && PathText.components("", omittingEmpty: false) == [""])
        #expect(PathText.components("\u{301}/x").map { Array($0.unicodeScalars) } == [["\u{301}"], ["x"]])
        #expect(PathText.lastComponent("cfg/\u{301}.json") == "\u{301}.json" && PathText.parent("cfg/\u{301}.json") == "cfg")
        let sparse = await outcome(try archive { $0.header("manifest.json", type: UInt8(ascii: "S"), size: 0) })
        #expect(sparse?.contains("GNU sparse") == true, "\(sparse ?? "read")")
    }
}
