import Foundation
import ProvenantCore
import TestSupport
import Testing

/// A file put in an image archive beside the image is outside every layer: nothing reads it, and the
/// report says so instead of implying the archive was scanned whole.
@Suite struct ImageArchiveExtrasTests {
    /// An OCI layout of one small layer (`etc/hostname`) at `path`.
    static func writeLayout(_ path: URL) throws {
        var layer = TarWriter()
        layer.add("etc/", .directory)
        layer.add("etc/hostname", data: Array("agent\n".utf8))
        var w = try LayoutWriter(path)
        try w.addLayer(layer.finished())
        _ = try w.write()
    }

    @Test func filesBesideTheImageAreReportedAsNotRead() throws {
        let dir = try temporaryDirectory("archive-extras")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.writeLayout(dir.appendingPathComponent("layout"))
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

    /// The archive's own bytes that no file holds went unscanned, where a layer's were scanned
    /// (Left undone, helper-169 #3): a pax `comment=` before one of its files, a volume label, and what
    /// follows its end, a second archive among it. They are scanned, named by what they are and with
    /// no layer; an SBOM of the same archive is unchanged by them.
    @Test func theArchivesOwnHiddenBytesAreScanned() throws {
        let dir = try temporaryDirectory("archive-hidden")
        defer { try? FileManager.default.removeItem(at: dir) }
        let layout = dir.appendingPathComponent("layout")
        try Self.writeLayout(layout)
        let tokens = (0..<6).map { "ghp_" + "Ou7erT0k3nV4lu3xYzAbCdEfGhIjKlMn\($0)Q\($0)Z" }
        func archive(hidden: Bool) throws -> String {
            var outer = TarWriter()
            let files = (FileManager.default.subpaths(atPath: layout.path) ?? []).sorted()
            for f in files {
                var isDir: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: layout.appendingPathComponent(f).path, isDirectory: &isDir)
                if isDir.boolValue { continue }
                if hidden && f == "index.json" { outer.paxHeader([("comment", "GITHUB_TOKEN=\(tokens[0])")]) }
                let data = Array(try Data(contentsOf: layout.appendingPathComponent(f)))
                if hidden && f == "oci-layout" {
                    // The padding after its data (found by review, helper-173 #4).
                    let pad = Array("GITHUB_TOKEN=\(tokens[4])\n".utf8)
                    // And a link field, which no loader reads for a regular file (re-reading, helper-173 #4).
                    outer.header(f, type: UInt8(ascii: "0"), size: data.count, link: "GITHUB_TOKEN=\(tokens[5])")
                    outer.bytes += data + pad + [UInt8](repeating: 0, count: 512 - data.count - pad.count)
                } else {
                    outer.add(f, data: data)
                }
            }
            if hidden {
                let label = Array("GITHUB_TOKEN=\(tokens[1])\n".utf8)
                outer.header("label", type: UInt8(ascii: "V"), size: label.count)
                outer.append(label)
            }
            var bytes = outer.finished()
            if hidden {
                var second = TarWriter()
                second.add("notes/deploy.env", data: Array("GITHUB_TOKEN=\(tokens[2])\n".utf8))
                bytes += [UInt8](repeating: 0, count: 4096) + second.finished() + Array("GITHUB_TOKEN=\(tokens[3])\n".utf8)
            }
            // One name in two directories: the SBOMs differ only by the directory.
            let sub = dir.appendingPathComponent(hidden ? "with" : "without")
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            let path = sub.appendingPathComponent("img.tar").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return path
        }
        let hidden = try archive(hidden: true), plain = try archive(hidden: false)
        let r = try runProcess(provenantBinary, ["secrets", "scan", "oci-archive:" + hidden, "--format", "json", "--fail-on", "high"])
        #expect(r.code == 1, "\(r.err)")
        #expect(!tokens.contains { r.out.contains($0) || r.err.contains($0) }, "no value is printed whole")
        let findings = try JSONParser.parse(Array(r.out.utf8))["findings"]?.arrayValue ?? []
        for (i, place) in ["!index.json (tar extended header of the archive)", "!label (data of an archive entry that is not a file)",
                           "!(bytes after the archive's end)!notes/deploy.env", "!(bytes after the archive's end) (bytes after the tar's end)",
                           "!(tar padding after the archive's entries)", "!(tar header fields of the archive no loader reads)"].enumerated() {
            let f = findings.first { $0["path"]?.stringValue?.hasSuffix(place) == true }
            #expect(f != nil, "token \(i) in \(place) is found: \(r.out) \(r.err)")
            #expect(f?["layer"] == nil || f?["layer"] == .null, "\(String(describing: f))")
        }
        // Past 100,000 such parts, the rest is NOT CHECKED, not passed over (found by review).
        var many = Array(try Data(contentsOf: URL(fileURLWithPath: plain)))
        many.removeLast(1024)
        var labels = TarWriter()
        for i in 0..<100_001 { labels.header("v\(i)", type: UInt8(ascii: "V"), size: 1); labels.append([0x41]) }
        many += labels.finished()
        let manyPath = dir.appendingPathComponent("many.tar").path
        try Data(many).write(to: URL(fileURLWithPath: manyPath))
        let m = try runProcess(provenantBinary, ["secrets", "scan", "oci-archive:" + manyPath, "--format", "json"])
        #expect(m.err.contains("(1 more extended headers and entries that are not files, past 100000): over the limit, not read; not checked"), "\(m.code) \(m.err)")
        let clean = try runProcess(provenantBinary, ["secrets", "scan", "oci-archive:" + plain, "--format", "json", "--fail-on", "high"])
        #expect(clean.code == 0, "\(clean.out) \(clean.err)")
        let a = try runProcess(provenantBinary, ["sbom", "oci-archive:" + hidden, "--format", "json"], env: ["SOURCE_DATE_EPOCH": "1700000000"])
        let b = try runProcess(provenantBinary, ["sbom", "oci-archive:" + plain, "--format", "json"], env: ["SOURCE_DATE_EPOCH": "1700000000"])
        #expect(a.code == 0 && b.code == 0, "\(a.err) \(b.err)")
        #expect(a.out.replacingOccurrences(of: "/with/img.tar", with: "/without/img.tar") == b.out, "\(a.err)")
    }
}
