import Foundation
import Testing
import Catalog
import ProvenantCore
import ZIPFoundation
@testable import Advisories

@Suite struct StoreTests {
    func pkg(_ purl: String) throws -> Package {
        let p = try #require(PackageURL(parsing: purl))
        return Package(ecosystem: Ecosystem(rawValue: p.type) ?? .generic, name: p.name, version: p.version ?? "", purl: p,
                       locations: [Location("app/lock", line: 3)], foundBy: "test")
    }

    @Test func importingTheSameDataAgainChangesNothingAndNewestWins() async throws {
        let dir = try tempDir("store")
        try write(osv("PYSEC-1", modified: "2024-01-01T00:00:00Z", ecosystem: "PyPI", name: "demo", events: [["introduced": "0"], ["fixed": "1.0"]]), to: dir + "/a/PYSEC-1.json")
        let store = try AdvisoryStore(path: dir + "/db.sqlite")
        let first = try await AdvisoryImporter.importPaths([dir + "/a"], into: store)
        #expect(first.result == .init(added: 1, updated: 0, unchanged: 0, changedIDs: [first.loaded.records[0].id]))
        let again = try await AdvisoryImporter.importPaths([dir + "/a"], into: store)
        #expect(again.result == .init(added: 0, updated: 0, unchanged: 1, changedIDs: []))
        // An older copy does not replace a newer one; a newer one does.
        try write(osv("PYSEC-1", modified: "2023-06-01T00:00:00Z", ecosystem: "PyPI", name: "demo", events: [["introduced": "0"], ["fixed": "9.0"]]), to: dir + "/old/PYSEC-1.json")
        #expect(try await AdvisoryImporter.importPaths([dir + "/old"], into: store).result.unchanged == 1)
        #expect(try Scanner(store: store).scan([pkg("pkg:pypi/demo@2.0")]).findings.isEmpty)
        try write(osv("PYSEC-1", modified: "2024-01-01T00:00:00.5Z", ecosystem: "PyPI", name: "demo", events: [["introduced": "0"], ["fixed": "3.0"]]), to: dir + "/new/PYSEC-1.json")
        #expect(try await AdvisoryImporter.importPaths([dir + "/new"], into: store).result.updated == 1)
        let f = try Scanner(store: store).scan([pkg("pkg:pypi/demo@2.0")]).findings
        #expect(f.map(\.id) == ["PYSEC-1"] && f.first?.fixed == ["3.0"])
        #expect(try store.status().records == 1)
    }

    /// Times are ordered by the instant they name: an offset, a lowercase `t` or a space does not let
    /// an older copy replace a newer one, and a time that only starts like one is refused (helper-107).
    @Test func modifiedTimesCompareAsInstants() async throws {
        let dir = try tempDir("instants")
        let store = try AdvisoryStore(path: dir + "/db.sqlite")
        func load(_ modified: String, fixed: String, _ name: String) async throws -> AdvisoryStore.ImportResult {
            try write(osv("PYSEC-9", modified: modified, ecosystem: "PyPI", name: "demo", events: [["introduced": "0"], ["fixed": fixed]]), to: dir + "/\(name)/PYSEC-9.json")
            return try await AdvisoryImporter.importPaths([dir + "/" + name], into: store).result
        }
        #expect(try await load("2024-06-01T00:00:00Z", fixed: "3.0", "a").added == 1)
        // 09:00+10:00 is 23:00Z the day before: older.
        #expect(try await load("2024-06-01T09:00:00+10:00", fixed: "1.0", "b").unchanged == 1)
        #expect(try await load("2024-05-31t23:30:00Z", fixed: "1.0", "c").unchanged == 1)
        #expect(try Scanner(store: store).scan([pkg("pkg:pypi/demo@2.0")]).findings.map(\.id) == ["PYSEC-9"])
        // 2024-05-31T20:00-05:00 is 01:00Z: newer, though it sorts first as text.
        #expect(try await load("2024-05-31T20:00:00-05:00", fixed: "4.0", "d").updated == 1)
        #expect(try await load("2024-06-01 02:00:00Z", fixed: "5.0", "e").updated == 1)
        #expect(try Scanner(store: store).scan([pkg("pkg:pypi/demo@4.5")]).findings.first?.fixed == ["5.0"])
        for bad in ["2024-99-99T99:99:99Z", "2024-06-01T00:00:00<b>", "2024-02-30T00:00:00Z", "2024-06-01T24:00:00Z"] {
            #expect(throws: ParseError.self, "\(bad)") { try OSVRecord.decode(Data(osv("X-1", modified: bad, ecosystem: "PyPI", name: "d", events: [["introduced": "0"]]).utf8), yaml: false) }
        }
        // An ecosystem spelt in another case lands in OSV's bucket, its release kept (found by helper-131).
        for (spelt, canonical) in [("pypi", "PyPI"), ("PYPI", "PyPI"), ("debian:12", "Debian:12"), ("CRATES.IO", "crates.io"), ("PyPI", "PyPI"), ("Nonesuch", "Nonesuch")] {
            let r = try OSVRecord.decode(Data(osv("X-2", ecosystem: spelt, name: "d", events: [["introduced": "0"]]).utf8), yaml: false)
            #expect(r.affected?.first?.package?.ecosystem == canonical, "\(spelt)")
        }
        #expect(Timestamp.sortKey("2024-06-01T09:00:00.25+10:00") == "2024-05-31T23:00:00.250000000Z")
        #expect(Timestamp.sortKey("9999-12-31T23:00:00-05:00") == "9999-12-31T23:59:59.999999999Z")
    }

