import Foundation
import Testing
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
        let r = try provenant(["db", "import", dir + "/in", "--db", dir + "/osv.sqlite"] + (asOf.map { ["--as-of", $0] } ?? []))
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
        #expect(try provenant(["db", "import", dir, "--db", fetched, "--as-of", "2019-01-02"]).code == 0)
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
        #expect(try provenant(["db", "import", dir, "--db", unknown, "--as-of", "2999-01-01"]).code == 2, "a fetch time in the future is refused")
        #expect(try provenant(["db", "import", dir, "--db", unknown, "--as-of", "yesterday"]).code == 2)
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
