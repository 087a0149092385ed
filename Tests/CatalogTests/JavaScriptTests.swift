import Foundation
import Testing
@testable import Catalog
import ProvenantCore

@Suite struct JavaScriptExtractorTests {
    /// A package.json whose dependencies no lockfile pins (beside it, or at a workspace root above) is
    /// NOT CHECKED in source mode: it scanned "0 of 0, clean" with node_modules beside it (found by helper-82).
    @Test func aPackageJSONNoLockfilePinsIsNotChecked() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pkgjson-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for sub in ["app/node_modules/lodash", "ws/packages/web", "empty"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
        }
        try #"{"name":"app","dependencies":{"lodash":"^4.17.0"},"devDependencies":{"jest":"^29"}}"#.write(toFile: dir + "/app/package.json", atomically: true, encoding: .utf8)
        try #"{"name":"lodash","version":"4.17.20"}"#.write(toFile: dir + "/app/node_modules/lodash/package.json", atomically: true, encoding: .utf8)
        try #"{"name":"web","dependencies":{"lodash":"^4.17.0"}}"#.write(toFile: dir + "/ws/packages/web/package.json", atomically: true, encoding: .utf8)
        try #"{"name":"ws","private":true,"workspaces":["packages/*"]}"#.write(toFile: dir + "/ws/package.json", atomically: true, encoding: .utf8)
        try "# yarn lockfile v1\n".write(toFile: dir + "/ws/yarn.lock", atomically: true, encoding: .utf8)
        try #"{"name":"empty","devDependencies":{"jest":"^29"}}"#.write(toFile: dir + "/empty/package.json", atomically: true, encoding: .utf8)
        let inv = try await Cataloger(mode: .source).catalog(dir)
        let notChecked = inv.diagnostics.filter { $0.unscanned != nil }.map { "\($0.location.path): \($0.message)" }
        #expect(notChecked.count == 1 && notChecked.first?.hasPrefix("app/package.json: 1 dependency of package.json, and no lockfile pins them") == true, "\(notChecked)")
        let dev = try await Cataloger(mode: .source, includeDev: true).catalog(dir)
        #expect(dev.diagnostics.filter { $0.unscanned != nil }.map(\.location.path).sorted() == ["app/package.json", "empty/package.json"])

