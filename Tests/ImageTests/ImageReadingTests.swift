import Catalog
import Foundation
import ProvenantCore
import Testing
import TestSupport

/// A small image made by hand, two layers deep, exercising every squash rule the issue names.
struct TwoLayerImage {
    static let status = """
    Package: alpha
    Status: install ok installed
    Version: 1.0-1
    Architecture: amd64

    Package: beta
    Status: install ok installed
    Version: 2.0-1
    Architecture: amd64

    """
    static let copyright = """
    Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

    Files: *
    Copyright: 2024 Someone
    License: MIT

    """

    static func lower() -> [UInt8] {
        var t = TarWriter()
        t.add("var/", .directory, mode: 0o755)
        t.add("var/lib/dpkg/status", data: Array(status.utf8))
        t.add("usr/share/doc/alpha/copyright", data: Array(copyright.utf8))
        // beta's doc directory is a link to alpha's, as Debian does for packages built together.
        t.add("usr/share/doc/beta", .symlink, link: "alpha")
        t.add("etc/gone.txt", data: Array("bye".utf8))
        t.add("opt/old/x.txt", data: Array("old".utf8))
        t.add("usr/lib/python3/dist-packages/removed-1.0.dist-info/METADATA", data: Array("Metadata-Version: 2.1\nName: removed\nVersion: 1.0\n".utf8))
        t.add("usr/bin/tool", data: Array("#!/bin/sh\n".utf8), mode: 0o755)
        return t.finished()
    }