    /// A database written before keys were instants: offset times get their instant's key, and a time
    /// the old check let through without naming an instant gets the lowest, so a valid copy replaces it.
    @Test func theUTCKeyMigrationRekeysEveryRecord() async throws {
        let dir = try tempDir("rekey")
        let path = dir + "/db.sqlite"
        try write(osv("A-1", modified: "2024-06-01T00:00:00Z", ecosystem: "PyPI", name: "a", events: [["introduced": "0"]]), to: dir + "/a/a.json")
        try write(osv("C-1", modified: "2024-06-01T00:00:00Z", ecosystem: "PyPI", name: "c", events: [["introduced": "0"]]), to: dir + "/a/c.json")
        let store = try AdvisoryStore(path: path)
        _ = try await AdvisoryImporter.importPaths([dir + "/a"], into: store)
        try await store.queue.write { db in
            try db.execute(sql: "UPDATE advisory SET modified = '2024-06-01T09:00:00+10:00', modified_key = '2024-06-01T09:00:00+10:00' WHERE id = 'A-1'")
            try db.execute(sql: "UPDATE advisory SET modified = '9999-99-99T99:99:99Z', modified_key = '9999-99-99T99:99:99.000000000Z' WHERE id = 'C-1'")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v4 modified keys in UTC'")
        }
        let reopened = try AdvisoryStore(path: path)
        // 09:00+10:00 is 23:00Z the day before: a copy of 2024-05-31T23:30Z is newer.
        try write(osv("A-1", modified: "2024-05-31T23:30:00Z", ecosystem: "PyPI", name: "a", events: [["introduced": "0"]]), to: dir + "/b/a.json")
        try write(osv("C-1", modified: "2025-06-01T00:00:00Z", ecosystem: "PyPI", name: "c", events: [["introduced": "0"]]), to: dir + "/b/c.json")
        #expect(try await AdvisoryImporter.importPaths([dir + "/b"], into: reopened).result.updated == 2)
    }

    /// A database written before withdrawals were instants held their raw text, which compared
    /// wrongly with now for offset and lowercase times, both ways (found by helper-134). The v5
    /// migration rekeys them; a value that names no instant leaves the advisory live.
    @Test func theWithdrawalKeyMigrationRekeysOldDatabases() async throws {
        let dir = try tempDir("rekey-withdrawn")
        let path = dir + "/db.sqlite"
        let raw = ["P-1": "2024-02-01T09:00:00+10:00", "P-2": "2024-02-01t00:00:00z", "F-1": "2999-01-01T00:00:00-08:00", "X-1": "unknown"]
        for id in raw.keys { try write(osv(id, ecosystem: "npm", name: "pkg-" + id.lowercased(), events: [["introduced": "0"]]), to: dir + "/a/\(id).json") }
        let store = try AdvisoryStore(path: path)
        _ = try await AdvisoryImporter.importPaths([dir + "/a"], into: store)
        try await store.queue.write { db in
            for (id, w) in raw { try db.execute(sql: "UPDATE advisory SET withdrawn = ? WHERE id = ?", arguments: [w, id]) }
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v5 withdrawal keys in UTC'")
        }
        let reopened = try AdvisoryStore(path: path)
        let found = try Scanner(store: reopened).scan(try raw.keys.map { try pkg("pkg:npm/pkg-\($0.lowercased())@1.0.0") }).findings.map(\.id).sorted()
        #expect(found == ["F-1", "X-1"], "past withdrawals off, a future or unreadable one live: \(found)")
        #expect(try reopened.status().withdrawn == 2)
    }

