import Foundation
import Testing
import TestSupport

/// Issue 16: several servers on one PostgreSQL database, each with an OSV database of its own that
/// is a cache of the advisory log they share. An advisory imported through one is matched by all.
@Suite(.serialized) struct FleetReplicaTests {
    static func advisory(_ id: String) throws -> Data {
        try Data(contentsOf: Bundle.module.url(forResource: id, withExtension: "json", subdirectory: "Fixtures/advisories")!)
    }

    @Test func replicasOnOnePostgreSQLShareTheAdvisoriesOneImports() async throws {
        let a = try FleetServerProcess(backend: .postgres)
        let b = try FleetServerProcess(backend: .postgres, sharing: a)
        let admin = try a.token("admin")
        let cargo = try FleetFixtures.sbom("Cargom.lock", format: "cyclonedx-json", in: a.dir)
        #expect(try await a.call("POST", "/v1/agents/collector/releases/1.0.0", token: admin, body: cargo).status == 201)
        let deploy = #"{"agent":"collector","version":"1.0.0","environment":"production","cluster":"eu-1"}"#
        #expect(try await a.call("POST", "/v1/deployments", token: admin, body: Data(deploy.utf8)).status == 201)

        // Imported through B: B's re-match finds the release A stored.
        let imported = try await b.call("POST", "/v1/advisories/import", token: admin, body: try Self.advisory("RUSTSEC-2024-0019"))
        #expect(imported.status == 200 && imported.json["added"] as? Int == 1 && imported.json["newDeployedFindings"] as? Int == 1, "\(imported.json)")

        // A never saw the import, yet answers for it, by alias, from the shared log.
        let affected = try await a.call("GET", "/v1/vulnerabilities/CVE-2024-27308/affected", token: admin)
        #expect(affected.status == 200, "\(String(decoding: affected.body, as: UTF8.self))")
        #expect((affected.json["affected"] as? [[String: Any]])?.map { $0["agent"] as? String } == ["collector"])
        // A release pushed to A afterwards is matched against it.
        #expect(try await a.call("POST", "/v1/agents/other/releases/1.0.0", token: admin, body: cargo).status == 201)
        let findings = try await a.call("GET", "/v1/agents/other/releases/1.0.0/findings", token: admin)
        #expect((findings.json["findings"] as? [[String: Any]])?.map { $0["id"] as? String } == ["RUSTSEC-2024-0019"], "\(findings.json)")
        // The same record through A changes nothing: A's cache already holds it.
        let again = try await a.call("POST", "/v1/advisories/import", token: admin, body: try Self.advisory("RUSTSEC-2024-0019"))
        #expect(again.json["unchanged"] as? Int == 1 && again.json["componentsRematched"] as? Int == 0, "\(again.json)")

        // An import waits for the advisory lock another replica (here: psql) holds: pg_locks shows it
        // waiting, and it answers only once the holder lets go. No timing guess: a loaded machine may
        // take seconds to start psql or to reach the lock.
        let cluster = try FleetBackend.cluster.get()
        let lock = "locktype = 'advisory' AND objid = \(0x6F73_7669)"
        let holder = try cluster.psqlInBackground(a.database, "SELECT pg_advisory_lock(\(0x6F73_7669)); SELECT pg_sleep(600)")
        func count(_ condition: String) throws -> String {
            try cluster.psql(a.database, "SELECT count(*) FROM pg_locks WHERE \(lock) AND \(condition)").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var polls = 0
        while polls < 600, try count("granted") != "1" {
            try await Task.sleep(for: .milliseconds(100))
            polls += 1
        }
        #expect(try count("granted") == "1", "psql never took the lock")
        let body = try Self.advisory("RUSTSEC-2022-0013")
        let waiting = Task { try await a.call("POST", "/v1/advisories/import", token: admin, body: body) }
        polls = 0
        while polls < 600, try count("NOT granted") != "1" {
            try await Task.sleep(for: .milliseconds(100))
            polls += 1
        }
        #expect(try count("NOT granted") == "1", "the import never waited for the lock")
        #expect(try count("granted") == "1", "the holder let go before it was told to")
        _ = try cluster.psql(a.database, "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE \(lock) AND granted")
        let waited = try await waiting.value
        #expect(waited.status == 200, "\(waited.json)")
        holder.waitUntilExit()

        // Imports through both at once both land.
        async let first = a.call("POST", "/v1/advisories/import", token: admin, body: try Self.advisory("RUSTSEC-2022-0013"))
        var moved = try JSONSerialization.jsonObject(with: try Self.advisory("RUSTSEC-2024-0019")) as! [String: Any]
        moved["modified"] = "2099-01-01T00:00:00Z"
        async let second = b.call("POST", "/v1/advisories/import", token: admin, body: try JSONSerialization.data(withJSONObject: moved))
        let (one, two) = try await (first, second)
        #expect(one.status == 200 && two.status == 200 && two.json["updated"] as? Int == 1, "\(one.json) \(two.json)")

        // A new replica starts with an empty cache and rebuilds it from the log before serving.
        let c = try FleetServerProcess(backend: .postgres, sharing: a)
        for id in ["RUSTSEC-2022-0013", "RUSTSEC-2024-0019"] {
            #expect(try await c.call("GET", "/v1/vulnerabilities/\(id)/affected", token: admin).status == 200, "\(id)")
        }
        // Names an import wrote down and has not re-matched are not checked, whatever the findings say.
        _ = try cluster.psql(a.database, "INSERT INTO pending_rematch (ecosystem, name) VALUES ('crates.io', 'mio')")
        let pending = try await a.call("GET", "/v1/agents/collector/releases/1.0.0/findings", token: admin)
        let groups = pending.json["notChecked"] as? [[String: Any]] ?? []
        #expect(groups.contains { $0["group"] as? String == "pending" && ($0["purls"] as? [String])?.contains("pkg:cargo/mio@0.7.14") == true }, "\(groups)")
        let log = try FleetBackend.cluster.get().psql(URL(string: a.database)!.lastPathComponent, "SELECT id || ' ' || modified FROM osv_records ORDER BY seq")
        #expect(log.split(separator: "\n").count == 3, "one row per record version: \(log)")
    }
}
