import Catalog
import Crypto
import Foundation
import ProvenantCore
import Synchronization
import TestSupport

/// A directory of the test's own, removed when the last user lets go of it.
final class ScratchDirectory: Sendable {
    let path: String
    init(_ label: String) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A server process a test started (the registry, a helper); stopped when the test is done with it.
final class ServerProcess: @unchecked Sendable {
    let process: Process
    let logPath: String
    init(_ exe: String, _ args: [String], log: String) throws {
        logPath = log
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process = Process()
        process.executableURL = URL(fileURLWithPath: exe)
        process.arguments = args
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    /// SIGKILL: a child of the test process starts with SIGTERM blocked (the mask is inherited from the
    /// thread that spawned it), which Go unblocks but Python does not.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
    deinit { stop() }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

enum Harness {
    static var fixtures: String { Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path }

    /// Runs a program that must succeed; its standard output.
    @discardableResult
    static func run(_ exe: String, _ args: [String]) throws -> String {
        let r = try runProcess(exe, args)
        guard r.code == 0 else { throw HarnessError("\(exe) \(args.joined(separator: " ")) exited \(r.code): \(r.err.suffix(2000))") }
        return r.out
    }

    /// A loopback port nobody listens on now (bound, read back, released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw HarnessError("bind failed") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    static func waitFor(_ what: String, seconds: Double = 30, _ ready: () -> Bool) throws {
        let end = Date().addingTimeInterval(seconds)
        while !ready() {
            guard Date() < end else { throw HarnessError("\(what) did not come up in \(Int(seconds)) s") }
            usleep(50_000)
        }
    }

    /// The real registry (`/usr/bin/docker-registry`, distribution 2.8) on a free loopback port, its
    /// storage in `dir`. `auth` is a YAML block for `auth:` (htpasswd, token), or nil for none.
    static func startRegistry(in dir: String, auth: String? = nil) throws -> (ServerProcess, Int) {
        let port = try freePort()
        var yaml = """
        version: 0.1
        log:
          level: info
          accesslog:
            disabled: false
        storage:
          filesystem:
            rootdirectory: \(dir)/storage
          delete:
            enabled: true
        http:
          addr: 127.0.0.1:\(port)
          secret: provenant-registry-tests

        """
        if let auth { yaml += "auth:\n" + auth }
        try yaml.write(toFile: dir + "/registry.yml", atomically: true, encoding: .utf8)
        let server = try ServerProcess("/usr/bin/docker-registry", ["serve", dir + "/registry.yml"], log: dir + "/registry.log")
        try waitFor("docker-registry on port \(port)") { canConnect(port) || !server.process.isRunning }
        guard server.process.isRunning else { throw HarnessError("docker-registry exited: \(server.log.suffix(2000))") }
        return (server, port)
    }

    /// Starts `registry_helper.py MODE …` and waits for the port it writes.
    static func startHelper(_ mode: String, in dir: String, _ args: [String]) throws -> (ServerProcess, Int) {
        let portFile = dir + "/\(mode).port"
        let server = try ServerProcess("/usr/bin/env", ["python3", fixtures + "/registry_helper.py", mode, portFile] + args,
                                       log: dir + "/\(mode)-helper.out")
        try waitFor("registry_helper.py \(mode)") { FileManager.default.fileExists(atPath: portFile) || !server.process.isRunning }
        guard let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) else {
            throw HarnessError("registry_helper.py \(mode) did not start: \(server.log.suffix(2000))")
        }
        return (server, port)
    }

    /// registry_helper.py's in-memory conditional registry with `behaviour`, a client of it, and a
    /// small image manifest pushed as tag `1` to attach things to.
    static func conditionalRegistry(_ behaviour: String, in dir: String) async throws -> (server: ServerProcess, client: RegistryClient, subject: FetchedManifest) {
        let (server, port) = try startHelper("conditional", in: dir, [dir + "/helper.log", behaviour])
        let host = "127.0.0.1:\(port)"
        let client = try RegistryClient(host: host, repository: "team/app", options: RegistryOptions(insecureHosts: [host]))
        let subjectBytes = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#.utf8)
        do {
            try await client.pushManifest(subjectBytes, mediaType: MediaType.ociManifest, reference: "1")
            return (server, client, try await client.fetchManifest("1"))
        } catch { server.stop(); throw error }
    }

    static func push(_ layout: String, tag: String, to destination: String, all: Bool = false, creds: String? = nil) throws {
        var args = ["copy", "--quiet", "--dest-tls-verify=false"]
        if all { args.append("--all") }
        if let creds { args += ["--dest-creds", creds] }
        try run("/usr/bin/skopeo", args + ["oci:\(layout):\(tag)", "docker://\(destination)"])
    }

