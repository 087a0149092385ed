import Catalog
import Foundation
import ProvenantCore
import Testing

/// A package's md5sums are read as byte ranges, the digest decoded straight into its words: the files
/// must be what reading each line as strings and `Digest(.md5, hex:)` gives.
@Suite struct DpkgFileListTests {
    @Test func md5sumsFilesAreWhatTheStringReadingGives() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dpkg-files-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/var/lib/dpkg/info", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try "Package: tool\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\n"
            .write(toFile: root + "/var/lib/dpkg/status", atomically: true, encoding: .utf8)
        let lines = [
            "d41d8cd98f00b204e9800998ecf8427e  usr/bin/tool",
            "D41D8CD98F00B204E9800998ECF8427E  usr/share/upper",
            "d41d8cd98F00b204e9800998ecf8427e  /usr/share/absolute\r",
            "d41d8cd98f00b204e9800998ecf8427  usr/share/short",
            "d41d8cd98f00b204e9800998ecf8427e0  usr/share/long",
            "g41d8cd98f00b204e9800998ecf8427e  usr/share/not-hex",
            "d41d8cd98f00b204e9800998ecf8427e    usr/share/with space",
            "0123456789abcdefABCDEF0123456789 usr/share/one-space",
            "lonely",
        ]
        let text = lines.joined(separator: "\n") + "\n"
        try text.write(toFile: root + "/var/lib/dpkg/info/tool.md5sums", atomically: true, encoding: .utf8)
        let inv = try await Cataloger().catalog(root)
        let files = try #require(inv.packages.first { $0.name == "tool" }).files
        let expected = DpkgDatabase.md5sums(Array(text.utf8)).lines.map { l in
            PackageFile(path: l.path.hasPrefix("/") ? l.path : "/" + l.path, digest: Digest(.md5, hex: l.hash))
        }.sorted { $0.path < $1.path }
        #expect(expected.count == 8)
        #expect(files.map(\.path) == expected.map(\.path))
        #expect(files.map(\.digest) == expected.map(\.digest))
        #expect(files.compactMap(\.digest).count == 5, "\(files.map(\.digest))")
    }
}
