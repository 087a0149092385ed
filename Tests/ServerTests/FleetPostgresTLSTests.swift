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

    /// `server token create` on `url`: it migrates the database first, in a process of its own (an
    /// in-process store's deadline raced the test runner's busy threads in CI and lost).
    static func tokenCreate(_ url: String) throws -> (code: Int32, out: String, err: String) {
        try runProcess(provenantBinary, ["server", "token", "create", "--database", url, "--scope", "read"])
    }

    /// The server's log lines for connections authorized to `database` (`log_connections` is on in
    /// `scripts/test-postgres`): each says `SSL enabled` when the connection was encrypted.
    static func connections(_ ca: String, _ database: String) throws -> [Substring] {
        let log = try String(contentsOfFile: (ca as NSString).deletingLastPathComponent + "/server.log", encoding: .utf8)
        return log.split(separator: "\n").filter { $0.contains("connection authorized:") && ($0.hasSuffix("database=\(database)") || $0.contains("database=\(database) ")) }
    }

    @Test func verifiedTLSConnectsAndIsEncrypted() throws {
        let (cluster, ca, db) = try Self.cluster()
        let verified = try Self.tokenCreate("postgres://provenant@localhost:\(cluster.portNumber)/\(db)?sslmode=verify-full&sslrootcert=\(ca)")
        #expect(verified.code == 0, "\(verified.err)")
        let seen = try Self.connections(ca, db)
        #expect(!seen.isEmpty && seen.allSatisfy { $0.contains("SSL enabled") }, "\(seen)")
        // require encrypts too, on an address, where the name cannot be checked.
        let (_, _, other) = try Self.cluster()
        let required = try Self.tokenCreate("postgres://provenant@127.0.0.1:\(cluster.portNumber)/\(other)?sslmode=require")
        #expect(required.code == 0, "\(required.err)")
        let otherSeen = try Self.connections(ca, other)
        #expect(!otherSeen.isEmpty && otherSeen.allSatisfy { $0.contains("SSL enabled") }, "\(otherSeen)")
        // Without sslmode, loopback is plain text.
        let (_, _, plain) = try Self.cluster()
        #expect(try Self.tokenCreate("postgres://provenant@127.0.0.1:\(cluster.portNumber)/\(plain)").code == 0)
        let plainSeen = try Self.connections(ca, plain)
        #expect(!plainSeen.isEmpty && !plainSeen.contains { $0.contains("SSL enabled") }, "\(plainSeen)")
    }

    @Test func aCertificateNotTrustedIsRefused() throws {
        let (cluster, ca, db) = try Self.cluster()
        let dir = try scratchDirectory("pg-tls")
        defer { try? FileManager.default.removeItem(at: dir) }
        let other = dir.appendingPathComponent("other.crt").path
        let made = try runProcess("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                                              "-subj", "/CN=localhost", "-keyout", dir.appendingPathComponent("other.key").path, "-out", other])
        #expect(made.code == 0, "\(made.err)")
        let refused = try Self.tokenCreate("postgres://provenant@localhost:\(cluster.portNumber)/\(db)?sslmode=verify-full&sslrootcert=\(other)")
        // Said plainly, not as a timeout (helper-209): the certificate is what failed.
        #expect(refused.code != 0 && refused.err.contains("cannot connect") && refused.err.contains("CERTIFICATE_VERIFY_FAILED"), "\(refused.err)")
        #expect(try Self.connections(ca, db).isEmpty, "no connection was authorized")
        // The system's roots do not vouch for it either (verify-full without sslrootcert).
        let system = try Self.tokenCreate("postgres://provenant@localhost:\(cluster.portNumber)/\(db)?sslmode=verify-full")
        #expect(system.code != 0 && system.err.contains("CERTIFICATE_VERIFY_FAILED"), "\(system.err)")
        // A file of no certificate stops the start.
        let none = try Self.tokenCreate("postgres://provenant@localhost:\(cluster.portNumber)/\(db)?sslmode=verify-full&sslrootcert=/dev/null")
        #expect(none.code != 0 && none.err.contains("sslrootcert"), "\(none.err)")
    }
}
