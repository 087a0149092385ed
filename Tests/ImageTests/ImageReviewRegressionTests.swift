import Catalog
import Foundation
import ProvenantCore
import Testing
import TestSupport

/// Cases a review found: each once passed a check it should have failed, or printed what it should not.
@Suite struct ImageReviewRegressionTests {
    @Test func aCompressedLayerWhoseDiffIDIsWrongIsRefused() async throws {
        let dir = try temporaryDirectory("diffid")
        defer { try? FileManager.default.removeItem(at: dir) }
        var t = TarWriter()
        t.add("etc/hostname", data: Array("x\n".utf8))
        var w = try LayoutWriter(dir)
        try w.addLayer(t.finished(), gzip: true)
        w.layers[0].diffID = "sha256:" + String(repeating: "0", count: 64)
        try w.write()
        let source = try ImageSources.open(.ociDirectory(path: dir.path, tag: nil))
        await #expect(throws: ImageError.self) { _ = try await ImageReader().read(source, budget: ReadBudget(total: 1 << 30)) }
    }

    @Test func theLowestBadLayerIsTheOneReported() throws {
        let dir = try temporaryDirectory("two-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        var w = try LayoutWriter(dir)
        var a = TarWriter(); a.add("../a", data: [1])
        var b = TarWriter(); b.add("../b", data: [1])
        try w.addLayer(a.finished()); try w.addLayer(b.finished())
        try w.write()
        for _ in 0..<3 {
            let r = try runProcess(provenantBinary, ["sbom", "oci-dir:" + dir.path, "--quiet"])
            #expect(r.code == 2 && r.err.contains("'../a'"), "\(r.err)")
        }
    }

    @Test func aTarWithSomeOtherManifestJSONIsNotAnImage() throws {
        let dir = try temporaryDirectory("not-image")
        defer { try? FileManager.default.removeItem(at: dir) }
        var t = TarWriter()
        t.add("manifest.json", data: Array(#"{"manifest_version": 3, "name": "an extension"}"#.utf8))
        let path = dir.appendingPathComponent("extension.tar").path
        try Data(t.finished()).write(to: URL(fileURLWithPath: path))
        #expect(ImageReference.detect(path: path) == nil)
    }

    @Test func aHardLinksOwnCapabilityCounts() async throws {
        let dir = try temporaryDirectory("link-cap")
        defer { try? FileManager.default.removeItem(at: dir) }
        var t = TarWriter()
        t.add("usr/bin/plain", data: Array("#!/bin/sh\n".utf8), mode: 0o755)
        // vfs_cap_data v2 with CAP_NET_RAW (bit 13) permitted and effective, as setcap writes it.
        let cap = "\u{01}\u{00}\u{00}\u{02}\u{00}\u{20}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}"
        t.add("usr/bin/linked", .hardLink, link: "usr/bin/plain", pax: ["SCHILY.xattr.security.capability": cap])
        var w = try LayoutWriter(dir)
        try w.addLayer(t.finished())
        try w.write()
        let source = try ImageSources.open(.ociDirectory(path: dir.path, tag: nil))
        let contents = try await ImageReader().read(source, budget: ReadBudget(total: 1 << 30))
        let plain = try contents.filesystem.resolve("usr/bin/plain").node
        let linked = try contents.filesystem.resolve("usr/bin/linked").node
        #expect(linked.capability != nil && plain.capability == linked.capability, "the link's xattr is on the shared inode")
    }

    /// A package database or metadata file stored as a hard link to a file whose own name no extractor
    /// wants (uv links site-packages to its cache, which sorts first): the layer is read again for the
    /// bytes, through gzip and its digest as the first time, and the packages are found.
    @Test func aWantedFileStoredAsAHardLinkIsRead() async throws {
        for gzip in [false, true] {
            let dir = try temporaryDirectory("link-wanted")
            defer { try? FileManager.default.removeItem(at: dir) }
            var t = TarWriter()
            t.add("data/status", data: Array("Package: tool\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\n\n".utf8))
            t.add("var/lib/dpkg/status", .hardLink, link: "data/status")
            t.add("root/.cache/uv/archive-v0/abc/lib-2.0.dist-info/METADATA", data: Array("Metadata-Version: 2.1\nName: lib\nVersion: 2.0\n".utf8))
            t.add("usr/lib/python3/dist-packages/lib-2.0.dist-info/METADATA", .hardLink, link: "./root/.cache/uv/archive-v0/abc/lib-2.0.dist-info/METADATA")
            var upper = TarWriter()
            upper.add("data/.wh.status")
            var w = try LayoutWriter(dir)
            try w.addLayer(t.finished(), gzip: gzip)
            try w.addLayer(upper.finished())
            try w.write()
            let inv = try await catalogImage("oci-dir:" + dir.path)
            #expect(Set(inv.packages.map(\.purl.description)) == ["pkg:deb/debian/tool@1.0-1?arch=amd64", "pkg:pypi/lib@2.0"], "gzip \(gzip): \(inv.packages.map(\.purl.description)) \(inv.diagnostics)")
            #expect(inv.diagnostics.isEmpty, "\(inv.diagnostics)")
        }
    }

    /// A hard link keeps the bytes its target had when the link was made, as extraction does, even when
    /// a later entry of the layer reuses the target's path: the layer is read again by entry, not by path.
    @Test func aHardLinkKeepsTheBytesItWasMadeWith() async throws {
        let dir = try temporaryDirectory("link-reused-path")
        defer { try? FileManager.default.removeItem(at: dir) }
        func status(_ name: String) -> [UInt8] { Array("Package: \(name)\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\n".utf8) }
        var t = TarWriter()
        t.add("cache/blob", data: status("evilpkg"))
        t.add("var/lib/dpkg/status", .hardLink, link: "cache/blob")
        t.add("cache/blob", data: status("openssl"))
        var w = try LayoutWriter(dir)
        try w.addLayer(t.finished())
        try w.write()
        let inv = try await catalogImage("oci-dir:" + dir.path)
        #expect(inv.packages.map(\.name) == ["evilpkg"], "\(inv.packages.map(\.name)) \(inv.diagnostics)")
    }

    @Test func configTextIsRedactedInTheSBOMAndScannedForSecrets() throws {
        let dir = try temporaryDirectory("config-text")
        defer { try? FileManager.default.removeItem(at: dir) }
        var t = TarWriter()
        t.add("etc/hostname", data: Array("x\n".utf8))
        let token = "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
        let layout = dir.appendingPathComponent("withtoken")
        var w2 = try LayoutWriter(layout)
        try w2.addLayer(t.finished())
        w2.configExtra = []
        w2.envOverride = ["\(token)", "PATH=/usr/bin"]
        // A plain value under a credential's key, and a run-on capitals name (found by helper-211).
        w2.labels = ["deploy.key": "token=\(token)", "db_password": "Sup3rS3cret99", "note": "PGPASSWORD=hunter2xyz"]
        w2.cmd = ["/app", "--slack-token", token, "GITHUBTOKEN=plainWords9"]
        try w2.write()
        let sbom = try runProcess(provenantBinary, ["sbom", "oci-dir:" + layout.path, "--quiet"])
        #expect(sbom.code == 0, "\(sbom.err)")
        #expect(!sbom.out.contains(token), "no config text is written whole")
        for plain in ["Sup3rS3cret99", "hunter2xyz", "plainWords9"] { #expect(!sbom.out.contains(plain), "\(plain) is written whole") }
        #expect(sbom.out.contains("org.opencontainers") || sbom.out.contains("provenant:image:label:note"), "labels are still written")
        let scan = try runProcess(provenantBinary, ["secrets", "scan", "oci-dir:" + layout.path, "--format", "json"])
        #expect(!scan.out.contains(token))
        #expect(scan.out.contains("(config label deploy.key)"), "labels are scanned: \(scan.out)")
        #expect(scan.out.contains("(config Cmd)"), "Cmd is scanned")
    }
}

@Suite struct MergedUsrTests {
    @Test func entriesUnderALowerLinkLandInItsTarget() async throws {
        let dir = try temporaryDirectory("merged-usr")
        defer { try? FileManager.default.removeItem(at: dir) }
        var base = TarWriter()
        base.add("usr/lib/", .directory, mode: 0o755)
        base.add("lib", .symlink, link: "usr/lib")
        var upper = TarWriter()
        // The layer lists only the file, not `lib/` itself: its parent is resolved through the link.
        upper.add("lib/evil", data: [1], mode: 0o4755)
        var w = try LayoutWriter(dir)
        try w.addLayer(base.finished()); try w.addLayer(upper.finished())
        try w.write()
        let source = try ImageSources.open(.ociDirectory(path: dir.path, tag: nil))
        let contents = try await ImageReader().read(source, budget: ReadBudget(total: 1 << 30))
        let paths = contents.filesystem.files().map(\.path)
        #expect(paths == ["usr/lib/evil"], "\(paths)")
        #expect(try contents.filesystem.resolve("lib", followLast: false).node.kind == .symbolicLink("usr/lib"), "the link stays a link")
    }
}

@Suite struct OtherPlatformTests {
    @Test func aScanOfOnePlatformSaysTheOthersWereNotChecked() throws {
        let dir = try temporaryDirectory("platforms")
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = try LayoutWriter.oneFile(dir)
        let amd = try w.write()
        // A second manifest (the same one with a trailing newline, so another digest) for arm64.
        let blobs = dir.appendingPathComponent("blobs/sha256")
        let arm = try Data(contentsOf: blobs.appendingPathComponent(String(amd.dropFirst(7)))) + Data("\n".utf8)
        let armDigest = try w.blob([UInt8](arm))
        let index = """
        {"schemaVersion":2,"manifests":[\
        {"mediaType":"\(MediaType.ociManifest)","digest":"\(amd)","size":\(arm.count - 1),"platform":{"os":"linux","architecture":"amd64"}},\
        {"mediaType":"\(MediaType.ociManifest)","digest":"\(armDigest)","size":\(arm.count),"platform":{"os":"linux","architecture":"arm64"}}]}
        """
        try Data(index.utf8).write(to: dir.appendingPathComponent("index.json"))
        let r = try runProcess(provenantBinary, ["secrets", "scan", "oci-dir:" + dir.path])
        #expect(r.code == 0)
        #expect(r.err.contains("NOT CHECKED") && r.err.contains("linux/arm64"), "\(r.err)")
        #expect(r.out.contains("1 partly scanned"), "\(r.out)")
        let sbom = try runProcess(provenantBinary, ["sbom", "oci-dir:" + dir.path, "--platform", "linux/arm64", "--quiet"])
        #expect(sbom.code == 0 && sbom.out.contains("provenant:image:other-platform") && sbom.out.contains("linux/amd64"), "\(sbom.err)")
    }

    /// An image that is not in an index is read whatever platform it is for, unless `--platform` asks
    /// for another one: then every command refuses it rather than read the wrong image. Case is ignored.
    @Test func aSingleImageOfAnotherPlatformIsRefusedWhenOneIsAskedFor() throws {
        let dir = try temporaryDirectory("one-platform")
        defer { try? FileManager.default.removeItem(at: dir) }
        try LayoutWriter.oneFile(dir).write()
        let target = "oci-dir:" + dir.path
        for command in [["sbom"], ["secrets", "scan"], ["policy", "check"]] {
            let asked = try runProcess(provenantBinary, command + [target, "--platform", "linux/arm64"])
            #expect(asked.code == 2, "\(command): \(asked.err)")
            #expect(asked.err.contains("is an image for linux/amd64, not for linux/arm64"), "\(command): \(asked.err)")
            #expect(asked.err.split(separator: "\n").count == 1, "one line: \(asked.err)")
            let upper = try runProcess(provenantBinary, command + [target, "--platform", "LINUX/AMD64"])
            #expect(upper.code == 0, "\(command): \(upper.err)")
        }
        #expect(try runProcess(provenantBinary, ["sbom", target, "--quiet"]).code == 0)
    }
}

@Suite struct GoBinaryInImageTests {
    @Test func aGoBinaryIsKeptAndReadAndOtherExecutablesAreScreenedOut() async throws {
        let dir = try temporaryDirectory("go-image")
        defer { try? FileManager.default.removeItem(at: dir) }
        let mod = "path\texample.com/agent/cmd/agent\nmod\texample.com/agent\tv1.4.0\t\ndep\tgolang.org/x/net\tv0.17.0\t\n"
        let binary = SyntheticGoBinary.make(goVersion: "go1.22.1", modInfo: mod)
        var t = TarWriter()
        t.add("usr/local/bin/agent", data: binary, mode: 0o755)
        // An executable ELF of the same size without Go build info.
        t.add("usr/bin/other", data: [0x7F, 0x45, 0x4C, 0x46] + [UInt8](repeating: 7, count: 9000), mode: 0o755)
        var w = try LayoutWriter(dir)
        try w.addLayer(t.finished(), gzip: true)
        try w.write()
        let inv = try await catalogImage("oci-dir:" + dir.path)
        #expect(inv.packages.map(\.purl.description).sorted() == [
            "pkg:golang/example.com/agent@v1.4.0", "pkg:golang/golang.org/x/net@v0.17.0", "pkg:golang/stdlib@1.22.1",
        ])
        let main = try #require(inv.packages.first { $0.name == "example.com/agent" })
        #expect(main.digests.map(\.value) == [FileDigest.sha256(binary).value])
        #expect(inv.diagnostics.isEmpty, "\(inv.diagnostics)")
    }
}

/// Layers that write through links, and names of one file that disagree: each let a setuid file, a
/// capability or a package hide from `policy check` and `sbom` (found by helper-89).
@Suite struct LayerLinkTrickTests {
    static let elf: [UInt8] = [0x7f, 0x45, 0x4c, 0x46] + [UInt8](repeating: 0, count: 60)

    static func read(_ name: String, _ layers: [TarWriter]) async throws -> ImageContents {
        let dir = try temporaryDirectory(name)
        defer { try? FileManager.default.removeItem(at: dir) }
        var w = try LayoutWriter(dir)
        for l in layers { try w.addLayer(l.finished()) }
        try w.write()
        let source = try ImageSources.open(.ociDirectory(path: dir.path, tag: nil))
        return try await ImageReader().read(source, budget: ReadBudget(total: 1 << 30))
    }

    /// Names that are not UTF-8 were decoded to U+FFFD, so `bin/a\xFF` and `bin/a\xFE` were one file:
    /// a harmless entry or a whiteout under the second hid the setuid first, which umoci keeps (found
    /// by helper-164). Each byte name is its own file, and a name really holding U+FFFD is a third.
    @Test func namesThatAreNotUTF8AreNotMergedOrWhitedOutByEachOther() async throws {
        func raw(_ t: inout TarWriter, _ name: [UInt8], data: [UInt8] = [], mode: Int = 0o644) {
            t.header("", type: 48, size: data.count, mode: mode, extra: [(0, name)])
            t.append(data)
        }
        var same = TarWriter()
        same.add("bin/", .directory, mode: 0o755)
        raw(&same, Array("bin/a".utf8) + [0xFF], data: Self.elf, mode: 0o4755)
        raw(&same, Array("bin/a".utf8) + [0xFE], data: Array("#!/bin/sh\n".utf8), mode: 0o755)
        same.add("bin/a\u{FFFD}", data: Array("plain".utf8), mode: 0o755)
        let one = try await Self.read("utf8-same-layer", [same])
        let setuid = one.filesystem.files().filter { $0.node.mode & 0o4000 != 0 }.map(\.path)
        #expect(setuid == ["bin/a\u{FFFD}ff"], "\(setuid)")
        #expect(Set(one.filesystem.files().map(\.path)) == ["bin/a\u{FFFD}ff", "bin/a\u{FFFD}fe", "bin/a\u{FFFD}U"])
        var lower = TarWriter()
        lower.add("bin/", .directory, mode: 0o755)
        raw(&lower, Array("bin/a".utf8) + [0xFF], data: Self.elf, mode: 0o4755)
        var upper = TarWriter()
        raw(&upper, Array("bin/.wh.a".utf8) + [0xFE])
        upper.add("bin/.wh.a\u{FFFD}")
        let two = try await Self.read("utf8-whiteout", [lower, upper])
        #expect(two.filesystem.files().filter { $0.node.mode & 0o4000 != 0 }.map(\.path) == ["bin/a\u{FFFD}ff"])
        // The whiteout of the same bytes still deletes it.
        var exact = TarWriter()
        raw(&exact, Array("bin/.wh.a".utf8) + [0xFF])
        #expect(try await Self.read("utf8-whiteout-exact", [lower, exact]).filesystem.files().isEmpty)
        #expect(TarName.decode([0x61, 0xC3, 0xA9, 0xED, 0xA0, 0x80, 0xF0, 0x9F, 0x98, 0x80, 0xC0, 0xAF]) == "a\u{E9}\u{FFFD}ed\u{FFFD}a0\u{FFFD}80\u{1F600}\u{FFFD}c0\u{FFFD}af",
                "valid sequences kept; a surrogate and an overlong form are bytes")
    }

    /// Names with a part no Linux file system holds are refused: thousands of them sharing a 4,000-byte
    /// part took minutes and gigabytes to list (found by helper-164). A long path of short parts is read.
    @Test func aNamePartLongerThanAnyFileSystemHoldsIsRefused() async throws {
        var long = TarWriter()
        long.gnuLong("d/" + String(repeating: "A", count: 2000))
        long.add("x", data: Array("hi".utf8))
        let e = await #expect(throws: ImageError.self) { _ = try await Self.read("long-part", [long]) }
        #expect(e?.message.contains("a name part of 2000 bytes") == true, "\(String(describing: e))")
        var deep = TarWriter()
        let path = Array(repeating: String(repeating: "b", count: 250), count: 15).joined(separator: "/") + "/f"
        deep.gnuLong(path)
        deep.add("x", data: Array("hi".utf8))
        #expect(try await Self.read("long-path", [deep]).filesystem.files().map(\.path) == [path])
        // 255 bytes that are not UTF-8 are a legal name, though each decodes to five (found by review).
        var invalid = TarWriter()
        invalid.header("././@LongLink", type: UInt8(ascii: "L"), size: 258)
        invalid.append(Array("d/".utf8) + [UInt8](repeating: 0xFF, count: 255) + [0])
        invalid.add("x", data: Array("hi".utf8))
        let legal = try await Self.read("invalid-255", [invalid]).filesystem.files().map(\.path)
        #expect(legal.count == 1 && legal.first.map { TarName.rawByteCount($0.dropFirst(2)[...]) } == 255, "\(legal.map(\.count))")
        // Deleting a 255-byte name writes a whiteout of 259: legal too (found by review).
        let name255 = String(repeating: "f", count: 255)
        var made = TarWriter()
        made.gnuLong("data/" + name255)
        made.add("x", data: Array("hi".utf8))
        made.add("data/keep", data: Array("hi".utf8))
        var deleted = TarWriter()
        deleted.gnuLong("data/.wh." + name255)
        deleted.add("x")
        #expect(try await Self.read("whiteout-255", [made, deleted]).filesystem.files().map(\.path) == ["data/keep"])
        #expect(PathKey.byBytes("a\u{E9}b", "a\u{E9}c") && !PathKey.byBytes("ab", "ab") && PathKey.byBytes("ab", "abc") && !PathKey.byBytes("b", "a\u{FF}")
                && PathKey("caf\u{E9}") != PathKey("cafe\u{301}") && PathKey("x/y") == PathKey("x/y"))
    }

