import Foundation
import Testing
import ProvenantCore
import Yams
import TestSupport
@testable import Permissions

/// What the cluster ends up holding, read as kubectl and compose read the files (helper-152): each
/// case passed `policy check` clean while the workload it describes breaks the manifest or the Pod
/// Security Standards.
@Suite struct ClusterReadingTests {
    static func findings(_ text: String, file: String, manifest: AgentManifest? = nil) throws -> [PolicyFinding] {
        let path = try tmpFile(file, text)
        return try PolicyRun.check(try Workloads.collect([path]), level: .restricted, manifest: manifest ?? LeastPrivilegeEditTests.manifest()).findings
    }

    static let privileged = "{apiVersion: v1, kind: Pod, metadata: {name: evil}, spec: {hostPID: true, containers: [{name: c, image: x, securityContext: {privileged: true}}]}}"

    @Test func aDashLineWithoutASpaceIsRefused() throws {
        let path = try tmpFile("sep.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---#:\n  \(Self.privileged)\n")
        #expect(throws: InputError.self) { try Workloads.read(path) }
        #expect(try Workloads.read(try tmpFile("ok.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n--- # next\n\(Self.privileged)\n")).pods.count == 1)
    }

    @Test func anyObjectWithItemsHasThemChecked() throws {
        let text = try LeastPrivilegeEditTests.kubernetes()
        let outer = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nitems:\n- \(Self.privileged)\n"
        let f = try Self.findings(text + "---\n" + outer, file: "items.yaml")
        #expect(f.contains { $0.rule.hasPrefix("pss:") && $0.name == "evil" }, "\(f.map { "\($0.rule) \($0.name)" })")
    }

    @Test func anEmptyOrReplacedEgressPolicyRestrictsNothing() throws {
        let text = try LeastPrivilegeEditTests.kubernetes()
        #expect(try Self.findings(text, file: "clean.yaml").isEmpty)
        let empty = try LeastPrivilegeEditTests.edited(text, "  policyTypes: [Egress]\n  egress:\n", "  egress: []\n  ingress:\n")
        #expect(try Self.findings(empty, file: "empty.yaml").contains { $0.rule == "manifest:egress-unrestricted" })
        let replaced = text + "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: telemetry-collector-egress, namespace: default}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n"
        #expect(try Self.findings(replaced, file: "replaced.yaml").contains { $0.rule == "manifest:egress-unrestricted" })
    }

    @Test func theLastServiceAccountDefinitionCounts() throws {
        var m = try LeastPrivilegeEditTests.manifest()
        m.kubernetes = []
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x}]\n"
        let sa = "---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default}\nautomountServiceAccountToken: false\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default}\nautomountServiceAccountToken: true\n"
        let f = try Self.findings(pod + sa, file: "sa.yaml", manifest: m)
        #expect(f.contains { $0.rule == "manifest:service-account-token" || $0.found.contains("token") }, "\(f.map(\.rule))")
    }

    @Test func composesResetTagRemovesTheValue() throws {
        let text = try LeastPrivilegeEditTests.compose()
        #expect(try Self.findings(text, file: "docker-compose.yml").isEmpty)
        let reset = try LeastPrivilegeEditTests.edited(text, "    user: 10001:10001\n", "    user: !reset 10001:10001\n")
        let f = try Self.findings(reset, file: "docker-compose.yml")
        #expect(!f.isEmpty, "user: !reset leaves the image's user, root")
    }
}