    static func upper() -> [UInt8] {
        var t = TarWriter()
        t.add("etc/.wh.gone.txt")
        t.add("opt/old/.wh..wh..opq")
        t.add("opt/old/new.txt", data: Array("new".utf8))
        t.add("usr/lib/python3/dist-packages/.wh.removed-1.0.dist-info")
        t.add("app/node_modules/left-pad/package.json", data: Array(#"{"name":"left-pad","version":"1.3.0","license":"WTFPL"}"#.utf8))
        t.add("usr/bin/tool-again", .hardLink, link: "usr/bin/tool2")
        return t.finished()
    }

    /// The upper layer's hard link names a file earlier in the same layer, so it must come first.
    static func upperWithLinkTarget() -> [UInt8] {
        var t = TarWriter()
        t.add("usr/bin/tool2", data: Array("#!/bin/sh\necho 2\n".utf8), mode: 0o755)
        var rest = TarWriter()
        rest.bytes = upper().dropLast(1024)
        return t.bytes + rest.bytes + [UInt8](repeating: 0, count: 1024)
    }

    static func write(to dir: URL) throws -> String {
        var w = try LayoutWriter(dir)
        try w.addLayer(lower(), createdBy: "ADD rootfs.tar /")
        try w.addLayer(upperWithLinkTarget(), gzip: true, createdBy: "RUN npm install left-pad")
        return try w.write(user: "app")
    }
}

@Suite struct ImageReadingTests {
    @Test func layersSquashWithWhiteoutsOpaqueDirectoriesLinksAndHardLinks() async throws {
        let dir = try temporaryDirectory("two-layer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let manifestDigest = try TwoLayerImage.write(to: dir)
        let source = try ImageSources.open(.ociDirectory(path: dir.path, tag: nil))
        let keepAll = ImageCapture { _, _, _ in .keep }
        let contents = try await ImageReader(capture: keepAll).read(source, budget: ReadBudget(total: 1 << 30))
        let fs = contents.filesystem
        let paths = Set(fs.files().map(\.path))
        #expect(!paths.contains("etc/gone.txt"), "a whiteout deletes the lower file")
        #expect(!paths.contains("opt/old/x.txt"), "an opaque directory hides its lower contents")
        #expect(paths.contains("opt/old/new.txt"), "an opaque directory keeps its own layer's contents")
        #expect(!paths.contains { $0.contains("removed-1.0.dist-info") }, "a whiteout of a directory deletes all below it")
        #expect(paths.contains("usr/bin/tool2") && paths.contains("usr/bin/tool-again"))
        let source2 = ImageFileSource(filesystem: fs, budget: ReadBudget(total: 1 << 30))
        #expect(try source2.read("usr/bin/tool-again", limit: 100) == Array("#!/bin/sh\necho 2\n".utf8), "a hard link shares its target's bytes")
        #expect(try source2.read("usr/share/doc/beta/copyright", limit: 1000) == Array(TwoLayerImage.copyright.utf8), "links resolve inside the image")
        #expect(try source2.canonicalPath("usr/share/doc/beta/copyright") == "usr/share/doc/alpha/copyright")
        #expect(contents.info.manifestDigest == manifestDigest)
        #expect(contents.info.environmentNames == ["PATH", "API_TOKEN"])
        #expect(contents.info.layers.map(\.createdBy) == ["ADD rootfs.tar /", "RUN npm install left-pad"])
    }

    /// A FIFO or device named like a lockfile in an image was dropped without a word and the SBOM said
    /// complete, where a directory's is NOT CHECKED (found by helper-138).
    @Test func specialFilesNamedLikeLockfilesAreNotChecked() async throws {
        let dir = try temporaryDirectory("special-files")
        defer { try? FileManager.default.removeItem(at: dir) }
        var t = TarWriter()
        t.add("app/package-lock.json", .fifo)
        t.add("app/requirements.txt", .characterDevice)
        t.add("app/notes.txt", .fifo)
        var w = try LayoutWriter(dir)
        try w.addLayer(t.finished(), createdBy: "ADD special /")
        _ = try w.write(user: "app")
        let inv = try await catalogImage("oci-dir:" + dir.path)
        let unchecked = Set(inv.diagnostics.filter { $0.unscanned != nil && $0.message.contains("not a regular file") }.map(\.location.path))
        #expect(unchecked == ["app/package-lock.json", "app/requirements.txt"], "\(inv.diagnostics)")
    }

    @Test func packagesNameTheLayerThatAddedThem() async throws {
        let dir = try temporaryDirectory("attribution")
        defer { try? FileManager.default.removeItem(at: dir) }
        let manifestDigest = try TwoLayerImage.write(to: dir)
        let inv = try await catalogImage("oci-dir:" + dir.path)
        let refs = inv.packages.map(\.ref).sorted()
        #expect(refs == ["pkg:deb/debian/alpha@1.0-1?arch=amd64", "pkg:deb/debian/beta@2.0-1?arch=amd64", "pkg:npm/left-pad@1.3.0"])
        let layers = try #require(inv.image?.layers)
        for p in inv.packages {
            let expected = p.name == "left-pad" ? layers[1].digest : layers[0].digest
            #expect(p.locations.allSatisfy { $0.layer == expected }, "\(p.ref) should name \(expected)")
        }
        let beta = try #require(inv.packages.first { $0.name == "beta" })
        #expect(beta.licenses == ["MIT"], "beta's copyright is read through its linked doc directory")
        #expect(inv.image?.purl.description == "pkg:oci/\(inv.image!.name)@\(manifestDigest)?arch=amd64&tag=test")
    }

    @Test func everyFormatOfTheSameImageGivesTheSamePackages() async throws {
        let dir = try temporaryDirectory("formats")
        defer { try? FileManager.default.removeItem(at: dir) }
        let layout = dir.appendingPathComponent("layout")
        _ = try TwoLayerImage.write(to: layout)
        let expected = try await catalogImage("oci-dir:" + layout.path).packages.map(\.ref)
        #expect(expected.count == 3)
        let docker = dir.appendingPathComponent("image.tar").path
        let oci = dir.appendingPathComponent("image.oci.tar").path
        let zstd = dir.appendingPathComponent("zstd").path
        try tool("skopeo", ["copy", "--quiet", "oci:\(layout.path):test", "docker-archive:\(docker):example.com/team/collector:v1"])
        try tool("skopeo", ["copy", "--quiet", "oci:\(layout.path):test", "oci-archive:\(oci):test"])
        try tool("skopeo", ["copy", "--quiet", "--dest-compress-format", "zstd", "--dest-compress", "oci:\(layout.path):test", "oci:\(zstd):test"])
        let zstdManifest = try String(contentsOfFile: zstd + "/index.json", encoding: .utf8)
        let manifestDigest = try #require(zstdManifest.range(of: #"sha256:[0-9a-f]{64}"#, options: .regularExpression).map { String(zstdManifest[$0]) })
        let manifest = try String(contentsOfFile: zstd + "/blobs/sha256/" + manifestDigest.dropFirst(7), encoding: .utf8)
        #expect(manifest.contains("tar+zstd"), "skopeo wrote zstd layers")
        for ref in ["docker-archive:" + docker, docker, "oci-archive:" + oci, oci, "oci-dir:" + zstd, zstd, layout.path] {
            let inv = try await catalogImage(ref)
            #expect(inv.packages.map(\.ref) == expected, "\(ref)")
            #expect(inv.image != nil, "\(ref) is read as an image")
        }
        let dockerInv = try await catalogImage(docker)
        #expect(dockerInv.image?.name == "example.com/team/collector")
        #expect(dockerInv.image?.tag == "v1")
    }

    @Test func anInflateBombStopsAtTheBudget() async throws {
        let dir = try temporaryDirectory("bomb")
        defer { try? FileManager.default.removeItem(at: dir) }
        var t = TarWriter()
        t.add("zeros", data: [UInt8](repeating: 0, count: 8 << 20))
        var w = try LayoutWriter(dir)
        try w.addLayer(t.finished(), gzip: true)
        try w.write()
        let source = try ImageSources.open(.ociDirectory(path: dir.path, tag: nil))
        await #expect(throws: ImageError.self) {
            _ = try await ImageReader(inflateLimit: 1 << 20).read(source, budget: ReadBudget(total: 1 << 30))
        }
        // The same image under the default budget reads.
        _ = try await ImageReader().read(source, budget: ReadBudget(total: 1 << 30))
    }

    /// A zstd bomb inflates 1 GiB of zeros from 32 KiB: within the image's 64 GiB budget it used to
    /// cost about 100 s. It is now held to deflate's ratio past a first GiB, and stops there.
    @Test(.timeLimit(.minutes(1))) func aZstdBombStopsAtDeflatesRatio() async throws {
        let dir = try temporaryDirectory("zstd-bomb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bomb = LayoutWriter.zstdZerosTar(name: "zeros", size: 3 << 30)
        #expect(bomb.count < 100_000)
        var w = try LayoutWriter(dir)
        w.addStoredLayer(bomb, mediaType: "application/vnd.oci.image.layer.v1.tar+zstd", diffID: "sha256:" + String(repeating: "0", count: 64))
        try w.write()
        let source = try ImageSources.open(.ociDirectory(path: dir.path, tag: nil))
        do {
            _ = try await ImageReader().read(source, budget: ReadBudget(total: 1 << 30))
            Issue.record("the bomb was read")
        } catch let e as ImageError {
            #expect("\(e)".contains("times its compressed size"), "\(e)")
        }
    }

    /// Zeros squeezed far past deflate's ratio still read when they stay within the first GiB.
    @Test func aSmallZstdLayerOfZerosReads() async throws {
        let dir = try temporaryDirectory("zstd-zeros")
        defer { try? FileManager.default.removeItem(at: dir) }
        let size = 16 << 20
        let layer = LayoutWriter.zstdZerosTar(name: "zeros", size: size)
        var t = TarWriter()
        t.header("zeros", type: UInt8(ascii: "0"), size: size)
        let tar = t.bytes + [UInt8](repeating: 0, count: size + 1024)
        var w = try LayoutWriter(dir)
        w.addStoredLayer(layer, mediaType: "application/vnd.oci.image.layer.v1.tar+zstd", diffID: LayoutWriter.digest(tar))
        try w.write()
        let source = try ImageSources.open(.ociDirectory(path: dir.path, tag: nil))
        let contents = try await ImageReader().read(source, budget: ReadBudget(total: 1 << 30))
        #expect(contents.info.layers.count == 1)
    }

    @Test func theMultiPlatformIndexPicksThePlatform() throws {
        let arm = #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:\#(String(repeating: "a", count: 64))","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}"#
        let amd = #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:\#(String(repeating: "b", count: 64))","size":1,"platform":{"os":"linux","architecture":"amd64"}}"#
        let att = #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:\#(String(repeating: "c", count: 64))","size":1,"platform":{"os":"unknown","architecture":"unknown"},"annotations":{"vnd.docker.reference.type":"attestation-manifest"}}"#
        let index = try ImageIndex(Array(#"{"schemaVersion":2,"manifests":[\#(att),\#(arm),\#(amd)]}"#.utf8), subject: "index")
        #expect(try index.select(.linuxAMD64, tag: nil, subject: "i").digest.hasSuffix("bbbb"))
        #expect(try index.select(ImagePlatform("linux/arm64")!, tag: nil, subject: "i").digest.hasSuffix("aaaa"))
        #expect(try index.select(ImagePlatform("linux/arm64/v8")!, tag: nil, subject: "i").digest.hasSuffix("aaaa"))
        #expect(throws: ImageError.self) { try index.select(ImagePlatform("linux/s390x")!, tag: nil, subject: "i") }
    }

    @Test func theBestVariantIsPickedAsContainerdPicks() throws {
        func entry(_ n: Character, _ arch: String, _ variant: String? = nil) -> String {
            let v = variant.map { #","variant":"\#($0)""# } ?? ""
            return #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:\#(String(repeating: n, count: 64))","size":1,"platform":{"os":"linux","architecture":"\#(arch)"\#(v)}}"#
        }
        func pick(_ entries: [String], _ platform: String?) throws -> Character {
            let index = try ImageIndex(Array(#"{"schemaVersion":2,"manifests":[\#(entries.joined(separator: ","))]}"#.utf8), subject: "index")
            return try index.select(ImagePlatform.option(platform)!, tag: nil, subject: "i").digest.last!
        }
        // A later variant listed first is not what an amd64 machine without it pulls.
        let amd = [entry("9", "amd64", "v9"), entry("3", "amd64", "v3"), entry("1", "amd64")]
        #expect(try pick(amd, nil) == "1")
        #expect(try pick(amd, "linux/amd64") == "1")
        #expect(try pick(amd, "linux/amd64/v1") == "1")
        #expect(try pick(amd, "linux/amd64/v2") == "1")
        #expect(try pick(amd, "linux/amd64/v3") == "3")
        #expect(try pick(amd, "linux/amd64/v4") == "3")
        #expect(try pick(amd, "Linux/X86_64") == "1")
        #expect(throws: ImageError.self) { try pick([entry("3", "amd64", "v3")], nil) }
        // Aliases in the index, and arm's default variant.
        #expect(try pick([entry("a", "x86_64"), entry("b", "aarch64")], "linux/arm64") == "b")
        #expect(try pick([entry("a", "x86_64"), entry("b", "aarch64")], nil) == "a")
        let arm = [entry("6", "arm", "v6"), entry("7", "arm", "v7"), entry("5", "arm", "v5")]
        #expect(try pick(arm, "linux/arm") == "7")
        #expect(try pick(arm, "linux/arm/v6") == "6")
        #expect(try pick(arm, "linux/arm/v8") == "7")
        #expect(try pick([entry("a", "arm64", "v8"), entry("b", "arm64", "v9")], "linux/arm64/v8.2") == "a")
        #expect(throws: ImageError.self) { try pick([entry("b", "arm64", "v9")], "linux/arm64") }
    }

    @Test func registryReferencesParseAsDockerDoes() throws {
        let r = try #require(RegistryReference("registry.example.com:5000/team/collector:v1.2.3"))
        #expect(r.host == "registry.example.com:5000" && r.repository == "team/collector" && r.tag == "v1.2.3" && r.tagWasGiven)
        let hub = try #require(RegistryReference("alpine"))
        #expect(hub.host == "docker.io" && hub.repository == "library/alpine" && hub.tag == "latest" && !hub.tagWasGiven)
        let pinned = try #require(RegistryReference("ghcr.io/o/r@sha256:" + String(repeating: "0", count: 64)))
        #expect(pinned.tag == nil && pinned.digest != nil)
        #expect(RegistryReference("UPPER/case") == nil)
        #expect(RegistryReference("x@sha256:short") == nil)
    }
}

@Suite struct LayerAttributionTests {
    @Test func aPackageNamesTheLayerThatInstalledItNotTheLastToRewriteTheDatabase() async throws {
        let dir = try temporaryDirectory("installed-by")
        defer { try? FileManager.default.removeItem(at: dir) }
        let gamma = "\nPackage: gamma\nStatus: install ok installed\nVersion: 3.0-1\nArchitecture: amd64\n\n"
        var base = TarWriter()
        base.add("var/lib/dpkg/status", data: Array(TwoLayerImage.status.utf8))
        var install = TarWriter()
        // apt-get install gamma rewrites the whole status file; beta is upgraded in the same step.
        install.add("var/lib/dpkg/status", data: Array((TwoLayerImage.status.replacingOccurrences(of: "2.0-1", with: "2.1-1") + gamma).utf8))
        var touch = TarWriter()
        // A later step rewrites it again without changing what is installed.
        touch.add("var/lib/dpkg/status", data: Array((TwoLayerImage.status.replacingOccurrences(of: "2.0-1", with: "2.1-1") + gamma).utf8))
        var w = try LayoutWriter(dir)
        try w.addLayer(base.finished(), createdBy: "ADD base.tar /")
        try w.addLayer(install.finished(), gzip: true, createdBy: "RUN apt-get install gamma")
        try w.addLayer(touch.finished(), createdBy: "RUN dpkg --configure -a")
        try w.write()
        let inv = try await catalogImage("oci-dir:" + dir.path)
        let layers = try #require(inv.image?.layers)
        func layer(_ name: String) -> String? { inv.packages.first { $0.name == name }?.locations.first?.layer }
        #expect(layer("alpha") == layers[0].digest, "alpha was in the base layer")
        #expect(layer("beta") == layers[1].digest, "beta 2.1 came with the install step")
        #expect(layer("gamma") == layers[1].digest, "gamma came with the install step")
        #expect(inv.packages.count == 3)
    }
}