    /// A layer that writes `bin/su` through a lower `bin -> realbin` and then lists `bin/` itself: a
    /// runtime puts su in realbin, then replaces the link with an empty directory. Read as one
    /// directory, su sat under /bin, where a later whiteout hid it (found by helper-164).
    @Test func entriesBeforeTheLayersOwnDirectoryEntryGoThroughTheLowerLink() async throws {
        var one = TarWriter()
        one.add("realbin/", .directory, mode: 0o755)
        one.add("bin", .symlink, link: "realbin")
        var two = TarWriter()
        two.add("bin/su", data: Self.elf, mode: 0o4755)
        two.add("bin/", .directory, mode: 0o750)
        two.add("bin/ls", data: Self.elf, mode: 0o755)
        var three = TarWriter()
        three.add("bin/.wh.su")
        let read = try await Self.read("link-then-dir", [one, two, three])
        #expect(read.filesystem.files().filter { $0.node.mode & 0o4000 != 0 }.map(\.path) == ["realbin/su"])
        #expect(read.filesystem.files().map(\.path).sorted() == ["bin/ls", "realbin/su"])
        #expect(try read.filesystem.resolve("bin", followLast: false).node.isDirectory)
        // Without a link below, the entries before and after a directory's own entry are one directory,
        // at any depth of a tree that is new in its layer.
        var fresh = TarWriter()
        fresh.add("opt/a/su", data: Self.elf, mode: 0o4755)
        fresh.add("opt/a/", .directory, mode: 0o755)
        fresh.add("opt/a/x", data: Self.elf)
        fresh.add("n/", .directory, mode: 0o755)
        fresh.add("n/b/c/tool", data: Self.elf, mode: 0o2755)
        fresh.add("n/b/", .directory, mode: 0o755)
        let new = try await Self.read("dir-after-entries", [fresh])
        #expect(new.filesystem.files().map(\.path).sorted() == ["n/b/c/tool", "opt/a/su", "opt/a/x"])
        // Over a real lower directory the same layer merges into it.
        var lower = TarWriter()
        lower.add("bin/", .directory, mode: 0o755)
        lower.add("bin/sh", data: Self.elf, mode: 0o755)
        #expect(try await Self.read("dir-over-dir", [lower, two]).filesystem.files().map(\.path).sorted() == ["bin/ls", "bin/sh", "bin/su"])
    }

