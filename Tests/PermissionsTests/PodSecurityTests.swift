import Foundation
import Testing
import TestSupport
@testable import Permissions

/// The Kubernetes pod-security-admission fixtures for v1.37 (Apache-2.0, see
/// Fixtures/k8s-pod-security/LICENSE.pod-security-admission): each fail fixture yields exactly its
/// own control at its level, and each pass fixture yields no pss: finding. The three exceptions are
/// files whose content duplicates another fixture's under a different name (see `duplicates`).
@Suite struct PodSecurityTests {
    static func fixtures() -> [(String, String, String)] {
        guard let root = Bundle.module.url(forResource: "Fixtures/k8s-pod-security", withExtension: nil)?.path else { return [] }
        var out: [(String, String, String)] = []
        for level in ["baseline", "restricted"] {
            for verdict in ["pass", "fail"] {
                let dir = "\(root)/\(level)/v1.37/\(verdict)"
                for f in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() where f.hasSuffix(".yaml") {
                    out.append((level, verdict, dir + "/" + f))
                }
            }
        }
        return out
    }

    /// Fixtures whose content is that of another fixture under another control's name: a checker
    /// that looks only at the content can give one name per content. seccompprofile_restricted1 is
    /// byte-for-byte seccompprofile_baseline0, restrictedvolumes19 is hostpathvolumes1 with one
    /// hostPath volume instead of two, and seccompprofile_restricted4 sets Unconfined explicitly as
    /// the seccompprofile_baseline fixtures do. Each is named by the control it breaks first.
    static let duplicates = ["restricted/seccompprofile_restricted1.yaml": "seccompprofile_baseline",
                             "restricted/seccompprofile_restricted4.yaml": "seccompprofile_baseline",
                             "restricted/restrictedvolumes19.yaml": "hostpathvolumes"]

