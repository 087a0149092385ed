import Catalog
import Foundation
import ProvenantCore
import Testing
import TestSupport

/// A real Debian image: debootstrap's minbase root (prepared by scripts/test) packed into a layer by
/// umoci and saved as a docker archive by skopeo. Its package list must be dpkg-query's on the same
/// root, and syft's on the same archive; its licenses at least as many as syft gives.
@Suite(.serialized) struct DebianImageTests {
    struct Built { let dir: URL; let archive: String; let root: String }

    static func build() throws -> Built {
        let env = ProcessInfo.processInfo.environment
        let root = try #require(env["PROVENANT_DEBIAN_ROOT"], "scripts/test prepares a debootstrap root and sets PROVENANT_DEBIAN_ROOT")
        #expect(FileManager.default.fileExists(atPath: root + "/var/lib/dpkg/status"))
        let dir = try temporaryDirectory("debian-image")
        let layout = dir.appendingPathComponent("layout").path, bundle = dir.appendingPathComponent("bundle").path
        try tool("umoci", ["init", "--layout", layout])
        try tool("umoci", ["new", "--image", layout + ":bookworm"])
        try tool("umoci", ["unpack", "--image", layout + ":bookworm", bundle])
        try tool("cp", ["-a", root + "/.", bundle + "/rootfs/"])
        try tool("umoci", ["repack", "--image", layout + ":bookworm", bundle])
        try tool("umoci", ["config", "--image", layout + ":bookworm", "--config.cmd", "/bin/bash",
                           "--config.env", "DATABASE_PASSWORD=hunter2-not-real", "--config.label", "org.opencontainers.image.revision=abc123"])
        let archive = dir.appendingPathComponent("debian.tar").path
        try tool("skopeo", ["copy", "--quiet", "oci:\(layout):bookworm", "docker-archive:\(archive):debian:bookworm"])
        return Built(dir: dir, archive: archive, root: root)
    }

    /// `name version` of every installed package, as dpkg-query prints them from the root's database.
    static func dpkgQuery(_ root: String) throws -> Set<String> {
        let out = try tool("dpkg-query", ["--admindir=\(root)/var/lib/dpkg", "-W", "-f", "${db:Status-Abbrev} ${Package} ${Version}\n"])
        return Set(out.split(separator: "\n").filter { $0.hasPrefix("ii") }.map { $0.split(separator: " ").dropFirst().joined(separator: " ") })
    }

    @Test func packagesMatchDpkgQueryAndSyft() async throws {
        let built = try Self.build()
        defer { try? FileManager.default.removeItem(at: built.dir) }
        let expected = try Self.dpkgQuery(built.root)
        #expect(expected.count > 50, "a minbase root has ~90 packages")

        let r = try runProcess(provenantBinary, ["sbom", "docker-archive:" + built.archive, "--format", "json", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        struct Doc: Decodable { var inventory: Inventory }
        let inv = try JSONDecoder().decode(Doc.self, from: Data(r.out.utf8)).inventory
        let debs = inv.packages.filter { $0.ecosystem == .deb }
        let ours = Set(debs.map { "\($0.name) \($0.version)" })
        #expect(ours == expected, "only ours: \(ours.subtracting(expected).sorted()); only dpkg-query's: \(expected.subtracting(ours).sorted())")
        #expect(inv.image?.layers.count == 1)
        // Executables screened out as not Go binaries while the layer streamed are checked, not unread.
        #expect(inv.diagnostics.isEmpty, "\(inv.diagnostics.prefix(3))")
        #expect(debs.allSatisfy { $0.locations.allSatisfy { $0.layer == inv.image?.layers.first?.digest } })
        #expect(inv.image?.labels["org.opencontainers.image.revision"] == "abc123")
        #expect(!r.out.contains("hunter2-not-real"), "environment values are never written")

        let syft = try #require(ProcessInfo.processInfo.environment["PROVENANT_SYFT"], "scripts/test fetches syft and sets PROVENANT_SYFT")
        let s = try runProcess(syft, ["docker-archive:" + built.archive, "-o", "json", "-q"], env: ["SYFT_CHECK_FOR_APP_UPDATE": "false"])
        #expect(s.code == 0, "\(s.err)")
        let doc = try JSONParser.parse(Array(s.out.utf8))
        let artifacts = doc["artifacts"]?.arrayValue ?? []
        let syftDebs = artifacts.filter { $0["type"]?.stringValue == "deb" }
        let theirs = Set(syftDebs.compactMap { a in a["name"]?.stringValue.flatMap { n in a["version"]?.stringValue.map { "\(n) \($0)" } } })
        #expect(theirs == ours, "only syft's: \(theirs.subtracting(ours).sorted()); only ours: \(ours.subtracting(theirs).sorted())")
        let syftLicensed = syftDebs.filter { !($0["licenses"]?.arrayValue ?? []).isEmpty }.count
        let oursLicensed = debs.filter { !$0.licenses.isEmpty }.count
        #expect(oursLicensed >= syftLicensed, "licenses: ours \(oursLicensed), syft \(syftLicensed)")
        print("debian image: \(ours.count) packages (dpkg-query \(expected.count), syft \(theirs.count)); licensed: ours \(oursLicensed), syft \(syftLicensed)")
    }
}
