import Foundation
import Testing
import ProvenantCore
import TestSupport

/// SwiftNIO stops the process (SIGILL) when an event loop cannot open its descriptors. Each command
/// that starts one checks for room first: under `ulimit -n 12` it exits 2 with a line saying why.
@Suite struct DescriptorLimitTests {
    func underLimit(_ limit: Int, _ args: [String]) throws -> (code: Int32, out: String, err: String) {
        let r = try runProcess("/bin/bash", ["-c", "ulimit -n \(limit) && exec \"$0\" \"$@\"", provenantBinary] + args)
        return (r.code, r.out, r.err)
    }

    @Test func aRegistryPullWithoutDescriptorsExitsTwo() throws {
        // Port 9 (discard) on loopback: nothing listens, and with room the answer is a refused connection.
        let r = try underLimit(12, ["sbom", "registry:127.0.0.1:9/team/app:1", "--insecure-registry", "127.0.0.1:9"])
        #expect(r.code == 2, "\(r.err)")
        #expect(r.err.contains("open files") && r.err.contains("ulimit -n"), "\(r.err)")
        // Room for NIO's loops, one per core, whatever this machine's count.
        let roomy = try underLimit(3 * ProcessInfo.processInfo.activeProcessorCount + 128, ["sbom", "registry:127.0.0.1:9/team/app:1", "--insecure-registry", "127.0.0.1:9"])
        #expect(roomy.code == 2 && !roomy.err.contains("open files"), "\(roomy.err)")
    }

    @Test func aProxyWithoutDescriptorsExitsTwo() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-fds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let manifest = dir.appendingPathComponent("agent.yaml").path
        try "apiVersion: provenant.dev/v1\nkind: Agent\nname: agent\negress:\n  - host: api.example.test\n    ports: [443]\n"
            .write(toFile: manifest, atomically: true, encoding: .utf8)
        let r = try underLimit(12, ["guard", "proxy", "--manifest", manifest, "--listen", "127.0.0.1:0", "--threads", "2"])
        #expect(r.code == 2, "\(r.err)")
        #expect(r.err.contains("the proxy needs") && r.err.contains("open files"), "\(r.err)")
    }

    /// PostgreSQL's client starts NIO's loops before the server does: the check comes before both.
    @Test func aServerWithoutDescriptorsExitsTwo() throws {
        let r = try underLimit(12, ["server", "run", "--database", "postgres://u@127.0.0.1:9/x", "--listen", "127.0.0.1:0"])
        #expect(r.code == 2, "\(r.err)")
        #expect(r.err.contains("the fleet server needs") && r.err.contains("open files"), "\(r.err)")
    }

    /// `server token create` opens the store alone: on PostgreSQL that starts NIO's loops too.
    @Test func aTokenCommandOnPostgreSQLWithoutDescriptorsExitsTwo() throws {
        let r = try underLimit(12, ["server", "token", "create", "--database", "postgres://u@127.0.0.1:9/x", "--scope", "admin"])
        #expect(r.code == 2, "\(r.err)")
        #expect(r.err.contains("the fleet server needs") && r.err.contains("open files"), "\(r.err)")
    }

    /// A command that starts no event loop leaves the limit as it was, for the children it starts: a
    /// confined script using select() must not be handed descriptors past 1,024.
    @Test func otherCommandsLeaveTheSoftLimitAlone() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-fds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let manifest = dir.appendingPathComponent("agent.yaml").path
        try "name: agent\n".write(toFile: manifest, atomically: true, encoding: .utf8)
        let r = try runProcess("/bin/bash", ["-c", "ulimit -Sn 100 && exec \"$0\" \"$@\"", provenantBinary,
                                             "guard", "exec", "--manifest", manifest, "--environment", "test", "--allow-unconfined",
                                             "--", "/bin/cat", "/proc/self/limits"])
        #expect(r.code == 0, "\(r.err)")
        let line = try #require(r.out.split(separator: "\n").first { $0.hasPrefix("Max open files") }, "\(r.out)")
        #expect(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first == "100", "\(line)")
    }

    @Test func aLowSoftLimitIsRaisedToTheHardOne() throws {
        // The soft limit alone is low (the hard one is left as it is): it is raised, and the pull goes
        // on to the refused connection.
        let r = try runProcess("/bin/bash", ["-c", "ulimit -Sn 12 && exec \"$0\" \"$@\"", provenantBinary,
                                             "sbom", "registry:127.0.0.1:9/team/app:1", "--insecure-registry", "127.0.0.1:9"])
        #expect(r.code == 2 && !r.err.contains("open files"), "\(r.err)")
    }
}