    @Test func allFixturesAreThere() { #expect(Self.fixtures().count == 148) }

    @Test(arguments: fixtures())
    func fixtureGivesItsVerdict(_ level: String, _ verdict: String, _ path: String) throws {
        let r = try Workloads.read(path)
        let (pods, problems) = (r.pods, r.problems + r.rejected)
        #expect(problems.isEmpty && pods.count == 1)
        let lvl = try #require(PodSecurity.Level(rawValue: level))
        let rules = Set(pods.flatMap { PodSecurity.check($0, level: lvl) }.map(\.rule))
        if verdict == "pass" {
            #expect(rules.isEmpty, "\(path): \(rules.sorted())")
        } else {
            let control = (path as NSString).lastPathComponent.replacingOccurrences(of: ".yaml", with: "").trimmingCharacters(in: .decimalDigits)
            let name = (path as NSString).lastPathComponent
            let expected = Self.duplicates["\(level)/\(name)"] ?? control
            #expect(rules == ["pss:" + expected], "\(path): \(rules.sorted())")
        }
    }
}

@Suite struct PolicyCheckCLITests {
    @Test func findingsCarryFileLineAndSetTheExitCode() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-policy-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: collector
            spec:
              template:
                spec:
                  hostNetwork: true
                  containers:
                  - name: agent
                    image: example/agent:latest
                    env:
                    - name: API_TOKEN
                      value: ghp_abcdefghijklmnopqrstuvwxyz0123456789
                    securityContext:
                      capabilities:
                        add: [SYS_ADMIN]
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: settings
            """.write(toFile: dir + "/deploy.yaml", atomically: true, encoding: .utf8)
        func run(_ args: [String]) throws -> (Int32, String) {
            let r = try runProcess(provenantBinary, args)
            return (r.code, r.out + r.err)
        }
        let r = try run(["policy", "check", dir, "--level", "baseline", "--fail-on", "high"])
        #expect(r.0 == 1)
        #expect(r.1.contains("deploy.yaml:8  high  pss:hostnamespaces  Deployment/collector"))
        #expect(r.1.contains("pss:capabilities_baseline") && r.1.contains("CAP_SYS_ADMIN grants most of root"))
        #expect(r.1.contains("hygiene:image-latest") && r.1.contains("hygiene:cap-sys-admin") && r.1.contains("hygiene:writable-root-filesystem"))
        #expect(r.1.contains("hygiene:plaintext-secret") && r.1.contains("ghp_… 40 characters") && !r.1.contains("abcdefghijklmnop"), "a secret is never printed")
        #expect(try run(["policy", "check", dir, "--level", "baseline", "--fail-on", "critical"]).0 == 1, "CAP_SYS_ADMIN is critical")
        // Standard output only: warnings (the ConfigMap is not checked) go to standard error.
        let sarif = try runProcess(provenantBinary, ["policy", "check", dir, "--format", "sarif"])
        let log = (try? JSONSerialization.jsonObject(with: Data(sarif.out.utf8))) as? [String: Any]
        #expect(sarif.code == 0 && log?["version"] as? String == "2.1.0" && sarif.out.contains("pss:hostnamespaces"))
        #expect(sarif.err.contains("kind 'ConfigMap' is not checked"))
        #expect((try? JSONSerialization.jsonObject(with: Data(sarif.out.utf8))) != nil, "the SARIF log is one JSON document")
        if let out = ProcessInfo.processInfo.environment["PROVENANT_SBOM_OUT"] {
            try sarif.out.write(toFile: out + "/policy.sarif", atomically: true, encoding: .utf8)
        }
        let restricted = try run(["policy", "check", dir, "--format", "json"])
        #expect(restricted.0 == 0 && restricted.1.contains("\"rule\" : \"pss:runasnonroot\""))
        try "a: [unclosed".write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let bad = try run(["policy", "check", dir + "/bad.yaml"])
        #expect(bad.0 == 2 && bad.1.contains("bad.yaml") && bad.1.contains("not valid YAML"))
    }
}

@Suite struct PolicyBadInputTests {
    func check(_ text: String) throws -> (Int32, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-bad-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try runProcess(provenantBinary, ["policy", "check", path])
        return (r.code, r.err)
    }

    /// A directory with a Helm chart in it: its templates stopped the whole run with exit 2, and the
    /// plain manifests beside it were never checked. Each template is now NOT CHECKED, a bad file in a
    /// directory is one error line, and the rest are still checked.
    @Test func aDirectoryGoesOnPastHelmTemplatesAndBadFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-helm-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/chart/templates", withIntermediateDirectories: true)
        try "apiVersion: v2\nname: agent\nversion: 0.1.0\n".write(toFile: dir + "/chart/Chart.yaml", atomically: true, encoding: .utf8)
        try "image: ghcr.io/acme/agent:1.0\n".write(toFile: dir + "/chart/values.yaml", atomically: true, encoding: .utf8)
        try "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  template:\n    spec:\n      containers:\n        - name: agent\n          image: {{ .Values.image }}\n          {{- if .Values.privileged }}\n          securityContext:\n            privileged: true\n          {{- end }}\n"
            .write(toFile: dir + "/chart/templates/deploy.yaml", atomically: true, encoding: .utf8)
        try "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  hostPID: true\n  containers:\n    - name: c\n      image: nginx:1.25\n"
            .write(toFile: dir + "/pod.yaml", atomically: true, encoding: .utf8)
        try "a: [unclosed\n".write(toFile: dir + "/aa-bad.yaml", atomically: true, encoding: .utf8)
        // A plain manifest among a chart's templates is checked; so is one in a templates/ of no chart.
        try "apiVersion: v1\nkind: Pod\nmetadata:\n  name: plain\nspec:\n  containers:\n    - name: c\n      image: nginx:1.25\n      securityContext:\n        privileged: true\n"
            .write(toFile: dir + "/chart/templates/plain.yaml", atomically: true, encoding: .utf8)
        // A template that still reads as YAML is checked as written, and NOT CHECKED too; `{{` in a comment is no template.
        try "apiVersion: v1\nkind: Pod\nmetadata:\n  name: annotated\n  annotations:\n    summary: \"alert {{ $labels.instance }}\"\nspec:\n  hostIPC: true\n  containers:\n    - name: c\n      image: nginx:1.25\n"
            .write(toFile: dir + "/chart/templates/annotated.yaml", atomically: true, encoding: .utf8)
        try "# see {{ .Values.docs }}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: commented\nspec:\n  containers:\n    - name: c\n      image: nginx:1.25\n"
            .write(toFile: dir + "/chart/templates/commented.yaml", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir + "/other/templates", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/other/Chart.yaml", withIntermediateDirectories: true)
        try "apiVersion: v1\nkind: Pod\nmetadata:\n  name: nochart\nspec:\n  hostNetwork: true\n  containers:\n    - name: c\n      image: nginx:1.25\n"
            .write(toFile: dir + "/other/templates/pod.yaml", atomically: true, encoding: .utf8)
        let r = try runProcess(provenantBinary, ["policy", "check", dir, "--format", "json"])
        let findings = (try? JSONSerialization.jsonObject(with: Data(r.out.utf8))) as? [[String: Any]] ?? []
        let rules = Set(findings.compactMap { $0["rule"] as? String })
        #expect(r.code == 2 && findings.contains { $0["kind"] as? String == "Pod" } && rules.contains("k8s:not-checked"), "\(r.out)\(r.err)")
        let helm = findings.first { $0["rule"] as? String == "k8s:not-checked" }
        #expect((helm?["found"] as? String)?.contains("a template of Helm chart 'chart'") == true, "\(String(describing: helm))")
        #expect(r.err.split(separator: "\n").filter { $0.hasPrefix("error: ") }.count == 1 && r.err.contains("aa-bad.yaml:2: not valid YAML"), "\(r.err)")
        let names = Set(findings.compactMap { $0["name"] as? String })
        #expect(names.isSuperset(of: ["p", "plain", "nochart", "annotated", "commented"]) && rules.contains("pss:privileged") && rules.contains("pss:hostnamespaces"), "\(names) \(rules)")
        let notChecked = findings.filter { $0["rule"] as? String == "k8s:not-checked" }.compactMap { ($0["location"] as? [String: Any])?["path"] as? String }
        #expect(Set(notChecked.map { ($0 as NSString).lastPathComponent }) == ["deploy.yaml", "annotated.yaml"], "\(notChecked)")
    }

    /// Found by helper-124: a workload whose template or spec is a list was skipped with a warning,
    /// and the run read as clean with `--fail-on low`. It is NOT CHECKED now (one with no template at
    /// all, a Kustomize patch, stays a warning: see clusterWideNetworkPoliciesAreNotChecked).
    @Test func aWorkloadWithoutAReadablePodSpecIsNotChecked() throws {
        let text = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: d}
            spec:
              template:
              - spec:
                  hostNetwork: true
                  containers: [{name: c, image: x, securityContext: {privileged: true}}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: p}
            spec:
            - hostNetwork: true
              containers: [{name: c, image: x, securityContext: {privileged: true}}]
            """
        let r = try runProcess(provenantBinary, ["policy", "check", try tmpFile("l.yaml", text), "--format", "json", "--fail-on", "low"])
        let findings = (try? JSONSerialization.jsonObject(with: Data(r.out.utf8))) as? [[String: Any]] ?? []
        let notChecked = findings.filter { $0["rule"] as? String == "k8s:not-checked" }.compactMap { $0["name"] as? String }
        #expect(r.code != 0 && Set(notChecked) == ["d", "p"], "\(r.code) \(r.out) \(r.err)")
    }