    /// Packages no OSV database covers still count as scanned, and are NOT CHECKED (never clean):
    /// grouped by purl type (with the namespace for OS packages), with the reason, and no update
    /// command, since no download can help.
    @Test func uncoveredPackagesCountAsScannedAndNotChecked() async throws {
        let dir = try tempDir("uncovered")
        try write(osv("PYSEC-1", ecosystem: "PyPI", name: "demo", events: [["introduced": "0"], ["fixed": "2.0"]]), to: dir + "/a.json")
        let store = try AdvisoryStore(path: dir + "/db.sqlite")
        _ = try await AdvisoryImporter.importPaths([dir], into: store)
        let r = try Scanner(store: store).scan([
            pkg("pkg:pypi/demo@1.0"), pkg("pkg:generic/tool@1.0"), pkg("pkg:pypi/unversioned"),
            pkg("pkg:generic/log4j@2.14.1"), pkg("pkg:rpm/amazon/openssl@1.0.2k"), pkg("pkg:rpm/centos/bash@4.2"),
        ])
        #expect(r.packagesScanned == 6)
        #expect(r.packagesNotCovered == 5)
        #expect(r.findings.map(\.id) == ["PYSEC-1"])
        #expect(r.notChecked.map(\.ecosystem) == ["pkg:generic", "pkg:pypi", "pkg:rpm/amazon", "pkg:rpm/centos"])
        #expect(r.notChecked.reduce(0) { $0 + $1.packages } == 5)
        let generic = try #require(r.notChecked.first)
        #expect(generic.packages == 2 && generic.purls == ["pkg:generic/log4j@2.14.1", "pkg:generic/tool@1.0"])
        #expect(generic.command == nil && generic.reason == "no advisory database covers pkg:generic")
        #expect(generic.message == "2 pkg:generic packages NOT CHECKED: no advisory database covers pkg:generic; no `provenant db update` can fix this")
        #expect(r.notChecked[1].reason.contains("no version") && r.notChecked[1].purls == ["pkg:pypi/unversioned"])
        #expect(r.notChecked[2].reason == "no advisory database covers pkg:rpm/amazon")
    }

    /// Fail closed: a package whose ecosystem, or distribution release, has no advisories in the
    /// database is not checked, counted per ecosystem with the command that fixes it, never clean.
    @Test func packagesOfEcosystemsWithoutAdvisoriesAreNotChecked() async throws {
        let dir = try tempDir("unchecked")
        try write(osv("PYSEC-1", ecosystem: "PyPI", name: "demo", events: [["introduced": "0"], ["fixed": "2.0"]]), to: dir + "/a.json")
        try write(osv("DSA-1", ecosystem: "Debian:11", name: "openssl", events: [["introduced": "0"], ["fixed": "2.0"]]), to: dir + "/d.json")
        try write(osv("GHSA-w", ecosystem: "npm", name: "left-pad", events: [["introduced": "0"]], withdrawn: "2024-02-01T00:00:00Z"), to: dir + "/w.json")
        let store = try AdvisoryStore(path: dir + "/db.sqlite")
        _ = try await AdvisoryImporter.importPaths([dir], into: store)
        let r = try Scanner(store: store).scan([
            pkg("pkg:pypi/demo@1.0"), pkg("pkg:npm/lodash@4.17.15"), pkg("pkg:npm/left-pad@1.0.0"), pkg("pkg:cargo/serde@1.0.0"),
            pkg("pkg:deb/debian/openssl@1.0?distro=debian-11"), pkg("pkg:deb/debian/openssl@1.0?distro=debian-12"),
        ])
        #expect(r.packagesScanned == 6 && r.packagesNotCovered == 0)
        // A withdrawn advisory matches nothing, so it does not make npm checkable either.
        #expect(r.notChecked.map(\.ecosystem) == ["Debian:12", "crates.io", "npm"])
        let npm = try #require(r.notChecked.last)
        #expect(npm.packages == 2 && npm.purls == ["pkg:npm/left-pad@1.0.0", "pkg:npm/lodash@4.17.15"])
        #expect(npm.command == "provenant db update --ecosystem npm")
        #expect(r.notChecked.first?.command == "provenant db update --ecosystem Debian")
        #expect(r.findings.map(\.id).sorted() == ["DSA-1", "PYSEC-1"])
        // An entry naming no release covers every release of its distribution.
        try write(osv("DEBIAN-ANY", ecosystem: "Debian", name: "zlib", events: [["introduced": "0"], ["fixed": "1.0"]]), to: dir + "/any/x.json")
        _ = try await AdvisoryImporter.importPaths([dir + "/any"], into: store)
        #expect(try Scanner(store: store).scan([pkg("pkg:deb/debian/openssl@1.0?distro=debian-12")]).notChecked.isEmpty)
    }

