import Foundation
import Testing
import TestSupport

/// `policy generate --for proxy`: the guard as a sidecar, and the output checks clean against a
/// manifest that names the guard's image.
@Suite struct SidecarTests {
    static let guardImage = "ghcr.io/acme/provenant@sha256:" + String(repeating: "ab", count: 32)

    @Test func theSidecarOutputChecksCleanAndPointsTheAgentAtTheGuard() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("guard-sidecar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let example = try String(contentsOfFile: FileManager.default.currentDirectoryPath + "/examples/provenant.agent.yaml", encoding: .utf8)
        let manifest = dir.appendingPathComponent("agent.yaml").path
        try example.replacingOccurrences(of: "images:\n", with: "images:\n  - \(Self.guardImage)\n").write(toFile: manifest, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("deploy.yaml").path
        let g = try runProcess(provenantBinary, ["policy", "generate", "--manifest", manifest, "--for", "proxy", "--guard-image", Self.guardImage, "-o", out])
        #expect(g.code == 0, "\(g.err)")
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("kind: ConfigMap") && text.contains("name: provenant-guard") && text.contains("image: \(Self.guardImage)"))
        #expect(text.contains("- name: HTTPS_PROXY\n          value: http://127.0.0.1:3128"))
        #expect(text.contains("- --listen\n        - 127.0.0.1:3128"))
        // The ConfigMap carries the manifest the guard enforces, whole.
        #expect(text.contains("egress:\\n  - host: otel.example.com"))
        let c = try runProcess(provenantBinary, ["policy", "check", out, "--manifest", manifest, "--fail-on", "low"])
        #expect(c.code == 0, "\(c.out)\(c.err)")
        // Without the guard's image in the manifest, the check names it.
        let bare = try runProcess(provenantBinary, ["policy", "check", out, "--manifest", FileManager.default.currentDirectoryPath + "/examples/provenant.agent.yaml", "--fail-on", "high"])
        #expect(bare.code == 1 && bare.out.contains("manifest:image") && bare.out.contains("provenant-guard"))
    }
}