    /// Found by helper-124: cluster-wide network policies, which can allow egress beyond the namespaced
    /// ones, were a stderr warning only, and the run read as clean.
    @Test func clusterWideNetworkPoliciesAreNotChecked() throws {
        let text = """
            apiVersion: cilium.io/v2
            kind: CiliumClusterwideNetworkPolicy
            metadata: {name: open}
            spec:
              endpointSelector: {}
              egress: [{toEntities: [world]}]
            ---
            apiVersion: policy.networking.k8s.io/v1alpha1
            kind: AdminNetworkPolicy
            metadata: {name: allow-all}
            spec:
              priority: 10
              subject: {namespaces: {}}
              egress: [{name: all, action: Allow, to: [{networks: [0.0.0.0/0]}]}]
            """
        // Calico's NetworkPolicy shares the kind, not the schema (it selected every pod when read as
        // Kubernetes'), and a CiliumNetworkPolicy may hold its rules under `specs:` (both helper-125).
        let others = """
            ---
            apiVersion: projectcalico.org/v3
            kind: NetworkPolicy
            metadata: {name: calico}
            spec: {selector: "app == 'db'", types: [Egress], egress: []}
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: listed}
            specs:
            - endpointSelector: {matchLabels: {app: collector}}
              egress: [{toEntities: [world]}]
            ---
            apiVersion: cilium.io/v2
            kind: CiliumClusterwideNetworkPolicy
            metadata: {name: host-firewall}
            spec:
              nodeSelector: {}
              ingress: [{fromEntities: [cluster]}]
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: patch}
            spec: {replicas: 5}
            """
        let r = try runProcess(provenantBinary, ["policy", "check", try tmpFile("cluster.yaml", text + "\n" + others), "--format", "json", "--fail-on", "low"])
        let findings = (try? JSONSerialization.jsonObject(with: Data(r.out.utf8))) as? [[String: Any]] ?? []
        let names = findings.filter { $0["rule"] as? String == "k8s:not-checked" }.compactMap { $0["name"] as? String }
        // An ingress-only host firewall allows no egress, and a Kustomize patch without a template is no workload.
        #expect(r.code != 0 && Set(names) == ["open", "allow-all", "calico", "listed"], "\(r.code) \(r.out) \(r.err)")
    }

