import Foundation
import Testing
import ProvenantCore
import Yams
import TestSupport
@testable import Permissions

func tmpFile(_ name: String, _ text: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-manifest-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
    return dir + "/" + name
}

@Suite struct ManifestTests {
    static let manifest = """
        apiVersion: provenant.dev/v1
        kind: Agent
        name: collector
        filesystem:
          read: [/etc/collector]
          write: [/var/lib/collector]
        capabilities: [NET_BIND_SERVICE]
        user:
          nonRoot: true
          uid: 10001
        secrets:
          - secret: collector-creds
            keys: [token]
        scripts:
          cleanup.sh: [test, staging]
        """

    static func workload(namespace: String, label: String?) -> String {
        (label.map { "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: \(namespace)\n  labels:\n    environment: \($0)\n---\n" } ?? "") + """
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: janitor
          namespace: \(namespace)
        spec:
          template:
            spec:
              containers:
              - name: run
                image: ghcr.io/acme/collector@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
                command: ["/bin/sh", "-c", "/opt/cleanup.sh --all"]
                env:
                - name: TOKEN
                  valueFrom:
                    secretKeyRef: {name: collector-creds, key: token}
                - name: DB_PASSWORD
                  valueFrom:
                    secretKeyRef: {name: prod-db, key: password}
                securityContext:
                  runAsNonRoot: true
                  runAsUser: 10001
                  capabilities:
                    add: [NET_BIND_SERVICE, NET_ADMIN]
                volumeMounts:
                - {name: data, mountPath: /var/lib/collector}
                - {name: scratch, mountPath: /tmp/scratch}
              volumes:
              - {name: data, emptyDir: {}}
              - {name: scratch, hostPath: {path: /var/run}}
        """
    }

    func findings(namespace: String, label: String?) throws -> [PolicyFinding] {
        let m = try AgentManifest.load(try tmpFile("provenant.agent.yaml", Self.manifest))
        let r = try Workloads.read(try tmpFile("job.yaml", Self.workload(namespace: namespace, label: label)))
        return r.pods.flatMap { ManifestCheck.check($0, manifest: m, environment: r.environments[$0.namespace] ?? "production") }
    }

