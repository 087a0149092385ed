import Foundation
import Testing
@testable import Catalog
import ProvenantCore

/// Inputs whose cost grew with the product of two of their sizes (found by helper-232), read now with
/// the same answers: what these check is the answer; the bound is in how the code is built.
@Suite struct QuadraticInputTests {
    /// pnpm writes no anchors; an alias is refused with its line, and the rest of the scan goes on.
    @Test func aPnpmLockAliasIsRefusedWithItsLine() async throws {
        let dir = try HostileInputTests.tempDir("pnpm-alias")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = "lockfileVersion: '6.0'\npackages:\n  /a@1.0.0:\n    resolution: {integrity: sha512-x}\n    dependencies: &d\n      b: 1.0.0\n  /b@1.0.0:\n    resolution: {integrity: sha512-y}\n    dependencies: *d\n"
        try HostileInputTests.write(Array(text.utf8), dir + "/pnpm-lock.yaml")
        let inv = try await HostileInputTests.catalogWithHealthyNeighbour(dir)
        let said = inv.diagnostics.map(\.description)
        #expect(said.contains { $0.contains("pnpm-lock.yaml:9") && $0.contains("an alias (*name)") }, "\(said)")
    }

    /// bun.lock keys nested past the depth limit are not resolved, and that is said; within it, a
    /// scoped parent still finds its own nested copy first.
    @Test func bunKeysPastTheDepthLimitAreSaid() throws {
        var stopped = false
        let keys: Set<String> = ["@s/p/q", "q", "@s/p"]
        #expect(NodePath.resolveSlashed("q", from: "@s/p", stopped: &stopped, exists: keys.contains) == "@s/p/q" && !stopped)
        #expect(NodePath.resolveSlashed("q", from: "x/y", stopped: &stopped, exists: keys.contains) == "q" && !stopped)
        let deep = Array(repeating: "p", count: NodePath.maxDepth + 1).joined(separator: "/")
        #expect(NodePath.resolveSlashed("q", from: deep, stopped: &stopped, exists: keys.contains) == nil && stopped)
    }

    /// npm v1 lockfiles nest by `dependencies`: past 4,096-byte keys a package keeps a short stand-in
    /// key, is still listed, and its edges are said cut; the shallow ones still resolve.
    @Test func npmV1PackagesNestedPastTheKeyLimitAreListedAndSaid() throws {
        let dir = try HostileInputTests.tempDir("npm-v1-deep")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var inner = ""
        for level in stride(from: 39, through: 0, by: -1) {
            let name = "p\(level)-" + String(repeating: "x", count: 200)
            let nested = inner.isEmpty ? "" : #", "dependencies": {"# + inner + "}"
            inner = #""\#(name)": {"version": "1.0.\#(level)", "requires": {"shared": "2.0.0"}\#(nested)}"#
        }
        let lock = #"{"lockfileVersion": 1, "dependencies": {"shared": {"version": "2.0.0"}, "# + inner + "}}"
        try HostileInputTests.write(Array(lock.utf8), dir + "/package-lock.json")
        let x = try HostileInputTests.extract(NpmLockExtractor(), dir, "package-lock.json")
        #expect(x.packages.count == 41, "\(x.packages.count)")
        let shallow = try #require(x.packages.first { $0.version == "1.0.0" }), deep = try #require(x.packages.first { $0.version == "1.0.39" })
        #expect(shallow.dependsOn == ["pkg:npm/shared@2.0.0"] && deep.dependsOn.isEmpty, "\(shallow.dependsOn) \(deep.dependsOn)")
        #expect(x.diagnostics.count == 1 && x.diagnostics[0].message.contains("were not resolved") && x.diagnostics[0].unscanned != nil, "\(x.diagnostics)")
    }

    /// Cargo.lock entries naming `name version` find that version among many, and `name` alone the first.
    @Test func cargoFindsAVersionAmongMany() throws {
        let dir = try HostileInputTests.tempDir("cargo-versions")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var text = "version = 3\n"
        let registry = "source = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
        for i in 0..<2000 { text += "\n[[package]]\nname = \"x\"\nversion = \"1.0.\(i)\"\n" + registry }
        text += "\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n" + registry + "dependencies = [\"x 1.0.1234\"]\n"
        text += "\n[[package]]\nname = \"root\"\nversion = \"0.1.0\"\ndependencies = [\"app\"]\n"
        try HostileInputTests.write(Array(text.utf8), dir + "/Cargo.lock")
        let x = try HostileInputTests.extract(CargoLockExtractor(), dir, "Cargo.lock")
        let app = try #require(x.packages.first { $0.name == "app" })
        #expect(app.dependsOn == [try #require(x.packages.first { $0.version == "1.0.1234" }).ref], "\(app.dependsOn)")
        // The local crate names `app` alone: found by name, it is a direct dependency.
        #expect(app.isDirect == true && x.packages.filter { $0.isDirect == true }.map(\.name) == ["app"])
    }

    /// go.mod: a replacement of a require's very version wins over one of every version, whatever
    /// the order, among thousands of replacements of other paths.
    @Test func goModReplacementsAreFoundByVersionFirst() throws {
        let dir = try HostileInputTests.tempDir("gomod-replace")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var text = "module m\n\ngo 1.21\n\nrequire example.com/a v1.0.0\n"
        for i in 0..<3000 { text += "replace example.com/z\(i) => example.com/y\(i) v1.0.0\n" }
        text += "replace example.com/a => example.com/every v9.0.0\nreplace example.com/a v1.0.0 => example.com/exact v2.0.0\n"
        try HostileInputTests.write(Array(text.utf8), dir + "/go.mod")
        let x = try HostileInputTests.extract(GoModExtractor(), dir, "go.mod")
        #expect(x.packages.filter { $0.name != "stdlib" }.map { "\($0.name)@\($0.version)" } == ["example.com/exact@v2.0.0"], "\(x.packages.map(\.name))")
    }

    /// Workspace globs over 1 KB are not matched: a long inclusion takes no member, and a long
    /// exclusion leaves the directory none, since it could take any member out (found by helper-234).
    @Test func longWorkspaceGlobsNeverMakeAMemberPinned() {
        let long = "packages/" + String(repeating: "x", count: 2000)
        #expect(WorkspaceMembers(globs: ["packages/*"], rushProjects: []).holds("packages/a"))
        #expect(!WorkspaceMembers(globs: ["packages/*", "!packages/a"], rushProjects: []).holds("packages/a"))
        #expect(!WorkspaceMembers(globs: ["**/" + long], rushProjects: []).holds("packages/a"))
        #expect(WorkspaceMembers(globs: ["packages/*", "**/" + long], rushProjects: []).holds("packages/a"))
        #expect(!WorkspaceMembers(globs: ["packages/*", "!" + long], rushProjects: []).holds("packages/a"))
    }

    /// Spellings of one DEP-5 license name in other cases are one license, with one text.
    @Test func debianLicenseNamesInOtherCasesAreOne() throws {
        let text = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: Zzz-Local\n\nFiles: a/*\nLicense: ZZZ-local\n\nFiles: b/*\nLicense: zzz-LOCAL\n\nLicense: zzz-local\n some text of the license\n"
        let c = DebianCopyright.parse(Array(text.utf8))
        #expect(c.licenses.count == 1 && c.texts.count == 1, "\(c.licenses)")
    }
}