    /// Namespaces labelled differently in two files are warned about in name order, every run (helper-159).
    @Test func conflictingNamespacesAreWarnedAboutInNameOrder() throws {
        let names = (0..<12).map { "ns\($0)" }
        let doc = { (env: String) in names.map { "apiVersion: v1\nkind: Namespace\nmetadata: {name: \($0), labels: {environment: \(env)}}\n" }.joined(separator: "---\n") }
        let a = try tmpFile("ns-a.yaml", doc("test")), b = try tmpFile("ns-b.yaml", doc("dev"))
        let warned = try Workloads.collect([a, b]).problems.map(\.message).filter { $0.contains("defined more than once") }
        #expect(warned == names.sorted().map { "Namespace '\($0)' is defined more than once with different environment labels; judged as production" }, "\(warned)")
    }

    @Test func duplicateKeysAreErrorsNamingBothLines() throws {
        let (code, err) = try check("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  hostNetwork: false\n  containers:\n  - name: a\n    image: x\n  hostNetwork: true\n")
        #expect(code == 2 && err.contains(".yaml:10: duplicate key 'hostNetwork' (first at line 6)"), "\(err)")
        // Keys repeated in different list items are not duplicates.
        let (ok, _) = try check("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: x@sha256:00\n  - name: b\n    image: y@sha256:00\n")
        #expect(ok == 0)
    }

    @Test func invalidYAMLWrongTypesAndUnknownKindsAreReported() throws {
        let (c1, e1) = try check("a: [b\nc: d\n")
        #expect(c1 == 2 && e1.contains(".yaml:2: not valid YAML"), "\(e1)")
        let (c2, e2) = try check("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: x\n    securityContext:\n      privileged: \"yes please\"\n---\nkind: Service\nmetadata:\n  name: s\n")
        #expect(c2 == 2 && e2.contains(".yaml:10: Pod 'p': a.securityContext.privileged must be a boolean, skipped"), "\(e2)")
        #expect(e2.contains("kind 'Service' is not checked, skipped"))
        // A kind that holds containers is a workload nobody checked: a NOT CHECKED finding that
        // --fail-on counts, not only a warning (found by helper-80).
        let rollout = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-rollout-\(UUID().uuidString).yaml").path
        try "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec:\n  template:\n    spec:\n      hostPID: true\n      containers: [{name: a, image: x, securityContext: {privileged: true}}]\n"
            .write(toFile: rollout, atomically: true, encoding: .utf8)
        let r = try runProcess(provenantBinary, ["policy", "check", rollout, "--format", "json", "--fail-on", "high"])
        #expect(r.code == 1 && r.out.contains("\"k8s:not-checked\"") && r.out.contains("NOT CHECKED: kind Rollout holds containers"), "\(r.code) \(r.out) \(r.err)")
        let (c3, _) = try check("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: {name: a}\n")
        #expect(c3 == 2)
        // kubectl reads `y` as true (YAML 1.1); a hostProcess the check would read as a string is not checked, so refused.
        let (c4, e4) = try check("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: x\n    securityContext:\n      windowsOptions: {hostProcess: y}\n")
        #expect(c4 == 2 && e4.contains(".yaml:10: Pod 'p': a.securityContext.windowsOptions.hostProcess must be a boolean"), "\(e4)")
        let (c5, e5) = try check("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  securityContext:\n    windowsOptions:\n      hostProcess: \"true\"\n  containers:\n  - name: a\n    image: x\n")
        #expect(c5 == 2 && e5.contains("securityContext.windowsOptions.hostProcess must be a boolean"), "\(e5)")
        // The pod's groups are numbers too: `0.0` is gid 0 to kubectl, and was read as no group (helper-159).
        for (field, line) in [("fsGroup: 0.0", 7), ("supplementalGroups: [10001, 0.0]", 7), ("supplementalGroups: '0'", 7)] {
            let (c, e) = try check("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  securityContext:\n    \(field)\n  containers:\n  - name: a\n    image: x\n")
            #expect(c == 2 && e.contains(".yaml:\(line): Pod 'p': securityContext.\(field.prefix { $0 != ":" }) must be a"), "\(field): \(e)")
        }
        // An explicit null is the field unset, as Kubernetes reads it: checked, not refused.
        let nulls = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  securityContext: null\n  hostNetwork: ~\n  containers:\n  - name: a\n    image: x\n    securityContext: ~\n"
        let (c6, e6) = try check(nulls)
        #expect(c6 != 2 && !e6.contains("must be"), "\(e6)")
        let pod = try #require(try Workloads.read(try tmpFile("nulls.yaml", nulls)).pods.first)
        #expect(PodSecurity.check(pod, level: .restricted).contains { $0.rule == "pss:runasnonroot" },
                "\(PodSecurity.check(pod, level: .restricted).map(\.rule))")
    }
}
