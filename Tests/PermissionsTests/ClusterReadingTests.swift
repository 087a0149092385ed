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
        let ingressOnly = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: telemetry-collector-egress, namespace: default}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n"
        #expect(try Self.findings(text + "---\n" + ingressOnly, file: "replaced.yaml").contains { $0.rule == "manifest:egress-unrestricted" })
        // Defined twice, whichever comes first: `create` and Helm keep the first, `apply` the last (helper-153).
        #expect(try Self.findings(ingressOnly + "---\n" + text, file: "first.yaml").contains { $0.rule == "manifest:egress-unrestricted" })
        // The allow rules of every definition are still checked: a second, ingress-only definition of a
        // name hid the first's egress to 0.0.0.0/0 (helper-154).
        let wide = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: extra, namespace: default}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]\n"
        let narrow = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: extra, namespace: default}\nspec:\n  podSelector: {matchLabels: {nothing: here}}\n  policyTypes: [Ingress]\n"
        for pair in [wide + "---\n" + narrow, narrow + "---\n" + wide] {
            let f = try Self.findings(text + "---\n" + pair, file: "twice.yaml")
            #expect(f.contains { $0.rule == "manifest:egress-excess" && $0.found.contains("0.0.0.0/0") }, "\(f.map { "\($0.rule) \($0.found)" })")
        }
    }

    @Test func aServiceAccountDefinedTwiceCountsItsWorstDefinition() throws {
        var m = try LeastPrivilegeEditTests.manifest()
        m.kubernetes = []
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x}]\n"
        func sa(_ automount: Bool) -> String { "---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default}\nautomountServiceAccountToken: \(automount)\n" }
        for defs in [sa(false) + sa(true), sa(true) + sa(false)] {
            let f = try Self.findings(pod + defs, file: "sa.yaml", manifest: m)
            #expect(f.contains { $0.rule == "manifest:service-account-token" }, "\(f.map(\.rule))")
        }
        #expect(!(try Self.findings(pod + sa(false) + sa(false), file: "sa.yaml", manifest: m)).contains { $0.rule == "manifest:service-account-token" })
    }

    /// helper-153: deeper than 16 was dropped silently for non-List objects, and kind-less items of a
    /// typed list (kubectl makes them the list's kind) were not checked.
    @Test func deepItemsAreSaidAndTypedListItemsTakeTheirKind() throws {
        var nested = Self.privileged
        for _ in 0..<17 { nested = "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, items: [\(nested)]}" }
        let deep = try Self.findings(nested + "\n", file: "deep.yaml")
        #expect(deep.contains { $0.rule == "k8s:not-checked" }, "\(deep.map(\.rule))")
        let typed = "apiVersion: v1\nkind: PodList\nitems:\n- {kind: \"\", metadata: {name: evil}, spec: {hostPID: true, containers: [{name: c, image: x, securityContext: {privileged: true}}]}}\n"
        let f = try Self.findings(typed, file: "podlist.yaml")
        #expect(f.contains { $0.rule.hasPrefix("pss:") && $0.name == "evil" }, "\(f.map { "\($0.rule) \($0.name)" })")
    }

    @Test func composesResetTagRemovesTheValue() throws {
        let text = try LeastPrivilegeEditTests.compose()
        #expect(try Self.findings(text, file: "docker-compose.yml").isEmpty)
        let reset = try LeastPrivilegeEditTests.edited(text, "    user: 10001:10001\n", "    user: !reset 10001:10001\n")
        let f = try Self.findings(reset, file: "docker-compose.yml")
        #expect(!f.isEmpty, "user: !reset leaves the image's user, root")
        // Compose drops the reset key before merging, so a merged value shows through (helper-153).
        let merged = try LeastPrivilegeEditTests.edited(text, "    read_only: true\n", "    <<: {privileged: true}\n    privileged: !reset false\n    read_only: true\n")
        let g = try Self.findings(merged, file: "docker-compose.yml")
        #expect(g.contains { $0.rule == "pss:privileged" }, "\(g.map(\.rule))")
    }
}
