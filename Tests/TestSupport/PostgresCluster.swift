import Foundation

/// The real PostgreSQL server `scripts/test` starts for the run (`scripts/test-postgres`), named by
/// `PROVENANT_TEST_POSTGRES`. Each test makes a database of its own on it.
public final class PostgresCluster: Sendable {
    public let url: String
    let host: String
    let port: String
    let user: String

    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let url = environment["PROVENANT_TEST_POSTGRES"], let c = URLComponents(string: url), let host = c.host, let user = c.user else {
            throw Unavailable(description: "PROVENANT_TEST_POSTGRES is not set: run the tests with scripts/test, which starts PostgreSQL (scripts/test-postgres)")
        }
        self.url = url; self.host = host; self.port = String(c.port ?? 5432); self.user = user
        caFile = environment["PROVENANT_TEST_POSTGRES_CA"]
    }

    /// The server's TLS certificate (for the name localhost), which `scripts/test` names.
    public let caFile: String?

    /// The cluster's port, for a URL of another host name or parameters.
    public var portNumber: String { port }

    /// A new empty database, and the URL `provenant server --database` takes for it.
    public func createDatabase() throws -> String {
        let name = "fleet_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        _ = try psql("postgres", "CREATE DATABASE \(name)")
        return "postgres://\(user)@\(host):\(port)/\(name)"
    }

    /// `psql` started with these statements and left running (for a test that holds a lock meanwhile).
    public func psqlInBackground(_ database: String, _ sql: String) throws -> Process {
        let db = String(database.split(separator: "/").last ?? "postgres")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["psql", "-h", host, "-p", port, "-U", user, "-d", db, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// One statement's output, unaligned and without headers, in `database` (a name or a URL).
    public func psql(_ database: String, _ sql: String) throws -> String {
        let db = String(database.split(separator: "/").last ?? "postgres")
        let r = try runProcess("psql", ["-h", host, "-p", port, "-U", user, "-d", db, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
        guard r.code == 0 else { throw Unavailable(description: "psql failed: \(r.err)") }
        return r.out
    }
}
