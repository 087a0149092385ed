import Catalog
import Foundation
import ProvenantCore
import Testing
import TestSupport

/// Every malformed image the issue names ends the run with exit 2 and one line naming the blob or
/// entry; none crashes, and none yields an SBOM.
@Suite struct ImageBadInputTests {
    /// Runs `provenant sbom` on the layout and returns its exit code and standard error.
    func sbom(_ dir: URL) throws -> (code: Int32, err: String, out: String) {
        let r = try runProcess(provenantBinary, ["sbom", "oci-dir:" + dir.path, "--quiet"])
        return (r.code, r.err, r.out)
    }

    func layout(_ name: String, user: String? = nil, mediaType: String? = nil, dropLayers: Bool = false,
                gzip: Bool = false, _ build: (inout TarWriter) -> Void) throws -> URL {
        let dir = try temporaryDirectory(name)
        var t = TarWriter()
        build(&t)
        var w = try LayoutWriter(dir)
        try w.addLayer(t.finished(), gzip: gzip)
        try w.write(user: user, layerMediaType: mediaType, dropLayers: dropLayers)
        return dir
    }

    func expectRefused(_ dir: URL, mentioning words: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try sbom(dir)
        #expect(r.code == 2, "exit code", sourceLocation: sourceLocation)
        #expect(r.out.isEmpty, "no SBOM is written", sourceLocation: sourceLocation)
        let lines = r.err.split(separator: "\n")
        #expect(lines.count == 1, "one line: \(r.err)", sourceLocation: sourceLocation)
        for w in words { #expect(r.err.contains(w), "'\(w)' in: \(r.err)", sourceLocation: sourceLocation) }
    }

    @Test func aWhiteoutOutsideTheRootIsRefused() throws {
        try expectRefused(try layout("wh-out") { $0.add("../etc/.wh.passwd") }, mentioning: ["entry '../etc/.wh.passwd'", "climbs out"])
        try expectRefused(try layout("wh-dotdot") { $0.add("etc/.wh..."); $0.add("etc/.wh..") }, mentioning: ["whiteout", "outside"])
    }

    @Test func anEntryThatClimbsOutIsRefused() throws {
        try expectRefused(try layout("climb") { $0.add("a/../../etc/passwd", data: [1]) }, mentioning: ["climbs out", "layer sha256:"])
    }

    @Test func aSymbolicLinkLoopIsRefused() throws {
        try expectRefused(try layout("loop") { t in
            t.add("a", .symlink, link: "b")
            t.add("b", .symlink, link: "/a")
        }, mentioning: ["'a'", "loops"])
    }

    @Test func aTruncatedLayerIsRefused() throws {
        let dir = try temporaryDirectory("truncated")
        var t = TarWriter()
        t.add("var/lib/dpkg/status", data: Array(TwoLayerImage.status.utf8) + [UInt8](repeating: 65, count: 100_000))
        let gz = try LayoutWriter.gzip(t.finished())
        var w = try LayoutWriter(dir)
        // The stored blob is cut short; its digest is of the cut bytes, so only the stream can tell.
        w.layers.append((Array(gz.prefix(gz.count / 2)), "application/vnd.oci.image.layer.v1.tar+gzip", LayoutWriter.digest(t.finished())))
        w.history.append("RUN cut")
        try w.write()
        try expectRefused(dir, mentioning: ["layer sha256:", "truncated"])
        // An uncompressed layer cut inside a file's data.
        let dir2 = try temporaryDirectory("truncated-tar")
        var w2 = try LayoutWriter(dir2)
        let tar = t.finished()
        // Its diff ID is of the cut bytes too: only the tar reader can tell it ends inside a file.
        w2.layers.append((Array(tar.prefix(5000)), "application/vnd.oci.image.layer.v1.tar", LayoutWriter.digest(Array(tar.prefix(5000)))))
        w2.history.append("RUN cut")
        try w2.write()
        try expectRefused(dir2, mentioning: ["layer sha256:", "truncated"])
    }

    @Test func aWrongDigestIsRefused() throws {
        let dir = try layout("digest") { $0.add("var/lib/dpkg/status", data: Array(TwoLayerImage.status.utf8)) }
        // Tamper with the layer blob in place: same name, other bytes.
        let blobs = dir.appendingPathComponent("blobs/sha256")
        let manifest = try #require(try JSONParser.parse(Array(Data(contentsOf: dir.appendingPathComponent("index.json"))))["manifests"]?.arrayValue?.first?["digest"]?.stringValue)
        let m = try JSONParser.parse(Array(Data(contentsOf: blobs.appendingPathComponent(String(manifest.dropFirst(7))))))
        let layer = try #require(m["layers"]?.arrayValue?.first?["digest"]?.stringValue)
        let path = blobs.appendingPathComponent(String(layer.dropFirst(7)))
        var bytes = [UInt8](try Data(contentsOf: path))
        bytes[600] ^= 0x20
        try Data(bytes).write(to: path)
        try expectRefused(dir, mentioning: [layer, "has digest sha256:", "not the"])
    }

    @Test func anUnsupportedMediaTypeIsRefused() throws {
        try expectRefused(try layout("media", mediaType: "application/vnd.example.weird+tar") { $0.add("x", data: [1]) },
                          mentioning: ["application/vnd.example.weird+tar", "not an image layer"])
    }

    @Test func aManifestWithoutLayersIsRefused() throws {
        try expectRefused(try layout("nolayers", dropLayers: true) { $0.add("x", data: [1]) }, mentioning: ["without layers"])
    }

    @Test func aHardLinkToNothingIsRefused() throws {
        try expectRefused(try layout("hardlink") { $0.add("usr/bin/x", .hardLink, link: "usr/bin/missing") }, mentioning: ["hard link", "usr/bin/missing"])
    }

    @Test func aGoodImageStillPasses() throws {
        // The control: the same helper on a well-formed image exits 0 with an SBOM.
        let dir = try layout("good", gzip: true) { $0.add("var/lib/dpkg/status", data: Array(TwoLayerImage.status.utf8)) }
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try sbom(dir)
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("pkg:deb/debian/alpha@1.0-1") || r.out.contains("pkg:deb/alpha@1.0-1"))
        #expect(!r.out.contains("ghp_notarealtoken"), "environment values are never written")
        #expect(r.out.contains("API_TOKEN"), "environment names are")
    }
}
