import Foundation
import Testing
import TestSupport
import ProvenantCore
@testable import Advisories

/// Runs the built `provenant` binary, as a user would, with a fixed SOURCE_DATE_EPOCH.
func provenant(_ args: [String], env: [String: String] = [:]) throws -> (code: Int32, out: String, err: String) {
    try runProcess(provenantBinary, args, env: ["SOURCE_DATE_EPOCH": "1700000000"].merging(env) { $1 })
}

/// One database seeded from the bundled snapshot, shared by the CLI tests. A failed import is an
/// error in every test that uses it: dropping it would let `scan` quietly seed its own database.
let sharedDBResult: Result<String, any Error> = Result {
    let dir = try tempDir("clidb")
    let path = dir + "/osv.sqlite"
    guard let archive = Snapshot.archivePath else { throw ParseError("the bundled snapshot is missing from this build") }
    let r = try provenant(["db", "import", archive, "--db", path])
    guard r.code == 0 else { throw ParseError("db import of the bundled snapshot failed (exit \(r.code)): \(r.err)") }
    return path
}

var sharedDB: String { get throws { try sharedDBResult.get() } }

/// A project with six pinned PyPI packages that have real advisories in the snapshot.
func pinnedProject() throws -> String {
    let dir = try tempDir("proj")
    try write("urllib3==1.25.7\nrequests==2.22.0\npyyaml==5.1.2\nidna==2.8\ncertifi==2019.9.11\npy==1.8.0\n", to: dir + "/requirements.txt")
    return dir
}

func keepOutput(_ text: String, as name: String) throws {
    guard let dir = ProcessInfo.processInfo.environment["PROVENANT_SBOM_OUT"] else { return }
    try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
}

func jsonObject(_ s: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any])
}

@Suite(.serialized) struct CLITests {
    @Test func versionCompareAnswersAndRejectsBadVersions() throws {
        #expect(try provenant(["version", "compare", "PyPI", "1.0rc1", "1.0"]).out == "<\n")
        #expect(try provenant(["version", "compare", "Debian:12", "1:1.0", "2.0"]).out == ">\n")
        #expect(try provenant(["version", "compare", "Go", "1.19", "v1.19.0"]).out == "=\n")
        #expect(try provenant(["version", "compare", "Red Hat", "1.0~rc1", "1.0"]).out == "<\n")
        let bad = try provenant(["version", "compare", "Debian", "abc", "1.0"])
        #expect(bad.code == 2 && bad.err.contains("start with a digit"))
        #expect(try provenant(["version", "compare", "Nope", "1", "2"]).code == 2)
    }

    @Test func scanReportsFindingsAndFailOnSetsTheExitCode() throws {
        let proj = try pinnedProject()
        let table = try provenant(["scan", proj, "--db", sharedDB])
        #expect(table.code == 0)
        #expect(table.out.contains("urllib3") && table.out.contains("PYSEC-2023-192") && table.out.contains("1.26.17"))
        // Grouped by package, most severe first: the high urllib3 finding precedes unrated ones.
        let lines = table.out.split(separator: "\n")
        #expect(lines.firstIndex { $0.contains("PYSEC-2023-192") }! < lines.firstIndex { $0.contains("PYSEC-2023-74") }!)
        #expect(try provenant(["scan", proj, "--db", sharedDB, "--fail-on", "high"]).code == 1)
        // Unrated findings (PYSEC-2023-74 gives no severity) cannot be ruled below any level: fail closed.
        let unrated = try provenant(["scan", proj, "--db", sharedDB, "--fail-on", "critical"])
        #expect(unrated.code == 1 && unrated.err.contains("unrated") && unrated.err.contains("--allow-unrated"), "\(unrated.err)")
        #expect(try provenant(["scan", proj, "--db", sharedDB, "--fail-on", "critical", "--allow-unrated"]).code == 0)
        #expect(try provenant(["scan", proj, "--db", sharedDB, "--fail-on", "severe"]).code == 2)
        #expect(try provenant(["scan", proj + "/missing", "--db", sharedDB]).code == 2)
    }

    @Test func jsonIsDeterministicAndComplete() throws {
        let proj = try pinnedProject()
        let a = try provenant(["scan", proj, "--db", sharedDB, "--format", "json"])
        let b = try provenant(["scan", proj, "--db", sharedDB, "--format", "json"])
        #expect(a.out == b.out)
        let doc = try jsonObject(a.out)
        let findings = try #require(doc["findings"] as? [[String: Any]])
        let hit = try #require(findings.first { $0["id"] as? String == "PYSEC-2023-192" })
        #expect(hit["severity"] as? String == "high")
        #expect(hit["score"] as? Double == 8.1)
        #expect((hit["aliases"] as? [String])?.contains { $0.hasPrefix("CVE-") } == true)
        let pkg = try #require(hit["package"] as? [String: Any])
        #expect(pkg["version"] as? String == "1.25.7" && (pkg["locations"] as? [String])?.first?.hasSuffix("requirements.txt:1") == true)
        #expect((hit["fixedVersions"] as? [String]) == ["1.26.17", "2.0.6"])
    }