    /// OSV writes Ubuntu LTS releases `Ubuntu:22.04:LTS` (and ESM ones `Ubuntu:Pro:18.04:LTS`)
    /// where os-release says `22.04`: an Ubuntu 22.04 package is checked against them.
    @Test func ubuntuReleasesAreLookedUpByOSVsNames() async throws {
        let dir = try tempDir("ubuntu")
        try write(osv("USN-1", ecosystem: "Ubuntu:22.04:LTS", name: "openssl", events: [["introduced": "0"], ["fixed": "3.0.2-0ubuntu1.10"]]), to: dir + "/a.json")
        try write(osv("USN-2", ecosystem: "Ubuntu:Pro:18.04:LTS", name: "curl", events: [["introduced": "0"], ["fixed": "7.58.0-2ubuntu3.24+esm1"]]), to: dir + "/b.json")
        try write(osv("USN-3", ecosystem: "Ubuntu:24.10", name: "zlib", events: [["introduced": "0"], ["fixed": "1:1.3.dfsg-3.1ubuntu3"]]), to: dir + "/c.json")
        try write(osv("USN-4", ecosystem: "Ubuntu:Pro:FIPS-updates:20.04:LTS", name: "openssl", events: [["introduced": "0"], ["fixed": "9.9"]]), to: dir + "/d.json")
        let store = try AdvisoryStore(path: dir + "/db.sqlite")
        _ = try await AdvisoryImporter.importPaths([dir], into: store)
        let r = try Scanner(store: store).scan([
            pkg("pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1.6?distro=ubuntu-22.04"),
            pkg("pkg:deb/ubuntu/curl@7.58.0-2ubuntu3.16?distro=ubuntu-18.04"),
            pkg("pkg:deb/ubuntu/zlib@1:1.3.dfsg-3.1ubuntu2?distro=ubuntu-24.10"),
            pkg("pkg:deb/ubuntu/openssl@1.1.1f-1ubuntu2?distro=ubuntu-20.04"),
        ])
        #expect(r.findings.map(\.id).sorted() == ["USN-1", "USN-2", "USN-3"])
        #expect(r.findings.first { $0.id == "USN-1" }?.ecosystem == "Ubuntu:22.04:LTS")
        // A FIPS stream's builds are not the archive's: 20.04 stays not checked.
        #expect(r.notChecked.map(\.ecosystem) == ["Ubuntu:20.04:LTS"])
        #expect(Ecosystems.ubuntuRelease("22.04") == "22.04:LTS" && Ecosystems.ubuntuRelease("23.04") == "23.04" && Ecosystems.ubuntuRelease("24.10") == "24.10")
    }

    @Test func withdrawnRecordsAreKeptButNeverMatched() async throws {
        let dir = try tempDir("withdrawn")
        try write(osv("GHSA-w", ecosystem: "npm", name: "left-pad", events: [["introduced": "0"]], withdrawn: "2024-02-01T00:00:00Z"), to: dir + "/w.json")
        let store = try AdvisoryStore(path: dir + "/db.sqlite")
        _ = try await AdvisoryImporter.importPaths([dir + "/w.json"], into: store)
        #expect(try store.status().withdrawn == 1)
        #expect(try Scanner(store: store).scan([pkg("pkg:npm/left-pad@1.0.0")]).findings.isEmpty)
        // A withdrawal still to come does not switch the advisory off yet (found by helper-131); an
        // offset time counts by its instant.
        try write(osv("GHSA-f", ecosystem: "npm", name: "right-pad", events: [["introduced": "0"]], withdrawn: "2999-01-01T09:00:00+10:00"), to: dir + "/f.json")
        _ = try await AdvisoryImporter.importPaths([dir + "/f.json"], into: store)
        #expect(try store.status().withdrawn == 1)
        #expect(try Scanner(store: store).scan([pkg("pkg:npm/right-pad@1.0.0")]).findings.map(\.id) == ["GHSA-f"])
    }

    @Test func aliasesAreIndexedAndNamesCanonicalised() async throws {
        let dir = try tempDir("alias")
        try write(osv("PYSEC-9", ecosystem: "PyPI", name: "Django_Rest", events: [["introduced": "0"], ["fixed": "2.0"]], aliases: ["CVE-2024-0001", "GHSA-aaaa-bbbb-cccc"]), to: dir + "/p.json")
        let store = try AdvisoryStore(path: dir + "/db.sqlite")
        _ = try await AdvisoryImporter.importPaths([dir], into: store)
        #expect(try store.ids(forAlias: "CVE-2024-0001") == ["PYSEC-9"])
        let f = try Scanner(store: store).scan([pkg("pkg:pypi/django-rest@1.0")]).findings
        #expect(f.first?.aliases == ["CVE-2024-0001", "GHSA-aaaa-bbbb-cccc"])
    }