    /// The first Namespace definition won: a `test` label in one file hid a `production` one in another,
    /// and a later unlabelled definition (which `kubectl apply` leaves without the label) changed nothing
    /// (found by helper-136). A namespace defined with different labels is judged as production.
    @Test func aNamespaceDefinedTwiceWithDifferentLabelsIsProduction() throws {
        let m = try AgentManifest.load(try tmpFile("provenant.agent.yaml", Self.manifest))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ns-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: {environment: test}}\n".write(toFile: dir + "/a.yaml", atomically: true, encoding: .utf8)
        try Self.workload(namespace: "prod", label: "production").write(toFile: dir + "/b.yaml", atomically: true, encoding: .utf8)
        let r = try Workloads.collect([dir])
        #expect(r.environments["prod"] == "production")
        #expect(r.problems.contains { $0.message.contains("defined more than once with different environment labels") })
        let f = r.pods.flatMap { ManifestCheck.check($0, manifest: m, environment: r.environments[$0.namespace] ?? "production") }
        #expect(f.contains { $0.rule == "manifest:script-environment" && $0.severity == "critical" })
        // In one file: labelled test, then defined again without the label.
        let one = try tmpFile("one.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: {environment: test}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n---\n"
                              + Self.workload(namespace: "prod", label: nil))
        #expect(try Workloads.read(one).environments["prod"] == "production")
        // The same label twice is no conflict.
        let same = try tmpFile("same.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: {environment: test}}\n---\n" + Self.workload(namespace: "prod", label: "test"))
        let s = try Workloads.read(same)
        #expect(s.environments["prod"] == "test" && s.problems.isEmpty)
    }

    @Test func excessOverTheManifestIsReported() throws {
        let f = try findings(namespace: "ops", label: nil)
        let rules = f.map(\.rule).sorted()
        #expect(rules == ["manifest:capability", "manifest:capability", "manifest:hostpath", "manifest:privilege-escalation", "manifest:script-environment", "manifest:secret",
                          "manifest:service-account-token", "manifest:writable-mount"], "\(rules)")
        // Without a level (as at baseline), the runtime's default capabilities and privilege escalation
        // are grants the manifest did not make; at restricted, Pod Security reports them, once.
        #expect(f.contains { $0.rule == "manifest:capability" && $0.found.hasPrefix("keeps the runtime's default capabilities AUDIT_WRITE, CHOWN") && $0.found.contains("NET_RAW") })
        let m = try AgentManifest.load(try tmpFile("provenant.agent.yaml", Self.manifest))
        let r = try Workloads.read(try tmpFile("job.yaml", Self.workload(namespace: "ops", label: nil)))
        let restricted = r.pods.flatMap { ManifestCheck.check($0, manifest: m, environment: "production", level: .restricted) }.map(\.rule).sorted()
        #expect(restricted == ["manifest:capability", "manifest:hostpath", "manifest:script-environment", "manifest:secret",
                               "manifest:service-account-token", "manifest:writable-mount"], "\(restricted)")
        let script = try #require(f.first { $0.rule == "manifest:script-environment" })
        #expect(script.severity == "critical" && script.found == "runs cleanup.sh in the production environment", "a missing label counts as production")
        #expect(f.first { $0.rule == "manifest:capability" && $0.found.hasPrefix("adds") }?.found == "adds NET_ADMIN")
        #expect(f.first { $0.rule == "manifest:secret" }?.found.contains("prod-db") == true)
        #expect(f.first { $0.rule == "manifest:writable-mount" }?.found == "writable mount at /tmp/scratch")
        #expect(f.allSatisfy { $0.location.line != nil && $0.location.path.hasSuffix("job.yaml") })
    }

    @Test func aServiceAccountThatDisablesTheTokenCounts() throws {
        let m = try AgentManifest.load(try tmpFile("m.yaml", "name: a\n"))
        let path = try tmpFile("sa.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: quiet, namespace: ops}\nautomountServiceAccountToken: false\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ops}\nspec:\n  serviceAccountName: quiet\n  containers: [{name: c, image: x}]\n")
        let r = try Workloads.read(path)
        let pod = try #require(r.pods.first)
        #expect(!ManifestCheck.check(pod, manifest: m, environment: "test", serviceAccounts: r.objects.serviceAccounts).contains { $0.rule == "manifest:service-account-token" })
        #expect(ManifestCheck.check(pod, manifest: m, environment: "test").contains { $0.rule == "manifest:service-account-token" })
    }

    @Test func aScriptMayRunInItsDeclaredEnvironment() throws {
        #expect(try !findings(namespace: "qa", label: "test").contains { $0.rule == "manifest:script-environment" })
        #expect(try findings(namespace: "live", label: "production").contains { $0.rule == "manifest:script-environment" })
    }

    /// The kubelet runs probes' and lifecycle hooks' exec commands in the container too, and expands
    /// `$(VAR)` from env values first: a script run either way runs all the same.
    @Test func scriptsInProbesHooksAndEnvValuesCount() throws {
        let m = try AgentManifest.load(try tmpFile("provenant.agent.yaml", "name: collector\nscripts:\n  cleanup.sh: [test]\n"))
        func found(_ container: String) throws -> [PolicyFinding] {
            let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: live}\nspec:\n  containers:\n  - name: c\n    image: x\n" + container
            let r = try Workloads.read(try tmpFile("pod.yaml", yaml))
            return r.pods.flatMap { ManifestCheck.check($0, manifest: m, environment: "production") }.filter { $0.rule == "manifest:script-environment" }
        }
        let cases = [
            "    livenessProbe: {exec: {command: [/scripts/cleanup.sh]}}\n",
            "    readinessProbe: {exec: {command: [sh, -c, \"/scripts/cleanup.sh --all\"]}}\n",
            "    startupProbe: {exec: {command: [sh, -c, \"x=1; /scripts/cleanup.sh\"]}}\n",
            "    lifecycle: {preStop: {exec: {command: [/scripts/cleanup.sh]}}}\n",
            "    lifecycle: {postStart: {exec: {command: [sh, -c, /scripts/cleanup.sh]}}}\n",
            "    command: [sh, -c, \"$(SCRIPT)\"]\n    env: [{name: SCRIPT, value: /scripts/cleanup.sh}]\n",
            "    args: [\"$(S)\"]\n    env: [{name: DIR, value: /scripts}, {name: S, value: \"$(DIR)/cleanup.sh\"}]\n",
        ]
        for c in cases {
            let f = try found(c)
            #expect(f.count == 1 && f.first?.found == "runs cleanup.sh in the production environment", "\(c)")
            #expect(f.first?.location.line ?? 0 > 7, "the finding points at the handler: \(c)")
        }
        // `$$(SCRIPT)` is a literal `$(SCRIPT)`, and a name no env value sets stays as written.
        #expect(try found("    command: [sh, -c, \"echo $$(SCRIPT)\"]\n    env: [{name: SCRIPT, value: /scripts/cleanup.sh}]\n").isEmpty)
        // The shell then runs `$(OTHER)` as a command substitution, whose output it runs: not known here.
        let other = try found("    command: [sh, -c, \"$(OTHER)\"]\n    env: [{name: SCRIPT, value: /scripts/cleanup.sh}]\n")
        #expect(other.count == 1 && other[0].found.hasPrefix("NOT CHECKED: the shell runs `$(OTHER)`"), "\(other.map(\.found))")
        #expect(ContainerCommands.expand("a $(X) $$(X) $(Y) $", ["X": "1"]) == "a 1 $(X) $(Y) $")
    }

    @Test func badManifestsAreRejectedWithFileAndLine() throws {
        func error(_ text: String) -> String {
            do { _ = try AgentManifest.load(try tmpFile("m.yaml", text)); return "accepted" } catch { return "\(error)" }
        }
        #expect(error("name: a\ncapabilities: [NET_RAW]\ncapabilities: [SYS_ADMIN]\n").contains("m.yaml:3: duplicate key 'capabilities' (first at line 2)"))
        #expect(error("name: a\nnetwork: {}\n").contains("m.yaml:2: unknown field 'network'"))
        #expect(error("name: a\nimages: [ghcr.io/acme/agent:1.0]\n").contains("not pinned by digest"))
        #expect(error("name: a\negress:\n  - host: x.example\n    cidr: 10.0.0.0/8\n").contains("exactly one of host or cidr"))
        #expect(error("kind: Agent\n").contains("missing field 'name'"))
        #expect(error("name: [unclosed\n").contains("not valid YAML"))
    }

    @Test func theExampleManifestMatchesTheJSONSchema() throws {
        let root = FileManager.default.currentDirectoryPath
        _ = try AgentManifest.load(root + "/examples/provenant.agent.yaml")
        let r = try runProcess("python3", ["-c", """
            import json, sys, yaml, jsonschema
            s = json.load(open(sys.argv[1])); jsonschema.Draft202012Validator.check_schema(s)
            jsonschema.validate(yaml.safe_load(open(sys.argv[2])), s)
            bads = [{"name": "a", "capabilities": ["not a cap"]}, {"name": "x\\n  hostPID: true"}, {"name": "a", "capabilities": ["SYS_ADMN"]},
                    {"name": "a", "filesystem": {"write": ["/var/../etc"]}}, {"name": "a", "kubernetes": [{"verbs": ["*"], "resources": ["pods"]}]},
                    {"name": "a", "images": ["a@sha256:abc"]}]
            for bad in bads:
                try:
                    jsonschema.validate(bad, s); sys.exit(3)
                except jsonschema.ValidationError:
                    pass
            print("ok")
            """, root + "/schemas/agent-manifest.schema.json", root + "/examples/provenant.agent.yaml"])
        #expect(r.code == 0 && r.out.contains("ok"), "\(r.err)")
    }
}

@Suite struct GenerateTests {
    @Test func generatedKubernetesPassesRestrictedWithZeroFindings() throws {
        let m = try AgentManifest.load(try tmpFile("provenant.agent.yaml", ManifestTests.manifest + "\nkubernetes:\n  - verbs: [get]\n    resources: [pods]\ndns: true\negress:\n  - cidr: 10.0.0.0/8\n    ports: [443]\n"))
        let path = try tmpFile("generated.yaml", PolicyGenerator.kubernetes(m, namespace: "qa"))
        let r = try Workloads.read(path)
        #expect(r.pods.count == 1)
        let pod = try #require(r.pods.first)
        let findings = PodSecurity.check(pod, level: .restricted) + ManifestCheck.check(pod, manifest: m, environment: "test")
            + AccessCheck.check(pod, manifest: m, objects: r.objects)
        // The only hygiene finding left is the image, which this manifest does not name: the placeholder pins nothing.
        let hygiene = Hygiene.check(pod)
        #expect(findings.isEmpty, "\(findings.map { "\($0.rule): \($0.found)" })")
        #expect(hygiene.map(\.rule) == ["hygiene:image-not-pinned"] && hygiene.first?.found.contains("IMAGE@sha256:REPLACE_WITH_DIGEST") == true, "\(hygiene)")
        // Structure, not just the absence of findings: the restrictions sit where Kubernetes reads them.
        let c = try #require(pod.spec["containers"]?.sequence?.first)
        #expect(c["securityContext"]?["capabilities"]?["add"]?.sequence?.compactMap(\.string) == ["NET_BIND_SERVICE"])
        #expect(c["securityContext"]?["readOnlyRootFilesystem"]?.bool == true)
        #expect(c["volumeMounts"]?.sequence?.compactMap { $0["mountPath"]?.string } == ["/var/lib/collector", "/var/run/secrets/collector-creds"])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("kind: NetworkPolicy") && text.contains("cidr: 10.0.0.0/8") && text.contains("port: 53"))
        #expect(text.contains("kind: Role") && text.contains("verbs: [get]") && text.contains("kind: RoleBinding"))
    }

