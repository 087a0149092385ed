import Foundation
import Testing
import TestSupport
import ZIPFoundation
import ProvenantCore
@testable import Advisories

/// Writes an archive in the layout of OSV's per-ecosystem `all.zip`: one `<ID>.json` per record.
func makeAllZip(_ path: String, records: [(String, String)]) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .create)
    for (id, text) in records {
        let data = Data(text.utf8)
        try archive.addEntry(with: id + ".json", type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { pos, size in
            data.subdata(in: Int(pos)..<Int(pos) + size)
        }
    }
}

@Suite(.serialized) struct UpdateAndCrashTests {
    @Test func updateDownloadsPerEcosystemArchivesFromALoopbackServer() throws {
        let root = try tempDir("bucket")
        try makeAllZip(root + "/PyPI/all.zip", records: [("PYSEC-X", osv("PYSEC-X", ecosystem: "PyPI", name: "demo", events: [["introduced": "0"], ["fixed": "2.0"]]))])
        try makeAllZip(root + "/crates.io/all.zip", records: [("RUSTSEC-X", osv("RUSTSEC-X", ecosystem: "crates.io", name: "demo-crate", events: [["introduced": "0"]]))])
        // Python's http.server on an ephemeral port; it prints the port it bound.
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", root]
        let out = Pipe()
        server.standardOutput = out
        server.standardError = FileHandle.nullDevice
        try server.run()
        // SIGKILL: the test runner may hand children an ignored SIGTERM.
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        var line = ""
        while !line.contains("port") {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            line += String(decoding: d, as: UTF8.self)
        }
        let port = try #require(line.split(separator: " ").firstIndex(of: "port").map { line.split(separator: " ")[$0 + 1] }.flatMap { Int($0) })
        let db = try tempDir("upd") + "/db.sqlite"
        // Plain http is refused unless --insecure says the mirror is trusted (issue 11, item 9).
        let plain = try provenant(["db", "update", "--db", db, "--source", "http://127.0.0.1:\(port)", "--ecosystem", "PyPI"])
        #expect(plain.code == 2 && plain.err.contains("plain http") && plain.err.contains("--insecure"), "\(plain.err)")
        #expect(!plain.err.contains("downloading"), "refused before anything is fetched")
        #expect(!FileManager.default.fileExists(atPath: db), "and before the database is created")
        let r = try provenant(["db", "update", "--db", db, "--source", "http://127.0.0.1:\(port)", "--insecure", "--ecosystem", "PyPI", "--ecosystem", "crates.io"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("2 added"))
        #expect(r.err.contains("/crates.io/all.zip"))
        let status = try provenant(["db", "status", "--db", db]).out
        #expect(status.contains("records: 2") && status.contains("PyPI") && status.contains("crates.io"))
        // Without --ecosystem, an update refreshes what the database already holds.
        let again = try provenant(["db", "update", "--db", db, "--source", "http://127.0.0.1:\(port)", "--insecure"])
        #expect(again.code == 0 && again.out.contains("0 added, 0 updated, 2 unchanged"))
        let missing = try provenant(["db", "update", "--db", db, "--source", "http://127.0.0.1:\(port)", "--insecure", "--ecosystem", "npm"])
        #expect(missing.code == 2 && missing.err.contains("HTTP 404"))
        #expect(try provenant(["db", "status", "--db", db]).out.contains("records: 2"), "a failed update leaves the database as it was")
    }

    @Test func updateSourcesMustBeHTTPSUnlessInsecure() throws {
        #expect(throws: Never.self) { try AdvisoryUpdater.checkSource(AdvisoryUpdater.defaultSource, insecure: false) }
        #expect(throws: Never.self) { try AdvisoryUpdater.checkSource("http://mirror.local/osv", insecure: true) }
        #expect(throws: InputError.self) { try AdvisoryUpdater.checkSource("http://mirror.local/osv", insecure: false) }
        #expect(throws: InputError.self) { try AdvisoryUpdater.checkSource("HTTP://mirror.local/osv", insecure: false) }
        #expect(throws: InputError.self) { try AdvisoryUpdater.checkSource("ftp://mirror.local/osv", insecure: true) }
        #expect(throws: InputError.self) { try AdvisoryUpdater.checkSource("/srv/osv", insecure: true) }
    }

    @Test func anImportKilledMidwayLeavesThePreviousDatabaseUsable() throws {
        let dir = try tempDir("kill")
        let db = dir + "/db.sqlite"
        try write(osv("BASE-1", ecosystem: "PyPI", name: "demo", events: [["introduced": "0"], ["fixed": "2.0"]]), to: dir + "/base/BASE-1.json")
        #expect(try provenant(["db", "import", dir + "/base", "--db", db]).code == 0)
        // Enough records that writing them takes far longer than the kill does.
        var records: [(String, String)] = []
        for i in 0..<10_000 { records.append(("BULK-\(i)", osv("BULK-\(i)", ecosystem: "npm", name: "pkg-\(i)", events: [["introduced": "0"], ["fixed": "1.0.\(i)"]], aliases: ["CVE-2099-\(i)"]))) }
        try makeAllZip(dir + "/bulk/all.zip", records: records)

        let p = Process()
        p.executableURL = URL(fileURLWithPath: provenantBinary)
        p.arguments = ["db", "import", dir + "/bulk/all.zip", "--db", db]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // "writing to" is printed inside the transaction, before the first row.
        var seen = ""
        while !seen.contains("writing to") {
            let d = err.fileHandleForReading.availableData
            if d.isEmpty { break }
            seen += String(decoding: d, as: UTF8.self)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(seen.contains("writing to"))
        #expect(p.terminationReason == .uncaughtSignal, "the import must have been killed, not finished")

        let status = try provenant(["db", "status", "--db", db])
        #expect(status.code == 0 && status.out.contains("records: 1"), "\(status.out)\(status.err)")
        let proj = try tempDir("kill-proj")
        try write("demo==1.0\n", to: proj + "/requirements.txt")
        let scan = try provenant(["scan", proj, "--db", db, "--format", "json"])
        #expect(scan.code == 0 && scan.out.contains("BASE-1"))
        // And the interrupted import can simply be run again.
        let redo = try provenant(["db", "import", dir + "/bulk/all.zip", "--db", db])
        #expect(redo.code == 0 && redo.out.contains("10000 added"))
    }
}
