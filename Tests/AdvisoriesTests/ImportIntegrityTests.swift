import Foundation
import Testing
import TestSupport
import ProvenantCore
@testable import Advisories

/// Found by helper-155: imports that held less than they said, and advisory text echoed raw.
@Suite(.serialized) struct ImportIntegrityTests {
    /// A requirements file pinning `name==version`, scanned against `db`: the ids found and the exit.
    static func scan(_ name: String, _ version: String, db: String) throws -> (ids: [String], code: Int32, out: String) {
        let proj = try tempDir("pin")
        try write("\(name)==\(version)\n", to: proj + "/requirements.txt")
        let r = try provenant(["scan", proj, "--db", db, "--format", "json", "--fail-on", "low", "--allow-unrated"])
        let doc = try jsonObject(r.out)
        return (((doc["findings"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }, r.code, r.out)
    }

    /// A control character in a range event's version moved the ranges after it into the versions
    /// slot of the stored entry, and the package scanned clean.
    @Test func controlCharactersInVersionsDoNotShiftTheStoredEntry() throws {
        let dir = try tempDir("ctl")
        for (i, bad) in ["1.0\n", "1.0\u{1F}", "1.0\u{1E}", "1.0\u{1D}", "1.0\r\n"].enumerated() {
            let rec: [String: Any] = ["id": "PYSEC-CTL-\(i)", "modified": "2024-01-01T00:00:00Z", "summary": "s",
                                      "affected": [["package": ["ecosystem": "PyPI", "name": "ctlpkg\(i)"],
                                                    "ranges": [["type": "ECOSYSTEM", "events": [["introduced": "0"], ["fixed": bad]]],
                                                               ["type": "ECOSYSTEM", "events": [["introduced": "3.0"], ["fixed": "3.5"]]]],
                                                    "versions": ["3.2"]]]]
            try write(String(decoding: try JSONSerialization.data(withJSONObject: rec), as: UTF8.self), to: dir + "/in/\(i).json")
        }
        let imported = try provenant(["db", "import", dir + "/in", "--db", dir + "/osv.sqlite"])
        #expect(imported.code == 0, "\(imported.out) \(imported.err)")
        for i in 0..<5 {
            let r = try Self.scan("ctlpkg\(i)", "3.2", db: dir + "/osv.sqlite")
            #expect(r.ids == ["PYSEC-CTL-\(i)"], "record \(i): \(r.out)")
            // The first range still ends at 1.0: 1.0 itself is fixed.
            #expect(try Self.scan("ctlpkg\(i)", "1.0", db: dir + "/osv.sqlite").ids.isEmpty, "record \(i)")
        }
    }

    /// An unreadable file, an unlistable directory and links in a directory import were passed over
    /// in silence, exit 0; a run whose every file was malformed exited 0 too. Each is named, the rest
    /// imported, exit 2; a file that does not parse is named with its line.
    @Test func whatAnImportCannotReadIsNamedAndExitsTwo() throws {
        let dir = try tempDir("unread")
        try write(osv("PYSEC-OK-1", ecosystem: "PyPI", name: "okpkg", events: [["introduced": "0"], ["fixed": "2.0"]]), to: dir + "/in/ok.json")
        try write(osv("PYSEC-LINKED-1", ecosystem: "PyPI", name: "linkpkg", events: [["introduced": "0"], ["fixed": "2.0"]]), to: dir + "/elsewhere/sub/x.json")
        try FileManager.default.createSymbolicLink(atPath: dir + "/in/linked-dir", withDestinationPath: dir + "/elsewhere/sub")
        try FileManager.default.createSymbolicLink(atPath: dir + "/in/linked.json", withDestinationPath: dir + "/elsewhere/sub/x.json")
        try write("{\n  \"id\": \"X\",\n  \"modified\": \n}\n", to: dir + "/in/broken.json")
        try write("id: Y\nmodified: [\n", to: dir + "/in/broken.yaml")
        let r = try provenant(["db", "import", dir + "/in", "--db", dir + "/osv.sqlite"])
        #expect(r.code == 2, "\(r.out) \(r.err)")
        #expect(r.out.contains("1 added") && r.out.contains("4 skipped"), "\(r.out)")
        #expect(r.err.contains("linked-dir: is a symbolic link") && r.err.contains("linked.json: is a symbolic link"), "\(r.err)")
        #expect(r.err.contains("broken.json:4: not valid JSON"), "\(r.err)")
        #expect(r.err.range(of: #"broken\.yaml:\d+: not valid YAML"#, options: .regularExpression) != nil, "\(r.err)")
        #expect(try Self.scan("okpkg", "1.0", db: dir + "/osv.sqlite").ids == ["PYSEC-OK-1"])
        // Only malformed input: nothing added, and the run says so by its exit.
        let only = try provenant(["db", "import", dir + "/in/broken.json", dir + "/in/broken.yaml", "--db", dir + "/other.sqlite"])
        #expect(only.code == 2 && only.out.contains("2 skipped"), "\(only.out) \(only.err)")
        // A directory this user cannot list (as root, every directory can be: then it is simply read).
        if getuid() != 0 {
            try FileManager.default.createDirectory(atPath: dir + "/in/closed", withIntermediateDirectories: true)
            chmod(dir + "/in/closed", 0)
            defer { chmod(dir + "/in/closed", 0o755) }
            let c = try provenant(["db", "import", dir + "/in", "--db", dir + "/third.sqlite"])
            #expect(c.code == 2 && c.err.contains("closed: cannot list directory"), "\(c.err)")
        }
    }

    /// golang/vulndb's exports give every record the placeholder time 0001-01-01: a corrected record
    /// with the same time was never applied. Same time and other content replaces; the same record
    /// again changes nothing.
    @Test func aRecordWithTheSameTimeButOtherContentReplacesTheStoredOne() throws {
        let dir = try tempDir("tie")
        let t = "0001-01-01T00:00:00Z"
        try write(osv("GO-TIE-1", modified: t, ecosystem: "PyPI", name: "tiepkg", events: [["introduced": "0"], ["fixed": "1.0"]]), to: dir + "/a/r.json")
        try write(osv("GO-TIE-1", modified: t, ecosystem: "PyPI", name: "tiepkg", events: [["introduced": "0"], ["fixed": "2.0"]]), to: dir + "/b/r.json")
        #expect(try provenant(["db", "import", dir + "/a", "--db", dir + "/osv.sqlite"]).code == 0)
        #expect(try Self.scan("tiepkg", "1.5", db: dir + "/osv.sqlite").ids.isEmpty)
        let second = try provenant(["db", "import", dir + "/b", "--db", dir + "/osv.sqlite"])
        #expect(second.out.contains("1 updated"), "\(second.out)")
        #expect(try Self.scan("tiepkg", "1.5", db: dir + "/osv.sqlite").ids == ["GO-TIE-1"])
        let again = try provenant(["db", "import", dir + "/b", "--db", dir + "/osv.sqlite"])
        #expect(again.out.contains("1 unchanged"), "\(again.out)")
        // In one import, of two copies with one time the last read wins.
        let both = try provenant(["db", "import", dir + "/a/r.json", dir + "/b/r.json", "--db", dir + "/both.sqlite"])
        #expect(both.code == 0 && both.out.contains("1 added"), "\(both.out)")
        #expect(try Self.scan("tiepkg", "1.5", db: dir + "/both.sqlite").ids == ["GO-TIE-1"])
    }

    /// An advisory's summary and aliases are input: a token in them was printed whole in every format.
    @Test func advisoryTextIsEchoedThroughTheRedactor() throws {
        let token = "ghp_R8x2Kq9ZpL4mT7vW1nB5cY3hJ6dF0sA2gE8k"
        let dir = try tempDir("adv-secret")
        try write(osv("PYSEC-SECRET-1", ecosystem: "PyPI", name: "secretpkg", events: [["introduced": "0"], ["fixed": "2.0"]],
                      aliases: ["CVE-2024-0001"], severity: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                      summary: "leaks \(token) to logs"), to: dir + "/in/s.json")
        #expect(try provenant(["db", "import", dir + "/in", "--db", dir + "/osv.sqlite"]).code == 0)
        // An id or alias is a key as well as shown: one holding a credential is refused at import,
        // not kept under a masked key (review).
        try write(osv("PYSEC-SECRET-2", ecosystem: "PyPI", name: "secretpkg", events: [["introduced": "0"]],
                      aliases: ["https://x:\(token)@example.com/a"]), to: dir + "/bad/a.json")
        try write(osv("X-\(token)", ecosystem: "PyPI", name: "secretpkg", events: [["introduced": "0"]]), to: dir + "/bad/b.json")
        let refused = try provenant(["db", "import", dir + "/bad", "--db", dir + "/osv.sqlite"])
        #expect(refused.code == 2 && refused.out.contains("2 skipped") && refused.err.contains("looks like a credential"), "\(refused.out) \(refused.err)")
        #expect(!refused.err.contains(String(token.dropFirst(4))) && !refused.out.contains(String(token.dropFirst(4))))
        let proj = try tempDir("pin")
        try write("secretpkg==1.0\n", to: proj + "/requirements.txt")
        for format in ["table", "json", "sarif", "cyclonedx-json"] {
            let r = try provenant(["scan", proj, "--db", dir + "/osv.sqlite", "--format", format, "--fail-on", "low"])
            #expect(r.code == 1, "\(format): \(r.err)")
            #expect(r.out.contains("PYSEC-SECRET-1") && (format == "table" || r.out.contains("CVE-2024-0001")), "\(format): \(r.out)")
            #expect(!r.out.contains(String(token.dropFirst(4))) && !r.err.contains(String(token.dropFirst(4))), "\(format) printed the token")
        }
        let json = try jsonObject(try provenant(["scan", proj, "--db", dir + "/osv.sqlite", "--format", "json"]).out)
        let f = try #require((json["findings"] as? [[String: Any]])?.first)
        #expect(f["vector"] as? String == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "a vector is kept whole: \(f)")
    }

    /// A Package.resolved pin at `Apple/Swift-Crypto` was matched case-exact against an advisory for
    /// `apple/swift-crypto`, and scanned clean. Names are compared lowercased, and a database written
    /// before keeps its names as given until it is opened: then they are lowercased.
    @Test func swiftPackageURLsAreMatchedWhateverTheirCase() throws {
        let dir = try tempDir("swifturl")
        try write(osv("GHSA-SWIFT-1", ecosystem: "SwiftURL", name: "github.com/Apple/swift-crypto", events: [["introduced": "0"], ["fixed": "3.8.1"]]),
                  to: dir + "/in/s.json")
        let proj = try tempDir("swift-proj")
        try write(#"{"pins": [{"identity": "swift-crypto", "kind": "remoteSourceControl", "location": "https://github.com/Apple/Swift-Crypto.git", "state": {"revision": "abc", "version": "3.0.0"}}], "version": 2}"#,
                  to: proj + "/Package.resolved")
        #expect(try provenant(["db", "import", dir + "/in", "--db", dir + "/osv.sqlite"]).code == 0)
        func ids() throws -> [String] {
            let r = try provenant(["scan", proj, "--db", dir + "/osv.sqlite", "--format", "json", "--fail-on", "critical", "--allow-unrated"])
            return ((try jsonObject(r.out)["findings"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
        }
        #expect(try ids() == ["GHSA-SWIFT-1"])
        // As an older build left it: the name as the record gave it, the migration not yet run.
        let sql = "UPDATE affected SET name = 'github.com/Apple/swift-crypto' WHERE ecosystem = 'SwiftURL'; DELETE FROM grdb_migrations WHERE identifier LIKE 'v6 %';"
        let r = try runProcess("/usr/bin/python3", ["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()", dir + "/osv.sqlite", sql])
        #expect(r.code == 0, "\(r.err)")
        #expect(try ids() == ["GHSA-SWIFT-1"], "the stored name is lowercased when the database is opened")
    }
}
