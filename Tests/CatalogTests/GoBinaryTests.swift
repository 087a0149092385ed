import Foundation
import Testing
@testable import Catalog
import ProvenantCore
import TestSupport

@Suite struct GoBinaryTests {
    @Test func readsBuildInfoFromAnELFBinary() async throws {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("provenant-gobin-\(getpid())").path
        try? fm.removeItem(atPath: root)
        try fm.createDirectory(atPath: root + "/usr/local/bin", withIntermediateDirectories: true)
        let mod = "path\texample.com/agent/cmd/agent\nmod\texample.com/agent\tv1.4.0\th1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
            + "dep\tgolang.org/x/net\tv0.17.0\th1:pVaXccu2ozPjCXewfr1S7xza/zcXTity9cCdXQYSjIM=\n"
            + "dep\tgithub.com/pkg/errors\tv0.9.1\t\n=>\tgithub.com/fork/errors\tv0.9.2\th1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=\n"
            + "build\t-compiler=gc\n"
        let path = root + "/usr/local/bin/agent"
        let bytes = SyntheticGoBinary.make(goVersion: "go1.22.1", modInfo: mod)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o755)
        let inv = try await Cataloger(mode: .source).catalog(root)
        #expect(inv.packages.map(\.purl.description).sorted() == [
            "pkg:golang/example.com/agent@v1.4.0",
            "pkg:golang/github.com/fork/errors@v0.9.2",
            "pkg:golang/golang.org/x/net@v0.17.0",
            "pkg:golang/stdlib@1.22.1",
        ])
        let main = try #require(inv.packages.first { $0.name == "example.com/agent" })
        // The main module's digest is the binary's own SHA-256, and it depends on everything linked in.
        #expect(main.digests == [FileDigest.sha256(bytes)])
        #expect(main.dependsOn.count == 3)
        #expect(main.locations == [Location("usr/local/bin/agent")])
        let net = try #require(inv.packages.first { $0.name == "golang.org/x/net" })
        #expect(net.digests.first?.algorithm == .sha256)
    }

    @Test func nonGoAndTruncatedELFAreNotPackages() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("provenant-gobin2-\(getpid())").path
        try? fm.removeItem(atPath: dir)
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let full = SyntheticGoBinary.make(goVersion: "go1.22.1", modInfo: "mod\tx\tv1\t\n")
        for (name, bytes) in [("truncated", Array(full.prefix(200))), ("script", Array("#!/bin/sh\necho hi\n".utf8) + [UInt8](repeating: 32, count: 5000))] {
            try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        let index = FileIndex(root: dir)
        func extract(_ name: String) throws -> Extraction {
            try GoBinaryExtractor().extract(ExtractInput(file: try #require(index.file(name)), index: index,
                                                         context: ExtractContext(mode: .source, includeDev: false)))
        }
        #expect(try extract("script").packages.isEmpty)
        // An ELF file whose section table was cut off could not be checked: that is said, not passed over.
        #expect(throws: ParseError.self) { try extract("truncated") }
        do { _ = try extract("truncated") } catch let e as ParseError { #expect(e.message.contains("lies outside the 200-byte file")) }
    }
}
