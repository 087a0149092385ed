import Foundation
import Testing
import TestSupport
@testable import Server

/// The link to PostgreSQL: `sslmode` is read, not ignored, and a remote host is verified by default.
/// The cluster `scripts/test` starts serves TLS with a certificate for the name localhost.
@Suite struct FleetPostgresTLSTests {
    typealias Address = PostgresFleetStore.Address

    @Test func sslmodeIsReadAndARemoteHostIsVerifiedByDefault() throws {
        func tls(_ url: String) -> Address.TLSMode? { Address(url, environment: [:])?.tls }
        #expect(tls("postgres://u@127.0.0.1/fleet") == .disable)
        #expect(tls("postgres://u@localhost:5433/fleet") == .disable)
        #expect(tls("postgres://u@[::1]/fleet") == .disable)
        #expect(tls("postgres://u@db.example/fleet") == .verifyFull, "a remote host: verified")
        #expect(tls("postgres://u@db.example/fleet?sslmode=disable") == .disable, "plain text when asked for by name")
        #expect(tls("postgres://u@db.example/fleet?sslmode=require") == .require)
        #expect(tls("postgres://u@10.0.0.5/fleet?sslmode=verify-ca&sslrootcert=/etc/ca.pem") == .verifyCA)
        #expect(Address("postgres://u@db.example/fleet?sslmode=verify-full&sslrootcert=/etc/ca.pem", environment: [:])?.rootCertificates == "/etc/ca.pem")
        for (url, words) in [("postgres://u@db.example/fleet?sslmode=prefer", "'prefer'"), ("postgres://u@db.example/fleet?sslmode=allow", "'allow'"),
                             ("postgres://u@db.example/fleet?sslmode=require&sslmode=disable", "once"),
                             ("postgres://u@db.example/fleet?application_name=x", "'application_name' is not one"),
                             ("postgres://u@10.0.0.5/fleet", "not a name"), ("postgres://u@10.0.0.5/fleet?sslmode=verify-full", "not a name"),
                             ("postgres://u@db.example/fleet?sslmode=require&sslrootcert=/ca.pem", "only read with"),
                             ("postgres://u@db.example/fleet?sslmode=verify-ca", "needs sslrootcert"),
                             ("postgres://db.example/fleet", "must be postgres://")] {
            guard case .failure(let why) = Address.parse(url, environment: [:]) else { Issue.record("\(url) was read"); continue }
            #expect(why.description.contains(words), "\(url): \(why)")
        }
        #expect(Address("postgres://u:pw@db.example/fleet", environment: [:])?.description == "postgres://u@db.example:5432/fleet?sslmode=verify-full")
    }

    static func cluster() throws -> (PostgresCluster, String, String) {
        let cluster = try PostgresCluster()
        let ca = try #require(cluster.caFile, "PROVENANT_TEST_POSTGRES_CA is not set: run the tests with scripts/test")
        let db = String(try cluster.createDatabase().split(separator: "/").last ?? "")
        return (cluster, ca, db)
    }

    /// Connections of `database` that are encrypted, as the server sees them.
    static func encrypted(_ cluster: PostgresCluster, _ database: String) throws -> Int {
        Int(try cluster.psql("postgres", "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE s.ssl AND a.datname = '\(database)'")
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    @Test func verifiedTLSConnectsAndIsEncrypted() async throws {
        let (cluster, ca, db) = try Self.cluster()
        let url = "postgres://provenant@localhost:\(cluster.portNumber)/\(db)?sslmode=verify-full&sslrootcert=\(ca)"
        let store = try PostgresFleetStore(try #require(Address(url)))
        try await store.migrate()
        #expect(try Self.encrypted(cluster, db) > 0, "the store's connections are encrypted")
        #expect(await store.connectionProblem() == nil)
        // require encrypts too, on an address, where the name cannot be checked.
        let (_, _, other) = try Self.cluster()
        let required = try PostgresFleetStore(try #require(Address("postgres://provenant@127.0.0.1:\(cluster.portNumber)/\(other)?sslmode=require")))
        try await required.migrate()
        #expect(try Self.encrypted(cluster, other) > 0)
        // Without sslmode, loopback is plain text.
        let (_, _, plain) = try Self.cluster()
        let open = try PostgresFleetStore(try #require(Address("postgres://provenant@127.0.0.1:\(cluster.portNumber)/\(plain)")))
        try await open.migrate()
        #expect(try Self.encrypted(cluster, plain) == 0)
    }

    @Test func aCertificateNotTrustedIsRefused() async throws {
        let (cluster, _, db) = try Self.cluster()
        let dir = try scratchDirectory("pg-tls")
        defer { try? FileManager.default.removeItem(at: dir) }
        let other = dir.appendingPathComponent("other.crt").path
        let made = try runProcess("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                                              "-subj", "/CN=localhost", "-keyout", dir.appendingPathComponent("other.key").path, "-out", other])
        #expect(made.code == 0, "\(made.err)")
        let store = try PostgresFleetStore(try #require(Address("postgres://provenant@localhost:\(cluster.portNumber)/\(db)?sslmode=verify-full&sslrootcert=\(other)")), deadline: .seconds(3))
        await #expect(throws: (any Error).self) { try await store.migrate() }
        #expect(try Self.encrypted(cluster, db) == 0)
        // Said plainly, not as a timeout (helper-209): the certificate is what failed.
        let why = await store.connectionProblem()
        #expect(why?.contains("PostgreSQL at postgres://") == true && why?.contains("CERTIFICATE_VERIFY_FAILED") == true, "\(why ?? "nil")")
        // The system's roots do not vouch for it either (verify-full without sslrootcert).
        let system = try PostgresFleetStore(try #require(Address("postgres://provenant@localhost:\(cluster.portNumber)/\(db)?sslmode=verify-full")), deadline: .seconds(3))
        await #expect(throws: (any Error).self) { try await system.migrate() }
        // A file of no certificate stops the start.
        #expect(throws: (any Error).self) { try PostgresFleetStore(try #require(Address("postgres://provenant@localhost/\(db)?sslmode=verify-full&sslrootcert=/dev/null"))) }
    }
}