    @Test func theCLIRoundTripsWithThePinnedExampleManifest() throws {
        let root = FileManager.default.currentDirectoryPath
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-gen-\(UUID().uuidString).yaml").path
        let g = try runProcess(provenantBinary, ["policy", "generate", "--manifest", root + "/examples/provenant.agent.yaml", "-o", out])
        #expect(g.code == 0, "\(g.err)")
        let c = try runProcess(provenantBinary, ["policy", "check", out, "--manifest", root + "/examples/provenant.agent.yaml", "--level", "restricted", "--fail-on", "low"])
        #expect(c.code == 0 && c.out.contains("0 findings in 1 workload"), "\(c.out)\(c.err)")
        // The Cilium flavour too: its host names are enforced, and the check reads them back.
        let cilium = out + ".cilium.yaml"
        let gc = try runProcess(provenantBinary, ["policy", "generate", "--manifest", root + "/examples/provenant.agent.yaml", "--network-policy", "cilium", "-o", cilium])
        let ciliumText = (try? String(contentsOfFile: cilium, encoding: .utf8)) ?? ""
        #expect(gc.code == 0 && ciliumText.contains("matchName: otel.example.com"), "\(gc.err)")
        let cc = try runProcess(provenantBinary, ["policy", "check", cilium, "--manifest", root + "/examples/provenant.agent.yaml", "--level", "restricted", "--fail-on", "low"])
        #expect(cc.code == 0 && cc.out.contains("0 findings in 1 workload"), "\(cc.out)\(cc.err)")
        let compose = try runProcess(provenantBinary, ["policy", "generate", "--manifest", root + "/examples/provenant.agent.yaml", "--for", "compose"])
        #expect(compose.out.contains("cap_drop: [ALL]") && compose.out.contains("read_only: true") && compose.out.contains("no-new-privileges:true"))
        // Compose has no egress policy: the service is put on an internal network only, and passes.
        #expect(compose.out.contains("networks: [egress]") && compose.out.contains("internal: true"), "\(compose.out)")
        let composeFile = out + ".compose.yml"
        try compose.out.write(toFile: composeFile, atomically: true, encoding: .utf8)
        let ccheck = try runProcess(provenantBinary, ["policy", "check", composeFile, "--manifest", root + "/examples/provenant.agent.yaml", "--level", "restricted", "--fail-on", "low"])
        #expect(ccheck.code == 0 && ccheck.out.contains("0 findings in 1 workload"), "\(ccheck.out)\(ccheck.err)")
    }
}

@Suite struct CiliumEgressTests {
    static let manifest = ManifestTests.manifest + "\ndns: true\negress:\n  - host: api.example.com\n    ports: [443]\n  - cidr: 10.0.0.0/8\n    ports: [8443]\n"

    /// Host names can only be enforced by a policy that names them: the Cilium flavour does, and what it
    /// writes passes the check with zero findings.
    @Test func ciliumPolicyNamesDeclaredHostsAndRoundTrips() throws {
        let m = try AgentManifest.load(try tmpFile("provenant.agent.yaml", Self.manifest))
        let text = PolicyGenerator.kubernetes(m, namespace: "qa", networkPolicy: .cilium)
        #expect(text.contains("kind: CiliumNetworkPolicy") && text.contains("matchName: api.example.com") && text.contains("- 10.0.0.0/8"))
        #expect(!text.contains("kind: NetworkPolicy") && !text.contains("192.0.2."), "no placeholder address when hosts are named")
        let r = try Workloads.read(try tmpFile("cilium.yaml", text))
        let pod = try #require(r.pods.first)
        let findings = PodSecurity.check(pod, level: .restricted) + AccessCheck.check(pod, manifest: m, objects: r.objects)
        #expect(findings.isEmpty, "\(findings.map { "\($0.rule): \($0.found)" })")
        // The plain flavour fails closed for the host name: a placeholder, never an open rule.
        let plain = PolicyGenerator.kubernetes(m, namespace: "qa")
        #expect(plain.contains("cidr: 192.0.2.0/32") && plain.contains("provenant.dev/replace-placeholder: 192.0.2.0/32 stands for api.example.com"))
    }

    @Test func ciliumRulesBeyondTheManifestAreFindings() throws {
        let m = try AgentManifest.load(try tmpFile("provenant.agent.yaml", Self.manifest))
        let generated = PolicyGenerator.kubernetes(m, namespace: "qa", networkPolicy: .cilium)
        let deployment = generated.components(separatedBy: "\n---\n").filter { !$0.contains("CiliumNetworkPolicy") }.joined(separator: "\n---\n")
        let wide = """
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: wide, namespace: qa}
            spec:
              endpointSelector:
                matchLabels: {"k8s:app": collector}
              egress:
              - toFQDNs:
                - matchName: api.example.com
                - matchName: exfil.example.net
                - matchPattern: "*"
                toPorts:
                - ports: [{port: "443", protocol: TCP}, {port: "22", protocol: TCP}]
              - toEntities: [world]
              - toCIDR: [0.0.0.0/0]
              - toPorts:
                - ports: [{port: "443", protocol: TCP}]
            """
        let r = try Workloads.read(try tmpFile("wide.yaml", deployment + "\n" + wide))
        let pod = try #require(r.pods.first)
        let found = AccessCheck.check(pod, manifest: m, objects: r.objects).map { "\($0.severity) \($0.found)" }
        for expected in ["medium egress to exfil.example.net", "high egress to names matching *", "medium egress to port 22",
                         "high egress to entities world", "high egress to 0.0.0.0/0", "high an egress rule with no destination allows every address"] {
            #expect(found.contains(expected), "missing '\(expected)' in \(found)")
        }
        #expect(!found.contains { $0.hasSuffix("egress to api.example.com") }, "a declared host is not excess")
        #expect(!found.contains { $0.contains("no NetworkPolicy") }, "the Cilium policy counts as restricting egress")
    }

