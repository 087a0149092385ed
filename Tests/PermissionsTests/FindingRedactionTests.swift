import Foundation
import Testing
import ProvenantCore
import Yams
import TestSupport
@testable import Permissions

/// `policy check` echoes input text (images, names, values) in its findings: each finding passes it
/// through the one redactor when it is built or changed, so no output format can leak a credential.
@Suite struct FindingRedactionTests {
    static let compose = """
        services:
          app:
            image: "https://u:pw123@reg/x"
            user: "10001:10001"

        """

    @Test func aCredentialInAnImageIsRedactedInEveryFormat() throws {
        let path = try tmpFile("docker-compose.yml", Self.compose)
        let m = try AgentManifest.load(FileManager.default.currentDirectoryPath + "/examples/provenant.agent.yaml")
        let findings = try PolicyRun.check(try Workloads.collect([path]), level: .restricted, manifest: m).findings
        let echoing = findings.filter { $0.found.contains("reg/x") }
        #expect(!echoing.isEmpty, "the image is still named: \(findings.map(\.found))")
        #expect(echoing.allSatisfy { $0.found.contains(Redactor.mark) })
        let table = findings.map { "\($0.kind)/\($0.name) \($0.found) \($0.allowed) \($0.fix) \($0.because ?? "")" }.joined(separator: "\n")
        let json = String(decoding: try JSONEncoder().encode(findings), as: UTF8.self)
        let sarif = PolicySARIF.render(findings, toolVersion: "test")
        for (format, text) in [("table", table), ("json", json), ("sarif", sarif)] {
            #expect(!text.contains("pw123"), "\(format) leaks the password")
        }
    }

    /// A field set after the finding is built (as `because` is) is redacted too.
    @Test func aFieldSetLaterIsRedacted() {
        var f = PolicyFinding(rule: "r", severity: "high", kind: "k", name: "n", container: nil, location: Location("f"), found: "x", allowed: "y", fix: "z")
        f.because = "binds https://admin:hunter2hunter2@10.0.0.1/role"
        f.found = "password=hunter2hunter2"
        #expect(!(f.because ?? "").contains("hunter2") && !f.found.contains("hunter2"), "\(f)")
    }
}