        // Review: a lockfile above pins only what its workspaces name; bundled copies and templates are
        // not projects; Rush names its projects in rush.json; bun.lockb is not read.
        let more = FileManager.default.temporaryDirectory.appendingPathComponent("pkgjson-more-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: more) }
        func put(_ rel: String, _ text: String) throws {
            try FileManager.default.createDirectory(atPath: (more + "/" + rel as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: more + "/" + rel, atomically: true, encoding: .utf8)
        }
        let deps = #"{"dependencies":{"lodash":"^4.17.0"}}"#
        try put("package.json", #"{"name":"tools","devDependencies":{"husky":"^9"}}"#)
        try put("package-lock.json", #"{"lockfileVersion":3,"packages":{"":{"name":"tools"}}}"#)
        try put("services/api/package.json", deps)
        try put(".venv/lib/python3.11/site-packages/widgets/static/package.json", deps)
        try put("vendor/npm-asset/x/package.json", deps)
        try put("{{cookiecutter.name}}/package.json", deps)
        try put("rush.json", #"{"projects":[{"packageName":"web","projectFolder":"apps/web"}]}"#)
        try put("apps/web/package.json", deps)
        try put("bunapp/package.json", deps)
        try put("bunapp/bun.lockb", "binary")
        // Second review: rush.json has comments; pnpm-workspace.yaml is YAML (CRLF, comments, exclusions);
        // a vendor directory of one's own is checked; unreadable JSON is not known, so not clean.
        try put("rush.json", "// Rush writes comments\n{\"projects\":[{\"packageName\":\"web\",\"projectFolder\":\"apps/web\"}]}\n")
        try put("pn/pnpm-lock.yaml", "lockfileVersion: '9.0'\n")
        try put("pn/pnpm-workspace.yaml", "packages: # members\r\n  - 'libs/*'\r\n  - '!libs/legacy'\r\n")
        try put("pn/libs/a/package.json", deps)
        try put("pn/libs/legacy/package.json", deps)
        try put("apps/vendor/package.json", deps)
        try put("odd/package.json", #"{"dependencies":{"a":"1"},"x":1e400}"#)
        let moreInv = try await Cataloger(mode: .source).catalog(more)
        let flagged = moreInv.diagnostics.filter { $0.unscanned != nil }
        #expect(flagged.map(\.location.path).sorted() == ["apps/vendor/package.json", "bunapp/package.json", "odd/package.json", "pn/libs/legacy/package.json", "services/api/package.json"], "\(flagged)")
        #expect(flagged.first { $0.location.path == "bunapp/package.json" }?.message.contains("bun.lockb is binary") == true)
    }

    @Test func npmV2AliasUsesRealName() throws {
        let x = try Fixture.extract(NpmLockExtractor(), "lockfiles/javascript-packagelockjson/alias.v2.json")
        #expect(Fixture.summary(x) == [
            "pkg:npm/%40babel/code-frame@7.0.0 required",
            "pkg:npm/string-width@4.2.0 required",
            "pkg:npm/string-width@5.1.2 required",
        ])
        #expect(x.packages.allSatisfy { $0.isDirect == true })
        #expect(x.packages.first { $0.version == "5.1.2" }?.digests.first?.algorithm == .sha512)
    }

    @Test func npmV2NestedResolvesInnermostCopy() throws {
        let x = try Fixture.extract(NpmLockExtractor(), "lockfiles/javascript-packagelockjson/nested-dependencies-dup.v2.json")
        // 36 nested copies of supports-color collapse to two versions.
        #expect(Set(Fixture.summary(x)) == ["pkg:npm/supports-color@2.0.0 required", "pkg:npm/supports-color@6.1.0 required"])
        #expect(x.packages.count == 36)
    }

    @Test func npmDevExcludedUnlessAsked() throws {
        #expect(try Fixture.extract(NpmLockExtractor(), "lockfiles/javascript-packagelockjson/one-package-dev.v2.json").packages.isEmpty)
        let all = try Fixture.extract(NpmLockExtractor(), "lockfiles/javascript-packagelockjson/one-package-dev.v2.json", includeDev: true)
        #expect(Fixture.summary(all) == ["pkg:npm/wrappy@1.0.2 dev"])
        let v1 = try Fixture.extract(NpmLockExtractor(), "lockfiles/javascript-packagelockjson/one-package-dev.v1.json", includeDev: true)
        #expect(Fixture.summary(v1) == ["pkg:npm/wrappy@1.0.2 dev"])
    }

    @Test func npmNotJSONIsAnError() {
        #expect(throws: ParseError.self) { try Fixture.extract(NpmLockExtractor(), "lockfiles/javascript-packagelockjson/not-json.txt") }
    }

    /// `JSON.stringify` escapes a lone surrogate as `\ud800`; Foundation refused the whole lockfile over
    /// one in a description, with a message naming no line. It is read as U+FFFD, as Go reads it.
    @Test func aLoneSurrogateInALockfileLosesNoPackage() throws {
        let text = #"{"name":"x","lockfileVersion":3,"packages":{"":{"name":"x","dependencies":{"a":"1"}},"#
            + #""node_modules/a":{"version":"1.0.0","description":"\ud800 lone, \udc00 low, \\ud800 not an escape, \ud83d\ude00 a pair"}}}"#
        let mended = try #require(JSON.replacingLoneSurrogates(Array(text.utf8)))
        #expect(String(decoding: mended, as: UTF8.self).contains(#""\uFFFD lone, \uFFFD low, \\ud800 not an escape, \ud83d\ude00 a pair""#))
        #expect(JSON.replacingLoneSurrogates(Array(#"{"a":"\ud83d\ude00 \\udc00"}"#.utf8)) == nil)
        // Not in a key: `a\ud800` and `a\ud801` would both become `a\uFFFD`, and one package vanish.
        #expect(JSON.replacingLoneSurrogates(Array(#"{"a\ud800" : {"version":"1"},"a\ud801":{"version":"2"}}"#.utf8)) == nil)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("surrogate-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try text.write(toFile: dir + "/package-lock.json", atomically: true, encoding: .utf8)
        let x = try HostileInputTests.extract(NpmLockExtractor(), dir, "package-lock.json")
        #expect(Fixture.summary(x) == ["pkg:npm/a@1.0.0 required"])
    }

    @Test func yarnV1() throws {
        let x = try Fixture.extract(YarnLockExtractor(), "lockfiles/javascript-yarnlock/two-packages.v1.lock")
        #expect(Fixture.summary(x) == ["pkg:npm/concat-map@0.0.1 required", "pkg:npm/concat-stream@1.6.2 required"])
        #expect(x.packages.first { $0.name == "concat-map" }?.digests == [Digest(.sha1, "d8a96bd77fd68df7793a73036a3ba0d5405d477b")])
    }

    @Test func yarnBerryAliasesAndRoot() throws {
        let x = try Fixture.extract(YarnLockExtractor(), "lockfiles/javascript-yarnlock/with-aliases.v2.lock")
        #expect(Fixture.summary(x) == [
            "pkg:npm/%40babel/helper-validator-identifier@7.22.20 required",
            "pkg:npm/ansi-regex@5.0.1 required",
            "pkg:npm/ansi-regex@6.0.1 required",
        ])
        #expect(x.packages.allSatisfy { $0.isDirect == true })
    }

    @Test func pnpmV5PeerSuffixAndEdges() throws {
        let x = try Fixture.extract(PnpmLockExtractor(), "lockfiles/javascript-pnpmlock/peer-dependencies.yaml")
        #expect(Fixture.summary(x) == ["pkg:npm/acorn-jsx@5.3.2 required", "pkg:npm/acorn@8.7.0 required"])
        #expect(Fixture.edges(x)["pkg:npm/acorn-jsx@5.3.2"] == ["pkg:npm/acorn@8.7.0"])
        #expect(x.packages.allSatisfy { $0.isDirect == true })
    }

    /// A package the workspace root uses for development and a member at run time is production: by
    /// the root's importer alone it was dev, and dropped (found by helper-82), in pnpm, bun and uv alike.
    @Test func aMembersRunTimeDependencyIsNotDev() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-dev-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for sub in ["pnpm", "uv", "bun"] { try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true) }
        try """
            lockfileVersion: '9.0'

            importers:

              .:
                devDependencies:
                  lodash:
                    specifier: 4.17.20
                    version: 4.17.20

              packages/web:
                dependencies:
                  lodash:
                    specifier: 4.17.20
                    version: 4.17.20

            packages:

              lodash@4.17.20:
                resolution: {integrity: sha512-PlhdFcillOINfeV7Ni6oF1TAEayyZBoZ8bcshTHqOYJYlrqzRK5hagpagky5o4HfCzzd1TRkXPMFq6cKk9rGmA==}

            snapshots:

              lodash@4.17.20: {}

            """.write(toFile: dir + "/pnpm/pnpm-lock.yaml", atomically: true, encoding: .utf8)
        try """
            version = 1
            requires-python = ">=3.8"

            [manifest]
            members = ["app", "web"]

            [[package]]
            name = "app"
            version = "0.1.0"
            source = { virtual = "." }

            [package.dev-dependencies]
            dev = [{ name = "urllib3" }]

            [[package]]
            name = "urllib3"
            version = "1.25.7"
            source = { registry = "https://pypi.org/simple" }

            [[package]]
            name = "web"
            version = "0.1.0"
            source = { editable = "packages/web" }
            dependencies = [{ name = "urllib3" }, { name = "forked" }]

            [[package]]
            name = "forked"
            version = "1.0"
            source = { editable = "../forks/forked" }

            """.write(toFile: dir + "/uv/uv.lock", atomically: true, encoding: .utf8)
        try """
            {
              "lockfileVersion": 1,
              "workspaces": {
                "": { "name": "root", "devDependencies": { "lodash": "4.17.20" } },
                "packages/web": { "name": "web", "dependencies": { "lodash": "4.17.20" } }
              },
              "packages": {
                "lodash": ["lodash@4.17.20", "", {}, "sha512-PlhdFcillOINfeV7Ni6oF1TAEayyZBoZ8bcshTHqOYJYlrqzRK5hagpagky5o4HfCzzd1TRkXPMFq6cKk9rGmA=="]
              }
            }

            """.write(toFile: dir + "/bun/bun.lock", atomically: true, encoding: .utf8)
        let inv = try await Cataloger(mode: .source).catalog(dir)
        let purls = Set(inv.packages.map(\.purl.description))
        #expect(purls.isSuperset(of: ["pkg:npm/lodash@4.17.20", "pkg:pypi/urllib3@1.25.7"]), "\(purls)")
        #expect(!purls.contains("pkg:pypi/web@0.1.0"), "a workspace member is local source, not a PyPI release")
        #expect(purls.contains("pkg:pypi/forked@1.0"), "an editable path dependency that is no member is a package (found by review)")
        let lodash = inv.packages.filter { $0.purl.description == "pkg:npm/lodash@4.17.20" }
        #expect(lodash.flatMap(\.locations).map(\.path).sorted() == ["bun/bun.lock", "pnpm/pnpm-lock.yaml"], "\(lodash.flatMap(\.locations))")
    }

    /// A v5 name with '_' was cut at it (`/string_decoder/1.3.0`) and the package lost (found by helper-82).
    @Test func pnpmV5NamesWithUnderscores() {
        #expect(PnpmLockExtractor.parseKey("/string_decoder/1.3.0", major: 5, entry: LockYAML?.none)! == ("string_decoder", "1.3.0"))
        #expect(PnpmLockExtractor.parseKey("/@types/lodash_x/4.14.0_react@16.0.0", major: 5, entry: LockYAML?.none)! == ("@types/lodash_x", "4.14.0"))
        #expect(PnpmLockExtractor.parseKey("/react-dom/16.14.0_react@16.14.0", major: 5, entry: LockYAML?.none)! == ("react-dom", "16.14.0"))
        #expect(PnpmLockExtractor.parseKey("/@babel/plugin-x/7.0.0_@babel+core@7.0.0", major: 5, entry: LockYAML?.none)! == ("@babel/plugin-x", "7.0.0"))
        #expect(PnpmLockExtractor.parseKey("/a/b/c", major: 5, entry: LockYAML?.none) == nil)
    }

    @Test func pnpmV9Snapshots() throws {
        let x = try Fixture.extract(PnpmLockExtractor(), "lockfiles/javascript-pnpmlock/peer-dependencies.v9.yaml")
        #expect(Fixture.summary(x) == ["pkg:npm/acorn-jsx@5.3.2 required", "pkg:npm/acorn@8.11.3 required"])
        #expect(Fixture.edges(x)["pkg:npm/acorn-jsx@5.3.2"] == ["pkg:npm/acorn@8.11.3"])
        #expect(x.packages.first { $0.name == "acorn-jsx" }?.isDirect == true)
        #expect(x.packages.first { $0.name == "acorn" }?.isDirect == false)
    }

    @Test func bunNestedResolution() throws {
        let x = try Fixture.extract(BunLockExtractor(), "lockfiles/javascript-bunlock/nested-dependencies.json5", includeDev: true)
        let e = Fixture.edges(x)
        #expect(e["pkg:npm/supports-color@5.5.0"] == ["pkg:npm/has-flag@3.0.0"])
        #expect(e["pkg:npm/supports-color@7.2.0"] == ["pkg:npm/has-flag@4.0.0"])
        #expect(e["pkg:npm/chalk@4.1.2"] == ["pkg:npm/ansi-styles@4.3.0", "pkg:npm/supports-color@7.2.0"])
        #expect(x.packages.first { $0.name == "chalk" }?.scope == .dev)
        #expect(x.packages.first { $0.name == "has-flag" && $0.version == "2.0.0" }?.isDirect == true)
        let prodOnly = try Fixture.extract(BunLockExtractor(), "lockfiles/javascript-bunlock/nested-dependencies.json5")
        #expect(!prodOnly.packages.contains { $0.name == "chalk" })
    }

    @Test func installedPackageJSON() throws {
        let x = try Fixture.extract(NodeModulesExtractor(), "lockfiles/javascript-packagejson/deps/accepts/package.json", mode: .installed)
        #expect(Fixture.summary(x) == ["pkg:npm/accepts@1.3.8 required"])
        #expect(x.packages[0].licenses == ["MIT"])
        // A manifest with an empty name identifies nothing.
        #expect(throws: ParseError.self) {
            try Fixture.extract(NodeModulesExtractor(), "lockfiles/javascript-packagejson/deps/acorn/package.json", mode: .installed)
        }
    }

    @Test func lockfileInsideNodeModulesIsNotAnApplication() {
        let f = IndexedFile(path: "app/node_modules/foo/package-lock.json", size: 10, isExecutable: false)
        #expect(!NpmLockExtractor().wants(f, fileName: "package-lock.json"))
        #expect(!YarnLockExtractor().wants(IndexedFile(path: "node_modules/x/yarn.lock", size: 1, isExecutable: false), fileName: "yarn.lock"))
    }
}