    /// Found by helper-124: ports were checked against the union of a rule's destinations, so
    /// 10.0.0.0/8 (8443) beside 192.168.0.0/16 (5432) opened 5432 to the first; and a DNS rule to a
    /// declared CIDR passed on port 53, which that CIDR does not declare.
    @Test func eachDestinationHasOnlyItsOwnPorts() throws {
        let m = try AgentManifest.load(try tmpFile("provenant.agent.yaml", ManifestTests.manifest + "\ndns: true\negress:\n  - cidr: 10.0.0.0/8\n    ports: [8443]\n  - cidr: 192.168.0.0/16\n    ports: [5432]\n"))
        let generated = PolicyGenerator.kubernetes(m, namespace: "qa")
        let deployment = generated.components(separatedBy: "\n---\n").filter { !$0.contains("kind: NetworkPolicy") }.joined(separator: "\n---\n")
        func found(_ egress: String) throws -> [String] {
            let np = """
                ---
                apiVersion: networking.k8s.io/v1
                kind: NetworkPolicy
                metadata: {name: np, namespace: qa}
                spec:
                  podSelector: {}
                  policyTypes: [Egress]
                  egress:
                  - \(egress)
                """
            let r = try Workloads.read(try tmpFile("np.yaml", deployment + "\n" + np))
            return AccessCheck.check(try #require(r.pods.first), manifest: m, objects: r.objects).map(\.found)
        }
        let crossed = try found("to: [{ipBlock: {cidr: 10.0.0.0/8}}, {ipBlock: {cidr: 192.168.0.0/16}}]\n    ports: [{port: 8443}, {port: 5432}]")
        #expect(crossed.contains { $0.contains("port 5432") } && crossed.contains { $0.contains("port 8443") }, "\(crossed)")
        let dns = try found("to: [{ipBlock: {cidr: 10.0.0.0/8}}]\n    ports: [{port: 53, protocol: UDP}]")
        #expect(dns.contains { $0.contains("53") }, "\(dns)")
        let own = try found("to: [{ipBlock: {cidr: 10.0.0.0/8}}]\n    ports: [{port: 8443}]")
        #expect(own.isEmpty, "\(own)")
    }

    /// Found by helper-124: a `toCIDRSet` entry by group (`cidrGroupRef`) was counted as a destination
    /// and read as none, so a group of 0.0.0.0/0 passed; and a policy with
    /// `enableDefaultDeny: {egress: false}`, which denies nothing, counted as restricting egress.
    @Test func ciliumGroupsAndPoliciesWithoutDefaultDenyAreNotRestrictions() throws {
        let m = try AgentManifest.load(try tmpFile("provenant.agent.yaml", Self.manifest))
        let generated = PolicyGenerator.kubernetes(m, namespace: "qa", networkPolicy: .cilium)
        let deployment = generated.components(separatedBy: "\n---\n").filter { !$0.contains("CiliumNetworkPolicy") }.joined(separator: "\n---\n")
        func policy(_ extra: String, _ egress: String) -> String {
            """
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: p, namespace: qa}
            spec:
              endpointSelector:
                matchLabels: {"k8s:app": collector}
            \(extra)  egress:
              - \(egress)
                toPorts:
                - ports: [{port: "443", protocol: TCP}]
            """
        }
        func found(_ text: String) throws -> [String] {
            let r = try Workloads.read(try tmpFile("cnp.yaml", deployment + "\n" + text))
            return AccessCheck.check(try #require(r.pods.first), manifest: m, objects: r.objects).map { "\($0.severity) \($0.found)" }
        }
        let group = try found(policy("", "toCIDRSet: [{cidrGroupRef: everything}]"))
        #expect(group.contains("high egress to a CIDR group"), "\(group)")
        let open = try found(policy("  enableDefaultDeny: {egress: false, ingress: false}\n", "toCIDR: [10.0.0.0/8]"))
        #expect(open.contains { $0.hasPrefix("high no NetworkPolicy or CiliumNetworkPolicy restricts") && $0.contains("enableDefaultDeny") }, "\(open)")
        let n = try found(policy("  enableDefaultDeny: {egress: n}\n", "toCIDR: [10.0.0.0/8]"))
        #expect(n.contains { $0.contains("enableDefaultDeny") }, "yaml.v2 reads n as false: \(n)")
        let denying = try found(policy("  enableDefaultDeny: {egress: true}\n", "toCIDR: [10.0.0.0/8]"))
        #expect(!denying.contains { $0.contains("no NetworkPolicy") }, "\(denying)")
    }
}

extension CiliumEgressTests {
    /// An entry that names a protocol and no ports is every port of that protocol only. The Cilium
    /// flavour wrote no toPorts for it (every protocol), and the check accepted a rule without ports
    /// against it, in both flavours (helper-84, N4).
    @Test func aProtocolOnlyEntryAllowsThatProtocolAlone() throws {
        let m = try AgentManifest.load(try tmpFile("provenant.agent.yaml", ManifestTests.manifest + "\negress:\n  - cidr: 10.1.0.0/16\n    protocol: UDP\n"))
        for flavour in [PolicyGenerator.NetworkPolicyFlavor.cilium, .kubernetes] {
            let generated = PolicyGenerator.kubernetes(m, namespace: "qa", networkPolicy: flavour)
            #expect(generated.contains("protocol: UDP"), "\(flavour): \(generated)")
            let r = try Workloads.read(try tmpFile("own.yaml", generated))
            let own = AccessCheck.check(try #require(r.pods.first), manifest: m, objects: r.objects)
            #expect(own.isEmpty, "\(flavour) round-trips: \(own.map(\.found))")
        }
        let deployment = PolicyGenerator.kubernetes(m, namespace: "qa", networkPolicy: .cilium)
            .components(separatedBy: "\n---\n").filter { !$0.contains("CiliumNetworkPolicy") }.joined(separator: "\n---\n")
        func found(_ egress: String, kind: String) throws -> [String] {
            let policy = kind == "cilium" ? """
                ---
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: p, namespace: qa}
                spec:
                  endpointSelector:
                    matchLabels: {app: collector}
                  egress:
                  - toCIDR: [10.1.0.0/16]
                \(egress)
                """ : """
                ---
                apiVersion: networking.k8s.io/v1
                kind: NetworkPolicy
                metadata: {name: p, namespace: qa}
                spec:
                  podSelector:
                    matchLabels: {app: collector}
                  policyTypes: [Egress]
                  egress:
                  - to: [{ipBlock: {cidr: 10.1.0.0/16}}]
                \(egress)
                """
            let r = try Workloads.read(try tmpFile("p.yaml", deployment + "\n" + policy))
            return AccessCheck.check(try #require(r.pods.first), manifest: m, objects: r.objects).map(\.found)
        }
        #expect(try found("", kind: "cilium").contains { $0.contains("every port and protocol") }, "no toPorts: every protocol")
        #expect(try found("", kind: "np").contains { $0.contains("every port and protocol") }, "no ports: every protocol")
        #expect(try found("    toPorts:\n    - ports: [{port: \"0\", protocol: TCP}]", kind: "cilium").contains { $0.contains("port 0") })
        #expect(try found("    toPorts:\n    - ports: [{port: \"0\", protocol: ANY}]", kind: "cilium").contains { $0.contains("port 0") })
        #expect(try found("    ports: [{protocol: TCP}]", kind: "np").contains { $0.contains("every TCP port") })
        #expect(try found("    toPorts:\n    - ports: [{port: \"0\", protocol: UDP}]", kind: "cilium").isEmpty)
        #expect(try found("    ports: [{protocol: UDP, port: 5000}]", kind: "np").isEmpty)
        #expect(try found("    ports: [{protocol: UDP}]", kind: "np").isEmpty)
    }
}

@Suite struct AccessCheckTests {
    @Test func rbacAndEgressBeyondTheManifestAreFindings() throws {
        let m = try AgentManifest.load(try tmpFile("m.yaml", "name: collector\nkubernetes:\n  - verbs: [get, list]\n    resources: [pods]\negress:\n  - cidr: 10.0.0.0/8\n    ports: [443]\n"))
        let path = try tmpFile("cluster.yaml", """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: collector, namespace: ops}
            spec:
              template:
                metadata:
                  labels: {app: collector}
                spec:
                  serviceAccountName: collector
                  containers:
                  - {name: c, image: x@sha256:0000000000000000000000000000000000000000000000000000000000000000}
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: Role
            metadata: {name: collector, namespace: ops}
            rules:
            - apiGroups: [""]
              resources: [pods, secrets]
              verbs: [get, list]
            - apiGroups: [""]
              resources: [pods/exec]
              verbs: [create]
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRole
            metadata: {name: everything}
            rules:
            - apiGroups: ["*"]
              resources: ["*"]
              verbs: ["*"]
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: RoleBinding
            metadata: {name: collector, namespace: ops}
            roleRef: {kind: Role, name: collector, apiGroup: rbac.authorization.k8s.io}
            subjects: [{kind: ServiceAccount, name: collector}]
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRoleBinding
            metadata: {name: collector-everything}
            roleRef: {kind: ClusterRole, name: everything, apiGroup: rbac.authorization.k8s.io}
            subjects: [{kind: ServiceAccount, name: collector, namespace: ops}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: collector, namespace: ops}
            spec:
              podSelector: {matchLabels: {app: collector}}
              policyTypes: [Egress]
              egress:
              - to: [{ipBlock: {cidr: 10.0.0.0/8}}]
                ports: [{port: 443}]
              - to: [{ipBlock: {cidr: 0.0.0.0/0}}]
            """)
        let r = try Workloads.read(path)
        let f = try #require(r.pods.first).map { AccessCheck.check($0, manifest: m, objects: r.objects) } ?? []
        let found = f.map { "\($0.rule) \($0.found)" }.sorted()
        #expect(found == [
            "manifest:egress-excess egress to 0.0.0.0/0",
            "manifest:rbac-exec Role collector grants create on pods/exec",
            "manifest:rbac-secrets Role collector grants get on secrets",
            "manifest:rbac-secrets Role collector grants list on secrets",
            "manifest:rbac-wildcard ClusterRole everything grants [*] on [*]",
        ], "\(found)")
        #expect(f.allSatisfy { $0.location.line != nil })
        // Without any NetworkPolicy, egress is unrestricted.
        var none = r.objects
        none.networkPolicies = []
        #expect(try #require(r.pods.first).map { AccessCheck.check($0, manifest: m, objects: none) }?.contains { $0.rule == "manifest:egress-unrestricted" } == true)
    }
}

@Suite struct RuntimeConfigTests {
    /// Services extending one large base merge it in each: past the file's merge budget a service is
    /// not merged, and that is a not-checked finding, never a clean pass (found by helper-233).
    @Test func extendsPastTheMergeBudgetIsNotChecked() throws {
        let env = (0..<2000).map { "      V\($0): x" }.joined(separator: "\n")
        let children = (0..<200).map { "  s\($0):\n    extends: base\n    image: acme/s@sha256:" + String(repeating: "0", count: 64) }.joined(separator: "\n")
        let path = try tmpFile("docker-compose.yml", "services:\n  base:\n    image: acme/base@sha256:" + String(repeating: "0", count: 64) + "\n    privileged: true\n    environment:\n" + env + "\n" + children + "\n")
        let r = try Workloads.read(path)
        let f = r.objects.compose.flatMap { RuntimeConfigs.compose($0.node, file: $0.file) }
        let merged = Set(f.filter { $0.rule == "pss:privileged" }.map(\.name)), cut = Set(f.filter { $0.rule == "compose:not-checked" }.map(\.name))
        // Each merge takes the base's 4,000-odd nodes: about 49 services fit in 200,000.
        #expect(merged.count > 40 && merged.count < 60 && merged.count + cut.count == 201, "\(merged.count) merged, \(cut.count) not checked")
        #expect(f.contains { $0.rule == "compose:not-checked" && $0.found.contains("more than 200000 nodes") })
    }

    @Test func composeServicesGetTheEquivalentControls() throws {
        let path = try tmpFile("docker-compose.yml", """
            services:
              agent:
                image: acme/agent:latest
                privileged: true
                network_mode: host
                cap_add: [SYS_ADMIN]
                volumes:
                  - /var/run/docker.sock:/var/run/docker.sock
                environment:
                  API_TOKEN: ghp_abcdefghijklmnopqrstuvwxyz0123456789
              safe:
                image: acme/safe@sha256:0000000000000000000000000000000000000000000000000000000000000000
                user: "10001:10001"
                read_only: true
                cap_drop: [ALL]
                security_opt: ["no-new-privileges:true"]
            """)
        let r = try Workloads.read(path)
        let f = r.objects.compose.flatMap { RuntimeConfigs.compose($0.node, file: $0.file) }
        #expect(f.allSatisfy { $0.name == "agent" }, "the hardened service has no findings")
        let byRule = Dictionary(grouping: f, by: \.rule)
        for rule in ["pss:privileged", "pss:hostnamespaces", "pss:capabilities_baseline", "hygiene:cap-sys-admin", "pss:hostpathvolumes",
                     "hygiene:plaintext-secret", "hygiene:image-latest", "pss:runasnonroot"] {
            #expect(byRule[rule] != nil, "missing \(rule)")
        }
        #expect(byRule["pss:privileged"]?.first?.location.line == 4)
        #expect(f.allSatisfy { !$0.found.contains("abcdefghijklmnop") })
    }

    /// Left undone last stop: compose services were never held to the manifest's egress or scripts.
    /// Compose has no egress policy, so only `network_mode: none` or internal networks keep a service
    /// in; a declared script runs only in its environments (the `environment` label, else production).
    @Test func composeServicesAreHeldToTheManifestsEgressAndScripts() throws {
        let m = try AgentManifest.load(try tmpFile("provenant.agent.yaml", """
            name: a
            egress: [{host: api.example.com, ports: [443]}]
            scripts: {cleanup.sh: [test]}
            """))
        let image = "acme/a@sha256:" + String(repeating: "0", count: 64)
        let path = try tmpFile("docker-compose.yml", """
            services:
              onDefault: {image: "\(image)", command: ["sh", "-c", "./cleanup.sh --all"]}
              hostMode: {image: "\(image)", network_mode: bridge}
              none: {image: "\(image)", network_mode: none}
              inside: {image: "\(image)", networks: [inside], labels: {environment: test}, healthcheck: {test: ["CMD-SHELL", "/opt/cleanup.sh"]}}
              external: {image: "\(image)", networks: [inside, ext], labels: ["environment=production"], entrypoint: "/opt/cleanup.sh"}
              hook: {image: "\(image)", network_mode: none, pre_stop: [{command: ["cleanup.sh"]}]}
            networks:
              inside: {internal: true}
              ext: {external: true, internal: true}
            """)
        let r = try Workloads.read(path)
        let f = r.objects.compose.flatMap { RuntimeConfigs.compose($0.node, file: $0.file, manifest: m) }
        let egress = Set(f.filter { $0.rule == "manifest:egress-unrestricted" }.map(\.name))
        #expect(egress == ["onDefault", "hostMode", "external"], "\(f.filter { $0.rule == "manifest:egress-unrestricted" }.map { "\($0.name): \($0.found)" })")
        let scripts = f.filter { $0.rule == "manifest:script-environment" }
        #expect(Set(scripts.map(\.name)) == ["onDefault", "external", "hook"] && scripts.allSatisfy { $0.severity == "critical" && $0.found.contains("production") },
                "\(scripts.map { "\($0.name): \($0.found)" })")
        // Without a manifest, neither is a finding: they are the manifest's rules.
        let plain = r.objects.compose.flatMap { RuntimeConfigs.compose($0.node, file: $0.file) }
        #expect(!plain.contains { $0.rule.hasPrefix("manifest:") })
    }

    /// A manifest allowing cleanup.sh only in the test environment.
    static func cleanupForTestOnly() throws -> AgentManifest {
        try AgentManifest.load(try tmpFile("provenant.agent.yaml", "name: a\nscripts: {cleanup.sh: [test]}\n"))
    }

    /// A Pod file whose containers are the given flow-mapping lines (indented by two spaces).
    static func pod(_ containers: String) throws -> String {
        try tmpFile("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n" + containers + "\n")
    }

    /// Left undone last stop: `sh -c "$CLEANUP"` runs what the container's env sets, and only the
    /// kubelet's `$(VAR)` was expanded. A shell's `$VAR` and `${VAR:-default}` are read too, in
    /// Kubernetes containers and compose services alike.
    @Test func scriptsNamedThroughAShellVariableAreFound() throws {
        let m = try Self.cleanupForTestOnly()
        let pod = try Self.pod("""
              - {name: a, image: x, env: [{name: JOB, value: /opt/cleanup.sh}], command: [sh, -c, "$JOB --all"]}
              - {name: b, image: x, command: [sh, -c, "${NOPE:-cleanup.sh}"]}
              - {name: c, image: x, env: [{name: JOB, value: backup.sh}], command: [sh, -c, "$JOB"]}
            """)
        let r = try Workloads.read(pod)
        let found = r.pods.flatMap { ManifestCheck.check($0, manifest: m, environment: "production") }.filter { $0.rule == "manifest:script-environment" }
        #expect(Set(found.compactMap(\.container)) == ["a", "b"], "\(found.map { "\($0.container ?? ""): \($0.found)" })")
        let compose = try tmpFile("docker-compose.yml", """
            services:
              job: {image: x, network_mode: none, environment: {JOB: cleanup.sh}, command: [sh, -c, "$$JOB"]}
              other: {image: x, network_mode: none, environment: [JOB=backup.sh], command: [sh, -c, "$$JOB"]}
            """)
        let c = try Workloads.read(compose)
        let cf = c.objects.compose.flatMap { RuntimeConfigs.compose($0.node, file: $0.file, manifest: m) }.filter { $0.rule == "manifest:script-environment" }
        #expect(cf.map(\.name) == ["job"], "\(cf.map { "\($0.name): \($0.found)" })")
        #expect(ContainerCommands.shellExpanded("a $X ${Y} ${Z:-d} $$ $", ["X": "1", "Y": "2"]) == "a 1 2 d $$ $")
    }

    /// Left undone by helper-138: a shell that runs a word only known when it runs (a command
    /// substitution, a variable set from one, a loop variable) may run a barred script; that is NOT
    /// CHECKED, never clean. Words the shell runs literally, or hands such text only as an argument,
    /// stay clean.
    @Test func commandsNamedAtRunTimeAreNotChecked() throws {
        let m = try Self.cleanupForTestOnly()
        let pod = try Self.pod("""
              - {name: subst, image: x, command: [sh, -c, "S=$(cat /etc/job); ./$S"]}
              - {name: backquote, image: x, command: [/bin/bash, -ec, "exec `cat /etc/job`"]}
              - {name: loop, image: x, command: [sh, -c, "for f in $(ls /opt); do /opt/$f; done"]}
              - {name: runner, image: x, command: [sh, -c, "python3 -u \\"$JOB\\""]}
              - {name: clean, image: x, env: [{name: JOB, value: /opt/run.py}], command: [sh, -c, "echo \\"started $(date) by $HOSTNAME\\"; S=run; python3 $JOB; exec \\"$@\\" ./$S.sh '$NOPE'"]}
              - {name: direct, image: x, command: [/opt/collector, "$S"]}
              - {name: busybox, image: x, command: [busybox, sh, -c, "S=$(cat /etc/job); ./$S"]}
              - {name: options, image: x, command: [bash, -o, pipefail, --noprofile, -c, "S=$(cat /etc/job); ./$S"]}
              - {name: rcfile, image: x, command: [bash, --rcfile, /dev/null, -c, "S=$(cat /etc/job); ./$S"]}
            """)
        let r = try Workloads.read(pod)
        let found = r.pods.flatMap { ManifestCheck.check($0, manifest: m, environment: "production") }.filter { $0.rule == "manifest:script-environment" }
        #expect(Set(found.compactMap(\.container)) == ["subst", "backquote", "loop", "runner", "busybox", "options", "rcfile"], "\(found.map { "\($0.container ?? ""): \($0.found)" })")
        #expect(found.allSatisfy { $0.severity == "high" && $0.found.hasPrefix("NOT CHECKED: the shell runs") })
        // Where no script is barred from the environment, nothing is said.
        let test = r.pods.flatMap { ManifestCheck.check($0, manifest: m, environment: "test") }.filter { $0.rule == "manifest:script-environment" }
        #expect(test.isEmpty, "\(test.map(\.found))")
        let compose = try tmpFile("docker-compose.yml", """
            services:
              job: {image: x, network_mode: none, command: [sh, -c, "S=$$(cat /etc/job); ./$$S"]}
              other: {image: x, network_mode: none, environment: [JOB=backup.sh], command: [sh, -c, "./$$JOB"]}
            """)
        let c = try Workloads.read(compose)
        let cf = c.objects.compose.flatMap { RuntimeConfigs.compose($0.node, file: $0.file, manifest: m) }.filter { $0.rule == "manifest:script-environment" }
        #expect(cf.map(\.name) == ["job"] && cf.allSatisfy { $0.found.hasPrefix("NOT CHECKED") }, "\(cf.map { "\($0.name): \($0.found)" })")
    }

    /// Found by helper-124: an image volume mounts another image's files into the pod, and neither
    /// `manifest:image` nor the pinning rules looked at it.
    @Test func imageVolumesAreImagesOfThePod() throws {
        let digest = "sha256:" + String(repeating: "0", count: 64)
        let m = try AgentManifest.load(try tmpFile("provenant.agent.yaml", "name: a\nimages: [reg.example/app@\(digest)]\n"))
        let path = try tmpFile("pod.yaml", """
            apiVersion: v1
            kind: Pod
            metadata: {name: p}
            spec:
              containers: [{name: c, image: "reg.example/app@\(digest)"}]
              volumes:
              - name: tools
                image: {reference: "evil.example/tools:latest"}
            """)
        let r = try Workloads.read(path)
        let pod = try #require(r.pods.first)
        let rules = (Hygiene.check(pod) + ManifestCheck.check(pod, manifest: m, environment: "production")).filter { $0.found.contains("evil.example") }.map(\.rule)
        #expect(Set(rules) == ["hygiene:image-latest", "manifest:image"], "\(rules)")
    }

    /// Found by helper-124: a service on a network named `host` joins the host's network as
    /// `network_mode: host` does, and was not seen.
    @Test func aComposeNetworkNamedHostIsTheHostNetwork() throws {
        let safe = """
                image: acme/safe@sha256:0000000000000000000000000000000000000000000000000000000000000000
                user: "10001:10001"
                read_only: true
                cap_drop: [ALL]
                security_opt: ["no-new-privileges:true"]
            """
        func rules(_ networks: String?, _ top: String) throws -> [String] {
            let path = try tmpFile("docker-compose.yml", "services:\n  agent:\n" + safe + (networks.map { "\n    networks: " + $0 } ?? "") + "\n" + top)
            let r = try Workloads.read(path)
            return r.objects.compose.flatMap { RuntimeConfigs.compose($0.node, file: $0.file) }.map(\.rule)
        }
        #expect(try rules("[hostnet]", "networks:\n  hostnet: {external: true, name: host}\n").contains("pss:hostnamespaces"))
        #expect(try rules("{host: {}}", "networks:\n  host: {external: true}\n").contains("pss:hostnamespaces"))
        #expect(try rules("[backend]", "networks:\n  backend: {}\n").isEmpty)
        // The default network named host, the older external.name, and an interpolated name (helper-125).
        #expect(try rules(nil, "networks:\n  default: {external: true, name: host}\n").contains("pss:hostnamespaces"))
        #expect(try rules("[hostnet]", "networks:\n  hostnet: {external: {name: host}}\n").contains("pss:hostnamespaces"))
        #expect(try rules("[hostnet]", "networks:\n  hostnet: {external: true, name: \"${NET:-host}\"}\n").contains("pss:hostnamespaces"))
        #expect(try rules("[hostnet]", "networks:\n  hostnet: {external: true, name: \"${NET}\"}\n").contains("compose:unresolved-interpolation"))
        #expect(try rules(nil, "").isEmpty)
    }

    @Test func ociRuntimeConfigsAreChecked() throws {
        let path = try tmpFile("config.json", """
            {"ociVersion": "1.0.2", "process": {"user": {"uid": 0}, "env": ["AWS_SECRET_ACCESS_KEY=abcd1234abcd1234abcd1234"],
             "capabilities": {"bounding": ["CAP_CHOWN", "CAP_SYS_ADMIN"]}, "noNewPrivileges": false},
             "root": {"path": "rootfs", "readonly": false},
             "mounts": [{"destination": "/host", "type": "bind", "source": "/"}],
             "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "mount"}, {"type": "uts"}, {"type": "cgroup"}]}}
            """)
        let findings = try RuntimeConfigs.ociConfig(path)
        #expect(findings.allSatisfy { $0.location.line != nil }, "every finding names a line")
        #expect(findings.first { $0.rule == "hygiene:plaintext-secret" }?.location.line == 1)
        #expect(findings.first { $0.rule == "pss:hostpathvolumes" }?.location.line == 4)
        let rules = Set(findings.map(\.rule))
        #expect(rules == ["pss:capabilities_baseline", "hygiene:cap-sys-admin", "pss:runasnonroot", "pss:allowprivilegeescalation",
                          "hygiene:writable-root-filesystem", "pss:hostpathvolumes", "hygiene:plaintext-secret",
                          // No seccomp filter, no masked paths, and gid 0 by default.
                          "pss:seccompprofile_baseline", "pss:procmount", "hygiene:root-group",
                          // runc applies no AppArmor profile the config does not name.
                          "pss:apparmorprofile"], "\(rules.sorted())")
        #expect(throws: (any Error).self) { try RuntimeConfigs.ociConfig(try tmpFile("config.json", "{\"not\": \"oci\"}")) }
    }
}

