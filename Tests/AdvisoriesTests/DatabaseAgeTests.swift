import Foundation
import Testing
import Catalog
import ProvenantCore
@testable import Advisories

/// How current the database's advisories are, per ecosystem: said in every scan, and with
/// `--max-db-age` an ecosystem older than that is NOT CHECKED, never judged clean against old data
/// (found by helper-214: an old or partial database counted as complete).
@Suite struct DatabaseAgeTests {
    static func today() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = TimeZone(identifier: "UTC"); f.dateFormat = "yyyy-MM-dd"
        return f.string(from: Date())
    }

    /// The `db status` row of `ecosystem`, split into its columns.
    func row(_ db: String, _ ecosystem: String) throws -> [String] {
        let out = try provenant(["db", "status", "--db", db]).out
        return out.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }.first { $0.first == ecosystem } ?? []
    }

    /// A database holding one PyPI advisory of `modified` for `demo` before 2.0, and a project pinning demo 1.0.
    func setUp(modified: String, asOf: String? = nil) throws -> (db: String, project: String) {
        let dir = try tempDir("dbage")
        try write(osv("PYSEC-AGE-1", modified: modified, ecosystem: "PyPI", name: "demo", events: [["introduced": "0"], ["fixed": "2.0"]], severity: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
                  to: dir + "/in/PYSEC-AGE-1.json")
        let r = try provenant(["db", "import", dir + "/in", "--db", dir + "/osv.sqlite"] + (asOf.map { ["--as-of", $0, "--ecosystem", "PyPI"] } ?? []))
        #expect(r.code == 0, "\(r.err)")
        try write("demo==1.0\n", to: dir + "/proj/requirements.txt")
        return (dir + "/osv.sqlite", dir + "/proj")
    }

    @Test func oldAdvisoriesAreSaidAndWithMaxDBAgeNotChecked() throws {
        let (db, proj) = try setUp(modified: "2020-03-04T05:06:07Z", asOf: "2020-03-04T05:06:07Z")
        // Without the flag: matched, and the age said on stderr and as-of in the report.
        let plain = try provenant(["scan", proj, "--db", db, "--format", "json"])
        let doc = try jsonObject(plain.out)
        #expect(plain.code == 0 && ((doc["findings"] as? [[String: Any]]) ?? []).count == 1, "\(plain.err)")
        #expect(((doc["database"] as? [String: Any])?["asOf"] as? [String: Any])?["PyPI"] as? String == "2020-03-04")
        #expect(plain.err.contains("warning: the database's PyPI advisories are as of 2020-03-04, ") && plain.err.contains("run `provenant db update --ecosystem PyPI`"), "\(plain.err)")
        let table = try provenant(["scan", proj, "--db", db]).out
        #expect(table.contains("advisories as of: PyPI 2020-03-04"), "\(table)")

        // With it: older than the limit is NOT CHECKED, fails --fail-on, and says what fixes it.
        let strict = try provenant(["scan", proj, "--db", db, "--max-db-age", "30", "--fail-on", "critical", "--format", "json"])
        let s = try jsonObject(strict.out)
        #expect(strict.code == 1 && ((s["findings"] as? [[String: Any]]) ?? []).isEmpty, "\(strict.err)")
        let group = try #require((s["notChecked"] as? [[String: Any]])?.first)
        #expect(group["ecosystem"] as? String == "PyPI" && group["packages"] as? Int == 1)
        #expect(group["reason"] as? String == "the database's PyPI advisories are as of 2020-03-04, older than --max-db-age 30 allows", "\(group)")
        #expect(group["command"] as? String == "provenant db update --ecosystem PyPI")
        #expect(!strict.err.contains("warning: the database's PyPI advisories are as of"), "the limit speaks for itself")
        // A limit the data meets: judged, and nothing unchecked.
        let loose = try provenant(["scan", proj, "--db", db, "--max-db-age", "100000", "--fail-on", "critical", "--format", "json"])
        let l = try jsonObject(loose.out)
        #expect(loose.code == 1 && ((l["findings"] as? [[String: Any]]) ?? []).count == 1 && ((l["notChecked"] as? [Any]) ?? [1]).isEmpty, "\(loose.err)")
        #expect(try provenant(["scan", proj, "--db", db, "--max-db-age", "-1"]).code == 2)
    }

    @Test func onlyAWholeExportSaysHowCurrentAnEcosystemIs() throws {
        let today = Self.today()
        // Told when the data was fetched: current from then.
        let (fetched, proj) = try setUp(modified: "2020-03-04T05:06:07Z", asOf: today)
        let fresh = try provenant(["scan", proj, "--db", fetched, "--max-db-age", "1", "--format", "json"])
        #expect(((try jsonObject(fresh.out)["findings"] as? [[String: Any]]) ?? []).count == 1, "\(fresh.err)")
        #expect(try row(fetched, "PyPI") == ["PyPI", "1", today, "2020-03-04T05:06:07Z"])
        // An older export afterwards does not move it back.
        let dir = try tempDir("dbage-old")
        try write(osv("PYSEC-AGE-2", modified: "2019-01-01T00:00:00Z", ecosystem: "PyPI", name: "other"), to: dir + "/PYSEC-AGE-2.json")
        #expect(try provenant(["db", "import", dir, "--db", fetched, "--as-of", "2019-01-02", "--ecosystem", "PyPI"]).code == 0)
        #expect(try row(fetched, "PyPI").prefix(3) == ["PyPI", "2", today])

        // Records alone say nothing: a fresh one (or one dated in the future) imported into an old
        // ecosystem left it "current" (helper-219).
        let (old, p2) = try setUp(modified: "2020-03-04T05:06:07Z", asOf: "2020-03-04")
        let news = try tempDir("dbage-new")
        try write(osv("PYSEC-AGE-3", modified: "2999-01-01T00:00:00Z", ecosystem: "PyPI", name: "third"), to: news + "/a.json")
        try write(osv("PYSEC-AGE-4", modified: RFC3339Now(), ecosystem: "PyPI", name: "fourth"), to: news + "/b.json")
        #expect(try provenant(["db", "import", news, "--db", old]).code == 0)
        #expect(try row(old, "PyPI").prefix(3) == ["PyPI", "3", "2020-03-04"])
        let stillOld = try provenant(["scan", p2, "--db", old, "--max-db-age", "30", "--format", "json"])
        #expect(((try jsonObject(stillOld.out)["notChecked"] as? [[String: Any]]) ?? []).count == 1, "\(stillOld.out.prefix(400))")

        // Never said: unknown, warned of, and NOT CHECKED under any limit.
        let (unknown, p3) = try setUp(modified: "2024-01-01T00:00:00Z")
        #expect(try row(unknown, "PyPI").prefix(3) == ["PyPI", "1", "unknown"])
        let warned = try provenant(["scan", p3, "--db", unknown])
        #expect(warned.out.contains("advisories as of: PyPI unknown") && warned.err.contains("how current the database's PyPI advisories are is not known"), "\(warned.err)")
        let r = try provenant(["scan", p3, "--db", unknown, "--max-db-age", "100000", "--format", "json"])
        #expect((((try jsonObject(r.out)["notChecked"] as? [[String: Any]])?.first?["reason"] as? String) ?? "").contains("is not known"), "\(r.out.prefix(600))")
        #expect(try provenant(["db", "import", dir, "--db", unknown, "--as-of", "2999-01-01", "--ecosystem", "PyPI"]).code == 2, "a fetch time in the future is refused")
        #expect(try provenant(["db", "import", dir, "--db", unknown, "--as-of", "yesterday", "--ecosystem", "PyPI"]).code == 2)
        #expect(try provenant(["db", "import", dir, "--db", unknown, "--as-of", "2024-01-01"]).code == 2, "which ecosystems must be said")
        #expect(try provenant(["db", "import", dir, "--db", unknown, "--ecosystem", "PyPI"]).code == 2)
    }

    /// An SBOM listing `purls`, to scan.
    func sbom(_ purls: [String]) throws -> String {
        let dir = try tempDir("dbage-sbom")
        let components = purls.enumerated().map { i, p in #"{"type": "library", "bom-ref": "c\#(i)", "name": "c\#(i)", "purl": "\#(p)"}"# }
        try write(#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [\#(components.joined(separator: ","))]}"#, to: dir + "/bom.json")
        return dir + "/bom.json"
    }

    /// `db import DIR --as-of … --ecosystem …` of one record per `(id, ecosystems)`.
    @discardableResult
    func importExport(_ db: String, asOf: String, of exported: [String], _ records: [(id: String, ecosystems: [String])]) throws -> String {
        let dir = try tempDir("dbage-export")
        for r in records {
            let affected = r.ecosystems.map { #"{"package": {"ecosystem": "\#($0)", "name": "pkg"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}"# }
            try write(#"{"id": "\#(r.id)", "modified": "2020-01-01T00:00:00Z", "affected": [\#(affected.joined(separator: ","))]}"#, to: dir + "/\(r.id).json")
        }
        let out = try provenant(["db", "import", dir, "--db", db, "--as-of", asOf] + exported.flatMap { ["--ecosystem", $0] })
        #expect(out.code == 0, "\(out.err)")
        return out.err
    }

    /// What `scan --max-db-age 30` leaves NOT CHECKED, by group, with the reason.
    func notChecked(_ db: String, _ target: String) throws -> [String: String] {
        let r = try provenant(["scan", target, "--db", db, "--max-db-age", "30", "--format", "json"])
        let groups = (try jsonObject(r.out)["notChecked"] as? [[String: Any]]) ?? []
        return Dictionary(groups.map { ($0["ecosystem"] as? String ?? "", $0["reason"] as? String ?? "") }, uniquingKeysWith: { a, _ in a })
    }

    @Test func anExportIsOfWhatEveryRecordNames() throws {
        let db = try tempDir("dbage-names") + "/osv.sqlite"
        // A PyPI export whose GHSA record also names an npm package is not an npm export (helper-220),
        // even when it is said to be.
        let err = try importExport(db, asOf: Self.today(), of: ["PyPI", "npm"], [("GHSA-1", ["PyPI", "npm"]), ("PYSEC-1", ["PyPI"])])
        #expect(err.contains("warning: --ecosystem npm: no file given is a whole export of it"), "\(err)")
        let target = try sbom(["pkg:pypi/pkg@1.0", "pkg:npm/pkg@1.0"])
        let unchecked = try notChecked(db, target)
        #expect(unchecked["PyPI"] == nil && unchecked["npm"]?.contains("is not known") == true, "\(unchecked)")
    }

    @Test func aReleaseIsAgedByItsOwnExportAndAPackageWithoutOneByEveryRelease() throws {
        let db = try tempDir("dbage-distro") + "/osv.sqlite"
        try importExport(db, asOf: "2020-01-01", of: ["Debian:12"], [("DSA-12", ["Debian:12"])])
        let target = try sbom(["pkg:deb/debian/pkg@1.0?distro=debian-12"])
        #expect(try notChecked(db, target)["Debian:12"]?.contains("as of 2020-01-01") == true)
        // An export said to be the distribution's speaks only for the releases it holds: a Debian 11
        // export said to be Debian's made a stale Debian 12 current (helper-221).
        try importExport(db, asOf: Self.today(), of: ["Debian"], [("DSA-11", ["Debian:11"])])
        #expect(try notChecked(db, target)["Debian:12"]?.contains("as of 2020-01-01") == true)
        #expect(try row(db, "Debian").prefix(3) == ["Debian", "2", Self.today()])
        // One that holds the release covers it.
        try importExport(db, asOf: Self.today(), of: ["Debian"], [("DSA-11b", ["Debian:11"]), ("DSA-12b", ["Debian:12"])])
        #expect(try notChecked(db, target).isEmpty, "the distribution's export holds the release")
        // A release with no key of its own (its records imported without --as-of) is of unknown age: the
        // distribution's key was set by exports that did not hold it (helper-222).
        let plain = try tempDir("dbage-plain")
        try write(#"{"id": "DSA-10", "modified": "2020-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "Debian:10", "name": "pkg"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}"#, to: plain + "/DSA-10.json")
        #expect(try provenant(["db", "import", plain, "--db", db]).code == 0)
        let buster = try sbom(["pkg:deb/debian/pkg@1.0?distro=debian-10"])
        #expect(try notChecked(db, buster)["Debian:10"]?.contains("is not known") == true)
        // A package that names no release is matched against every release's entries, so every one
        // of them must be current: Debian 10's unknown age decides.
        let anyRelease = try sbom(["pkg:deb/debian/pkg@1.0"])
        let unknownRelease = try notChecked(db, anyRelease)
        #expect(unknownRelease["Debian"]?.contains("is not known") == true && unknownRelease["Debian"]?.contains("are Debian:10's") == true, "\(unknownRelease)")
        // The releases are read a seek at a time, and all of them.
        #expect(try AdvisoryStore(path: db).releasesHoldingEntries(ecosystem: "Debian") == ["10", "11", "12"])
        try importExport(db, asOf: Self.today(), of: ["Debian"], [("DSA-10b", ["Debian:10"]), ("DSA-11c", ["Debian:11"]), ("DSA-12c", ["Debian:12"])])
        #expect(try notChecked(db, anyRelease).isEmpty && (try notChecked(db, buster)).isEmpty)

        // Ubuntu's spellings of one release are matched together: the oldest that holds entries decides.
        let ubuntu = try tempDir("dbage-ubuntu") + "/osv.sqlite"
        try importExport(ubuntu, asOf: Self.today(), of: ["Ubuntu:22.04:LTS"], [("USN-1", ["Ubuntu:22.04:LTS"])])
        let jammy = try sbom(["pkg:deb/ubuntu/pkg@1.0?distro=ubuntu-22.04"])
        #expect(try notChecked(ubuntu, jammy).isEmpty)
        try importExport(ubuntu, asOf: "2020-01-01", of: ["Ubuntu:Pro:22.04:LTS"], [("USN-2", ["Ubuntu:Pro:22.04:LTS"])])
        let stale = try notChecked(ubuntu, jammy)
        #expect(stale.values.contains { $0.contains("as of 2020-01-01") }, "\(stale)")
    }

    @Test func agesAreMeasuredFromTheScansClock() async throws {
        let db = try tempDir("dbage-clock") + "/osv.sqlite"
        try importExport(db, asOf: "2024-06-01T00:00:00Z", of: ["PyPI"], [("PYSEC-1", ["PyPI"])])
        let store = try AdvisoryStore(path: db)
        let pkg = Package(ecosystem: Ecosystem(rawValue: "pypi") ?? .generic, name: "pkg", version: "1.0", purl: PackageURL(type: "pypi", name: "pkg", version: "1.0"),
                          locations: [Location("requirements.txt", line: 1)], foundBy: "test")
        func result(daysAfter: Double) throws -> Advisories.Scanner.Result {
            try Advisories.Scanner(store: store, maxAgeDays: 30, now: Date(timeIntervalSince1970: 1_717_200_000 + daysAfter * 86_400)).scan([pkg])
        }
        // 2024-06-01T00:00:00Z is 1717200000.
        let atLimit = try result(daysAfter: 30)
        #expect(atLimit.notChecked.isEmpty && atLimit.ages.first?.days == 30, "at the limit is within it")
        #expect(try result(daysAfter: 31).notChecked.first?.reason.contains("older than --max-db-age 30") == true)
        // An as-of more than an hour ahead of the clock cannot be measured: unknown, NOT CHECKED.
        let ahead = try result(daysAfter: -1.5)
        #expect(ahead.ages.first?.days == nil && ahead.notChecked.first?.reason.contains("later than this machine's clock") == true, "\(ahead.notChecked)")

        // The signature a server caches NOT CHECKED answers by changes as the clock passes the limit.
        func signature(daysAfter: Double, limit: Int? = 30) throws -> String {
            try Advisories.Scanner(store: store, maxAgeDays: limit, now: Date(timeIntervalSince1970: 1_717_200_000 + daysAfter * 86_400)).ageSignature()
        }
        #expect(try signature(daysAfter: 30) == "PyPI=2024-06-01T00:00:00.000000000Z:current")
        #expect(try signature(daysAfter: 31) == "PyPI=2024-06-01T00:00:00.000000000Z:old")
        #expect(try signature(daysAfter: -1.5) == "PyPI=2024-06-01T00:00:00.000000000Z:ahead")
        #expect(try signature(daysAfter: 31, limit: nil) == "", "no limit, nothing to tell apart")
    }

    /// Now in RFC 3339, to the second.
    func RFC3339Now() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }

    @Test func theBundledSnapshotIsAsOfEachEcosystemsNewestRecord() throws {
        let dir = try tempDir("dbage-seed")
        try write("idna==2.8\n", to: dir + "/proj/requirements.txt")
        let r = try provenant(["scan", dir + "/proj", "--db", dir + "/osv.sqlite", "--format", "json"])
        #expect(r.code == 0 && r.err.contains("imported the bundled snapshot"), "\(r.err)")
        #expect(((try jsonObject(r.out)["database"] as? [String: Any])?["asOf"] as? [String: Any])?["PyPI"] as? String == "2024-10-10")
        // Go's newest real time is a `published` (golang/vulndb leaves most at 0001-01-01).
        #expect(try row(dir + "/osv.sqlite", "Go").prefix(3) == ["Go", "4291", "2022-12-14"])
        #expect(try row(dir + "/osv.sqlite", "crates.io").prefix(3) == ["crates.io", "1206", "2026-08-21"])
    }
}
