import Foundation
import Testing
import TestSupport

/// The core count follows the cgroup's CPU limit, which can change while a scan runs. A review found
/// that a split reading it twice crashed scans or dropped files (5 crashes and 6 silent drops in 30
/// runs) under a `cpuset.cpus` flipping between one core and two. Here the same flipping is done to
/// the binary in a private mount namespace, and every run must exit 0 with the same document as a
/// run with the limit left alone.
@Suite struct CoreCountChangeTests {
    static let cpuset = "/sys/fs/cgroup/cpuset/cpuset.cpus"

    /// Root, `unshare`, and a cgroup v1 cpuset file to bind over (as on the CI machine); nil otherwise.
    static func unavailable() -> String? {
        guard getuid() == 0 else { return "needs root for a private mount namespace" }
        guard FileManager.default.fileExists(atPath: cpuset) else { return "no \(cpuset) on this machine" }
        guard (try? runProcess("unshare", ["-m", "true"]))?.code == 0 else { return "unshare -m is not permitted here" }
        return nil
    }

    @Test func aFlippingCPULimitChangesNothing() throws {
        if let why = Self.unavailable() {
            // The CI machine has all three (.ci/run runs as root on cgroup v1); say so rather than pass.
            Issue.record("cannot flip the CPU limit: \(why)")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-cores-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        // A tree with enough files and packages that pairing, extraction and writing all split their work.
        for i in 0..<400 {
            let pkg = dir.appendingPathComponent("site/pkg\(i)-1.\(i).dist-info")
            try FileManager.default.createDirectory(at: pkg, withIntermediateDirectories: true)
            try Data("Metadata-Version: 2.1\nName: pkg\(i)\nVersion: 1.\(i)\n".utf8).write(to: pkg.appendingPathComponent("METADATA"))
            let npm = dir.appendingPathComponent("node_modules/mod\(i)")
            try FileManager.default.createDirectory(at: npm, withIntermediateDirectories: true)
            try Data("{\"name\": \"mod\(i)\", \"version\": \"2.\(i).0\"}".utf8).write(to: npm.appendingPathComponent("package.json"))
        }
        let limit = dir.appendingPathComponent("cpuset.cpus")
        try Data("0-1\n".utf8).write(to: limit)
        let env = ["SOURCE_DATE_EPOCH": "1700000000"]
        let baseline = try runProcess(provenantBinary, ["sbom", dir.path, "--mode", "installed", "--quiet"], env: env)
        #expect(baseline.code == 0, "\(baseline.err)")
        #expect(baseline.out.contains("pkg:pypi/pkg399@1.399") && baseline.out.contains("pkg:npm/mod399@2.399.0"))

        // Flips the file between one core and two until told to stop.
        let stop = ManagedAtomicFlag()
        let flipper = Thread {
            let fd = open(limit.path, O_WRONLY)
            defer { close(fd) }
            var one = true
            while !stop.isSet {
                let text = one ? "0\n" : "0-1\n"
                _ = ftruncate(fd, 0)
                _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
                one.toggle()
                // A flip every fifth of a millisecond: many within one scan, without a core spent on it.
                usleep(200)
            }
        }
        flipper.start()
        defer { stop.set() }
        for run in 1...6 {
            let r = try runProcess("unshare", ["-m", "sh", "-c", "mount --bind \"$0\" \(Self.cpuset) && exec \"$1\" sbom \"$2\" --mode installed --quiet",
                                               limit.path, provenantBinary, dir.path], env: env)
            #expect(r.code == 0, "run \(run): \(r.err)")
            #expect(r.out == baseline.out, "run \(run): the document differs from the one under a steady limit")
        }
    }
}

/// A flag one thread sets and another polls.
final class ManagedAtomicFlag: @unchecked Sendable {
    private var value = false
    private let lock = NSLock()
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}