@Suite struct InitTests {
    /// helper-125: `check` holds each address to its own ports, DNS rules' included, and `init`
    /// dropped a DNS rule's addresses, so a namespace with 53/UDP and 443 to one CIDR drafted a
    /// manifest its own check failed.
    @Test func aDraftKeepsTheAddressesAndProtocolsOfDNSRules() throws {
        let text = """
            apiVersion: v1
            kind: Pod
            metadata: {name: p, namespace: qa, labels: {app: a}}
            spec:
              containers: [{name: c, image: "reg.example/app@sha256:\(String(repeating: "0", count: 64))"}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: np, namespace: qa}
            spec:
              podSelector: {}
              policyTypes: [Egress]
              egress:
              - to: [{ipBlock: {cidr: 10.0.0.0/16}}]
                ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
              - to: [{ipBlock: {cidr: 10.0.0.0/16}}]
                ports: [{port: 443}]
            """
        let pod = try tmpFile("dns.yaml", text)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-init-\(UUID().uuidString).yaml").path
        #expect(try runProcess(provenantBinary, ["policy", "init", pod, "-o", out]).code == 0)
        let m = try AgentManifest.load(out)
        #expect(m.dns && m.egress.contains { $0.cidr == "10.0.0.0/16" && $0.proto == "UDP" && $0.ports == [53] }, "\(m.egress)")
        let c = try runProcess(provenantBinary, ["policy", "check", pod, "--manifest", out, "--format", "json"])
        #expect(!c.out.contains("\"manifest:egress"), "\(c.out)")
    }