    @Test func sarifAndCycloneDXCarryTheFindings() throws {
        let proj = try pinnedProject()
        let sarif = try provenant(["scan", proj, "--db", sharedDB, "--format", "sarif"]).out
        try keepOutput(sarif, as: "scan.sarif")
        let s = try jsonObject(sarif)
        #expect(s["version"] as? String == "2.1.0")
        let run = try #require((s["runs"] as? [[String: Any]])?.first)
        let rules = try #require(((run["tool"] as? [String: Any])?["driver"] as? [String: Any])?["rules"] as? [[String: Any]])
        let results = try #require(run["results"] as? [[String: Any]])
        #expect(!results.isEmpty && results.allSatisfy { r in rules.contains { $0["id"] as? String == r["ruleId"] as? String } })
        #expect(results.contains { $0["ruleId"] as? String == "PYSEC-2023-192" && $0["level"] as? String == "error" })
        // An unrated finding may be of any severity: an error, not the lowest level (found by helper-214).
        #expect(results.contains { $0["ruleId"] as? String == "PYSEC-2023-74" && $0["level"] as? String == "error" })

        let cdx = try provenant(["scan", proj, "--db", sharedDB, "--format", "cyclonedx-json"]).out
        try keepOutput(cdx, as: "scan.cdx.json")
        let bom = try jsonObject(cdx)
        let refs = Set(((bom["components"] as? [[String: Any]]) ?? []).compactMap { $0["bom-ref"] as? String })
        let vulns = try #require(bom["vulnerabilities"] as? [[String: Any]])
        #expect(vulns.contains { $0["id"] as? String == "PYSEC-2023-192" })
        for v in vulns {
            for a in (v["affects"] as? [[String: Any]]) ?? [] { #expect(refs.contains(a["ref"] as? String ?? ""), "affects must name a component") }
        }
    }

    @Test func vexStatementsSuppressAndSayWhich() throws {
        let proj = try pinnedProject()
        let dir = try tempDir("vex")
        try write("""
            {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1", "author": "sec", "timestamp": "2024-01-01T00:00:00Z", "version": 1,
             "statements": [
               {"vulnerability": {"name": "PYSEC-2023-192"}, "products": [{"@id": "pkg:pypi/urllib3@1.25.7"}], "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
               {"vulnerability": {"name": "PYSEC-2023-212"}, "products": [{"@id": "pkg:pypi/urllib3"}], "status": "under_investigation"},
               {"vulnerability": {"name": "PYSEC-2024-60"}, "products": [{"@id": "pkg:pypi/idna@9.9"}], "status": "not_affected"}
             ]}
            """, to: dir + "/open.vex.json")
        // CycloneDX VEX, naming the advisory by its CVE alias and the package by bom-ref.
        let cve = try #require(try jsonObject(try provenant(["scan", proj, "--db", sharedDB, "--format", "json"]).out)["findings"] as? [[String: Any]])
            .first { $0["id"] as? String == "PYSEC-2023-74" }?["aliases"] as? [String]
        let alias = try #require(cve?.first { $0.hasPrefix("CVE-") })
        try write("""
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
             "components": [{"type": "library", "bom-ref": "req", "name": "requests", "version": "2.22.0", "purl": "pkg:pypi/requests@2.22.0"}],
             "vulnerabilities": [{"id": "\(alias)", "analysis": {"state": "resolved"}, "affects": [{"ref": "req"}]}]}
            """, to: dir + "/cdx.vex.json")
        let r = try provenant(["scan", proj, "--db", sharedDB, "--format", "json", "--vex", dir + "/open.vex.json", "--vex", dir + "/cdx.vex.json"])
        let doc = try jsonObject(r.out)
        let suppressed = try #require(doc["suppressed"] as? [[String: Any]])
        let by = Dictionary(uniqueKeysWithValues: suppressed.map { (($0["finding"] as? [String: Any])?["id"] as? String ?? "", $0["by"] as? String ?? "") })
        #expect(by.keys.sorted() == ["PYSEC-2023-192", "PYSEC-2023-74"], "under_investigation and other versions do not suppress")
        #expect(by["PYSEC-2023-192"]?.contains("open.vex.json#1") == true && by["PYSEC-2023-192"]?.contains("not_affected") == true)
        #expect(by["PYSEC-2023-74"]?.contains("cdx.vex.json#1") == true)
        let ids = ((doc["findings"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
        #expect(!ids.contains("PYSEC-2023-192") && ids.contains("PYSEC-2023-212") && ids.contains("PYSEC-2024-60"))
        // A not_affected without a justification is refused, in the JSON's warnings and on stderr.
        #expect((doc["warnings"] as? [String])?.contains { $0.hasSuffix("open.vex.json: open.vex.json#3: not_affected without a justification or an impact_statement; refused, it suppresses nothing") } == true)
        #expect(r.err.contains("warning: open.vex.json#3: not_affected without a justification"))
        let table = try provenant(["scan", proj, "--db", sharedDB, "--vex", dir + "/open.vex.json"]).out
        #expect(table.contains("1 suppressed") && table.contains("suppressed: PYSEC-2023-192"))
    }

    /// A statement about a package inside one product (an OpenVEX subcomponent, a CycloneDX
    /// BOM-Link into one BOM) clears it in a scan of that product only: read flat, a statement that
    /// urllib3 in app-a is not affected cleared urllib3 in app-b too (found by helper-214).
    @Test func vexStatementsAboutAProductsPartsApplyToThatProductOnly() throws {
        let dir = try tempDir("vex-scope")
        let serial = "3e671687-395b-41f5-a30f-a58921a69b79"
        func sbom(_ app: String, serial: String, version: Int = 1) throws -> String {
            let path = dir + "/\(app).cdx.json"
            try write("""
                {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": \(version), "serialNumber": "urn:uuid:\(serial)",
                 "metadata": {"component": {"type": "container", "name": "\(app)", "purl": "pkg:oci/\(app)@sha256%3A\(String(repeating: String(app.suffix(1)), count: 64))"}},
                 "components": [{"type": "library", "bom-ref": "u", "name": "urllib3", "version": "1.25.7", "purl": "pkg:pypi/urllib3@1.25.7"}]}
                """, to: path)
            return path
        }
        let appA = try sbom("app-a", serial: serial), appB = try sbom("app-b", serial: "0e671687-395b-41f5-a30f-a58921a69b70")
        try write("""
            {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/scope", "author": "sec", "timestamp": "2024-01-01T00:00:00Z", "version": 1,
             "statements": [{"vulnerability": {"name": "PYSEC-2023-192"},
                             "products": [{"@id": "pkg:oci/collector@sha256:\(String(repeating: "A", count: 64))?tag=v1", "subcomponents": [{"@id": "pkg:pypi/urllib3"}]}],
                             "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}]}
            """, to: dir + "/open.vex.json")
        try write("""
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
             "vulnerabilities": [{"id": "PYSEC-2023-212", "analysis": {"state": "not_affected", "justification": "code_not_reachable"},
                                  "affects": [{"ref": "urn:cdx:\(serial)/1#pkg%3Apypi%2Furllib3%401.25.7"}]},
                                 {"id": "PYSEC-2020-148", "analysis": {"state": "not_affected", "justification": "code_not_reachable"},
                                  "affects": [{"ref": "urn:cdx:\(serial)/1#u"}]}]}
            """, to: dir + "/link.vex.json")
        func scan(_ target: String) throws -> (suppressed: [String], warnings: [String], err: String) {
            let r = try provenant(["scan", target, "--db", sharedDB, "--format", "json", "--vex", dir + "/open.vex.json", "--vex", dir + "/link.vex.json"])
            let doc = try jsonObject(r.out)
            let ids = ((doc["suppressed"] as? [[String: Any]]) ?? []).compactMap { ($0["finding"] as? [String: Any])?["id"] as? String }
            return (ids.sorted(), (doc["warnings"] as? [String]) ?? [], r.err)
        }
        let a = try scan(appA)
        // The second BOM-Link names its component by the SBOM's own bom-ref, `u`; the first names a
        // bom-ref the SBOM does not have (its component's purl), so it names nothing there (helper-222).
        #expect(a.suppressed == ["PYSEC-2020-148", "PYSEC-2023-192"], "\(a)")
        #expect(!a.warnings.contains { $0.contains("not applied") }, "\(a.warnings)")
        let b = try scan(appB)
        #expect(b.suppressed.isEmpty, "app-b is not the product the statements name: \(b)")
        #expect(b.warnings.contains { $0.contains("open.vex.json#1") && $0.contains("inside pkg:oci/collector@") && $0.contains("this scan is of pkg:oci/app-b@")
                && $0.hasSuffix("not applied to 1 finding: PYSEC-2023-192 in pkg:pypi/urllib3@1.25.7") }, "\(b.warnings)")
        #expect(b.warnings.contains { $0.contains("link.vex.json#1") && $0.contains("inside version 1 of the BOM urn:uuid:\(serial) only") }, "\(b.warnings)")
        // A BOM-Link names one version of its BOM: the next version of app-a's SBOM, whose bom-refs
        // may name other packages, is not what it spoke of.
        let next = try scan(try sbom("app-a", serial: serial, version: 2))
        #expect(!next.suppressed.contains("PYSEC-2020-148"), "\(next.suppressed)")
        #expect(next.warnings.contains { $0.contains("link.vex.json#1") && $0.contains("inside version 1 of the BOM urn:uuid:\(serial) only, and this scan is of version 2 of the BOM urn:uuid:\(serial);") }, "\(next.warnings)")
        #expect(b.err.contains("warning: VEX open.vex.json#1 (not_affected) speaks of packages inside pkg:oci/collector@"))
        // A tree that names no product: no scoped statement applies to it.
        let proj = try pinnedProject()
        let tree = try scan(proj)
        #expect(!tree.suppressed.contains("PYSEC-2023-192") && !tree.suppressed.contains("PYSEC-2023-212"), "\(tree.suppressed)")
        #expect(tree.warnings.contains { $0.contains("this scan is of a target that names no product") }, "\(tree.warnings)")
    }

    /// Issue 11, item 12: SARIF lists suppressed findings, each with an external suppression
    /// saying which statement took it out, as the README promises.
    @Test func sarifListsSuppressedFindingsWithTheirSuppressions() throws {
        let proj = try pinnedProject()
        try write("""
            {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/2", "author": "sec", "timestamp": "2024-01-01T00:00:00Z", "version": 1,
             "statements": [{"vulnerability": {"name": "PYSEC-2023-192"}, "products": [{"@id": "pkg:pypi/urllib3@1.25.7"}],
                             "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}]}
            """, to: proj + "/open.vex.json")
        let r = try provenant(["scan", proj, "--db", sharedDB, "--format", "sarif", "--vex", proj + "/open.vex.json"])
        #expect(r.code == 0)
        try keepOutput(r.out, as: "scan-suppressed.sarif")
        let run = try #require((try jsonObject(r.out)["runs"] as? [[String: Any]])?.first)
        let results = try #require(run["results"] as? [[String: Any]])
        let rules = try #require(((run["tool"] as? [String: Any])?["driver"] as? [String: Any])?["rules"] as? [[String: Any]])
        let hit = try #require(results.first { $0["ruleId"] as? String == "PYSEC-2023-192" })
        let sup = try #require((hit["suppressions"] as? [[String: Any]])?.first)
        #expect(sup["kind"] as? String == "external")
        #expect((sup["justification"] as? String)?.contains("open.vex.json#1") == true)
        #expect((sup["justification"] as? String)?.contains("vulnerable_code_not_in_execute_path") == true)
        #expect(rules.contains { $0["id"] as? String == "PYSEC-2023-192" })
        #expect(results.filter { $0["suppressions"] != nil }.count == 1, "only the suppressed finding carries a suppression")
    }

    /// Issue 11, item 12: `--db osv.sqlite`, a bare relative name, works like `./osv.sqlite`.
    @Test func aRelativeDatabasePathWorks() throws {
        let dir = try tempDir("reldb")
        try write(osv("PYSEC-REL", ecosystem: "PyPI", name: "demo", events: [["introduced": "0"], ["fixed": "2.0"]]), to: dir + "/rec/PYSEC-REL.json")
        try write("demo==1.0\n", to: dir + "/proj/requirements.txt")
        func inDir(_ args: String) throws -> (code: Int32, out: String, err: String) {
            try runProcess("/bin/sh", ["-c", "cd \"$1\" && shift && exec \"$0\" \"$@\"", provenantBinary, dir] + args.split(separator: " ").map(String.init),
                           env: ["SOURCE_DATE_EPOCH": "1700000000"])
        }
        let imported = try inDir("db import rec --db osv.sqlite")
        #expect(imported.code == 0, "\(imported.err)")
        #expect(FileManager.default.fileExists(atPath: dir + "/osv.sqlite"))
        let scan = try inDir("scan proj --db osv.sqlite")
        #expect(scan.code == 0 && scan.out.contains("PYSEC-REL"), "\(scan.err)")
    }

    @Test func ignoreEntriesSuppressUntilTheyExpire() throws {
        let proj = try pinnedProject()
        // Expiry is judged on the wall clock, whatever SOURCE_DATE_EPOCH says.
        try write("""
            ignore:
              - id: PYSEC-2024-60
                reason: idna is only used on trusted input, token ghp_abcdefghijklmnopqrstuvwxyz0123456789 https://bob:s3cretpw99@example.com/x
                expires: 2099-01-01
              - id: PYSEC-2023-212
                reason: accepted until the upgrade
                expires: 2020-01-01
            """, to: proj + "/.provenant-ignore.yaml")
        let r = try provenant(["scan", proj, "--db", sharedDB])
        #expect(r.out.contains("suppressed: PYSEC-2024-60") && r.out.contains("ignore " + proj + "/.provenant-ignore.yaml:2"))
        // The reason is input: echoed through the redactor, in every format (helper-148).
        for format in ["table", "json", "sarif"] {
            let out = format == "table" ? r.out : try provenant(["scan", proj, "--db", sharedDB, "--format", format]).out
            #expect(out.contains("only used on trusted input") && !out.contains("ghp_abcdefghijklmnopqrstuvwxyz0123456789") && !out.contains("s3cretpw99"), "\(format): \(out)")
        }
        #expect(r.out.contains("expired ignore: PYSEC-2023-212"))
        #expect(r.err.contains("expired on 2020-01-01"))
        // The tree's own ignore file is said on stderr too (found by helper-214).
        #expect(r.err.contains("1 finding is suppressed by") && r.err.contains("which the scanned tree supplies"), "\(r.err)")
        #expect(r.out.split(separator: "\n").contains { $0.contains("PYSEC-2023-212") && $0.contains("medium") }, "an expired entry no longer suppresses")
        // SOURCE_DATE_EPOCH only dates the documents written: set to 2017, it must not bring the
        // entry that expired on 2020-01-01 back.
        let reproducible = try provenant(["scan", proj, "--db", sharedDB, "--format", "json"], env: ["SOURCE_DATE_EPOCH": "1500000000"])
        let doc = try jsonObject(reproducible.out)
        #expect((doc["timestamp"] as? String)?.hasPrefix("2017-07-14") == true)
        #expect((doc["expiredIgnores"] as? [[String: Any]])?.map { $0["id"] as? String } == ["PYSEC-2023-212"])
        #expect((doc["findings"] as? [[String: Any]])?.contains { $0["id"] as? String == "PYSEC-2023-212" } == true, "an expired entry no longer suppresses")
        #expect((doc["suppressed"] as? [[String: Any]])?.count == 1)
        try write("ignore:\n  - id: X\n", to: proj + "/.provenant-ignore.yaml")
        let bad = try provenant(["scan", proj, "--db", sharedDB])
        #expect(bad.code == 2 && bad.err.contains(".provenant-ignore.yaml:2") && bad.err.contains("gives no reason"))
        // The default file is read inside the target: a link out of it brings in no suppressions (helper-72, -75).
        let outside = try tempDir("ignore-outside")
        try write("ignore:\n  - id: PYSEC-2024-60\n    reason: from elsewhere\n", to: outside + "/i.yaml")
        try FileManager.default.removeItem(atPath: proj + "/.provenant-ignore.yaml")
        try FileManager.default.createSymbolicLink(atPath: proj + "/.provenant-ignore.yaml", withDestinationPath: outside + "/i.yaml")
        let linked = try provenant(["scan", proj, "--db", sharedDB])
        #expect(linked.code == 2 && linked.err.contains("cannot read ignore file") && !linked.out.contains("suppressed: PYSEC-2024-60"), "\(linked.out) \(linked.err)")
        // Named with --ignore-file, it is the user's choice, and read.
        let named = try provenant(["scan", proj, "--db", sharedDB, "--ignore-file", proj + "/.provenant-ignore.yaml"])
        #expect(named.out.contains("suppressed: PYSEC-2024-60"), "\(named.out) \(named.err)")
        try FileManager.default.removeItem(atPath: proj + "/.provenant-ignore.yaml")
    }

    @Test func peerSBOMsScanLikeTheDirectory() throws {
        let dir = try #require(Bundle.module.url(forResource: "Fixtures/peer-sboms", withExtension: nil)).path
        var counts: [String: Int] = [:]
        for f in ["syft.cdx.json", "syft.spdx.json", "trivy.cdx.json", "trivy.spdx.json"] {
            let r = try provenant(["scan", dir + "/" + f, "--db", sharedDB, "--format", "json"])
            #expect(r.code == 0, "\(f): \(r.err)")
            let findings = (try jsonObject(r.out)["findings"] as? [[String: Any]]) ?? []
            counts[f] = findings.count
            #expect(findings.contains { $0["id"] as? String == "PYSEC-2023-192" }, "\(f) finds urllib3's advisory")
            #expect(findings.contains { ($0["package"] as? [String: Any])?["ecosystem"] as? String == "crates.io" }, "\(f) finds crate advisories")
        }
        #expect(Set(counts.values).count == 1, "all four SBOMs describe the same packages: \(counts)")
    }

    /// The typed fast path refuses a field of an unexpected type; the lenient reader must then read the
    /// same packages, so an odd SBOM never loses findings.
    @Test func sbomsWithOddFieldTypesReadLikeTheirCleanTwin() throws {
        let dir = try #require(Bundle.module.url(forResource: "Fixtures/peer-sboms", withExtension: nil)).path
        var doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/syft.cdx.json"))) as? [String: Any])
        var comps = try #require(doc["components"] as? [[String: Any]])
        let i = try #require(comps.firstIndex { $0["purl"] != nil })
        comps[i]["version"] = 42          // a number where CycloneDX has a string
        doc["components"] = comps
        let tmp = try tempDir("odd-sbom")
        try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: tmp + "/odd.cdx.json"))
        func findings(_ path: String) throws -> [String] {
            let r = try provenant(["scan", path, "--db", sharedDB, "--format", "json"])
            #expect(r.code == 0, "\(r.err)")
            return ((try jsonObject(r.out)["findings"] as? [[String: Any]]) ?? []).compactMap { f in
                (f["id"] as? String).map { $0 + " " + ((f["package"] as? [String: Any])?["purl"] as? String ?? "") }
            }.sorted()
        }
        let clean = try findings(dir + "/syft.cdx.json")
        #expect(!clean.isEmpty)
        #expect(try findings(tmp + "/odd.cdx.json") == clean)
        // Nested components that are not a list are refused, not read as none: an object there held
        // packages no scan saw (helper-145).
        comps[i]["components"] = "none"
        doc["components"] = comps
        try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: tmp + "/nested.cdx.json"))
        let nested = try provenant(["scan", tmp + "/nested.cdx.json", "--db", sharedDB])
        #expect(nested.code == 2 && nested.err.contains("is not an array"), "\(nested.err)")
    }

    /// Issue 11, item 7: lodash 4.17.15 against the bundled snapshot, which holds no npm
    /// advisories, is NOT CHECKED in every format, never "No known vulnerabilities.", and
    /// `--fail-on` fails on it unless `--allow-unchecked` is given.
    @Test func packagesOfEcosystemsTheDatabaseCannotJudgeAreNotChecked() throws {
        let proj = try tempDir("npm-unchecked")
        try write("""
            {"name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
             "packages": {"": {"name": "app", "version": "1.0.0", "dependencies": {"lodash": "4.17.15"}},
                          "node_modules/lodash": {"version": "4.17.15", "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.15.tgz"}}}
            """, to: proj + "/package-lock.json")
        let table = try provenant(["scan", proj, "--db", sharedDB])
        #expect(table.code == 0)
        #expect(!table.out.contains("No known vulnerabilities."), "\(table.out)")
        #expect(table.out.contains("1 npm package NOT CHECKED") && table.out.contains("provenant db update --ecosystem npm"))
        #expect(table.out.contains("1 NOT CHECKED (npm: 1)"))
        #expect(table.err.contains("warning: 1 npm package NOT CHECKED"))
        let failing = try provenant(["scan", proj, "--db", sharedDB, "--fail-on", "critical"])
        #expect(failing.code == 1 && failing.err.contains("--fail-on: 1 package was not checked") && failing.err.contains("--allow-unchecked"))
        #expect(try provenant(["scan", proj, "--db", sharedDB, "--fail-on", "critical", "--allow-unchecked"]).code == 0)

        let doc = try jsonObject(try provenant(["scan", proj, "--db", sharedDB, "--format", "json"]).out)
        #expect((doc["summary"] as? [String: Any])?["packagesNotChecked"] as? Int == 1)
        let nc = try #require((doc["notChecked"] as? [[String: Any]])?.first)
        #expect(nc["ecosystem"] as? String == "npm" && nc["packages"] as? Int == 1 && nc["command"] as? String == "provenant db update --ecosystem npm")
        #expect(nc["purls"] as? [String] == ["pkg:npm/lodash@4.17.15"])

        let sarif = try provenant(["scan", proj, "--db", sharedDB, "--format", "sarif"]).out
        try keepOutput(sarif, as: "scan-not-checked.sarif")
        let run = try #require((try jsonObject(sarif)["runs"] as? [[String: Any]])?.first)
        let note = try #require(((run["invocations"] as? [[String: Any]])?.first?["toolExecutionNotifications"] as? [[String: Any]])?.first)
        #expect((note["message"] as? [String: Any])?["text"] as? String == "1 npm package NOT CHECKED: the advisory database holds no npm advisories; run `provenant db update --ecosystem npm`")

        let cdx = try provenant(["scan", proj, "--db", sharedDB, "--format", "cyclonedx-json"]).out
        try keepOutput(cdx, as: "scan-not-checked.cdx.json")
        let props = try #require((try jsonObject(cdx)["metadata"] as? [String: Any])?["properties"] as? [[String: Any]])
        #expect(props.contains { $0["name"] as? String == "provenant:not-checked:npm" && $0["value"] as? String == "1" })
        #expect(props.contains { $0["name"] as? String == "provenant:not-checked-fix:npm" && $0["value"] as? String == "provenant db update --ecosystem npm" })

        // The PyPI project is fully covered by the snapshot: nothing unchecked, --fail-on as before.
        let py = try provenant(["scan", try pinnedProject(), "--db", sharedDB, "--format", "json"])
        #expect((try jsonObject(py.out)["notChecked"] as? [Any])?.isEmpty == true && !py.err.contains("NOT CHECKED"))
    }

    /// Trivy lowercases Go purls and keeps the module's spelling in the name; a CycloneDX document's
    /// subject with a package purl is a package, as SPDX's described package is; a Go toolchain
    /// release candidate is ranged as OSV writes it.
    @Test func trivyGoNamesTheDocumentsSubjectAndGoReleaseCandidatesAreMatched() throws {
        let dir = try tempDir("sbom-subjects")
        try write("""
            {"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"bom-ref":"a","type":"library",
             "name":"github.com/Masterminds/goutils","version":"v1.1.0","purl":"pkg:golang/github.com/masterminds/goutils@v1.1.0"}]}
            """, to: dir + "/trivy-go.cdx.json")
        let go = try provenant(["scan", dir + "/trivy-go.cdx.json", "--db", sharedDB, "--format", "json"])
        #expect(go.out.contains("GO-2022-0411"), "\(go.out) \(go.err)")
        // The other way round (a lowercased name beside the module's spelling) keeps the purl (found by review).
        try write("""
            {"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"bom-ref":"a","type":"library",
             "name":"github.com/masterminds/goutils","version":"v1.1.0","purl":"pkg:golang/github.com/Masterminds/goutils@v1.1.0"}]}
            """, to: dir + "/lower-name.cdx.json")
        #expect(try provenant(["scan", dir + "/lower-name.cdx.json", "--db", sharedDB, "--format", "json"]).out.contains("GO-2022-0411"))
        // The purl alone, lowercased as the purl spec asks, with the group apart (found by helper-102).
        try write("""
            {"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"bom-ref":"a","type":"library",
             "group":"github.com/Masterminds","name":"goutils","version":"v1.1.0","purl":"pkg:golang/github.com/masterminds/goutils@v1.1.0"}]}
            """, to: dir + "/purl-only.cdx.json")
        #expect(try provenant(["scan", dir + "/purl-only.cdx.json", "--db", sharedDB, "--format", "json"]).out.contains("GO-2022-0411"))
        // syft puts a module path's fourth element on in the subpath: the module is github.com/go-git/go-git/v5 (found by helper-82).
        try write("""
            {"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"bom-ref":"a","type":"library",
             "name":"github.com/go-git/go-git/v5","version":"v5.12.0","purl":"pkg:golang/github.com/go-git/go-git@v5.12.0#v5"}]}
            """, to: dir + "/syft-go.cdx.json")
        let syft = try provenant(["scan", dir + "/syft-go.cdx.json", "--db", sharedDB, "--format", "json"])
        #expect(syft.out.contains("GO-2025-3367") && syft.out.contains("github.com/go-git/go-git/v5"), "\(syft.out) \(syft.err)")
        // The purl spec's own subpath, a package inside the module, keeps the module (found by review).
        try write("""
            {"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"bom-ref":"a","type":"library",
             "name":"golang.org/x/text","version":"v0.3.0","purl":"pkg:golang/golang.org/x/text@v0.3.0#language"}]}
            """, to: dir + "/package-subpath.cdx.json")
        let inModule = try provenant(["scan", dir + "/package-subpath.cdx.json", "--db", sharedDB, "--format", "json"])
        #expect(inModule.out.contains("GO-2021-0113"), "\(inModule.out) \(inModule.err)")
        try write("""
            {"bomFormat":"CycloneDX","specVersion":"1.6","version":1,
             "metadata":{"component":{"type":"library","name":"urllib3","version":"1.25.7","purl":"pkg:pypi/urllib3@1.25.7"}},"components":[]}
            """, to: dir + "/subject.cdx.json")
        let subject = try provenant(["scan", dir + "/subject.cdx.json", "--db", sharedDB, "--format", "json"])
        #expect(subject.out.contains("PYSEC-2023-192"), "\(subject.out) \(subject.err)")
        try FileManager.default.createDirectory(atPath: dir + "/rc", withIntermediateDirectories: true)
        try write("module example.com/x\n\ngo 1.24\n\ntoolchain go1.24rc1\n", to: dir + "/rc/go.mod")
        let rc = try provenant(["scan", dir + "/rc", "--db", sharedDB, "--format", "json"])
        #expect(rc.out.contains("GO-2025-3373"), "\(rc.err)")
    }

    /// A package whose purl no advisory database covers (`pkg:generic`, `pkg:rpm/amazon`) could
    /// not be judged: NOT CHECKED in every format, never "No known vulnerabilities.", and
    /// `--fail-on` fails on it unless `--allow-unchecked`; no update command is offered.
    @Test func packagesNoDatabaseCoversAreNotCheckedInEveryFormat() throws {
        let dir = try tempDir("generic-unchecked")
        let sbom = dir + "/bom.cdx.json"
        try write("""
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
             "components": [{"type": "library", "name": "log4j", "version": "2.14.1", "purl": "pkg:generic/log4j@2.14.1"},
                            {"type": "library", "name": "openssl", "version": "1.0.2k", "purl": "pkg:rpm/amazon/openssl@1.0.2k"}]}
            """, to: sbom)
        let table = try provenant(["scan", sbom, "--db", sharedDB])
        #expect(table.code == 0, "\(table.err)")
        #expect(!table.out.contains("No known vulnerabilities."), "\(table.out)")
        #expect(table.out.contains("2 packages were NOT CHECKED"))
        #expect(table.out.contains("1 pkg:generic package NOT CHECKED: no advisory database covers pkg:generic; no `provenant db update` can fix this"))
        #expect(table.out.contains("2 NOT CHECKED (pkg:generic: 1, pkg:rpm/amazon: 1)"))
        #expect(table.err.contains("warning: 1 pkg:rpm/amazon package NOT CHECKED"))
        let failing = try provenant(["scan", sbom, "--db", sharedDB, "--fail-on", "critical"])
        #expect(failing.code == 1 && failing.err.contains("--fail-on: 2 packages were not checked"))
        #expect(try provenant(["scan", sbom, "--db", sharedDB, "--fail-on", "critical", "--allow-unchecked"]).code == 0)

        let doc = try jsonObject(try provenant(["scan", sbom, "--db", sharedDB, "--format", "json"]).out)
        #expect((doc["summary"] as? [String: Any])?["packagesNotChecked"] as? Int == 2)
        let nc = try #require(doc["notChecked"] as? [[String: Any]])
        #expect(nc.map { $0["ecosystem"] as? String } == ["pkg:generic", "pkg:rpm/amazon"])
        #expect(nc.first?["command"] is NSNull && nc.first?["reason"] as? String == "no advisory database covers pkg:generic")

        let sarif = try jsonObject(try provenant(["scan", sbom, "--db", sharedDB, "--format", "sarif"]).out)
        let run = try #require((sarif["runs"] as? [[String: Any]])?.first)
        let notes = try #require((run["invocations"] as? [[String: Any]])?.first?["toolExecutionNotifications"] as? [[String: Any]])
        #expect(notes.count == 2 && notes.allSatisfy { (($0["message"] as? [String: Any])?["text"] as? String)?.contains("NOT CHECKED") == true })

        let cdx = try provenant(["scan", sbom, "--db", sharedDB, "--format", "cyclonedx-json"]).out
        let props = try #require((try jsonObject(cdx)["metadata"] as? [String: Any])?["properties"] as? [[String: Any]])
        #expect(props.contains { $0["name"] as? String == "provenant:not-checked:pkg:generic" && $0["value"] as? String == "1" })
        #expect(props.contains { $0["name"] as? String == "provenant:not-checked-reason:pkg:rpm/amazon" && $0["value"] as? String == "no advisory database covers pkg:rpm/amazon" })
    }

    /// The inputs an SBOM's maker could not read are not checked by a scan of the SBOM either: the
    /// tree's scan failed --fail-on with NOT CHECKED, its SBOM's scan said clean (found by helper-90).
    @Test func anSBOMsKnownUnknownsAreNotCheckedWhenItIsScanned() throws {
        let dir = try tempDir("known-unknowns")
        try write("{\"lockfileVersion\": 3, \"packages\": {\"\": {}, \"node_modules/a\": {\"version\": [}}}", to: dir + "/package-lock.json")
        #expect(try provenant(["scan", dir, "--db", sharedDB, "--fail-on", "critical"]).code == 1)
        for format in ["cyclonedx-json", "spdx-json"] {
            let sbom = dir + "/../known-unknowns.\(format)"
            #expect(try provenant(["sbom", dir, "--format", format, "-o", sbom, "--quiet"]).code == 0)
            let scan = try provenant(["scan", sbom, "--db", sharedDB, "--fail-on", "critical"])
            #expect(scan.code == 1 && scan.out.contains("NOT CHECKED"), "\(format): \(scan.out)\(scan.err)")
            #expect(try provenant(["scan", sbom, "--db", sharedDB, "--fail-on", "critical", "--allow-unchecked"]).code == 0)
        }
        // A jar nothing identifies (no Maven metadata, no version) was a warning only; what it holds is
        // not checked, so it is NOT CHECKED, in the SBOM's scan as in the tree's (found by helper-127).
        let warned = try tempDir("known-unknown-warning")
        try FileManager.default.createDirectory(atPath: warned + "/lib", withIntermediateDirectories: true)
        #expect(try runProcess("/usr/bin/env", ["python3", "-c", "import zipfile,sys; z=zipfile.ZipFile(sys.argv[1],'w'); z.writestr('a.txt','hi'); z.close()", warned + "/lib/thing.jar"]).code == 0)
        #expect(try provenant(["scan", warned, "--db", sharedDB, "--fail-on", "critical"]).code == 1)
        #expect(try provenant(["scan", warned, "--db", sharedDB, "--fail-on", "critical", "--allow-unchecked"]).code == 0)
        for format in ["cyclonedx-json", "spdx-json"] {
            let sbom = warned + "/../known-unknown-warning.\(format)"
            #expect(try provenant(["sbom", warned, "--format", format, "-o", sbom, "--quiet"]).code == 0)
            #expect(try String(contentsOfFile: sbom, encoding: .utf8).contains("without Maven metadata"))
            #expect(try provenant(["scan", sbom, "--db", sharedDB, "--fail-on", "critical"]).code == 1, "\(format)")
        }
    }

    /// An SBOM without its package list at all (no `components` key, or SPDX without `packages`) was
    /// read as empty: "No known vulnerabilities.", `--fail-on low` passing. It is NOT CHECKED now; an
    /// empty list, and a library's own SBOM whose subject is the package, are read as they say.
    @Test func anSBOMWithoutItsPackageListIsNotChecked() throws {
        let dir = try tempDir("no-list")
        let cases: [(String, String, Bool)] = [
            ("cdx-missing.json", #"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "metadata": {"component": {"type": "application", "name": "app"}}}"#, true),
            ("cdx-misspelled.json", #"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "component": [{"type": "library", "name": "log4j-core", "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}]}"#, true),
            ("spdx-missing.json", #"{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "x", "dataLicense": "CC0-1.0"}"#, true),
            ("cdx-empty.json", #"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": []}"#, false),
            ("spdx-empty.json", #"{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "x", "dataLicense": "CC0-1.0", "packages": []}"#, false),
            ("cdx-library.json", #"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "metadata": {"component": {"type": "library", "name": "six", "version": "1.16.0", "purl": "pkg:pypi/six@1.16.0"}}}"#, false),
        ]
        for (name, text, unchecked) in cases {
            try write(text, to: dir + "/" + name)
            let scan = try provenant(["scan", dir + "/" + name, "--db", sharedDB, "--fail-on", "low"])
            if unchecked {
                #expect(scan.code == 1 && scan.out.contains("NOT CHECKED") && scan.err.contains("list, so what it describes was not checked"), "\(name): \(scan.out)\(scan.err)")
                #expect(!scan.out.contains("No known vulnerabilities."), "\(name)")
            } else {
                #expect(scan.code == 0 && !scan.err.contains("was not checked"), "\(name): \(scan.out)\(scan.err)")
            }
        }
    }

    /// Found by helper-122: a component without a purl whose type is `application` or `file` (SPDX:
    /// purpose APPLICATION, SOURCE or FILE) was taken for a container and vanished: "No known
    /// vulnerabilities.", exit 0. With a version of its own and nothing inside it, it is a package
    /// without a purl, NOT CHECKED; a lockfile application (no version, or holding others) is not.
    @Test func versionedApplicationsAndFilesWithoutAPurlAreNotChecked() throws {
        let dir = try tempDir("app-no-purl")
        let docs: [(String, String, Bool)] = [
            ("app.cdx.json", #"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [{"type": "application", "name": "idna", "version": "2.8"}]}"#, true),
            ("file.cdx.json", #"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [{"type": "file", "name": "log4j-core", "version": "2.14.1"}]}"#, true),
            ("app.spdx.json", #"{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "x", "dataLicense": "CC0-1.0", "packages": [{"SPDXID": "SPDXRef-a", "name": "idna", "versionInfo": "2.8", "primaryPackagePurpose": "APPLICATION"}]}"#, true),
            ("src.spdx.json", #"{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "x", "dataLicense": "CC0-1.0", "packages": [{"SPDXID": "SPDXRef-a", "name": "idna", "versionInfo": "2.8", "primaryPackagePurpose": "SOURCE"}]}"#, true),
            // Containers as trivy and syft write them: no version, or holding packages.
            ("lock.cdx.json", #"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [{"bom-ref": "lock", "type": "application", "name": "requirements.txt"}, {"bom-ref": "app", "type": "application", "name": "svc", "version": "1.0"}, {"bom-ref": "six", "type": "library", "name": "six", "version": "1.16.0", "purl": "pkg:pypi/six@1.16.0"}], "dependencies": [{"ref": "app", "dependsOn": ["six"]}]}"#, false),
            ("nested.cdx.json", #"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [{"type": "application", "name": "svc", "version": "1.0", "components": [{"type": "library", "name": "six", "version": "1.16.0", "purl": "pkg:pypi/six@1.16.0"}]}]}"#, false),
            ("lock.spdx.json", #"{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "x", "dataLicense": "CC0-1.0", "packages": [{"SPDXID": "SPDXRef-app", "name": "svc", "versionInfo": "1.0", "primaryPackagePurpose": "APPLICATION"}, {"SPDXID": "SPDXRef-six", "name": "six", "versionInfo": "1.16.0", "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:pypi/six@1.16.0"}]}], "relationships": [{"spdxElementId": "SPDXRef-app", "relationshipType": "CONTAINS", "relatedSpdxElement": "SPDXRef-six"}]}"#, false),
        ]
        for (name, text, unchecked) in docs {
            try write(text, to: dir + "/" + name)
            let scan = try provenant(["scan", dir + "/" + name, "--db", sharedDB, "--fail-on", "critical"])
            if unchecked {
                #expect(scan.code == 1 && scan.out.contains("NOT CHECKED (no purl)"), "\(name): \(scan.out)\(scan.err)")
            } else {
                #expect(scan.code == 0 && !scan.out.contains("NOT CHECKED"), "\(name): \(scan.out)\(scan.err)")
            }
        }
    }

    /// Found by helper-122: an SPDX package with two purls was scanned under the first only, so
    /// `idna@3.7` then `idna@2.8` read as clean. Each purl is scanned.
    @Test func everyPurlOfAnSPDXPackageIsScanned() throws {
        let dir = try tempDir("two-purls")
        let refs = ["pkg:pypi/idna@3.7", "pkg:github/kjd/idna@v3.7", "pkg:pypi/idna@2.8"].map { #"{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "\#($0)"}"# }
        try write(#"{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "x", "dataLicense": "CC0-1.0", "packages": [{"SPDXID": "SPDXRef-a", "name": "idna", "versionInfo": "3.7", "externalRefs": [\#(refs.joined(separator: ","))]}]}"#, to: dir + "/two.spdx.json")
        let scan = try provenant(["scan", dir + "/two.spdx.json", "--db", sharedDB, "--format", "json"])
        #expect(scan.code == 0, "\(scan.err)")
        #expect(scan.out.contains("PYSEC-2024-60") && scan.out.contains("\"2.8\""), "\(scan.out.prefix(2000))")
        // Another type's purl names the same package elsewhere: not scanned, so not NOT CHECKED (helper-123).
        #expect(!scan.out.contains("pkg:github"), "\(scan.out.prefix(2000))")
    }

    /// Left undone last stop: a component whose version field and purl name two releases was
    /// scanned under the purl's alone, so `idna` listed at 2.8 behind a purl at 3.7 read as clean
    /// (grype reads the field). Both are scanned, and the disagreement is said; the same release
    /// written two ways (Go's `v`, an epoch as a qualifier) is not a disagreement.
    @Test func aVersionFieldThatDisagreesWithItsPurlIsScannedToo() throws {
        let dir = try tempDir("purl-version")
        let comps = [
            #"{"type": "library", "name": "idna", "version": "2.8", "purl": "pkg:pypi/idna@3.7"}"#,
            #"{"type": "library", "name": "github.com/x/y", "version": "v1.2.0", "purl": "pkg:golang/github.com/x/y@1.2.0"}"#,
            #"{"type": "library", "name": "bsdutils", "version": "1:2.38.1-5", "purl": "pkg:deb/debian/bsdutils@2.38.1-5?epoch=1&distro=debian-12"}"#,
            #"{"type": "library", "name": "jinja2", "version": "2.10.0", "purl": "pkg:pypi/jinja2@2.10"}"#,
            // Review: a bare version beside an epoch of 1 is epoch 0, another release.
            #"{"type": "library", "name": "libcap2", "version": "2.66", "purl": "pkg:deb/debian/libcap2@2.66?epoch=1&distro=debian-12"}"#,
        ]
        try write(#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": [\#(comps.joined(separator: ","))]}"#, to: dir + "/bom.json")
        let scan = try provenant(["scan", dir + "/bom.json", "--db", sharedDB, "--format", "json"])
        #expect(scan.code == 0, "\(scan.err)")
        #expect(scan.out.contains("PYSEC-2024-60") && scan.out.contains("\"2.8\""), "\(scan.out.prefix(2000))")
        #expect(scan.err.contains("'idna' has version '2.8' but its purl says '3.7'; both are scanned"), "\(scan.err)")
        #expect(!scan.err.contains("github.com/x/y") && !scan.err.contains("bsdutils") && !scan.err.contains("jinja2"), "\(scan.err)")
        #expect(scan.err.contains("'libcap2' has version '2.66' but its purl says '1:2.66'; both are scanned"), "\(scan.err)")
        // The purl's own release alone is clean: without the field the document scans clean.
        try write(#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": [{"type": "library", "name": "idna", "version": "3.7", "purl": "pkg:pypi/idna@3.7"}]}"#, to: dir + "/clean.json")
        let clean = try provenant(["scan", dir + "/clean.json", "--db", sharedDB, "--format", "json"])
        #expect(clean.code == 0 && !clean.out.contains("PYSEC-2024-60"), "\(clean.out.prefix(2000))")
    }

    /// Review: an SBOM component without a purl (log4j-core named only by a CPE), or with one that
    /// cannot be read, was a warning only, so `--fail-on low` passed and the table said "No known
    /// vulnerabilities.". Such components are NOT CHECKED in every format, CycloneDX and SPDX alike.
    @Test func sbomComponentsWithoutAUsablePurlAreNotChecked() throws {
        let dir = try tempDir("no-purl")
        let cdx = dir + "/bom.json"
        try write("""
            {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
             "components": [{"type": "library", "name": "log4j-core", "version": "2.14.1",
                             "cpe": "cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*"},
                            {"type": "library", "name": "oddity", "version": "1.0", "purl": "not a purl"}]}
            """, to: cdx)
        let table = try provenant(["scan", cdx, "--db", sharedDB])
        #expect(table.code == 0, "\(table.err)")
        #expect(!table.out.contains("No known vulnerabilities."), "\(table.out)")
        #expect(table.out.contains("1 component NOT CHECKED (no purl)") && table.out.contains("1 component NOT CHECKED (unreadable purl)"), "\(table.out)")
        #expect(table.out.contains("no `provenant db update` can fix this"))
        let failing = try provenant(["scan", cdx, "--db", sharedDB, "--fail-on", "low"])
        // Counted as what they are: components, not packages.
        #expect(failing.code == 1 && failing.err.contains("--fail-on: 2 components were not checked"), "\(failing.err)")
        #expect(table.out.contains("No known vulnerabilities in the checked packages; 2 components were NOT CHECKED."), "\(table.out)")
        #expect(try provenant(["scan", cdx, "--db", sharedDB, "--fail-on", "low", "--allow-unchecked"]).code == 0)

        let doc = try jsonObject(try provenant(["scan", cdx, "--db", sharedDB, "--format", "json"]).out)
        #expect((doc["summary"] as? [String: Any])?["packagesNotChecked"] as? Int == 2)
        let nc = try #require(doc["notChecked"] as? [[String: Any]])
        #expect(nc.map { $0["ecosystem"] as? String } == ["no purl", "unreadable purl"])
        #expect(nc.first?["command"] is NSNull && (nc.first?["purls"] as? [String]) == ["component 'log4j-core'"])

        let sarif = try jsonObject(try provenant(["scan", cdx, "--db", sharedDB, "--format", "sarif"]).out)
        let run = try #require((sarif["runs"] as? [[String: Any]])?.first)
        let notes = try #require((run["invocations"] as? [[String: Any]])?.first?["toolExecutionNotifications"] as? [[String: Any]])
        #expect(notes.count == 2 && notes.allSatisfy { (($0["message"] as? [String: Any])?["text"] as? String)?.contains("NOT CHECKED") == true })

        let bom = try provenant(["scan", cdx, "--db", sharedDB, "--format", "cyclonedx-json"]).out
        let props = try #require((try jsonObject(bom)["metadata"] as? [String: Any])?["properties"] as? [[String: Any]])
        #expect(props.contains { $0["name"] as? String == "provenant:not-checked:no purl" && $0["value"] as? String == "1" })
        #expect(props.contains { $0["name"] as? String == "provenant:not-checked:unreadable purl" && $0["value"] as? String == "1" })

        let spdx = dir + "/bom.spdx.json"
        try write("""
            {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "x", "documentDescribes": ["SPDXRef-root"],
             "packages": [{"SPDXID": "SPDXRef-root", "name": "root"},
                          {"SPDXID": "SPDXRef-log4j", "name": "log4j-core", "versionInfo": "2.14.1",
                           "externalRefs": [{"referenceCategory": "SECURITY", "referenceType": "cpe23Type",
                                             "referenceLocator": "cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*"}]}]}
            """, to: spdx)
        let s = try provenant(["scan", spdx, "--db", sharedDB, "--fail-on", "low"])
        #expect(s.code == 1 && s.out.contains("1 component NOT CHECKED (no purl)") && !s.out.contains("No known vulnerabilities."), "\(s.out)")
    }

    /// Review: a lockfile or archive its extractor could not read (a Cargo.lock nested too deep, a
    /// jar that is not a zip) made `scan DIR --fail-on low` say "No known vulnerabilities." and exit
    /// 0. Each such file is a NOT CHECKED input (and, since helper-72, an entry with no exact version
    /// is a NOT CHECKED entry).
    @Test func requirementsIncludesThatWereSkippedAreNotChecked() throws {
        let outside = try tempDir("includes-skipped")
        try write("urllib3==1.25.7\n", to: outside + "/other.txt")
        let dir = outside + "/app"
        try write("six==1.16.0\n-r ../other.txt\n", to: dir + "/requirements.txt")
        // What the skipped file pins (a vulnerable urllib3) is unknown, so the scan is not clean.
        let r = try provenant(["scan", dir, "--db", sharedDB, "--fail-on", "low"])
        #expect(r.code == 1 && !r.out.contains("No known vulnerabilities."), "\(r.out)\n\(r.err)")
        #expect(r.out.contains("1 input file NOT CHECKED (inputs not read)"), "\(r.out)")
    }

    @Test func inputsThatCouldNotBeReadAreNotChecked() throws {
        let healthy = try tempDir("inputs-healthy")
        try write("six==1.16.0\nflask>=2.0\n", to: healthy + "/requirements.txt")
        // A requirement with no exact version could be any version: not checked, never clean (helper-72
        // and helper-75: `name>=2.0`, a Pipfile.lock git entry, a POM version from its parent).
        let unpinned = try provenant(["scan", healthy, "--db", sharedDB, "--fail-on", "low"])
        #expect(unpinned.code == 1 && unpinned.out.contains("1 entry NOT CHECKED (entries not resolved)") && !unpinned.out.contains("No known vulnerabilities."),
                "\(unpinned.out)\n\(unpinned.err)")
        #expect(try provenant(["scan", healthy, "--db", sharedDB, "--fail-on", "low", "--allow-unchecked"]).code == 0)
        try write("six (==1.16.0)\n", to: healthy + "/requirements.txt")
        let clean = try provenant(["scan", healthy, "--db", sharedDB, "--fail-on", "critical"])
        #expect(clean.code == 0 && clean.out.contains("No known vulnerabilities."), "a pin in parentheses is a pin: \(clean.out)\n\(clean.err)")
        // pip reads `-rFILE` and `-r<TAB>FILE` as includes.
        let glued = try tempDir("inputs-glued")
        try write("urllib3==1.25.7\n", to: glued + "/base.txt")
        try write("-rbase.txt\n", to: glued + "/requirements.txt")
        #expect(try provenant(["scan", glued, "--db", sharedDB, "--format", "json"]).out.contains("PYSEC-2023-192"))

        let dir = try tempDir("inputs-broken")
        try write("six==1.16.0\n", to: dir + "/requirements.txt")
        try write("version = 3\n\na = " + String(repeating: "[", count: 10_000), to: dir + "/Cargo.lock")
        try write("this is not a zip archive", to: dir + "/lib/app.jar")
        let table = try provenant(["scan", dir, "--db", sharedDB])
        #expect(table.code == 0)
        #expect(!table.out.contains("No known vulnerabilities."), "\(table.out)")
        #expect(table.out.contains("2 input files NOT CHECKED (inputs not read)"), "\(table.out)")
        let failing = try provenant(["scan", dir, "--db", sharedDB, "--fail-on", "low"])
        #expect(failing.code == 1 && failing.err.contains("--fail-on: 2 input files were not checked"), "\(failing.err)")
        #expect(try provenant(["scan", dir, "--db", sharedDB, "--fail-on", "low", "--allow-unchecked"]).code == 0)
        let doc = try jsonObject(try provenant(["scan", dir, "--db", sharedDB, "--format", "json"]).out)
        let nc = try #require((doc["notChecked"] as? [[String: Any]])?.first)
        #expect(nc["ecosystem"] as? String == "inputs not read" && nc["purls"] as? [String] == ["Cargo.lock", "lib/app.jar"], "\(nc)")

        // A single file no extractor recognises was not read either.
        let odd = try tempDir("inputs-odd") + "/deps.txt"
        try write("nothing anyone can read\n", to: odd)
        let single = try provenant(["scan", odd, "--db", sharedDB, "--fail-on", "low"])
        #expect(single.code == 1 && single.out.contains("1 input file NOT CHECKED (inputs not read)") && !single.out.contains("No known vulnerabilities."), "\(single.out)\n\(single.err)")
    }

    @Test func dbStatusListsEcosystemsAndCorruptDatabasesFailClearly() throws {
        let s = try provenant(["db", "status", "--db", sharedDB])
        #expect(s.code == 0 && s.out.contains("records: 8158") && s.out.contains("crates.io") && s.out.contains("newest modified: 2026-08-21"))
        let dir = try tempDir("corrupt-cli")
        try write(String(repeating: "x", count: 4096), to: dir + "/db.sqlite")
        let r = try provenant(["scan", dir, "--db", dir + "/db.sqlite"])
        #expect(r.code == 2 && r.err.contains("provenant db import"))
    }

    /// Issue: an Ubuntu LTS root could never be checked, because OSV names the release
    /// `Ubuntu:22.04:LTS` and os-release says `22.04`.
    @Test func anUbuntuLTSRootIsCheckedAgainstOSVsUbuntuLTSAdvisories() throws {
        let root = try tempDir("ubuntu-root")
        try write("ID=ubuntu\nVERSION_ID=\"22.04\"\n", to: root + "/etc/os-release")
        try write("Package: openssl\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.0.2-0ubuntu1.6\n\n", to: root + "/var/lib/dpkg/status")
        let dbDir = try tempDir("ubuntu-db")
        try write(osv("USN-6000-1", ecosystem: "Ubuntu:22.04:LTS", name: "openssl", events: [["introduced": "0"], ["fixed": "3.0.2-0ubuntu1.10"]]),
                  to: dbDir + "/in/USN-6000-1.json")
        #expect(try provenant(["db", "import", dbDir + "/in", "--db", dbDir + "/osv.sqlite"]).code == 0)
        // The advisory is unrated, which fails any --fail-on level by itself; --allow-unrated leaves only the unchecked test.
        let r = try provenant(["scan", root, "--db", dbDir + "/osv.sqlite", "--format", "json", "--fail-on", "critical", "--allow-unrated"])
        #expect(r.code == 0, "checked, and nothing reaches critical: \(r.err)")
        let doc = try jsonObject(r.out)
        #expect((doc["notChecked"] as? [Any])?.isEmpty == true, "\(r.out)")
        let f = try #require((doc["findings"] as? [[String: Any]])?.first)
        #expect(f["id"] as? String == "USN-6000-1" && (f["package"] as? [String: Any])?["ecosystem"] as? String == "Ubuntu:22.04:LTS")
    }

    /// helper-102: distributions' advisories name source packages. syft writes the source as
    /// `upstream=openssl@version` and trivy in `aquasecurity:trivy:Src*` properties, with point or bare
    /// releases in `distro`: libssl3 and libcrypto3 were looked up under their own names, clean.
    @Test func peerSBOMsOSPackagesAreMatchedByTheirSourcePackage() throws {
        let dir = try tempDir("peer-os-sources")
        try write(osv("DSA-1", ecosystem: "Debian:12", name: "openssl", events: [["introduced": "0"], ["fixed": "3.0.13-1~deb12u1"]]), to: dir + "/in/DSA-1.json")
        try write(osv("USN-1", ecosystem: "Ubuntu:22.04:LTS", name: "openssl", events: [["introduced": "0"], ["fixed": "3.0.2-0ubuntu1.15"]]), to: dir + "/in/USN-1.json")
        try write(osv("ALPINE-1", ecosystem: "Alpine:v3.19", name: "openssl", events: [["introduced": "0"], ["fixed": "3.1.6-r0"]]), to: dir + "/in/ALPINE-1.json")
        #expect(try provenant(["db", "import", dir + "/in", "--db", dir + "/osv.sqlite"]).code == 0)
        let documents = [
            ("DSA-1", #"{"type":"library","name":"libssl3","version":"3.0.11-1~deb12u1+b1","purl":"pkg:deb/debian/libssl3@3.0.11-1~deb12u1%2Bb1?arch=amd64&distro=debian-12&upstream=openssl%403.0.11-1~deb12u1"}"#),
            ("DSA-1", #"{"type":"library","name":"libssl3","version":"3.0.11-1~deb12u1","purl":"pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64&distro=debian-12.4","properties":[{"name":"aquasecurity:trivy:SrcName","value":"openssl"},{"name":"aquasecurity:trivy:SrcVersion","value":"3.0.11"},{"name":"aquasecurity:trivy:SrcRelease","value":"1~deb12u1"}]}"#),
            ("USN-1", #"{"type":"library","name":"libssl3","version":"3.0.2-0ubuntu1.10","purl":"pkg:deb/ubuntu/libssl3@3.0.2-0ubuntu1.10?arch=amd64&distro=ubuntu-22.04","properties":[{"name":"aquasecurity:trivy:SrcName","value":"openssl"},{"name":"aquasecurity:trivy:SrcVersion","value":"3.0.2"},{"name":"aquasecurity:trivy:SrcRelease","value":"0ubuntu1.10"}]}"#),
            ("ALPINE-1", #"{"type":"library","name":"libcrypto3","version":"3.1.4-r5","purl":"pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=3.19.1","properties":[{"name":"aquasecurity:trivy:SrcName","value":"openssl"},{"name":"aquasecurity:trivy:SrcVersion","value":"3.1.4-r5"}]}"#),
        ]
        for (n, (id, component)) in documents.enumerated() {
            try write(#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":["# + component + "]}", to: dir + "/\(n).cdx.json")
            let r = try provenant(["scan", dir + "/\(n).cdx.json", "--db", dir + "/osv.sqlite", "--format", "json", "--fail-on", "critical", "--allow-unrated"])
            let doc = try jsonObject(r.out)
            #expect((doc["findings"] as? [[String: Any]])?.map { $0["id"] as? String } == [id], "\(n): \(r.out) \(r.err)")
            #expect((doc["notChecked"] as? [Any])?.isEmpty == true, "\(n): \(r.out)")
        }
    }
}
