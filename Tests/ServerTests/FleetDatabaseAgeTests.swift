import Foundation
import Testing

/// `server --max-db-age`: components of an ecosystem whose advisories are too old, or of an unknown
/// age, are NOT CHECKED in the release's and the fleet's answers, as `scan --max-db-age` says them.
/// An import dates an ecosystem only when it names it with `as_of` and the body is a whole export of it;
/// on PostgreSQL, a replica takes the date up from the shared database.
@Suite(.serialized) struct FleetDatabaseAgeTests {
    static let pypi = #"{"id":"PYSEC-2099-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"PyPI","name":"requests"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.31.0"}]}]}]}"#
    static let npm = #"{"id":"GHSA-2099-aaaa-bbbb","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"left-pad"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.0.0"}]}]}]}"#
    static let sbom = #"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"requests","version":"2.0.0","purl":"pkg:pypi/requests@2.0.0"},{"type":"library","name":"left-pad","version":"1.3.0","purl":"pkg:npm/left-pad@1.3.0"}]}"#

    /// The release's NOT CHECKED groups by name, with their reasons, and its finding ids.
    static func release(_ s: FleetServerProcess, _ token: String) async throws -> (groups: [String: String], findings: [String]) {
        let r = try await s.call("GET", "/v1/agents/alpha/releases/1/findings", token: token)
        #expect(r.status == 200 && r.json["notChecked"] is [Any], "\(r.status) \(String(decoding: r.body, as: UTF8.self))")
        var groups: [String: String] = [:]
        for g in r.json["notChecked"] as? [[String: Any]] ?? [] { groups[g["group"] as? String ?? "?"] = g["reason"] as? String ?? "" }
        return (groups, (r.json["findings"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }.sorted())
    }

    /// Components the fleet's answer lists as not checked for the deployed release alpha 1.
    static func fleet(_ s: FleetServerProcess, _ token: String) async throws -> Int {
        let r = try await s.call("GET", "/v1/findings", token: token)
        let listed = try #require(r.json["notChecked"] as? [[String: Any]], "\(r.status) \(String(decoding: r.body, as: UTF8.self))")
        #expect(r.status == 200 && listed.allSatisfy { $0["agent"] as? String == "alpha" && $0["version"] as? String == "1" }, "\(listed)")
        return try listed.first.map { try #require($0["packages"] as? Int) } ?? 0
    }

    static func query(_ asOf: String, _ ecosystems: String...) -> String {
        "/v1/advisories/import?as_of=" + asOf + ecosystems.map { "&ecosystem=" + $0 }.joined()
    }

    @Test(arguments: FleetBackend.allCases) func staleOrUndatedEcosystemsAreNotChecked(_ backend: FleetBackend) async throws {
        let s = try FleetServerProcess(["--max-db-age", "30"], backend: backend)
        let admin = try s.token("admin")
        #expect(try await s.call("POST", "/v1/agents/alpha/releases/1", token: admin, body: Data(Self.sbom.utf8)).status == 201)
        #expect(try await s.call("POST", "/v1/deployments", token: admin, body: Data(#"{"agent":"alpha","version":"1","environment":"production","cluster":"c"}"#.utf8)).status == 201)

        // Imported without as_of: the PyPI finding is listed, and PyPI is not checked as current.
        let plain = try await s.call("POST", "/v1/advisories/import", token: admin, body: Data(Self.pypi.utf8))
        #expect(plain.status == 200 && plain.json["current"] as? [String] == [], "\(String(decoding: plain.body, as: UTF8.self))")
        var seen = try await Self.release(s, admin)
        #expect(seen.findings == ["PYSEC-2099-1"])
        #expect(seen.groups["PyPI"]?.contains("is not known") == true && seen.groups["PyPI"]?.contains("as_of=TIME&ecosystem=PyPI") == true, "\(seen.groups)")
        #expect(seen.groups["npm"]?.contains("holds no npm advisories") == true, "\(seen.groups)")
        #expect(try await Self.fleet(s, admin) == 2)

        // Named with as_of, but the body is no export of crates.io: said, and nothing dated.
        let wrong = try await s.call("POST", Self.query("2026-01-01", "crates.io"), token: admin, body: Data(Self.pypi.utf8))
        #expect(wrong.status == 200 && wrong.json["current"] as? [String] == [] && (wrong.json["warnings"] as? [String])?.first?.contains("crates.io") == true,
                "\(String(decoding: wrong.body, as: UTF8.self))")
        seen = try await Self.release(s, admin)
        #expect(seen.groups["PyPI"]?.contains("is not known") == true, "\(seen.groups)")

        // A whole PyPI export fetched an hour ago: PyPI is current, the same records or not.
        let hourAgo = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-3600))
        let dated = try await s.call("POST", Self.query(hourAgo, "PyPI"), token: admin, body: Data(Self.pypi.utf8))
        #expect(dated.status == 200 && dated.json["current"] as? [String] == ["PyPI"] && dated.json["warnings"] as? [String] == [], "\(String(decoding: dated.body, as: UTF8.self))")
        seen = try await Self.release(s, admin)
        #expect(seen.groups["PyPI"] == nil && seen.findings == ["PYSEC-2099-1"], "\(seen)")
        #expect(try await Self.fleet(s, admin) == 1)