    /// helper-125: `check` reads image volumes as the pod's images, and `init` drafted only the
    /// containers', so its own draft failed `check` with manifest:image.
    @Test func aDraftNamesTheImagesOfImageVolumes() throws {
        let digest = "sha256:" + String(repeating: "1", count: 64)
        let pod = try tmpFile("pod.yaml", """
            apiVersion: v1
            kind: Pod
            metadata: {name: p}
            spec:
              containers: [{name: c, image: "reg.example/app@sha256:\(String(repeating: "0", count: 64))"}]
              volumes: [{name: tools, image: {reference: "reg.example/tools@\(digest)"}}]
            """)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-init-\(UUID().uuidString).yaml").path
        #expect(try runProcess(provenantBinary, ["policy", "init", pod, "-o", out]).code == 0)
        #expect(try AgentManifest.load(out).images.contains("reg.example/tools@" + digest))
        let c = try runProcess(provenantBinary, ["policy", "check", pod, "--manifest", out, "--format", "json"])
        #expect(!c.out.contains("manifest:image"), "\(c.out)")
    }

    @Test func aDraftedManifestRecordsTheDeploymentAndChecksClean() throws {
        let deploy = try #require(Bundle.module.url(forResource: "Fixtures/init-deployment", withExtension: "yaml")).path
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-init-\(UUID().uuidString).yaml").path
        let i = try runProcess(provenantBinary, ["policy", "init", deploy, "-o", out])
        #expect(i.code == 0, "\(i.err)")
        let m = try AgentManifest.load(out)
        #expect(m.capabilities == ["NET_BIND_SERVICE"] && m.write == ["/var/lib/collector"] && m.uid == 10001 && m.nonRoot == true)
        #expect(m.scripts["cleanup.sh"] == ["test"] && m.dns && m.egress.first?.cidr == "10.0.0.0/8")
        #expect(m.kubernetes.first?.resources == ["pods"] && m.secrets.first?.secret == "creds")
        let c = try runProcess(provenantBinary, ["policy", "check", deploy, "--manifest", out, "--format", "json"])
        #expect(!c.out.contains("\"manifest:"), "the draft records what exists, so nothing exceeds it: \(c.out)")
        #expect(try runProcess(provenantBinary, ["policy", "init", deploy, "-o", out]).code == 2, "an existing file is not overwritten")
        // What Kubernetes accepts and a manifest spells otherwise is drafted as the manifest spells it:
        // a dotted name, trailing slashes, a lowercase capability (found by helper-80).
        let odd = try tmpFile("odd.yaml", """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: collector.v2}
            spec:
              selector: {matchLabels: {app: a}}
              template:
                metadata: {labels: {app: a}}
                spec:
                  securityContext: {runAsNonRoot: true, runAsUser: 10001}
                  containers:
                  - name: c
                    image: registry.example.com/app@sha256:0000000000000000000000000000000000000000000000000000000000000000
                    securityContext: {capabilities: {add: [net_admin]}}
                    volumeMounts: [{name: d, mountPath: /data/}]
                  volumes: [{name: d, emptyDir: {}}, {name: h, hostPath: {path: /var/log/}}]

            """)
        let draft = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-init-\(UUID().uuidString).yaml").path
        #expect(try runProcess(provenantBinary, ["policy", "init", odd, "-o", draft]).code == 0)
        let dm = try AgentManifest.load(draft)
        #expect(dm.name == "collector-v2" && dm.capabilities == ["NET_ADMIN"] && dm.write == ["/data"] && dm.read == ["/var/log"], "\(dm)")
    }
}