    @Test func anEntryWrittenThroughItsOwnLayersLinkIsRefused() async throws {
        var one = TarWriter()
        one.add("b/", .directory, mode: 0o755)
        one.add("a", .symlink, link: "b")
        one.add("a/su", data: Self.elf, mode: 0o4755)
        var two = TarWriter()
        two.add(".wh.a")
        let e = await #expect(throws: ImageError.self) { _ = try await Self.read("through-link", [one, two]) }
        #expect(e?.message.contains("a symbolic link its own layer made") == true, "\(String(describing: e))")
    }

    /// A layer that replaced a directory with a link lists the directory's deleted files as whiteouts
    /// beneath the link (umoci, moby's naive diff): such an image is read (refusing it was a regression
    /// the review found), the whiteouts left unapplied.
    @Test func whiteoutsBeneathALinkTheLayerMadeAreRead() async throws {
        var one = TarWriter()
        one.add("usr/lib/", .directory, mode: 0o755)
        one.add("lib/", .directory, mode: 0o755)
        one.add("lib/libx.so", data: Self.elf, mode: 0o755)
        var two = TarWriter()
        two.add("lib", .symlink, link: "usr/lib")
        two.add("lib/.wh.libx.so")
        let read = try await Self.read("link-whiteouts", [one, two])
        #expect(try read.filesystem.resolve("lib", followLast: false).node.kind == .symbolicLink("usr/lib"))
    }