        // npm, fetched long ago: older than the limit. Its finding is listed all the same.
        #expect(try await s.call("POST", Self.query("2020-01-01", "npm"), token: admin, body: Data(Self.npm.utf8)).json["current"] as? [String] == ["npm"])
        seen = try await Self.release(s, admin)
        #expect(seen.groups["npm"] == "the database's npm advisories are as of 2020-01-01, older than --max-db-age 30 allows", "\(seen.groups)")
        #expect(seen.findings == ["GHSA-2099-aaaa-bbbb", "PYSEC-2099-1"])
        #expect(try await Self.fleet(s, admin) == 1)
        // An older as_of never moves PyPI back.
        #expect(try await s.call("POST", Self.query("2019-01-01", "PyPI"), token: admin, body: Data(Self.pypi.utf8)).json["current"] as? [String] == ["PyPI"])
        #expect(try await Self.release(s, admin).groups["PyPI"] == nil)
        // OSV ecosystem names hold spaces (Red Hat): one can be named, encoded, and the hint encodes it.
        let redHat = #"{"id":"RHSA-2099:0001","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Red Hat:enterprise_linux:9::baseos","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:3.0.7-1.el9"}]}]}]}"#
        let rh = try await s.call("POST", Self.query("2026-01-01", "Red%20Hat"), token: admin, body: Data(redHat.utf8))
        #expect(rh.status == 200 && (rh.json["current"] as? [String])?.contains("Red Hat") == true && rh.json["warnings"] as? [String] == [], "\(String(decoding: rh.body, as: UTF8.self))")

        // What cannot be read is refused, naming the field.
        for (q, field) in [("/v1/advisories/import?as_of=yesterday&ecosystem=PyPI", "as_of"), ("/v1/advisories/import?as_of=2026-01-01", "ecosystem"),
                           ("/v1/advisories/import?ecosystem=PyPI", "as_of"), ("/v1/advisories/import?as_of=2999-01-01&ecosystem=PyPI", "as_of"),
                           ("/v1/advisories/import?as_of=2026-01-01&ecosystem=%20PyPI", "ecosystem"),
                           ("/v1/advisories/import?as_of=2026-01-01&ecosystem=Py%E2%80%AEPI", "ecosystem"), ("/v1/advisories/import?as_of=2026-01-01&ecosystem=Py%0API", "ecosystem"),
                           ("/v1/advisories/import?as_of=2026-01-01&as_of=2026-01-02&ecosystem=PyPI", "as_of"), ("/v1/advisories/import?since=1", "query")] {
            let r = try await s.call("POST", q, token: admin, body: Data(Self.pypi.utf8))
            #expect(r.status == 400 && r.errorField == field, "\(q): \(r.status) \(String(decoding: r.body, as: UTF8.self))")
        }

        // A replica takes the dates up from the shared database, even when the log gained no record.
        guard backend == .postgres else { return }
        let b = try FleetServerProcess(["--max-db-age", "30"], backend: backend, sharing: s)
        #expect(try await Self.release(b, admin).groups.keys.sorted() == ["npm"])
        #expect(try await Self.release(b, admin).findings == ["GHSA-2099-aaaa-bbbb", "PYSEC-2099-1"])
        #expect(try await Self.fleet(b, admin) == 1)
        let now = ISO8601DateFormatter().string(from: Date())
        #expect(try await s.call("POST", Self.query(now, "npm"), token: admin, body: Data(Self.npm.utf8)).json["current"] as? [String] == ["npm"])
        #expect(try await Self.release(b, admin).groups.isEmpty)
        #expect(try await Self.fleet(b, admin) == 0)
    }

    /// Without --max-db-age nothing is not checked for its age, dated or not.
    @Test func withoutALimitAgeIsNotJudged() async throws {
        let s = try FleetServerProcess()
        let admin = try s.token("admin")
        #expect(try await s.call("POST", "/v1/agents/alpha/releases/1", token: admin, body: Data(Self.sbom.utf8)).status == 201)
        #expect(try await s.call("POST", Self.query("2020-01-01", "npm"), token: admin, body: Data(Self.npm.utf8)).status == 200)
        #expect(try await s.call("POST", "/v1/advisories/import", token: admin, body: Data(Self.pypi.utf8)).status == 200)
        let seen = try await Self.release(s, admin)
        #expect(seen.groups.isEmpty && seen.findings == ["GHSA-2099-aaaa-bbbb", "PYSEC-2099-1"], "\(seen)")
    }
}
