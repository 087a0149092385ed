import Foundation
import Testing
@testable import Catalog
import ProvenantCore

/// A minimal ELF64 file with the `.go.buildinfo` section the Go 1.18+ linker writes:
/// header, inline varint-prefixed version and module text framed by 16-byte sentinels.
enum SyntheticGoBinary {
    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func varint(_ n: Int) -> [UInt8] {
        var out: [UInt8] = [], v = n
        repeat { var b = UInt8(v & 0x7F); v >>= 7; if v > 0 { b |= 0x80 }; out.append(b) } while v > 0
        return out
    }

    static func make(goVersion: String, modInfo: String, padding: Int = 8192) -> [UInt8] {
        var info: [UInt8] = [0xFF] + Array(" Go buildinf:".utf8) + [8, 2]
        info += [UInt8](repeating: 0, count: 32 - info.count)
        let sentinel = [UInt8](repeating: 0x30, count: 16)
        let mod = sentinel + Array(modInfo.utf8) + sentinel
        info += varint(goVersion.utf8.count) + Array(goVersion.utf8) + varint(mod.count) + mod
        let shstrtab: [UInt8] = [0] + Array(".go.buildinfo".utf8) + [0] + Array(".shstrtab".utf8) + [0]
        let infoOffset = 64, strOffset = 64 + info.count
        let shoff = strOffset + shstrtab.count + padding
        var f: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        f += le(UInt16(2)) + le(UInt16(0x3E)) + le(UInt32(1)) + le(UInt64(0)) + le(UInt64(0)) + le(UInt64(shoff))
        f += le(UInt32(0)) + le(UInt16(64)) + le(UInt16(56)) + le(UInt16(0)) + le(UInt16(64)) + le(UInt16(3)) + le(UInt16(2))
        f += info + shstrtab + [UInt8](repeating: 0, count: padding)
        func section(_ name: UInt32, _ type: UInt32, _ off: Int, _ size: Int) -> [UInt8] {
            le(name) + le(type) + le(UInt64(0)) + le(UInt64(0)) + le(UInt64(off)) + le(UInt64(size))
                + le(UInt32(0)) + le(UInt32(0)) + le(UInt64(1)) + le(UInt64(0))
        }
        f += section(0, 0, 0, 0) + section(1, 1, infoOffset, info.count) + section(15, 3, strOffset, shstrtab.count)
        return f
    }
}

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