    @Test func anEntryBeneathALowerLinkToNothingIsRefused() async throws {
        var one = TarWriter()
        one.add("a", .symlink, link: "b")
        var two = TarWriter()
        two.add("a/su", data: Self.elf, mode: 0o4755)
        let e = await #expect(throws: ImageError.self) { _ = try await Self.read("dangling-parent", [one, two]) }
        #expect(e?.message.contains("leads to no directory") == true, "\(String(describing: e))")
    }

    @Test func aTreeDeeperThanTheLimitThroughALinkIsRefused() async throws {
        let deep = Array(repeating: "d", count: 250).joined(separator: "/")
        var one = TarWriter()
        // A name past 100 bytes goes in a GNU long-name record.
        one.gnuLong(deep + "/")
        one.add(String(deep.prefix(90)), .directory, mode: 0o755)
        one.gnuLong(deep, type: UInt8(ascii: "K"))
        one.add("s", .symlink, link: String(deep.prefix(90)))
        var two = TarWriter()
        two.add("s/a/b/c/d/e/f/g/h/su", data: Self.elf, mode: 0o4755)
        let e = await #expect(throws: ImageError.self) { _ = try await Self.read("deep-link", [one, two]) }
        #expect(e?.message.contains("more than 256 directories deep") == true, "\(String(describing: e))")
        // Within the limit the same layers are read, the file where the link leads.
        let fine = try await Self.read("deep-link-ok", [one, {
            var t = TarWriter(); t.add("s/a/su", data: Self.elf, mode: 0o4755); return t
        }()])
        #expect(fine.filesystem.files().map(\.path) == [deep + "/a/su"])
    }