    /// A GHSA and a PYSEC for one CVE are one finding: aliases joined, fixes joined, the higher
    /// severity kept; an advisory sorted before them stays apart.
    @Test func advisoriesSharingAnAliasCollapseIntoOneFinding() async throws {
        let dir = try tempDir("collapse")
        try write(osv("GHSA-a", ecosystem: "PyPI", name: "demo", events: [["introduced": "0"], ["fixed": "3.0"]], aliases: ["CVE-9"]), to: dir + "/a.json")
        try write(osv("GHSA-x", ecosystem: "PyPI", name: "demo", events: [["introduced": "0"], ["fixed": "2.1"]], aliases: ["CVE-1"],
                      severity: "CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"), to: dir + "/x.json")
        try write(osv("PYSEC-1", ecosystem: "PyPI", name: "demo", events: [["introduced": "0"], ["fixed": "2.0"]], aliases: ["CVE-1"],
                      severity: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), to: dir + "/p.json")
        let store = try AdvisoryStore(path: dir + "/db.sqlite")
        _ = try await AdvisoryImporter.importPaths([dir], into: store)
        let f = try Scanner(store: store).scan([pkg("pkg:pypi/demo@1.0")]).findings
        #expect(f.map(\.id).sorted() == ["GHSA-a", "GHSA-x"])
        let merged = try #require(f.first { $0.id == "GHSA-x" })
        #expect(merged.aliases == ["CVE-1", "PYSEC-1"])
        #expect(merged.fixed == ["2.0", "2.1"])
        #expect(merged.severity == .critical && merged.score == 9.8)
        #expect(f.first { $0.id == "GHSA-a" }?.aliases == ["CVE-9"])
    }

    @Test func distroAdvisoriesMatchOnlyTheirRelease() async throws {
        let dir = try tempDir("distro")
        try write(osv("DSA-12", ecosystem: "Debian:12", name: "openssl", events: [["introduced": "0"], ["fixed": "3.0.11-1~deb12u2"]]), to: dir + "/a.json")
        try write(osv("DSA-11", ecosystem: "Debian:11", name: "openssl", events: [["introduced": "0"], ["fixed": "9.9"]]), to: dir + "/b.json")
        let store = try AdvisoryStore(path: dir + "/db.sqlite")
        _ = try await AdvisoryImporter.importPaths([dir], into: store)
        let f = try Scanner(store: store).scan([pkg("pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl")]).findings
        #expect(f.map(\.id) == ["DSA-12"])
        #expect(f.first?.ecosystem == "Debian:12")
    }

    @Test func malformedRecordsAreSkippedWithReasons() async throws {
        let dir = try tempDir("bad")
        try write("{not json", to: dir + "/broken.json")
        try write(#"{"id": "X-1"}"#, to: dir + "/nomod.json")
        try write(#"{"id": "X-2", "modified": "yesterday"}"#, to: dir + "/badtime.json")
        try write(#"{"id": "X-3", "modified": "2024-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "PyPI", "name": "a"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0", "fixed": "1"}]}]}]}"#, to: dir + "/twoevents.json")
        try write(osv("GOOD-1", ecosystem: "PyPI", name: "a", events: [["introduced": "0"]]), to: dir + "/good.json")
        let store = try AdvisoryStore(path: dir + "/db.sqlite")
        let r = try await AdvisoryImporter.importPaths([dir], into: store)
        #expect(r.result.added == 1)
        #expect(r.loaded.skipped.count == 4)
        let text = r.loaded.skipped.map(\.description).joined(separator: "\n")
        #expect(text.contains("broken.json") && text.contains("not valid JSON"))
        #expect(text.contains("nomod.json") && text.contains("missing field 'modified'"))
        #expect(text.contains("badtime.json") && text.contains("RFC 3339"))
        #expect(text.contains("twoevents.json") && text.contains("exactly one"))
    }

    @Test func zipArchivesAndYAMLRecordsImport() async throws {
        let dir = try tempDir("zip")
        let zipPath = dir + "/all.zip"
        let archive = try Archive(url: URL(fileURLWithPath: zipPath), accessMode: .create)
        for (name, text) in [("RUSTSEC-1.json", osv("RUSTSEC-1", ecosystem: "crates.io", name: "smallvec", events: [["introduced": "0"], ["fixed": "1.6.1"]])),
                             ("README", "not a record")] {
            let data = Data(text.utf8)
            try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { pos, size in
                data.subdata(in: Int(pos)..<Int(pos) + size)
            }
        }
        try write("""
            id: PYSEC-2020-1
            modified: 2023-11-07T20:24:23.946863Z
            aliases:
            - CVE-2020-1
            affected:
            - package:
                ecosystem: PyPI
                name: pyyaml
              ranges:
              - type: ECOSYSTEM
                events:
                - introduced: "0"
                - fixed: 5.4
            """, to: dir + "/y/PYSEC-2020-1.yaml")
        let store = try AdvisoryStore(path: dir + "/db.sqlite")
        let r = try await AdvisoryImporter.importPaths([zipPath, dir + "/y"], into: store)
        #expect(r.result.added == 2 && r.loaded.skipped.isEmpty)
        let f = try Scanner(store: store).scan([pkg("pkg:cargo/smallvec@1.6.0"), pkg("pkg:pypi/PyYAML@5.3.1")]).findings
        #expect(Set(f.map(\.id)) == ["RUSTSEC-1", "PYSEC-2020-1"])
    }

    /// An export is inflated and decoded a batch at a time (it was inflated whole first, up to its
    /// 8 GiB budget): batches of any size give the same records, skips and order as one batch.
    @Test func zipArchivesDecodeTheSameInBatches() throws {
        let dir = try tempDir("zip-batches")
        let zipPath = dir + "/all.zip"
        let archive = try Archive(url: URL(fileURLWithPath: zipPath), accessMode: .create)
        var entries: [(String, String)] = (0..<40).reversed().map { i in
            ("GHSA-\(i).json", osv("GHSA-\(i)", ecosystem: "PyPI", name: "pkg\(i)", events: [["introduced": "0"], ["fixed": "1.\(i)"]]))
        }
        entries.append(("BROKEN-1.json", "{not json"))
        entries.append(("notes.txt", "not a record"))
        for (name, text) in entries {
            let data = Data(text.utf8)
            try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { pos, size in
                data.subdata(in: Int(pos)..<Int(pos) + size)
            }
        }
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: zipPath)))
        var whole = AdvisoryImporter.Loaded()
        try AdvisoryImporter.zipInputs(bytes, origin: zipPath, maxInflated: 1 << 30, batchBytes: .max, into: &whole)
        #expect(whole.records.count == 40 && whole.skipped.count == 1 && whole.files == 41)
        #expect(whole.records.map(\.id) == whole.records.map(\.id).sorted { ($0 + ".json") < ($1 + ".json") })
        for batch in [1, 300, 1000] {
            var parts = AdvisoryImporter.Loaded()
            try AdvisoryImporter.zipInputs(bytes, origin: zipPath, maxInflated: 1 << 30, batchBytes: batch, into: &parts)
            #expect(parts.records.map(\.id) == whole.records.map(\.id) && parts.files == whole.files, "batch \(batch)")
            #expect(parts.skipped.map(\.description) == whole.skipped.map(\.description), "batch \(batch)")
        }
    }