    /// The manifest digest the registry holds for a reference, as skopeo reads it.
    static func remoteDigest(_ reference: String, creds: String? = nil) throws -> String {
        var args = ["inspect", "--raw", "--tls-verify=false"]
        if let creds { args += ["--creds", creds] }
        let raw = try run("/usr/bin/skopeo", args + ["docker://\(reference)"])
        return "sha256:" + Hex.encode(SHA256.hash(data: Array(raw.utf8)))
    }

    /// The file holding a blob in the filesystem storage driver's layout.
    static func storedBlob(_ storage: String, _ digest: String) -> String {
        let hex = String(digest.dropFirst(7))
        return "\(storage)/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    }
}

/// The small images every test pushes, built once with umoci: `amd` (linux/amd64, dpkg package
/// `hello` 2.10-3 and an os-release), `arm` (linux/arm64, package `armonly` 1.0), and `multi`, an
/// index of the two written by hand into the same layout.
final class TestImages: Sendable {
    let scratch: ScratchDirectory
    let layout: String
    let amdManifest: String
    let armManifest: String
    let indexDigest: String

    private static let built = Mutex<Result<TestImages, HarnessError>?>(nil)

    static func shared() throws -> TestImages {
        try built.withLock { slot in
            if slot == nil {
                do { slot = .success(try TestImages()) } catch { slot = .failure(HarnessError("building test images: \(error)")) }
            }
            return try slot!.get()
        }
    }

    private init() throws {
        let scratch = try ScratchDirectory("registry-images")
        let layout = scratch.path + "/layout"
        self.scratch = scratch
        self.layout = layout
        let umoci = "/usr/bin/umoci"
        try Harness.run(umoci, ["init", "--layout", layout])
        func image(_ tag: String, arch: String, files: [String: String]) throws {
            try Harness.run(umoci, ["new", "--image", "\(layout):\(tag)"])
            try Harness.run(umoci, ["config", "--image", "\(layout):\(tag)", "--os", "linux", "--architecture", arch])
            let bundle = scratch.path + "/bundle-" + tag
            try Harness.run(umoci, ["unpack", "--rootless", "--image", "\(layout):\(tag)", bundle])
            for (path, text) in files {
                let full = bundle + "/rootfs/" + path
                try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try text.write(toFile: full, atomically: true, encoding: .utf8)
            }
            try Harness.run(umoci, ["repack", "--image", "\(layout):\(tag)", bundle])
        }
        func dpkg(_ name: String, _ version: String, _ arch: String) -> String {
            "Package: \(name)\nStatus: install ok installed\nPriority: optional\nVersion: \(version)\nArchitecture: \(arch)\nMaintainer: Test <test@example.org>\nDescription: a test package\n\n"
        }
        let osRelease = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"
        try image("amd", arch: "amd64", files: ["var/lib/dpkg/status": dpkg("hello", "2.10-3", "amd64"), "etc/os-release": osRelease])
        try image("arm", arch: "arm64", files: ["var/lib/dpkg/status": dpkg("armonly", "1.0", "arm64"), "etc/os-release": osRelease])
        try Harness.run(umoci, ["gc", "--layout", layout])

        // The index: both manifests with their platforms, stored as a blob and tagged `multi`.
        let indexPath = layout + "/index.json"
        guard var top = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: indexPath))) as? [String: Any],
              var entries = top["manifests"] as? [[String: Any]] else { throw HarnessError("unreadable index.json") }
        var children: [[String: Any]] = []
        var digests: [String: String] = [:]
        for var e in entries {
            let tag = (e["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] ?? ""
            digests[tag] = e["digest"] as? String
            e["annotations"] = nil
            e["platform"] = ["os": "linux", "architecture": tag == "arm" ? "arm64" : "amd64"]
            children.append(e)
        }
        let index = try JSONSerialization.data(withJSONObject: ["schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                                                                "manifests": children], options: [.sortedKeys])
        let hex = Hex.encode(SHA256.hash(data: index))
        try index.write(to: URL(fileURLWithPath: layout + "/blobs/sha256/" + hex))
        entries.append(["mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + hex, "size": index.count,
                        "annotations": ["org.opencontainers.image.ref.name": "multi"]])
        top["manifests"] = entries
        try JSONSerialization.data(withJSONObject: top).write(to: URL(fileURLWithPath: indexPath))
        guard let amd = digests["amd"], let arm = digests["arm"] else { throw HarnessError("umoci did not tag both images") }
        amdManifest = amd
        armManifest = arm
        indexDigest = "sha256:" + hex
    }
}