    /// containerd chowns and chmods the path a link entry made, which is the file both names share; and
    /// what one name's entry sets, every other name of it has.
    @Test func aHardLinksModeOwnerAndCapabilityAreEveryNamesOfTheFile() async throws {
        var one = TarWriter()
        one.add("bin/tool", data: Self.elf, mode: 0o755, uid: 1000)
        one.add("bin/tool2", .hardLink, link: "bin/tool", mode: 0o6755, uid: 0)
        let modes = try await Self.read("link-mode", [one])
        for name in ["bin/tool", "bin/tool2"] {
            let n = try modes.filesystem.resolve(name).node
            #expect(n.mode & 0o6000 == 0o6000 && n.uid == 0, "\(name): mode \(String(n.mode, radix: 8)) uid \(n.uid)")
        }
        let cap = "\u{01}\u{00}\u{00}\u{02}\u{00}\u{00}\u{20}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}"
        var caps = TarWriter()
        caps.add("bin/x", data: Self.elf, mode: 0o755)
        caps.add("bin/y", .hardLink, link: "bin/x", mode: 0o755)
        caps.add("bin/z", .hardLink, link: "bin/x", mode: 0o4755, pax: ["SCHILY.xattr.security.capability": cap])
        var gone = TarWriter()
        gone.add("bin/.wh.x"); gone.add("bin/.wh.z")
        let left = try await Self.read("link-cap-earlier", [caps, gone])
        let y = try left.filesystem.resolve("bin/y").node
        #expect(y.capability != nil && y.mode & 0o4000 != 0, "the name made before the link has what the link set")
    }