    /// A `withdrawn` that is no time is refused with the record, never a silent switch-off (helper-72).
    @Test func aWithdrawnThatIsNoTimeIsRefused() throws {
        let record = #"{"id": "PYSEC-2099-2", "modified": "2024-01-01T00:00:00Z", "withdrawn": "garbage", "affected": []}"#
        #expect(throws: ParseError.self) { try OSVRecord.decode(Data(record.utf8), yaml: false) }
        let noSuchDay = record.replacingOccurrences(of: "\"garbage\"", with: "\"2024-02-30T00:00:00Z\"")
        #expect(throws: ParseError.self) { try OSVRecord.decode(Data(noSuchDay.utf8), yaml: false) }
        for t in ["2024-01-01T25:00:00Z", "2024-01-01T00:99:00Z", "2024-01-01T23:61:00Z"] {
            let noSuchTime = record.replacingOccurrences(of: "\"garbage\"", with: "\"\(t)\"")
            #expect(throws: ParseError.self) { try OSVRecord.decode(Data(noSuchTime.utf8), yaml: false) }
        }
        let dated = record.replacingOccurrences(of: "\"garbage\"", with: "\"2024-02-01T00:00:00Z\"")
        #expect(try OSVRecord.decode(Data(dated.utf8), yaml: false).withdrawn == "2024-02-01T00:00:00Z")
    }

    /// YAML aliases are refused in OSV records: each use is expanded in full, and a 7.5 KB zip of them
    /// took 14 s and 442 MB on the server (found by helper-74).
    @Test func yamlRecordsWithAliasesAreRefused() throws {
        let versions = (0..<50).map { "    - \"1.\($0)\"" }.joined(separator: "\n")
        let yaml = "id: PYSEC-2099-1\nmodified: 2023-11-07T20:24:23Z\naffected:\n- &A\n  package: {ecosystem: PyPI, name: p}\n  versions:\n\(versions)\n"
            + (0..<50).map { _ in "- *A" }.joined(separator: "\n") + "\n"
        #expect(throws: ParseError.self) { try OSVRecord.decode(Data(yaml.utf8), yaml: true) }
        let plain = "id: PYSEC-2099-1\nmodified: 2023-11-07T20:24:23Z\naffected:\n- package: {ecosystem: PyPI, name: p}\n  versions:\n\(versions)\n"
        #expect(try OSVRecord.decode(Data(plain.utf8), yaml: true).affected?.first?.versions?.count == 50)
    }

