import Foundation
import Testing
@testable import Catalog
import ProvenantCore

/// Installed roots and artifacts that crashed a run, dropped a package or stated a license the file
/// does not (helper-151).
@Suite struct InstalledInputTests {
    static func root(_ tag: String, _ files: [String: String]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-installed-\(tag)-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        for (path, text) in files {
            let full = dir + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        return dir
    }

    static func extract(_ e: any Extractor, _ dir: String, _ path: String, mode: ScanMode = .installed) throws -> Extraction {
        let index = FileIndex(root: dir)
        return try e.extract(ExtractInput(file: try #require(index.file(path)), index: index, context: ExtractContext(mode: mode, includeDev: false)))
    }

    @Test func oneLineInputsThatTrappedAreRead() async throws {
        // `"": ""` made the dependency "/", whose `[0]` trapped; `module /` had no last part.
        let deps = try Self.root("deps", ["app.deps.json": #"{"targets":{"net8.0":{"A/1.0":{"dependencies":{"":""}}}},"libraries":{"A/1.0":{"type":"package"}}}"#])
        let x = try Self.extract(DotnetDepsExtractor(), deps, "app.deps.json", mode: .source)
        #expect(x.packages.map(\.name) == ["A"] && x.packages[0].dependsOn.isEmpty)
        let gomod = try Self.root("gomod", ["go.mod": "module /\n", "requirements.txt": "requests==2.31.0\n"])
        let inv = try await Cataloger(mode: .source).catalog(gomod)
        #expect(inv.packages.contains { $0.name == "requests" })
    }

    @Test func apkRecordsEndAtAnyLineShorterThanTwoBytes() throws {
        let dir = try Self.root("apk", ["lib/apk/db/installed": "P:musl\nV:1.2.4-r2\n \nP:openssl\nV:3.1.4-r0\n\n"])
        let x = try Self.extract(ApkExtractor(), dir, "lib/apk/db/installed")
        #expect(Set(x.packages.map(\.name)) == ["musl", "openssl"])
    }

    @Test func aLicenseCategoryAndAnOnlyGrantAreNotReadAsLicenses() throws {
        let dir = try Self.root("classifier", ["pkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\nClassifier: License :: OSI Approved\n"])
        #expect(try Self.extract(PythonInstalledExtractor(), dir, "pkg-1.0.dist-info/METADATA").packages.first?.licenses == [])
        #expect(LicenseTextMatcher.identify("Licensed under the GNU General Public License version 2 only, and not any later version.") == ["GPL-2.0-only"])
        #expect(LicenseTextMatcher.identify("under the GNU General Public License, version 2, or (at your option) any later version.") == ["GPL-2.0-or-later"])
    }

    /// An ELF binary whose section headers were stripped still runs; holding Go's build info, it was
    /// no packages and an SBOM called complete.
    @Test func aGoBinaryWithoutSectionHeadersIsSaid() throws {
        var elf = [UInt8](repeating: 0, count: 8192)
        elf[0] = 0x7F; elf[1] = 0x45; elf[2] = 0x4C; elf[3] = 0x46; elf[4] = 2; elf[5] = 1
        // One program header at 64: a writable, non-executable PT_LOAD over bytes 4096..<8192, where
        // Go's debug/buildinfo looks (helper-154).
        elf[0x20] = 64; elf[0x36] = 56; elf[0x38] = 1
        elf[64] = 1; elf[68] = 6; elf[64 + 9] = 0x10; elf[64 + 33] = 0x10
        elf.replaceSubrange(5000..<5000 + GoBinaryExtractor.buildInfoMagic.count, with: GoBinaryExtractor.buildInfoMagic)
        let dir = try Self.root("go", [:])
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(elf).write(to: URL(fileURLWithPath: dir + "/app"))
        chmod(dir + "/app", 0o755)
        let x = try Self.extract(GoBinaryExtractor(), dir, "app", mode: .source)
        #expect(x.packages.isEmpty && x.diagnostics.contains { $0.unscanned == .input && $0.message.contains("without section headers") }, "\(x.diagnostics)")
        elf.replaceSubrange(5000..<5001, with: [0])
        try Data(elf).write(to: URL(fileURLWithPath: dir + "/app"))
        #expect(try Self.extract(GoBinaryExtractor(), dir, "app", mode: .source).diagnostics.isEmpty, "no magic, not Go")
        // Magic outside the data segment is not where Go looks, and is not searched for.
        elf.replaceSubrange(5000..<5001, with: [0xFF])
        elf[68] = 5
        try Data(elf).write(to: URL(fileURLWithPath: dir + "/app"))
        #expect(try Self.extract(GoBinaryExtractor(), dir, "app", mode: .source).diagnostics.isEmpty, "an executable segment is not the data segment")
    }

    @Test func aPackageDirectoryLinkedOutOfTheRootIsSaid() async throws {
        let outside = try Self.root("outside", ["leftpad/package.json": #"{"name": "leftpad", "version": "1.0.0"}"#])
        let dir = try Self.root("linked", ["app/node_modules/ok/package.json": #"{"name": "ok", "version": "1.0.0"}"#])
        try FileManager.default.createSymbolicLink(atPath: dir + "/app/node_modules/leftpad", withDestinationPath: outside + "/leftpad")
        let inv = try await Cataloger(mode: .installed).catalog(dir)
        #expect(inv.packages.map(\.name) == ["ok"])
        #expect(inv.diagnostics.contains { $0.unscanned == .input && $0.location.path.hasSuffix("node_modules/leftpad") }, "\(inv.diagnostics.map(\.message))")
        // Inside the root but where the walk does not go (`.git`) is not read either (helper-154).
        try FileManager.default.createDirectory(atPath: dir + "/.git/hid", withIntermediateDirectories: true)
        try #"{"name": "hid", "version": "1.0.0"}"#.write(toFile: dir + "/.git/hid/package.json", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir + "/app/node_modules/hid", withDestinationPath: "../../.git/hid")
        let hidden = try await Cataloger(mode: .installed).catalog(dir)
        #expect(hidden.diagnostics.contains { $0.location.path.hasSuffix("node_modules/hid") }, "\(hidden.diagnostics.map(\.message))")
        try FileManager.default.removeItem(atPath: dir + "/app/node_modules/hid")
        // A link to a package directory read where it is stays quiet.
        try FileManager.default.removeItem(atPath: dir + "/app/node_modules/leftpad")
        try FileManager.default.createSymbolicLink(atPath: dir + "/app/node_modules/alias", withDestinationPath: "ok")
        // So do links not named as a package's directory (helper-153): a README, a venv's lib64.
        try FileManager.default.createDirectory(atPath: dir + "/docs", withIntermediateDirectories: true)
        try "# docs\n".write(toFile: dir + "/docs/README.md", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir + "/README.md", withDestinationPath: "docs/README.md")
        try FileManager.default.createSymbolicLink(atPath: dir + "/lib64", withDestinationPath: outside)
        let quiet = try await Cataloger(mode: .installed).catalog(dir)
        #expect(!quiet.diagnostics.contains { $0.message.contains("package's directory") }, "\(quiet.diagnostics.map(\.message))")
    }

    /// SwiftPM writes slashes unescaped; each pin then looked for the escaped spelling to the end of the
    /// file first (quadratic). Lines are still found.
    @Test func packageResolvedPinsFindTheirLines() throws {
        let pins = (0..<300).map { #"{"identity": "p\#($0)", "kind": "remoteSourceControl", "location": "https://github.com/o/p\#($0).git", "state": {"revision": "abc", "version": "1.0.\#($0)"}}"# }
        let dir = try Self.root("resolved", ["Package.resolved": "{\n\"pins\": [\n" + pins.joined(separator: ",\n") + "\n],\n\"version\": 2\n}\n"])
        let x = try Self.extract(SwiftResolvedExtractor(), dir, "Package.resolved", mode: .source)
        #expect(x.packages.count == 300 && x.packages.last?.locations.first?.line == 302, "\(x.packages.last?.locations ?? [])")
    }
}