    /// Go's encoding/json (docker, containerd) fills a struct field from any key equal to its name
    /// under case folding, the last one winning: the container runs as the last `user`.
    @Test func configKeysAreMatchedAsGoMatchesThem() throws {
        func user(_ json: String) throws -> String? { try ImageConfig(Array(json.utf8), subject: "config").user }
        #expect(try user(#"{"config":{"User":"1000:1000","user":"0:0"},"rootfs":{"diff_ids":[]}}"#) == "0:0")
        #expect(try user(#"{"config":{"User":"1000"},"Config":{"User":"0"},"rootfs":{"diff_ids":[]}}"#) == "0")
        #expect(try user(#"{"config":{"User":"1000","u\u017fer":"0"},"rootfs":{"diff_ids":[]}}"#) == "0", "ſ folds to s")
        #expect(try user(#"{"config":{"user":"0","User":"1000"},"RootFS":{"diff_ids":[]}}"#) == "1000")
        #expect(try user(#"{"config":{"Users":"0","User":"1000"},"rootfs":{"diff_ids":[]}}"#) == "1000")
        // Two objects for one field are decoded into one struct: the first's fields survive (found by review).
        let merged = try ImageConfig(Array(#"{"config":{"Env":["AWS_SECRET=x"],"Labels":{"a":"1"}},"Config":{"User":"1000","Labels":{"b":"2"}},"rootfs":{"diff_ids":[]}}"#.utf8), subject: "config")
        #expect(merged.user == "1000" && merged.environment == ["AWS_SECRET=x"] && merged.labels == ["a": "1", "b": "2"])
        // A null is a no-op to a struct decoded into (containerd) (found by review).
        let nulled = try ImageConfig(Array(#"{"config":{"Env":["AWS_SECRET=x"]},"Config":null,"rootfs":{"diff_ids":[]}}"#.utf8), subject: "config")
        #expect(nulled.environment == ["AWS_SECRET=x"])
        // Many repeats merge into one object of all their fields.
        let many = "{" + (0..<1000).map { #""config":{"Env":["K\#($0)=v"]}"# }.joined(separator: ",") + #","rootfs":{"diff_ids":[]}}"#
        #expect(try ImageConfig(Array(many.utf8), subject: "config").environment == ["K999=v"])
    }
}
