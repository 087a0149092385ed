import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport

func scratchDirectory(_ name: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// The two databases every server test runs against.
enum FleetBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres
    var description: String { rawValue }

    /// One real PostgreSQL server for the whole test run; each test gets a database of its own.
    static let cluster = Result { try PostgresCluster() }
}

/// `provenant server` started as a process on a free loopback port with a fresh database (SQLite, or
/// a new database on a real PostgreSQL server), and reached over real HTTP.
final class FleetServerProcess: @unchecked Sendable {
    let dir: URL
    /// The SQLite file, or the PostgreSQL URL.
    let database: String
    /// What `--database` is given.
    let databaseArgument: String
    let backend: FleetBackend
    let process = Process()
    let base: String

    /// `sharing` starts a second server on another one's database (a replica, on PostgreSQL).
    init(_ extra: [String] = [], backend: FleetBackend = .sqlite, sharing other: FleetServerProcess? = nil) throws {
        self.backend = backend
        dir = try scratchDirectory("fleet")
        switch backend {
        case .sqlite:
            database = other?.database ?? dir.appendingPathComponent("fleet.sqlite").path
            databaseArgument = "sqlite:" + database
        case .postgres:
            database = try other?.database ?? FleetBackend.cluster.get().createDatabase()
            databaseArgument = database
        }
        process.executableURL = URL(fileURLWithPath: provenantBinary)
        process.arguments = ["server", "--database", databaseArgument, "--listen", "127.0.0.1:0",
                             "--advisories", dir.appendingPathComponent("osv.sqlite").path] + extra
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // The line on stderr that names the port (notes may come before it).
        var seen = Data()
        let deadline = Date().addingTimeInterval(30)
        func named() -> Bool { String(decoding: seen, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast().contains { $0.contains("listening on") } }
        while Date() < deadline, !named() {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += chunk
        }
        let line = String(decoding: seen, as: UTF8.self)
        guard let r = line.range(of: "http://127.0.0.1:") ?? line.range(of: "https://127.0.0.1:") else {
            process.terminate()
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "server did not start: \(line)"])
        }
        base = String(line[r]) + line[r.upperBound...].prefix { $0.isNumber }
    }

    deinit {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: dir)
    }

    func token(_ scope: String) throws -> String {
        let r = try runProcess(provenantBinary, ["server", "token", "create", "--database", databaseArgument, "--scope", scope])
        guard r.code == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: r.err]) }
        return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    struct Answer {
        var status: Int
        var body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var errorField: String? { (json["error"] as? [String: Any])?["field"] as? String }
    }

    func call(_ method: String, _ path: String, token: String? = nil, body: Data? = nil) async throws -> Answer {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        if let token { request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
        if let body { request.httpBody = body; request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return Answer(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: data)
    }
}

/// SBOMs made by `provenant sbom` from real lockfiles.
enum FleetFixtures {
    static func sbom(_ fixtureName: String, format: String, in dir: URL) throws -> Data {
        let src = Bundle.module.url(forResource: fixtureName, withExtension: nil, subdirectory: "Fixtures")!
        let tree = dir.appendingPathComponent("tree-\(fixtureName)-\(format)")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        let target = fixtureName == "Cargom.lock" ? "Cargo.lock" : "package-lock.json"
        try FileManager.default.copyItem(at: src, to: tree.appendingPathComponent(target))
        let out = dir.appendingPathComponent("\(fixtureName).\(format).json")
        let r = try runProcess(provenantBinary, ["sbom", tree.path, "--format", format, "-o", out.path], env: ["SOURCE_DATE_EPOCH": "1700000000"])
        guard r.code == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: r.err]) }
        return try Data(contentsOf: out)
    }
}

@Suite(.serialized) struct FleetServerTests {
    @Test(arguments: FleetBackend.allCases) func healthIsOpenAndEverythingElseNeedsAToken(_ backend: FleetBackend) async throws {
        let s = try FleetServerProcess(backend: backend)
        let health = try await s.call("GET", "/healthz")
        #expect(health.status == 200 && health.json["status"] as? String == "ok")
        let none = try await s.call("GET", "/v1/agents")
        #expect(none.status == 401 && none.errorField == "authorization")
        let unknown = try await s.call("GET", "/v1/agents", token: "pvt_" + String(repeating: "A", count: 43))
        #expect(unknown.status == 401)
        let openapi = try await s.call("GET", "/openapi.json")
        #expect(openapi.status == 401, "only /healthz is anonymous")
        let read = try s.token("read")
        #expect(try await s.call("GET", "/v1/agents", token: read).status == 200)
        // A read token cannot write; an ingest token for one agent cannot write another, nor read.
        let sbom = try FleetFixtures.sbom("package-lock-v3.json", format: "cyclonedx-json", in: s.dir)
        let readPush = try await s.call("POST", "/v1/agents/collector/releases/1.0.0", token: read, body: sbom)
        #expect(readPush.status == 403 && readPush.errorField == "agent")
        let ingest = try s.token("ingest:collector")
        #expect(try await s.call("POST", "/v1/agents/collector/releases/1.0.0", token: ingest, body: sbom).status == 201)
        let other = try await s.call("POST", "/v1/agents/remediator/releases/1.0.0", token: ingest, body: sbom)
        #expect(other.status == 403)
        #expect(try await s.call("GET", "/v1/agents", token: ingest).status == 403)
        // Nothing was stored by the refused pushes.
        let agents = try await s.call("GET", "/v1/agents", token: read).json["agents"] as? [[String: Any]]
        #expect(agents?.compactMap { $0["name"] as? String } == ["collector"])
    }

    /// Found by helper-114: a leaked token could not be listed or revoked, short of editing the
    /// database by hand. `server token list` shows hash prefixes, never tokens; `revoke` takes one, or
    /// the token on standard input, and the token is refused from then on.
    @Test(arguments: FleetBackend.allCases) func tokensAreListedByHashAndRevoked(_ backend: FleetBackend) async throws {
        let s = try FleetServerProcess(backend: backend)
        let read = try s.token("read"), ingest = try s.token("ingest:collector")
        #expect(try await s.call("GET", "/v1/agents", token: read).status == 200)
        let list = try runProcess(provenantBinary, ["server", "token", "list", "--database", s.databaseArgument])
        let rows = list.out.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(rows.map { $0.dropFirst().first } == ["read", "ingest:collector"], "\(list.out) \(list.err)")
        #expect(!list.out.contains(read) && !list.out.contains(ingest))
        let readPrefix = try #require(rows.first?.first)
        #expect(try runProcess(provenantBinary, ["server", "token", "revoke", "--database", s.databaseArgument, String(readPrefix.prefix(7))]).code == 2, "too short")
        let revoked = try runProcess(provenantBinary, ["server", "token", "revoke", "--database", s.databaseArgument, readPrefix])
        #expect(revoked.code == 0, "\(revoked.err)")
        #expect(try await s.call("GET", "/v1/agents", token: read).status == 401)
        #expect(try runProcess(provenantBinary, ["server", "token", "revoke", "--database", s.databaseArgument, readPrefix]).code == 2, "already gone")
        // By the token itself, on standard input.
        let dir = try scratchDirectory("revoke")
        defer { try? FileManager.default.removeItem(at: dir) }
        try (ingest + "\n").write(to: dir.appendingPathComponent("t"), atomically: true, encoding: .utf8)
        let byToken = try runProcess("/bin/sh", ["-c", "'\(provenantBinary)' server token revoke --database '\(s.databaseArgument)' --stdin < '\(dir.appendingPathComponent("t").path)'"])
        #expect(byToken.code == 0 && !byToken.err.contains(ingest), "\(byToken.err)")
        let sbom = try FleetFixtures.sbom("package-lock-v3.json", format: "cyclonedx-json", in: s.dir)
        #expect(try await s.call("POST", "/v1/agents/collector/releases/1.0.0", token: ingest, body: sbom).status == 401)
        #expect(try runProcess(provenantBinary, ["server", "token", "list", "--database", s.databaseArgument]).out.isEmpty)
    }

