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
    /// A Python server started with `args`, and what it printed until `ready` holds (its port).
    static func python(_ args: [String], until ready: (String) -> Bool) throws -> (Process, String) {
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-u"] + args
        let out = Pipe()
        server.standardOutput = out
        server.standardError = FileHandle.nullDevice
        try server.run()
        var line = ""
        while !ready(line) {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            line += String(decoding: d, as: UTF8.self)
        }
        return (server, line)
    }

    @Test func updateDownloadsPerEcosystemArchivesFromALoopbackServer() throws {
        let root = try tempDir("bucket")
        try makeAllZip(root + "/PyPI/all.zip", records: [("PYSEC-X", osv("PYSEC-X", ecosystem: "PyPI", name: "demo", events: [["introduced": "0"], ["fixed": "2.0"]]))])
        try makeAllZip(root + "/crates.io/all.zip", records: [("RUSTSEC-X", osv("RUSTSEC-X", ecosystem: "crates.io", name: "demo-crate", events: [["introduced": "0"]]))])
        // Python's http.server on an ephemeral port; it prints the port it bound.
        let (server, line) = try Self.python(["-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", root]) { $0.contains("port") }
        // SIGKILL: the test runner may hand children an ignored SIGTERM.
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
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
        // A whole export is as current as its download, whatever its records' times (2024-01-01 here).
        let pypi = status.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }.first { $0.first == "PyPI" } ?? []
        #expect(pypi.prefix(3) == ["PyPI", "1", DatabaseAgeTests.today()], "\(status)")
        // Without --ecosystem, an update refreshes what the database already holds.
        let again = try provenant(["db", "update", "--db", db, "--source", "http://127.0.0.1:\(port)", "--insecure"])
        #expect(again.code == 0 && again.out.contains("0 added, 0 updated, 2 unchanged"))
        let missing = try provenant(["db", "update", "--db", db, "--source", "http://127.0.0.1:\(port)", "--insecure", "--ecosystem", "npm"])
        #expect(missing.code == 2 && missing.err.contains("HTTP 404"))
        // A damaged archive is named by the URL it came from, not the temporary file it was kept in
        // (helper-155).
        try write("not a zip archive", to: root + "/Go/all.zip")
        let damaged = try provenant(["db", "update", "--db", db, "--source", "http://127.0.0.1:\(port)", "--insecure", "--ecosystem", "Go"])
        #expect(damaged.code == 2 && damaged.err.contains("127.0.0.1:\(port)/Go/all.zip: not a readable zip") && !damaged.err.contains("provenant-update-"),
                "\(damaged.err)")
        #expect(try provenant(["db", "status", "--db", db]).out.contains("records: 2"), "a failed update leaves the database as it was")
        // An archive with a record that cannot be read is imported but not whole: its ecosystem gets
        // no as-of time from the download (helper-219).
        try makeAllZip(root + "/RubyGems/all.zip", records: [("GHSA-ok", osv("GHSA-ok", ecosystem: "RubyGems", name: "gem", events: [["introduced": "0"]])),
                                                            ("GHSA-bad", "{not json")])
        let partial = try provenant(["db", "update", "--db", db, "--source", "http://127.0.0.1:\(port)", "--insecure", "--ecosystem", "RubyGems"])
        #expect(partial.code == 2 && partial.out.contains("1 added"), "\(partial.out) \(partial.err)")
        let gems = try provenant(["db", "status", "--db", db]).out.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }.first { $0.first == "RubyGems" } ?? []
        #expect(gems.prefix(3) == ["RubyGems", "1", "unknown"], "\(gems)")
        // An empty archive, or one named in another case than its records spell, is no export of it.
        try makeAllZip(root + "/Hex/all.zip", records: [])
        try makeAllZip(root + "/pypi/all.zip", records: [("PYSEC-Y", osv("PYSEC-Y", ecosystem: "PyPI", name: "other", events: [["introduced": "0"]]))])
        let odd = try provenant(["db", "update", "--db", db, "--source", "http://127.0.0.1:\(port)", "--insecure", "--ecosystem", "Hex", "--ecosystem", "pypi"])
        #expect(odd.code == 0, "\(odd.err)")
        #expect(try AdvisoryStore(path: db).asOf(["Hex", "pypi"]).isEmpty)
    }

    /// A mirror that misbehaves: an endless body without a length, a body sent a byte at a time,
    /// redirect loops, and a redirect to another host that must not get the source's credentials.
    static let hostileMirror = #"""
    import base64, select, socket, sys, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    ZIP = open(sys.argv[1], "rb").read()
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"
        def log_message(self, *a): pass
        def send(self, code, body=b"", headers=()):
            self.send_response(code)
            for k, v in headers: self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        def do_CONNECT(self):
            # Asked as a proxy: a tunnel back to this mirror, only for the one host no resolver knows.
            if self.path != "via-proxy.invalid:80": return self.send(403)
            up = socket.create_connection(("127.0.0.1", self.server.server_address[1]))
            self.send(200)
            ends = [self.connection, up]
            try:
                while True:
                    ready, _, _ = select.select(ends, [], [], 10)
                    if not ready: return
                    for e in ready:
                        data = e.recv(65536)
                        if not data: return
                        (up if e is self.connection else self.connection).sendall(data)
            finally:
                up.close()
        def do_GET(self):
            eco = self.path.split("/")[1]
            auth = self.headers.get("Authorization")
            port = self.server.server_address[1]
            if eco == "Endless":
                self.send_response(200); self.end_headers()
                try:
                    while True: self.wfile.write(b"\0" * 65536)
                except Exception: return
            elif eco == "Drip":
                self.send_response(200); self.send_header("Content-Length", "100000"); self.end_headers()
                try:
                    while True: self.wfile.write(b"P"); self.wfile.flush(); time.sleep(0.5)
                except Exception: return
            elif eco == "Loop":
                self.send(302, headers=[("Location", "/Loop/all.zip")])
            elif eco == "Moved":
                self.send(301, headers=[("Location", "../PyPI/all.zip")])
            elif eco == "Private":
                if auth != "Basic " + base64.b64encode(b"reader:s3cr%t").decode(): self.send(401)
                else: self.send(302, headers=[("Location", "http://localhost:%d/Elsewhere/all.zip" % port)])
            elif eco == "Elsewhere":
                self.send(403 if auth else 200, b"" if auth else ZIP)
            elif eco == "PyPI":
                self.send(200, ZIP, [("Content-Length", str(len(ZIP)))])
            else:
                self.send(404)
    s = ThreadingHTTPServer(("127.0.0.1", 0), H)
    print("port", s.server_address[1], flush=True)
    s.serve_forever()
    """#

    @Test func updateStreamsUnderASizeCapADeadlineAndBoundedRedirects() throws {
        let root = try tempDir("mirror")
        try makeAllZip(root + "/all.zip", records: [("PYSEC-Y", osv("PYSEC-Y", ecosystem: "PyPI", name: "demo", events: [["introduced": "0"]]))])
        try Self.hostileMirror.write(toFile: root + "/mirror.py", atomically: true, encoding: .utf8)
        let (server, line) = try Self.python([root + "/mirror.py", root + "/all.zip"]) { $0.contains("\n") }
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        let port = try #require(Int(line.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
        let db = try tempDir("upd-hostile") + "/db.sqlite"
        func update(_ eco: String, _ extra: [String] = [], source: String? = nil) throws -> (code: Int32, out: String, err: String) {
            try provenant(["db", "update", "--db", db, "--source", source ?? "http://127.0.0.1:\(port)", "--insecure", "--ecosystem", eco] + extra)
        }
        // A body without a length is cut at the cap, not read into memory until the machine gives out.
        let endless = try update("Endless", ["--max-download-size", "2M"])
        #expect(endless.code == 2 && endless.err.contains("Endless/all.zip") && endless.err.contains("past its --max-download-size of 2097152 bytes"), "\(endless.err)")
        // A declared length over the cap is refused before the body is read.
        let declared = try update("PyPI", ["--max-download-size", "100"])
        #expect(declared.code == 2 && declared.err.contains("archive of ") && declared.err.contains("past its --max-download-size of 100 bytes"), "\(declared.err)")
        // A byte every half second stays under every idle timeout; the run's deadline ends it.
        let started = Date()
        let drip = try update("Drip", ["--timeout", "3s"])
        #expect(drip.code == 2 && drip.err.contains("Drip/all.zip") && drip.err.contains("not finished within the --timeout"), "\(drip.err)")
        #expect(Date().timeIntervalSince(started) < 30)
        let loop = try update("Loop")
        #expect(loop.code == 2 && loop.err.contains("redirected more than 5 times"), "\(loop.err)")
        // A relative redirect is followed.
        let moved = try update("Moved")
        #expect(moved.code == 0 && moved.out.contains("1 added"), "\(moved.err)")
        // Credentials in the source go to the source's origin only: the mirror answers 403 to any
        // Authorization header on the other host it redirects to.
        let creds = try update("Private", source: "http://reader:s3cr%25t@127.0.0.1:\(port)")
        #expect(creds.code == 0 && creds.out.contains("1 unchanged"), "\(creds.err)")
        #expect(!(creds.out + creds.err).contains("s3cr"))
        let anonymous = try update("Private")
        #expect(anonymous.code == 2 && anonymous.err.contains("HTTP 401"), "\(anonymous.err)")
        // The cap is for all archives together: two archives that each fit, but not both, are refused.
        let zipSize = try #require((try FileManager.default.attributesOfItem(atPath: root + "/all.zip")[.size] as? NSNumber)?.int64Value)
        let both = try provenant(["db", "update", "--db", db, "--source", "http://127.0.0.1:\(port)", "--insecure",
                                  "--ecosystem", "PyPI", "--ecosystem", "Moved", "--max-download-size", String(zipSize * 3 / 2)])
        #expect(both.code == 2 && both.err.contains("Moved/all.zip") && both.err.contains("(\(zipSize * 3 / 2 - zipSize) were left for it)"), "\(both.err)")
        #expect(try update("PyPI", ["--max-download-size", String(zipSize)]).code == 0)
        // Sizes with a letter that upper-cases to two (ß) are refused, not trapped on.
        #expect(try update("PyPI", ["--max-download-size", "1ß"]).code == 2)
        #expect(DownloadLimits.bytes("3k") == 3072 && DownloadLimits.bytes("1ß") == nil && DownloadLimits.bytes("9999999999999G") == nil)
        // A timeout past what uptime can count is no limit, not an overflow trap.
        #expect(try update("PyPI", ["--timeout", "999999999h"]).code == 0)
        // The proxies the environment names are used, as curl used them before the download streamed:
        // the mirror tunnels to via-proxy.invalid, which no resolver knows; no_proxy goes direct.
        let proxied = try provenant(["db", "update", "--db", db, "--source", "http://via-proxy.invalid", "--insecure", "--ecosystem", "PyPI"],
                                    env: ["http_proxy": "http://127.0.0.1:\(port)", "no_proxy": "example.com"])
        #expect(proxied.code == 0, "\(proxied.err)")
        let bypassed = try provenant(["db", "update", "--db", db, "--source", "http://via-proxy.invalid", "--insecure", "--ecosystem", "PyPI"],
                                     env: ["http_proxy": "http://127.0.0.1:\(port)", "no_proxy": ".invalid"])
        #expect(bypassed.code == 2, "\(bypassed.out)")
        // A proxy this client cannot use is refused, not bypassed (helper-117).
        let socks = try provenant(["db", "update", "--db", db, "--source", "http://127.0.0.1:\(port)", "--insecure", "--ecosystem", "PyPI"],
                                  env: ["http_proxy": "socks5://127.0.0.1:1"])
        #expect(socks.code == 2 && socks.err.contains("http_proxy names a proxy this download cannot use"), "\(socks.err)")
        let all = try provenant(["db", "update", "--db", db, "--source", "http://127.0.0.1:\(port)", "--insecure", "--ecosystem", "PyPI"],
                                env: ["all_proxy": "socks5://127.0.0.1:1"])
        #expect(all.code == 2 && all.err.contains("all_proxy is set"), "\(all.err)")
        // A variable for a host no_proxy names is not checked: the download goes direct either way.
        let unused = try provenant(["db", "update", "--db", db, "--source", "http://127.0.0.1:\(port)", "--insecure", "--ecosystem", "PyPI"],
                                   env: ["http_proxy": "socks5://127.0.0.1:1", "no_proxy": "127.0.0.1"])
        #expect(unused.code == 0, "\(unused.err)")
        let bad = try update("PyPI", ["--max-download-size", "lots"])
        #expect(bad.code == 2 && bad.err.contains("--max-download-size takes a size"), "\(bad.err)")
        #expect(try provenant(["db", "status", "--db", db]).out.contains("records: 1"), "failed updates leave the database as it was")
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