@Suite struct PatchTests {
    @Test func thePatchHoldsOnlyWhatDiffers() throws {
        let deploy = try #require(Bundle.module.url(forResource: "Fixtures/init-deployment", withExtension: "yaml")).path
        let root = FileManager.default.currentDirectoryPath
        let r = try runProcess(provenantBinary, ["policy", "generate", "--manifest", root + "/examples/provenant.agent.yaml", "--patch", deploy])
        #expect(r.code == 0, "\(r.err)")
        let doc = try #require(try Yams.compose(yaml: r.out.split(separator: "\n").dropFirst().joined(separator: "\n")))
        let spec = try #require(doc["spec"]?["template"]?["spec"])
        // Already set in the deployment, so absent from the patch.
        #expect(spec["securityContext"]?["runAsNonRoot"] == nil && spec["securityContext"]?["runAsUser"] == nil)
        #expect(spec["securityContext"]?["seccompProfile"]?["type"]?.string == "RuntimeDefault")
        let sc = try #require(spec["containers"]?.sequence?.first?["securityContext"])
        #expect(sc["allowPrivilegeEscalation"]?.bool == false && sc["readOnlyRootFilesystem"]?.bool == true)
        #expect(sc["capabilities"]?["drop"]?.sequence?.compactMap(\.string) == ["ALL"])
        #expect(sc["capabilities"]?["add"]?.sequence?.isEmpty == true, "the manifest declares no capabilities")
        #expect(r.out.contains("kubectl patch deployment collector -n qa --type strategic"))
    }
}