    /// A stored entry, prepared straight from its encoding, decides and reports exactly as the
    /// record it came from.
    @Test func storedEntriesPrepareAsTheirRecords() throws {
        let entries: [(String, OSVRecord.Affected)] = [
            ("Debian", .init(package: .init(ecosystem: "Debian:12", name: "openssl", purl: "pkg:deb/debian/openssl"),
                             severity: [.init(type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")],
                             ranges: [.init(type: "GIT", repo: "https://example.com/r", events: [.init(introduced: "abc")]),
                                      .init(type: "ECOSYSTEM", repo: nil, events: [.init(introduced: "0"), .init(fixed: "1:3.0-1"), .init(lastAffected: "2.0"), .init(limit: "*")])],
                             versions: ["1.0", "1.0 beta", ""])),
            ("PyPI", .init(package: nil, severity: nil,
                           ranges: [.init(type: "ECOSYSTEM", repo: nil, events: [.init(introduced: "1.0"), .init(fixed: "1.5"), .init(fixed: "1.2")]),
                                    .init(type: "SEMVER", repo: nil, events: [.init(introduced: "3.0.0"), .init(lastAffected: "3.1.0")])],
                           versions: nil)),
            ("Go", .init(package: nil, severity: [], ranges: nil, versions: ["1.19", "v1.20.1"])),
            ("npm", .init(package: nil, severity: nil, ranges: nil, versions: [])),
        ]
        let probes = ["0.9", "1.0", "1.1", "1.2", "1.5", "2.0", "2.1", "3.0.0", "3.1.0", "3.1.1", "1.19.0", "v1.20.1", "1:3.0-1", "not a version", ""]
        for (eco, entry) in entries {
            let fromRecord = RangeEvaluator.prepare(entry, ecosystem: eco)
            let fromStore = EntryCodec.prepare(EntryCodec.encode(entry), RangeEvaluator.Schemes(ecosystem: eco))
            #expect(fromStore.fixed == fromRecord.fixed && fromStore.severity == fromRecord.severity && fromStore.listed == fromRecord.listed, "\(eco)")
            for v in probes {
                #expect(RangeEvaluator.evaluate(fromStore, version: v) == RangeEvaluator.evaluate(fromRecord, version: v), "\(eco) \(v)")
            }
        }
        // And the decisions are the right ones, not merely the same.
        let pypi = EntryCodec.prepare(EntryCodec.encode(entries[1].1), RangeEvaluator.Schemes(ecosystem: "PyPI"))
        #expect(pypi.fixed == ["1.2", "1.5"])
        #expect(RangeEvaluator.evaluate(pypi, version: "1.1") == .affected)
        #expect(RangeEvaluator.evaluate(pypi, version: "1.2") == .notAffected)
        #expect(RangeEvaluator.evaluate(pypi, version: "3.1.0") == .affected)
        #expect(RangeEvaluator.evaluate(pypi, version: "3.1.1") == .notAffected)
        let go = EntryCodec.prepare(EntryCodec.encode(entries[2].1), RangeEvaluator.Schemes(ecosystem: "Go"))
        #expect(RangeEvaluator.evaluate(go, version: "v1.19.0") == .affected)
    }

    @Test func aDatabaseFromBeforeTheBriefTableIsFilledFromItsRecords() async throws {
        let dir = try tempDir("migrate")
        try write(osv("PYSEC-7", ecosystem: "PyPI", name: "demo", events: [["introduced": "0"], ["fixed": "2.0"]], aliases: ["GHSA-b", "CVE-a"],
                      severity: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", summary: "  padded summary "), to: dir + "/a/p.json")
        let path = dir + "/db.sqlite"
        let store = try AdvisoryStore(path: path)
        _ = try await AdvisoryImporter.importPaths([dir + "/a"], into: store)
        let imported = try #require(try store.briefs(ids: ["PYSEC-7"])["PYSEC-7"])
        #expect(imported.summary == "padded summary" && imported.aliases == ["CVE-a", "GHSA-b"] && imported.severity.count == 1)
        // Turn the file back into the v1 layout: the brief table gone and the migration not yet run.
        try await store.queue.write { db in
            for i in ["advisory_withdrawn", "advisory_by_modified"] { try db.execute(sql: "DROP INDEX \(i)") }
            try db.execute(sql: "DROP TABLE advisory_brief")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier != 'v1'")
        }
        let reopened = try AdvisoryStore(path: path)
        #expect(try reopened.briefs(ids: ["PYSEC-7"])["PYSEC-7"] == imported)
        let f = try Scanner(store: reopened).scan([pkg("pkg:pypi/demo@1.0")]).findings
        #expect(f.map(\.id) == ["PYSEC-7"] && f.first?.score == 9.8 && f.first?.summary == "padded summary")
    }

    /// Enough names that every core claims some: the result must not depend on which worker took what.
    @Test func aLargeInventoryMatchesExactlyWhateverTheWorkSplit() async throws {
        let dir = try tempDir("parallel")
        // Name n is fixed in 1.<n % 7>; a second advisory on every third name has no fix at all.
        for n in 0..<60 {
            try write(osv("PYSEC-\(n)", ecosystem: "PyPI", name: "pkg\(n)", events: [["introduced": "0"], ["fixed": "1.\(n % 7)"]]), to: dir + "/a/\(n).json")
            if n % 3 == 0 { try write(osv("GHSA-\(n)", ecosystem: "PyPI", name: "pkg\(n)", events: [["introduced": "0"]]), to: dir + "/a/g\(n).json") }
        }
        let store = try AdvisoryStore(path: dir + "/db.sqlite")
        _ = try await AdvisoryImporter.importPaths([dir + "/a"], into: store)
        var packages: [Package] = []
        var expected = Set<String>()
        for n in (0..<60).reversed() {
            for minor in 0..<7 {
                packages.append(try pkg("pkg:pypi/pkg\(n)@1.\(minor)"))
                if minor < n % 7 { expected.insert("PYSEC-\(n) pkg\(n) 1.\(minor)") }
                if n % 3 == 0 { expected.insert("GHSA-\(n) pkg\(n) 1.\(minor)") }
            }
        }
        let first = try Scanner(store: store).scan(packages).findings
        #expect(Set(first.map { "\($0.id) \($0.package) \($0.version)" }) == expected)
        #expect(first.count == expected.count)
        for _ in 0..<5 { #expect(try Scanner(store: store).scan(packages.shuffled()).findings == first) }
    }

    @Test func aCorruptDatabaseNamesTheImportToRun() throws {
        let dir = try tempDir("corrupt")
        try write(String(repeating: "garbage ", count: 512), to: dir + "/db.sqlite")
        do {
            _ = try AdvisoryStore(path: dir + "/db.sqlite")
            Issue.record("a corrupt database must be rejected")
        } catch {
            #expect(error.description.contains("db.sqlite"))
            #expect(error.description.contains("provenant db import"))
        }
    }

    @Test func theBundledSnapshotSeedsAMissingDatabase() async throws {
        let dir = try tempDir("seed")
        var notes: [String] = []
        let store = try await Snapshot.openOrSeed(path: dir + "/db.sqlite") { notes.append($0) }
        let s = try store.status()
        #expect(s.records == 8158)
        #expect(Set(s.ecosystems.map(\.ecosystem)) == ["Go", "PyPI", "crates.io"])
        #expect(notes.count == 1 && notes[0].contains("bundled snapshot"))
        #expect(try store.asOf(["Go", "PyPI", "crates.io"]).count == 3, "a whole snapshot dates each of its ecosystems")
        // Real advisories match real packages: urllib3 1.25.7 has known fixes.
        let f = try Scanner(store: store).scan([pkg("pkg:pypi/urllib3@1.25.7")]).findings
        #expect(f.contains { $0.id == "PYSEC-2023-192" && $0.severity == .high && $0.fixed.contains("1.26.17") })
        // A second open does not import again.
        _ = try await Snapshot.openOrSeed(path: dir + "/db.sqlite") { notes.append($0) }
        #expect(notes.count == 1)
    }

    /// A snapshot with records that cannot be read says so: they were left out without a word.
    @Test func aDamagedSnapshotSaysWhatItLeftOut() async throws {
        let dir = try tempDir("seed-damaged")
        try makeAllZip(dir + "/snap.zip", records: [("GHSA-ok", osv("GHSA-ok", ecosystem: "PyPI", name: "demo", events: [["introduced": "0"]])),
                                                    ("GHSA-bad", "{not json")])
        var notes: [String] = []
        let store = try await Snapshot.openOrSeed(path: dir + "/db.sqlite", archive: dir + "/snap.zip") { notes.append($0) }
        #expect(try store.status().records == 1)
        #expect(try store.asOf(["PyPI"]).isEmpty, "records left out make it no whole export: its age is unknown")
        #expect(notes.count == 2 && notes[1].hasPrefix("1 record of the bundled snapshot could not be read") && notes[1].contains("GHSA-bad"), "\(notes)")
        // An archive that cannot be read at all leaves no half-built file behind.
        try write("not a zip", to: dir + "/broken.zip")
        await #expect(throws: InputError.self) { _ = try await Snapshot.openOrSeed(path: dir + "/other.sqlite", archive: dir + "/broken.zip") { _ in } }
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("other.sqlite") }
        #expect(left.isEmpty, "\(left)")
    }
}
