import Foundation
import TestSupport
import Testing

/// A file put in an image archive beside the image is outside every layer: nothing reads it, and the
/// report says so instead of implying the archive was scanned whole.
@Suite struct ImageArchiveExtrasTests {
    @Test func filesBesideTheImageAreReportedAsNotRead() throws {
        let dir = try temporaryDirectory("archive-extras")
        defer { try? FileManager.default.removeItem(at: dir) }
        var layer = TarWriter()
        layer.add("etc/", .directory)
        layer.add("etc/hostname", data: Array("agent\n".utf8))
        var w = try LayoutWriter(dir.appendingPathComponent("layout"))
        try w.addLayer(layer.finished())
        _ = try w.write()
        let clean = dir.appendingPathComponent("clean.tar").path
        try tool("tar", ["-cf", clean, "-C", dir.appendingPathComponent("layout").path, "."])
        let extra = dir.appendingPathComponent("layout/notes")
        try FileManager.default.createDirectory(at: extra, withIntermediateDirectories: true)
        try "GITHUB_TOKEN=ghp_\(String(repeating: "a1B2", count: 9))\n".write(to: extra.appendingPathComponent("deploy.env"), atomically: true, encoding: .utf8)
        let dirty = dir.appendingPathComponent("dirty.tar").path
        try tool("tar", ["-cf", dirty, "-C", dir.appendingPathComponent("layout").path, "."])

        let sbom = try runProcess(provenantBinary, ["sbom", "oci-archive:" + dirty])
        #expect(sbom.code == 0)
        #expect(sbom.err.contains("outside the image, not read: notes/deploy.env"), "\(sbom.err)")
        let scan = try runProcess(provenantBinary, ["secrets", "scan", "oci-archive:" + dirty])
        #expect(scan.out.contains("NOT CHECKED") || scan.err.contains("NOT CHECKED"), "\(scan.out)\(scan.err)")
        #expect(!(scan.out + scan.err).contains("a1B2a1B2a1B2"), "the unread file's value is not printed")

        let cleanSBOM = try runProcess(provenantBinary, ["sbom", "oci-archive:" + clean])
        #expect(cleanSBOM.code == 0 && !cleanSBOM.err.contains("outside the image"))
        let cleanScan = try runProcess(provenantBinary, ["secrets", "scan", "oci-archive:" + clean])
        #expect(!(cleanScan.out + cleanScan.err).contains("NOT CHECKED"))
    }
}