    /// Found by helper-114: uploads that never finish held the server's memory, one per connection,
    /// and a body trickling two bytes every five seconds was never closed. Bodies being read now
    /// share one budget (503 past it), and a body slower than 16 KiB/s after its grace is 408. One
    /// token may hold half of the budget (429 past it), so its slow uploads cannot shut out the others.
    @Test func slowAndManyUploadsAreBoundedServerWide() throws {
        let s = try FleetServerProcess(["--max-body-mib", "1", "--max-upload-mib", "4", "--body-grace-seconds", "1"])
        let ingest = try s.token("ingest:collector"), second = try s.token("ingest:collector"), third = try s.token("ingest:collector")
        let port = try #require(s.base.split(separator: ":").last.map(String.init))
        let script = #"""
        import socket, sys, time
        port, token, second, third = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
        def upload(n, length, bearer=token):
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(("POST /v1/agents/collector/releases/h%d HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                       "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n{" % (n, bearer, length)).encode())
            return c
        def status(c, timeout):
            c.settimeout(timeout)
            try: return c.recv(200).split(b"\r\n")[0].decode()
            except socket.timeout: return "no answer"
        # One token holds at most half the gate: its third body is 429, and the gate still has room.
        held = [upload(1, 1 << 20), upload(2, 1 << 20)]
        time.sleep(1.0)
        print("same", status(upload(3, 1 << 20), 10))
        # Another token fills the gate; a third token's upload is then 503.
        held += [upload(4, 1 << 20, second), upload(5, 1 << 20, second)]
        time.sleep(1.0)
        print("third", status(upload(6, 1 << 20, third), 10))
        # A body larger than the whole gate is too large (413), not a reason to retry (503).
        big = socket.create_connection(("127.0.0.1", port))
        big.sendall(("POST /v1/agents/collector/releases/h1/policy-results HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n[" % (token, 5 << 20)).encode())
        print("big", status(big, 10))
        # The first trickles a byte every 0.3 s: past its 1 s grace it is far below 16 KiB/s.
        slow, answer = held[0], "no answer"
        for _ in range(40):
            try: slow.sendall(b" ")
            except OSError: pass
            answer = status(slow, 0.3)
            if answer != "no answer": break
        print("slow", answer)
        # A sign-in form (no token needed) and a deployment read at the same rate (helper-161).
        def trickle(head):
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(head.encode())
            answer = "no answer"
            for _ in range(40):
                try: c.sendall(b"x")
                except OSError: pass
                answer = status(c, 0.3)
                if answer != "no answer": break
            return answer
        print("signin", trickle("POST /session HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\ntoken="))
        print("deploy", trickle("POST /v1/deployments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{" % token))
        """#
        let dir = try scratchDirectory("upload-gate")
        defer { try? FileManager.default.removeItem(at: dir) }
        try script.write(to: dir.appendingPathComponent("gate.py"), atomically: true, encoding: .utf8)
        let r = try runProcess("python3", [dir.appendingPathComponent("gate.py").path, port, ingest, second, third])
        #expect(r.out.contains("same HTTP/1.1 429"), "\(r.out) \(r.err)")
        #expect(r.out.contains("third HTTP/1.1 503"), "\(r.out) \(r.err)")
        #expect(r.out.contains("slow HTTP/1.1 408"), "\(r.out) \(r.err)")
        #expect(r.out.contains("big HTTP/1.1 413"), "\(r.out) \(r.err)")
        #expect(r.out.contains("signin HTTP/1.1 408") && r.out.contains("deploy HTTP/1.1 408"), "\(r.out) \(r.err)")
    }

    /// A name matched in more places than one answer holds is refused, not served whole or cut short:
    /// a million versions of one name held gigabytes and the server's threads (found by helper-161).
    @Test(arguments: FleetBackend.allCases) func aFleetQueryOfTooManyHitsIsRefused(_ backend: FleetBackend) async throws {
        let s = try FleetServerProcess(backend: backend)
        let admin = try s.token("admin")
        let cap = 50_000   // FleetComponentQuery.maxHits
        let count = cap + 1
        let components = (0..<count).map { #"{"type":"library","name":"x","version":"1.0.\#($0)","purl":"pkg:npm/x@1.0.\#($0)"}"# }
        let body = #"{"bomFormat":"CycloneDX","specVersion":"1.5","components":["# + components.joined(separator: ",") + "]}"
        let pushed = try await s.call("POST", "/v1/agents/wide/releases/1", token: admin, body: Data(body.utf8))
        #expect(pushed.status == 201, "\(String(decoding: pushed.body, as: UTF8.self))")
        let all = try await s.call("GET", "/v1/components?type=npm&name=x", token: admin)
        #expect(all.status == 400 && String(decoding: all.body, as: UTF8.self).contains("more than \(cap) components match"), "\(all.status)")
        let one = try await s.call("GET", "/v1/components?purl=pkg:npm/x@1.0.7", token: admin)
        #expect(one.status == 200 && (one.json["components"] as? [Any])?.count == 1, "\(one.status)")

        // A page at a time the same query is answered in full: every hit once, in the answer's order
        // (agent, then release), the pages joined by `next`, on both stores alike.
        let small = #"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"x","version":"1.0.3","purl":"pkg:npm/x@1.0.3"},{"type":"library","name":"x","version":"9.0.0","purl":"pkg:npm/x@9.0.0"}]}"#
        // Purls a query string would mangle (`+`, `#`) and one longer than 4,096 bytes: the cursor after
        // each must still lead on (review found the server refusing its own `next`).
        let long = "9." + String(repeating: "1", count: 4090)
        let odd = #"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"y","version":"1.0.0+build","purl":"pkg:npm/y@1.0.0+build"},{"type":"library","name":"y","version":"1.0.0#frag","purl":"pkg:npm/y@1.0.0%23frag"},{"type":"library","name":"y","version":"\#(long)","purl":"pkg:npm/y@\#(long.prefix(4000))"}]}"#
        for release in ["1", "2"] {
            let oddPushed = try await s.call("POST", "/v1/agents/odd/releases/" + release, token: admin, body: Data(odd.utf8))
            #expect(oddPushed.status == 201, "\(String(decoding: oddPushed.body, as: UTF8.self))")
        }
        for (agent, release) in [("another", "1"), ("zeta", "2"), ("another", "0")] {
            #expect(try await s.call("POST", "/v1/agents/\(agent)/releases/\(release)", token: admin, body: Data(small.utf8)).status == 201)
        }
        func pages(_ query: String, limit: Int) async throws -> (hits: [String], pages: Int, undecided: Int) {
            var hits: [String] = [], after: String?, pages = 0, undecided = 0
            while pages < 100 {
                // The cursor as it is, unencoded: it is base64url.
                let page = try await s.call("GET", "/v1/components?\(query)&limit=\(limit)" + (after.map { "&after=" + $0 } ?? ""), token: admin)
                #expect(page.status == 200, "\(String(decoding: page.body, as: UTF8.self).prefix(300))")
                pages += 1
                let items = page.json["components"] as? [[String: Any]] ?? []
                #expect(items.count <= limit)
                hits += items.map { "\($0["agent"] as? String ?? "?") \($0["release"] as? String ?? "?") \($0["version"] as? String ?? "?")" }
                undecided += (page.json["undecided"] as? [Any])?.count ?? 0
                after = page.json["next"] as? String
                if after == nil { break }
            }
            return (hits, pages, undecided)
        }
        let paged = try await pages("type=npm&name=x", limit: 9_000)
        #expect(paged.hits.count == count + 6 && Set(paged.hits).count == count + 6 && paged.pages == 6, "\(paged.hits.count) in \(paged.pages)")
        let oddPaged = try await pages("type=npm&name=y", limit: 1)
        // Four rows a release: the long version is stored under its purl and its name and version too.
        let whole = try await s.call("GET", "/v1/components?type=npm&name=y", token: admin).json["components"] as? [[String: Any]] ?? []
        #expect(whole.count == 8 && oddPaged.hits.count == 8 && oddPaged.pages == 8, "\(oddPaged.hits.map { $0.prefix(40) })")
        #expect(Array(paged.hits.prefix(4)) == ["another 1 1.0.3", "another 1 9.0.0", "another 0 1.0.3", "another 0 9.0.0"], "by agent, then by release as pushed")
        #expect(Array(paged.hits.suffix(2)) == ["zeta 2 1.0.3", "zeta 2 9.0.0"])
        let wide = paged.hits.filter { $0.hasPrefix("wide ") }
        #expect(wide.count == count && wide == wide.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, "one release's hits in purl byte order")
        // With a range, each page keeps the hits inside it; the pages still join up.
        let ranged = try await pages("type=npm&name=x&range=" + ("vers:npm/>=1.0.3|<1.0.6".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""), limit: 7_000)
        #expect(ranged.hits.sorted() == ["another 0 1.0.3", "another 1 1.0.3", "wide 1 1.0.3", "wide 1 1.0.4", "wide 1 1.0.5", "zeta 2 1.0.3"] && ranged.pages == 8,
                "\(ranged.hits) in \(ranged.pages)")
        let byPurl = try await pages("purl=pkg:npm/x@1.0.3", limit: 1)
        #expect(byPurl.hits == ["another 1 1.0.3", "another 0 1.0.3", "wide 1 1.0.3", "zeta 2 1.0.3"] && byPurl.pages == 4, "\(byPurl)")
        let lastOfAll = try #require(try await s.call("GET", "/v1/components?type=npm&name=x&limit=1", token: admin).json["next"] as? String)
        func cursor(_ s: String) -> String { Data(s.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "") }
        for bad in ["limit=0", "limit=10001", "limit=x", "after=" + lastOfAll, "limit=5&after=", "limit=5&after=x", "limit=5&after=0:pkg:npm/x",
                    "limit=5&after=" + cursor("999999:pkg:npm/x@1"), "limit=5&after=" + cursor("-1:pkg:npm/x@1"), "limit=5&after=" + cursor("0:pkg:npm/x@1"),
                    "limit=5&after=" + cursor("1:"), "limit=5&after=" + cursor("1:pkg\u{0}x")] {
            let r = try await s.call("GET", "/v1/components?type=npm&name=x&" + bad, token: admin)
            #expect(r.status == 400, "\(bad): \(r.status)")
        }
    }

    /// A component's stored purl can be longer than a page cursor used to allow: one without a purl, of
    /// a 4,000-byte name and a 200-byte version (each within its field's limit), ended a page with a
    /// `next` the server refused, and the components after it could not be reached (helper-207).
    @Test(arguments: FleetBackend.allCases) func pagesJoinUpPastALongPurl(_ backend: FleetBackend) async throws {
        let s = try FleetServerProcess(backend: backend)
        let admin = try s.token("admin")
        let long = String(repeating: "a", count: 4000), version = String(repeating: "1", count: 200)
        let components: [[String: Any]] = [["type": "library", "name": "b", "version": "1.0.0", "purl": "pkg:npm/b@1.0.0", "bom-ref": "b"],
                                           ["type": "library", "name": long, "version": version, "bom-ref": "long"],
                                           ["type": "library", "name": "c", "version": "1.0.0", "purl": "pkg:npm/c@1.0.0", "bom-ref": "c"]]
        let body = try JSONSerialization.data(withJSONObject: ["bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components])
        let stored = try await s.call("POST", "/v1/agents/collector/releases/1.0.0", token: admin, body: body)
        #expect(stored.status == 201, "\(stored.status) \(String(decoding: stored.body.prefix(300), as: UTF8.self))")
        var paged: [String] = [], after: String?
        for _ in 0..<5 {
            let page = try await s.call("GET", "/v1/agents/collector/releases/1.0.0/components?limit=1" + (after.map { "&after=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") } ?? ""), token: admin)
            #expect(page.status == 200, "\(String(decoding: page.body.prefix(300), as: UTF8.self))")
            paged += (page.json["components"] as? [[String: Any]] ?? []).compactMap { $0["purl"] as? String }
            after = page.json["next"] as? String
            if after == nil { break }
        }
        #expect(paged.count == 3 && paged.contains { $0.utf8.count > 4096 } && paged.contains("pkg:npm/c@1.0.0"), "\(paged.map { "\($0.prefix(20))… \($0.utf8.count)" })")
    }

    @Test(arguments: FleetBackend.allCases) func ingestStoresReleasesAndQueriesFindTheirComponents(_ backend: FleetBackend) async throws {
        let s = try FleetServerProcess(backend: backend)
        let admin = try s.token("admin")
        let cdx = try FleetFixtures.sbom("package-lock-v3.json", format: "cyclonedx-json", in: s.dir)
        let first = try await s.call("POST", "/v1/agents/collector/releases/1.2.3", token: admin, body: cdx)
        #expect(first.status == 201, "\(String(decoding: first.body, as: UTF8.self))")
        let count = first.json["components"] as? Int ?? 0
        let doc = try #require(try JSONSerialization.jsonObject(with: cdx) as? [String: Any])
        let purls = Set((doc["components"] as? [[String: Any]] ?? []).compactMap { $0["purl"] as? String })
        #expect(count == purls.count && count == 198, "every component of the SBOM (cdxgen's lockfile without its dev entries)")
        #expect(try await s.call("POST", "/v1/agents/collector/releases/1.2.3", token: admin, body: cdx).status == 200, "the same SBOM again changes nothing")
        // Components come a page at a time, in byte order, and the pages join up to the whole list; a
        // release of 250,000 built whole held the server's threads (helper-137).
        var paged: [String] = [], after: String?
        for _ in 0..<10 {
            let page = try await s.call("GET", "/v1/agents/collector/releases/1.2.3/components?limit=90" + (after.map { "&after=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") } ?? ""), token: admin)
            #expect(page.status == 200, "\(String(decoding: page.body, as: UTF8.self))")
            let items = (page.json["components"] as? [[String: Any]] ?? []).compactMap { $0["purl"] as? String }
            #expect(items.count <= 90)
            paged += items
            after = page.json["next"] as? String
            if after == nil { break }
        }
        #expect(paged.count == 198 && paged == paged.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } && Set(paged).count == 198)
        let whole = try await s.call("GET", "/v1/agents/collector/releases/1.2.3/components", token: admin)
        #expect((whole.json["components"] as? [Any])?.count == 198 && whole.json["next"] == nil)
        for bad in ["limit=0", "limit=10001", "limit=x", "after=", "page=2"] {
            #expect(try await s.call("GET", "/v1/agents/collector/releases/1.2.3/components?" + bad, token: admin).status == 400, "\(bad)")
        }
        // The same SBOM naming an artifact the release was not stored with is refused, not dropped (helper-74).
        let other = try await s.call("POST", "/v1/agents/collector/releases/1.2.3?artifact=sha256:" + String(repeating: "a", count: 64), token: admin, body: cdx)
        #expect(other.status == 409 && other.errorField == "artifact", "\(String(decoding: other.body, as: UTF8.self))")
        let spdx = try FleetFixtures.sbom("Cargom.lock", format: "spdx-json", in: s.dir)
        let conflict = try await s.call("POST", "/v1/agents/collector/releases/1.2.3", token: admin, body: spdx)
        #expect(conflict.status == 409 && conflict.errorField == "version", "releases are immutable")
        #expect(try await s.call("POST", "/v1/agents/remediator/releases/0.9.0", token: admin, body: spdx).status == 201)

        let agents = try await s.call("GET", "/v1/agents", token: admin).json["agents"] as? [[String: Any]] ?? []
        #expect(agents.map { $0["name"] as? String } == ["collector", "remediator"])
        #expect(agents.first?["releases"] as? Int == 1 && agents.first?["latest"] as? String == "1.2.3")
        let components = try await s.call("GET", "/v1/agents/collector/releases/1.2.3/components", token: admin).json["components"] as? [[String: Any]] ?? []
        #expect(components.count == count)
        #expect(components.contains { $0["purl"] as? String == "pkg:npm/semver@7.5.0" })
        // Across the fleet: by purl (qualifiers ignored) and by type and name.
        let byPurl = try await s.call("GET", "/v1/components?purl=pkg:npm/semver@7.5.0?foo=bar", token: admin).json["components"] as? [[String: Any]] ?? []
        #expect(byPurl.map { $0["agent"] as? String } == ["collector"])
        // A purl without a version asks where any version runs (it answered "nowhere"), and an
        // unknown parameter is refused rather than ignored (both found by helper-114).
        let anyVersion = try await s.call("GET", "/v1/components?purl=pkg:npm/semver", token: admin).json["components"] as? [[String: Any]] ?? []
        #expect(anyVersion.contains { $0["agent"] as? String == "collector" && $0["version"] as? String == "7.5.0" }, "\(anyVersion)")
        #expect(try await s.call("GET", "/v1/components?type=cargo&name=mio&rnage=vers:cargo/%3E9", token: admin).status == 400)
        // Routes that take no parameter refuse any, and a purl with type and name is refused (helper-161).
        for path in ["/v1/agents?limit=1", "/v1/agents/collector/releases?limit=1", "/v1/agents/collector/releases/1.2.3?bogus=1",
                     "/v1/agents/collector/releases/1.2.3/findings?severity=critical", "/v1/agents/collector/releases/1.2.3/attestations?x=1",
                     "/v1/vulnerabilities/CVE-2024-1/affected?x=1", "/v1/components?purl=pkg:npm/semver@7.5.0&type=pypi&name=zzz"] {
            let refused = try await s.call("GET", path, token: admin)
            #expect(refused.status == 400, "\(path): \(refused.status) \(String(decoding: refused.body, as: UTF8.self))")
        }
        let dryRun = try await s.call("POST", "/v1/deployments?dry_run=1", token: admin,
                                      body: Data(#"{"agent":"collector","version":"1.2.3","environment":"staging","cluster":"dry"}"#.utf8))
        #expect(dryRun.status == 400, "\(dryRun.status)")
        let cargoName = try #require(String(decoding: spdx, as: UTF8.self).range(of: "pkg:cargo/").map { r in
            String(String(decoding: spdx, as: UTF8.self)[r.upperBound...].prefix { $0 != "@" })
        })
        let byName = try await s.call("GET", "/v1/components?type=cargo&name=\(cargoName)", token: admin).json["components"] as? [[String: Any]] ?? []
        #expect(byName.first?["agent"] as? String == "remediator")
        // By name and a vers: range, in the ecosystem's own order: Cargom.lock holds mio 0.6.23 and 0.7.14.
        func versions(_ range: String) async throws -> [String] {
            let q = range.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            return (try await s.call("GET", "/v1/components?type=cargo&name=mio&range=\(q)", token: admin).json["components"] as? [[String: Any]] ?? [])
                .compactMap { $0["version"] as? String }
        }
        #expect(try await versions("vers:cargo/>=0.7.0|<0.8.0") == ["0.7.14"])
        #expect(try await versions("vers:cargo/<0.7.0") == ["0.6.23"])
        #expect(try await versions("vers:cargo/*").sorted() == ["0.6.23", "0.7.14"])
        #expect(try await versions("vers:cargo/>=0.6.100") == ["0.7.14"], "0.6.100 orders after 0.6.23, not as text")
        #expect(try await s.call("GET", "/v1/components?type=cargo&name=mio&range=%3E1", token: admin).errorField == "range")
        #expect(try await s.call("GET", "/v1/agents/nobody/releases", token: admin).status == 404)
        #expect(try await s.call("GET", "/v1/agents/collector/releases/9.9.9", token: admin).status == 404)
        // Stored with a digest, the same SBOM again without one contradicts nothing (found by review).
        let digest = "?artifact=sha256:" + String(repeating: "b", count: 64)
        #expect(try await s.call("POST", "/v1/agents/collector/releases/1.2.4" + digest, token: admin, body: cdx).status == 201)
        #expect(try await s.call("POST", "/v1/agents/collector/releases/1.2.4", token: admin, body: cdx).status == 200)
        #expect(try await s.call("POST", "/v1/agents/collector/releases/1.2.4" + digest, token: admin, body: cdx).status == 200)
    }

    /// Components without a readable purl are kept and listed as not checked: dropped, a vulnerable one
    /// read as clean (found by helper-74).
    @Test(arguments: FleetBackend.allCases) func componentsWithoutAPurlAreNotCheckedNotDropped(_ backend: FleetBackend) async throws {
        let s = try FleetServerProcess(backend: backend)
        let admin = try s.token("admin")
        let sbom = Data(#"""
            {"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[
             {"type":"library","name":"lodash","version":"4.17.15"},
             {"type":"library","name":"left-pad","version":"1.3.0","purl":"not a purl"},
             {"type":"library","name":"minimist","version":"1.2.6","purl":"pkg:npm/minimist@1.2.6"},
             {"type":"library","bom-ref":"ref-9","name":"","purl":"pkg:"}]}
            """#.utf8)
        let pushed = try await s.call("POST", "/v1/agents/collector/releases/1.0.0", token: admin, body: sbom)
        #expect(pushed.status == 201 && pushed.json["components"] as? Int == 4, "\(String(decoding: pushed.body, as: UTF8.self))")
        let findings = try await s.call("GET", "/v1/agents/collector/releases/1.0.0/findings", token: admin)
        let groups = findings.json["notChecked"] as? [[String: Any]] ?? []
        let unreadable = groups.first { $0["group"] as? String == "unreadable" }
        #expect(unreadable?["packages"] as? Int == 3, "\(groups)")
        #expect((unreadable?["purls"] as? [String])?.sorted() == ["(no purl) left-pad@1.3.0", "(no purl) lodash@4.17.15", "(no purl) ref-9"], "\(groups)")
    }

    /// What a release's SBOM says its maker could not read (its known unknowns, or a composition it
    /// calls incomplete) is listed as not checked, for the release and the fleet: the fleet had answered
    /// "no findings, nothing unchecked" for a release whose SBOM admits it is partial.
    @Test(arguments: FleetBackend.allCases) func whatTheSBOMSaysItCouldNotReadIsNotChecked(_ backend: FleetBackend) async throws {
        let s = try FleetServerProcess(backend: backend)
        let admin = try s.token("admin")
        let partial = Data(#"""
            {"bomFormat":"CycloneDX","specVersion":"1.5","version":1,
             "metadata":{"properties":[{"name":"provenant:known-unknown","value":"app/lib/agent.jar: not a zip archive"}]},
             "components":[{"type":"library","name":"minimist","version":"1.2.6","purl":"pkg:npm/minimist@1.2.6"}]}
            """#.utf8)
        let incomplete = Data(#"""
            {"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"compositions":[{"aggregate":"incomplete"}],
             "components":[{"type":"library","name":"minimist","version":"1.2.6","purl":"pkg:npm/minimist@1.2.6"}]}
            """#.utf8)
        let whole = Data(#"""
            {"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"type":"library","name":"minimist","version":"1.2.6","purl":"pkg:npm/minimist@1.2.6"}]}
            """#.utf8)
        for (version, body) in [("1", partial), ("2", incomplete), ("3", whole)] {
            #expect(try await s.call("POST", "/v1/agents/collector/releases/\(version)", token: admin, body: body).status == 201)
            #expect(try await s.call("POST", "/v1/deployments", token: admin, body: Data(#"{"agent":"collector","version":"\#(version)","environment":"e\#(version)","cluster":"c"}"#.utf8)).status == 201)
        }
        func sbomGroup(_ version: String) async throws -> [String: Any]? {
            let r = try await s.call("GET", "/v1/agents/collector/releases/\(version)/findings", token: admin)
            #expect(r.status == 200)
            return (r.json["notChecked"] as? [[String: Any]] ?? []).first { $0["group"] as? String == "sbom" }
        }
        let one = try await sbomGroup("1")
        #expect(one?["packages"] as? Int == 1 && (one?["purls"] as? [String])?.first?.contains("app/lib/agent.jar: not a zip archive") == true, "\(String(describing: one))")
        #expect((try await sbomGroup("2")?["purls"] as? [String])?.first?.contains("incomplete") == true)
        #expect(try await sbomGroup("3") == nil)
        let fleet = try await s.call("GET", "/v1/findings", token: admin)
        // Each release's minimist is not checked too (the database holds no npm advisories); 1 and 2 add their SBOM's unread input.
        var counts: [String: Int] = [:]
        for r in fleet.json["notChecked"] as? [[String: Any]] ?? [] { counts[r["version"] as? String ?? "?"] = r["packages"] as? Int }
        #expect(fleet.status == 200 && counts == ["1": 2, "2": 2, "3": 1], "\(String(decoding: fleet.body, as: UTF8.self))")

        // A release stored before the server kept them (the column NULL) is not known to be whole: said
        // so, and the same SBOM pushed again records them.
        func forgetUnreadInputs() throws {
            let forget = "UPDATE releases SET unread_inputs = NULL"
            switch backend {
            case .sqlite:
                let r = try runProcess("python3", ["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()", s.database, forget])
                #expect(r.code == 0, "\(r.err)")
            case .postgres:
                _ = try FleetBackend.cluster.get().psql(s.database, forget)
            }
        }
        try forgetUnreadInputs()
        let old = try await sbomGroup("3")
        #expect(old?["packages"] as? Int == 1 && (old?["reason"] as? String)?.contains("the same SBOM is pushed again") == true, "\(String(describing: old))")
        #expect(try await s.call("POST", "/v1/agents/collector/releases/3", token: admin, body: whole).status == 200)
        #expect(try await sbomGroup("3") == nil)
        #expect(try await s.call("POST", "/v1/agents/collector/releases/1", token: admin, body: partial).status == 200)
        #expect((try await sbomGroup("1")?["purls"] as? [String])?.first?.contains("app/lib/agent.jar") == true)
        // A server that starts records them from the stored SBOMs, with no push; the fleet's counts follow.
        try forgetUnreadInputs()
        // (A release never goes back to not recorded; an import changes the database state, so this
        // server judges its fleet again and counts release 3 as not recorded.)
        let advisory = #"{"id":"PYSEC-2099-7","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"PyPI","name":"nothing-here"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}"#
        #expect(try await s.call("POST", "/v1/advisories/import", token: admin, body: Data(advisory.utf8)).status == 200)
        let before = try await s.call("GET", "/v1/findings", token: admin)
        #expect((before.json["notChecked"] as? [[String: Any]] ?? []).first { $0["version"] as? String == "3" }?["packages"] as? Int == 2, "\(String(decoding: before.body, as: UTF8.self))")
        let restarted = try FleetServerProcess(backend: backend, sharing: s)
        // The pass goes in id order: release 3 is the last one it records.
        var recorded = false
        for _ in 0..<50 where !recorded {
            let r = try await restarted.call("GET", "/v1/agents/collector/releases/3/findings", token: admin)
            recorded = r.status == 200 && !(r.json["notChecked"] as? [[String: Any]] ?? []).contains { $0["group"] as? String == "sbom" }
            if !recorded { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(recorded, "release 3 recorded at start")
        #expect((try await sbomGroup("1")?["purls"] as? [String])?.first?.contains("app/lib/agent.jar") == true, "release 1's unread input recorded at start")
        let after = try await restarted.call("GET", "/v1/findings", token: admin)
        var afterCounts: [String: Int] = [:]
        for r in after.json["notChecked"] as? [[String: Any]] ?? [] { afterCounts[r["version"] as? String ?? "?"] = r["packages"] as? Int }
        #expect(afterCounts == ["1": 2, "2": 2, "3": 1], "\(String(decoding: after.body, as: UTF8.self))")
        // The first server had counted release 3's unknown state; what the other recorded since is seen.
        let first = try await s.call("GET", "/v1/findings", token: admin)
        #expect((first.json["notChecked"] as? [[String: Any]] ?? []).first { $0["version"] as? String == "3" }?["packages"] as? Int == 1, "\(String(decoding: first.body, as: UTF8.self))")
    }

    @Test(arguments: FleetBackend.allCases) func badInputIsRefusedNamingTheFieldAndNothingIsStored(_ backend: FleetBackend) async throws {
        let s = try FleetServerProcess(["--max-body-mib", "1"], backend: backend)
        let admin = try s.token("admin")
        let malformed = try await s.call("POST", "/v1/agents/a/releases/1", token: admin, body: Data(#"{"bomFormat":"CycloneDX","components":[{"#.utf8))
        #expect(malformed.status == 400 && malformed.errorField == "body")
        let unknown = try await s.call("POST", "/v1/agents/a/releases/1", token: admin, body: Data(#"{"hello":"world"}"#.utf8))
        #expect(unknown.status == 415 && unknown.errorField == "body")
        let notJSON = try await s.call("POST", "/v1/agents/a/releases/1", token: admin, body: Data("<bom/>".utf8))
        #expect(notJSON.status == 415)
        let big = Data(#"{"bomFormat":"CycloneDX","x":""#.utf8) + Data(repeating: 0x61, count: 2 << 20) + Data(#""}"#.utf8)
        let tooLarge = try await s.call("POST", "/v1/agents/a/releases/1", token: admin, body: big)
        #expect(tooLarge.status == 413 && tooLarge.errorField == "body")
        let badName = try await s.call("POST", "/v1/agents/a%20b/releases/1", token: admin, body: Data("{}".utf8))
        #expect(badName.status == 400 && badName.errorField == "agent")
        let deployment = try await s.call("POST", "/v1/deployments", token: admin, body: Data(#"{"agent":"a","version":"1","environment":"prod","cluster":"c","extra":1}"#.utf8))
        #expect(deployment.status == 400 && deployment.errorField == "body" && deployment.body.range(of: Data("'extra'".utf8)) != nil)
        // Found by fuzzing: an empty key gave an empty field name. Keys are named in the message only, redacted.
        let token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
        let keyed = try await s.call("POST", "/v1/deployments", token: admin, body: Data(#"{"agent":"a","version":"1","environment":"prod","cluster":"c","\#(token)":1,"":2}"#.utf8))
        #expect(keyed.status == 400 && keyed.errorField == "body" && keyed.body.range(of: Data(token.utf8)) == nil)
        let missing = try await s.call("POST", "/v1/deployments", token: admin, body: Data(#"{"agent":"a","version":"1","environment":"prod"}"#.utf8))
        #expect(missing.status == 400 && missing.errorField == "cluster")
        let noRelease = try await s.call("POST", "/v1/deployments", token: admin, body: Data(#"{"agent":"a","version":"1","environment":"prod","cluster":"c"}"#.utf8))
        #expect(noRelease.status == 404)
        // Documents readers could take two ways, and a name that is a credential (found by helper-97).
        let lodash = #"{"name":"lodash","versionInfo":"4.17.20","SPDXID":"SPDXRef-l","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:npm/lodash@4.17.20"}]}"#
        for (what, body) in [
            ("both formats", #"{"bomFormat":"CycloneDX","specVersion":"1.6","spdxVersion":"SPDX-2.3","packages":[\#(lodash)]}"#),
            ("a repeated list", #"{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","packages":[\#(lodash)],"packages":[]}"#),
            ("an unknown major version", #"{"spdxVersion":"SPDX-3.0","@graph":[]}"#),
            ("CycloneDX 99", #"{"bomFormat":"CycloneDX","specVersion":"99.0","components":[]}"#),
            // Without its package list at all it said nothing, and was stored as a clean release.
            ("no components list", #"{"bomFormat":"CycloneDX","specVersion":"1.6","component":[{"type":"library","name":"lodash","purl":"pkg:npm/lodash@4.17.20"}]}"#),
            ("no packages list", #"{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"x"}"#),
        ] {
            let r = try await s.call("POST", "/v1/agents/a/releases/1", token: admin, body: Data(body.utf8))
            #expect(r.status == 400 && r.errorField == "body", "\(what): \(r.status) \(String(decoding: r.body, as: UTF8.self))")
        }
        let secretName = try await s.call("POST", "/v1/agents/ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef012345/releases/1", token: admin,
                                          body: Data(#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}"#.utf8))
        #expect(secretName.status == 400 && secretName.body.range(of: Data("ABCDEFGHIJKLMNOP".utf8)) == nil, "\(String(decoding: secretName.body, as: UTF8.self))")
        // A name of megabytes held every push behind it in the redactor for seconds a megabyte (helper-137).
        let long = String(repeating: "b", count: 5000)
        let longName = try await s.call("POST", "/v1/agents/a/releases/1", token: admin,
                                        body: Data(#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"\#(long)","purl":"pkg:npm/x@1"}]}"#.utf8))
        #expect(longName.status == 413 && String(decoding: longName.body, as: UTF8.self).contains("'name' text is 5000 bytes, more than the 4096"), "\(String(decoding: longName.body, as: UTF8.self))")
        // The server's own tokens too: the admin token was taken as an agent name and listed whole (helper-137).
        let ownToken = try await s.call("POST", "/v1/agents/\(admin)/releases/1", token: admin,
                                        body: Data(#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}"#.utf8))
        #expect(ownToken.status == 400 && ownToken.body.range(of: Data(admin.utf8)) == nil, "\(String(decoding: ownToken.body, as: UTF8.self))")
        let agents = try await s.call("GET", "/v1/agents", token: admin).json["agents"] as? [[String: Any]]
        #expect(agents?.isEmpty == true, "nothing stored")
    }

    @Test(arguments: FleetBackend.allCases) func deploymentsSayWhatRunsWhere(_ backend: FleetBackend) async throws {
        let s = try FleetServerProcess(backend: backend)
        let admin = try s.token("admin")
        let cdx = try FleetFixtures.sbom("package-lock-v3.json", format: "cyclonedx-json", in: s.dir)
        for v in ["1.0.0", "1.1.0"] { #expect(try await s.call("POST", "/v1/agents/collector/releases/\(v)", token: admin, body: cdx).status == 201) }
        func deploy(_ v: String, _ env: String) async throws -> Int {
            try await s.call("POST", "/v1/deployments", token: admin, body: Data(#"{"agent":"collector","version":"\#(v)","environment":"\#(env)","cluster":"eu-1"}"#.utf8)).status
        }
        #expect(try await deploy("1.0.0", "production") == 201)
        #expect(try await deploy("1.1.0", "staging") == 201)
        #expect(try await deploy("1.1.0", "production") == 201, "replaces 1.0.0 in production on eu-1")
        let old = try await s.call("GET", "/v1/agents/collector/releases/1.0.0", token: admin).json
        #expect((old["deployments"] as? [Any])?.isEmpty == true)
        let new = try await s.call("GET", "/v1/agents/collector/releases/1.1.0", token: admin).json
        #expect((new["deployments"] as? [[String: String]])?.map { $0["environment"] ?? "" } == ["production", "staging"])
        let agents = try await s.call("GET", "/v1/agents", token: admin).json["agents"] as? [[String: Any]]
        #expect(agents?.first?["environments"] as? [String] == ["production", "staging"])
    }

    /// Drift between two stored releases is `diff` over the SBOMs as pushed: a crate re-published
    /// under the same version (its checksum changed) is tampered, a dropped crate removed.
    @Test(arguments: FleetBackend.allCases) func driftBetweenReleasesIsTheDiffOfTheirSBOMs(_ backend: FleetBackend) async throws {
        let s = try FleetServerProcess(backend: backend)
        let ingest = try s.token("ingest:collector"), read = try s.token("read")
        let before = try FleetFixtures.sbom("Cargom.lock", format: "cyclonedx-json", in: s.dir)
        var doc = try #require(try JSONSerialization.jsonObject(with: before) as? [String: Any])
        var components = try #require(doc["components"] as? [[String: Any]])
        let hashed = try #require(components.firstIndex { ($0["hashes"] as? [[String: Any]])?.isEmpty == false })
        let tamperedPurl = try #require(components[hashed]["purl"] as? String)
        components[hashed]["hashes"] = [["alg": "SHA-256", "content": String(repeating: "ab", count: 32)]]
        let removed = components.remove(at: hashed == 0 ? 1 : 0)
        doc["components"] = components
        let after = try JSONSerialization.data(withJSONObject: doc)
        #expect(try await s.call("POST", "/v1/agents/collector/releases/1.0.0", token: ingest, body: before).status == 201)
        #expect(try await s.call("POST", "/v1/agents/collector/releases/1.0.1", token: ingest, body: after).status == 201)
        let drift = try await s.call("GET", "/v1/agents/collector/releases/1.0.1/drift?from=1.0.0", token: read)
        #expect(drift.status == 200)
        let findings = drift.json["findings"] as? [[String: Any]] ?? []
        #expect(findings.contains { $0["rule"] as? String == "drift:tampered" && ($0["subject"] as? String).map { tamperedPurl.hasPrefix($0) } == true }, "\(findings)")
        #expect(findings.contains { $0["rule"] as? String == "drift:removed" && ($0["subject"] as? String).map { (removed["purl"] as? String ?? "").hasPrefix($0) } == true })
        #expect(findings.count == 2, "\(findings)")
        // Against itself: nothing.
        let same = try await s.call("GET", "/v1/agents/collector/releases/1.0.0/drift?from=1.0.0", token: read)
        #expect((same.json["findings"] as? [Any])?.isEmpty == true)
        #expect(try await s.call("GET", "/v1/agents/collector/releases/1.0.1/drift?from=9.9", token: read).status == 404)
        #expect(try await s.call("GET", "/v1/agents/collector/releases/1.0.1/drift", token: read).status == 400)
        #expect(try await s.call("GET", "/v1/agents/collector/releases/1.0.1/drift?from=1.0.0", token: ingest).status == 403)
        #expect((drift.json["notChecked"] as? [Any])?.isEmpty == true)
        // A side that says it could not read an input is NOT CHECKED, as `diff` says (helper-145): the
        // answer read as one low removal and clean otherwise.
        var partial = doc
        partial["metadata"] = ["properties": [["name": "provenant:known-unknown", "value": "app/vendor.lock: cannot read"]]]
        #expect(try await s.call("POST", "/v1/agents/collector/releases/1.0.2", token: ingest, body: try JSONSerialization.data(withJSONObject: partial)).status == 201)
        let unread = try await s.call("GET", "/v1/agents/collector/releases/1.0.2/drift?from=1.0.0", token: read)
        let notChecked = unread.json["notChecked"] as? [String] ?? []
        #expect(notChecked.count == 1 && notChecked[0].hasPrefix("1.0.2: ") && notChecked[0].contains("vendor.lock"), "\(unread.json)")
        #expect((unread.json["notes"] as? [String] ?? []).contains { $0.hasPrefix("NOT CHECKED") })

        // Components without a purl are compared by name: dropped, a downgrade among them read as no
        // drift (found by helper-97).
        func bare(_ version: String, zlib: String) -> Data {
            let doc: [String: Any] = ["bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [
                ["type": "library", "name": "openssl", "version": version],
                ["type": "library", "name": "zlib", "version": "1.3", "hashes": [["alg": "SHA-256", "content": String(repeating: zlib, count: 64)]]],
            ]]
            return try! JSONSerialization.data(withJSONObject: doc)
        }
        #expect(try await s.call("POST", "/v1/agents/collector/releases/2.0.0", token: ingest, body: bare("3.0.13", zlib: "a")).status == 201)
        #expect(try await s.call("POST", "/v1/agents/collector/releases/2.0.1", token: ingest, body: bare("1.0.1", zlib: "b")).status == 201)
        let bareDrift = try await s.call("GET", "/v1/agents/collector/releases/2.0.1/drift?from=2.0.0", token: read)
        let bareRules = Set((bareDrift.json["findings"] as? [[String: Any]] ?? []).compactMap { $0["rule"] as? String })
        #expect(bareRules.contains("drift:downgraded") && bareRules.contains("drift:tampered"), "\(bareDrift.json)")
        let tamperedSubject = (bareDrift.json["findings"] as? [[String: Any]] ?? []).first { $0["rule"] as? String == "drift:tampered" }?["subject"] as? String
        #expect(tamperedSubject == "(no purl) zlib@1.3", "named, not redacted: \(String(describing: tamperedSubject))")
    }

    /// `--tls-cert/--tls-key`: HTTPS with the given chain; the key must be the owner's only.
    @Test func tlsServesHTTPSWithTheGivenCertificate() async throws {
        let dir = try scratchDirectory("fleet-tls")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let made = try runProcess("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                                              "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
        try #require(made.code == 0, "\(made.err)")
        #expect(chmod(key, 0o644) == 0)
        let open = try runProcess(provenantBinary, ["server", "--database", "sqlite:" + dir.appendingPathComponent("f.sqlite").path, "--listen", "127.0.0.1:0",
                                                    "--tls-cert", cert, "--tls-key", key])
        #expect(open.code == 2 && open.err.contains("chmod 600"), "a key others can read is refused: \(open.err)")
        #expect(chmod(key, 0o600) == 0)
        let s = try FleetServerProcess(["--tls-cert", cert, "--tls-key", key])
        #expect(s.base.hasPrefix("https://"))
        let secure = try runProcess("curl", ["-s", "--cacert", cert, "-o", "/dev/null", "-w", "%{http_code}", s.base + "/healthz"])
        #expect(secure.out == "200", "\(secure.err)")
        let plain = try runProcess("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", s.base.replacingOccurrences(of: "https://", with: "http://") + "/healthz"])
        #expect(plain.out != "200", "plain HTTP is not served on the TLS port")
        // Over TLS every answer, an error too, tells browsers to use HTTPS only.
        // And what the router answers by itself: a method no route has was a 404 without it (Left undone).
        for (method, path) in [("GET", "/healthz"), ("GET", "/"), ("GET", "/v1/agents"), ("DELETE", "/healthz")] {
            let head = try runProcess("curl", ["-s", "-X", method, "--cacert", cert, "-o", "/dev/null", "-D", "-", s.base + path])
            #expect(head.out.lowercased().contains("strict-transport-security: max-age=31536000"), "\(path): \(head.out)")
        }
        // And the 400 Hummingbird answers to a request NIO cannot parse, which no responder sees: an
        // oversized header (Left undone, helper-169 #7).
        let big = dir.appendingPathComponent("big-header.txt")
        try ("X-Big: " + String(repeating: "a", count: 300_000) + "\n").write(to: big, atomically: true, encoding: .utf8)
        let refused = try runProcess("curl", ["-s", "--cacert", cert, "-o", "/dev/null", "-D", "-", "-H", "@" + big.path, s.base + "/healthz"])
        #expect(refused.out.hasPrefix("HTTP/1.1 400"), "\(refused.out) \(refused.err)")
        #expect(refused.out.lowercased().contains("strict-transport-security: max-age=31536000"), "\(refused.out)")
        let plainServer = try FleetServerProcess()
        let plainHead = try runProcess("curl", ["-s", "-o", "/dev/null", "-D", "-", plainServer.base + "/healthz"])
        #expect(plainHead.code == 0 && !plainHead.out.lowercased().contains("strict-transport-security"), "not over plain HTTP: \(plainHead.out)")
        let untrusted = try runProcess("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", s.base + "/healthz"])
        #expect(untrusted.code != 0, "a client that does not trust the certificate refuses it")
        // `push --ca-file` trusts the private CA.
        let ingest = try s.token("ingest:collector")
        let sbomPath = dir.appendingPathComponent("push.cdx.json")
        try FleetFixtures.sbom("Cargom.lock", format: "cyclonedx-json", in: dir).write(to: sbomPath)
        let pushed = try runProcess(provenantBinary, ["push", "--server", s.base, "--ca-file", cert, "--agent", "collector", "--version", "1", sbomPath.path],
                                    env: ["PROVENANT_SERVER_TOKEN": ingest])
        #expect(pushed.code == 0, "\(pushed.err)")
        let stored = try runProcess("curl", ["-s", "--cacert", cert, "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer " + (try s.token("read")),
                                             s.base + "/v1/agents/collector/releases/1"])
        #expect(stored.out == "200", "the pushed release is stored")
    }

    @Test(arguments: FleetBackend.allCases) func tokensArePrintedOnceAndStoredHashed(_ backend: FleetBackend) async throws {
        let s = try FleetServerProcess(backend: backend)
        let token = try s.token("ingest:collector")
        #expect(token.hasPrefix("pvt_") && token.count == 47)
        switch backend {
        case .sqlite:
            let db = try Data(contentsOf: URL(fileURLWithPath: s.database))
            let wal = (try? Data(contentsOf: URL(fileURLWithPath: s.database + "-wal"))) ?? Data()
            #expect(db.range(of: Data(token.utf8)) == nil && wal.range(of: Data(token.utf8)) == nil, "only the hash is stored")
            let mode = try FileManager.default.attributesOfItem(atPath: s.database)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        case .postgres:
            let stored = try FleetBackend.cluster.get().psql(s.database, "SELECT hash || ' ' || scope || ' ' || agent FROM tokens")
            #expect(!stored.contains(token) && stored.contains("ingest collector"), "only the hash is stored: \(stored)")
            #expect(stored.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").first?.count == 64)
        }
        // A scope with an empty part is refused: `ingest:` (an unset `$AGENT`) was every agent's
        // ingest, and `:admin` admin (found by helper-97).
        for scope in ["ingest:../x", "ingest:", ":admin", "admin:", "read:", ":"] {
            let bad = try runProcess(provenantBinary, ["server", "token", "create", "--database", s.databaseArgument, "--scope", scope])
            #expect(bad.code == 2, "\(scope): \(bad.out)")
        }
    }

    @Test(arguments: FleetBackend.allCases) func pushSendsTheSBOMAndTheDeployment(_ backend: FleetBackend) async throws {
        let s = try FleetServerProcess(backend: backend)
        let ingest = try s.token("ingest:collector")
        let read = try s.token("read")
        let sbomPath = s.dir.appendingPathComponent("push.cdx.json")
        try FleetFixtures.sbom("package-lock-v3.json", format: "cyclonedx-json", in: s.dir).write(to: sbomPath)
        let ok = try runProcess(provenantBinary, ["push", "--server", s.base, "--agent", "collector", "--version", "2.0.0", "--deployment", "production", sbomPath.path],
                                env: ["PROVENANT_SERVER_TOKEN": ingest])
        #expect(ok.code == 0, "\(ok.err)")
        let release = try await s.call("GET", "/v1/agents/collector/releases/2.0.0", token: read).json
        #expect((release["deployments"] as? [[String: String]])?.first?["environment"] == "production")
        let refused = try runProcess(provenantBinary, ["push", "--server", s.base, "--agent", "other", "--version", "1", sbomPath.path],
                                     env: ["PROVENANT_SERVER_TOKEN": ingest])
        #expect(refused.code == 1 && refused.err.contains("403"))
        // A server that cannot be reached is named without the password in its URL (found by helper-74).
        let password = "S3cretPassw0rdXyz"
        let unreachable = try runProcess(provenantBinary, ["push", "--server", "http://deploy:\(password)@127.0.0.1:1", "--agent", "collector", "--version", "3", sbomPath.path],
                                         env: ["PROVENANT_SERVER_TOKEN": ingest])
        #expect(unreachable.code != 0 && unreachable.err.contains("cannot reach") && !unreachable.err.contains(password), "\(unreachable.err)")
        // Plain http carries the token in clear: only to this machine, unless asked for (helper-207).
        for host in ["fleet.example", "10.1.2.3", "[2001:db8::1]"] {
            let clear = try runProcess(provenantBinary, ["push", "--server", "http://\(host):8080", "--agent", "collector", "--version", "3", sbomPath.path],
                                       env: ["PROVENANT_SERVER_TOKEN": ingest])
            #expect(clear.code == 2 && clear.err.contains("--insecure-http") && !clear.err.contains(ingest), "\(host): \(clear.err)")
        }
        // 0.0.0.0 is not loopback by name, and a connection to it is refused at once on Linux.
        let asked = try runProcess(provenantBinary, ["push", "--server", "http://0.0.0.0:1", "--insecure-http", "--agent", "collector", "--version", "3", sbomPath.path],
                                   env: ["PROVENANT_SERVER_TOKEN": ingest])
        #expect(asked.err.contains("cannot reach") && !asked.err.contains("--insecure-http"), "asked for: tried, not refused: \(asked.err)")
        for loopback in ["localhost", "127.0.0.2", "[::1]"] {
            let local = try runProcess(provenantBinary, ["push", "--server", "http://\(loopback):1", "--agent", "collector", "--version", "3", sbomPath.path],
                                       env: ["PROVENANT_SERVER_TOKEN": ingest])
            #expect(local.err.contains("cannot reach") && !local.err.contains("--insecure-http"), "\(loopback): \(local.err)")
        }
        #expect(!refused.err.contains(ingest), "the token is never printed")
        let noToken = try runProcess(provenantBinary, ["push", "--server", s.base, "--agent", "collector", "--version", "3", sbomPath.path])
        #expect(noToken.code == 2)
    }
}
