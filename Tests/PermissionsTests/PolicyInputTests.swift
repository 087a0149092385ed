import Foundation
import Testing
import ProvenantCore
import Yams
import TestSupport
@testable import Permissions

/// Issue 11, item 10 and the YAMLInput bullet of item 9: `policy check` reads real-world
/// manifests (JSON as kubectl prints it), names every control a workload breaks, and blames the
/// right key when one repeats.
@Suite struct PolicyInputTests {
    func dir() throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-input-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    static let deploymentJSON = """
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "collector",
                "namespace": "ops"
            },
            "spec": {
                "template": {
                    "spec": {
                        "hostNetwork": true,
                        "containers": [
                            {
                                "name": "agent",
                                "image": "example/agent@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
                            }
                        ]
                    }
                }
            }
        }
        """

    /// Left undone last stop: a Kustomize overlay's patch (`privileged: true`) is applied only when
    /// it renders, and the check read the base as if it were deployed. A kustomization that changes
    /// what it lists is NOT CHECKED; one that only lists resources is not a finding.
    @Test func aKustomizationThatChangesItsResourcesIsNotChecked() throws {
        let d = try dir()
        try FileManager.default.createDirectory(atPath: d + "/base", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: d + "/overlay", withIntermediateDirectories: true)
        try "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deploy.yaml]\n".write(toFile: d + "/base/kustomization.yaml", atomically: true, encoding: .utf8)
        try "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: s}\n".write(toFile: d + "/base/deploy.yaml", atomically: true, encoding: .utf8)
        try "resources: [../base]\nnamespace: prod\npatches:\n- path: priv.yaml\n".write(toFile: d + "/overlay/kustomization.yml", atomically: true, encoding: .utf8)
        try "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nimages: [{name: x, newTag: latest}]\n".write(toFile: d + "/overlay/component.yaml", atomically: true, encoding: .utf8)
        let c = try Workloads.collect([d])
        let found = c.notChecked.filter { $0.rule == "k8s:not-checked" }
        #expect(Set(found.map { PathText.lastComponent($0.location.path) }) == ["kustomization.yml", "component.yaml"], "\(found.map { "\($0.location): \($0.found)" })")
        #expect(found.contains { $0.found.contains("namespace, patches") }, "\(found.map(\.found))")
        #expect(!c.problems.contains { $0.location.path.hasSuffix("kustomization.yaml") || $0.location.path.hasSuffix("kustomization.yml") }, "\(c.problems)")
        // Found by review: what a kustomization lists is read only inside the checked path. A remote
        // base, a directory outside it, or a missing one renders objects nobody checked.
        try FileManager.default.createDirectory(atPath: d + "/remote", withIntermediateDirectories: true)
        try "resources:\n- deploy.yaml\n- https://github.com/acme/repo//deploy?ref=main\n- ../../elsewhere\n- missing.yaml\n".write(toFile: d + "/remote/kustomization.yaml", atomically: true, encoding: .utf8)
        try "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: s}\n".write(toFile: d + "/remote/deploy.yaml", atomically: true, encoding: .utf8)
        let remote = try Workloads.collect([d + "/remote"]).notChecked.map(\.found)
        #expect(remote.count == 3 && remote.contains { $0.contains("is a remote resource") } && remote.contains { $0.contains("outside the checked path") }
                && remote.contains { $0.contains("is not found") }, "\(remote)")
        // The kustomization given alone: none of what it lists is read.
        #expect(try Workloads.collect([d + "/remote/kustomization.yaml"]).notChecked.count == 4)
    }

    @Test func kubernetesJSONIsReadNotRefusedAsOCI() throws {
        let d = try dir()
        try Self.deploymentJSON.write(toFile: d + "/deploy.json", atomically: true, encoding: .utf8)
        let r = try runProcess(provenantBinary, ["policy", "check", d + "/deploy.json", "--level", "baseline", "--fail-on", "high"])
        #expect(r.code == 1 && r.out.contains("deploy.json:11  high  pss:hostnamespaces  Deployment/collector"), "\(r.out)\(r.err)")
        #expect(!r.err.contains("OCI"))
    }

    /// `kubectl get pods,sa -o json` prints a List whose items are the objects.
    @Test func aKubectlListIsReadItemByItem() throws {
        let d = try dir()
        try """
            {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
             "items": [
              {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ops"},
               "spec": {"containers": [{"name": "c", "image": "x@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
                                        "securityContext": {"privileged": true}}]}},
              {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "p", "namespace": "ops"}}
             ]}
            """.write(toFile: d + "/list.json", atomically: true, encoding: .utf8)
        let r = try Workloads.collect([d + "/list.json"])
        #expect(r.pods.count == 1 && r.objects.serviceAccounts.count == 1 && r.ociConfigs.isEmpty && r.problems.isEmpty, "\(r.problems)")
        let rules = r.pods.flatMap { PodSecurity.check($0, level: .baseline) }
        #expect(rules.map(\.rule) == ["pss:privileged"] && rules.first?.location.line == 5)
        // The same as YAML (`kubectl get -o yaml`).
        try "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: q}\n  spec:\n    hostPID: true\n    containers: [{name: c, image: x}]\n"
            .write(toFile: d + "/list.yaml", atomically: true, encoding: .utf8)
        let y = try Workloads.read(d + "/list.yaml")
        #expect(y.pods.map(\.name) == ["q"] && y.problems.isEmpty)
        // A List within a List, as kubectl unpacks it (helper-105: the inner one was skipped).
        try "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items:\n  - apiVersion: v1\n    kind: Pod\n    metadata: {name: n}\n    spec:\n      containers: [{name: c, image: x, securityContext: {privileged: true}}]\n"
            .write(toFile: d + "/nested.yaml", atomically: true, encoding: .utf8)
        let n = try Workloads.read(d + "/nested.yaml")
        #expect(n.pods.map(\.name) == ["n"] && n.problems.isEmpty, "\(n.problems)")
        // Nested without end: not checked, said as a finding.
        let deep = (0..<20).reduce("apiVersion: v1\nkind: Pod\nmetadata: {name: z}\nspec: {containers: [{name: c, image: x}]}") { inner, _ in
            "apiVersion: v1\nkind: List\nitems:\n- " + inner.replacingOccurrences(of: "\n", with: "\n  ")
        }
        try deep.write(toFile: d + "/deep.yaml", atomically: true, encoding: .utf8)
        let tooDeep = try Workloads.read(d + "/deep.yaml")
        #expect(tooDeep.pods.isEmpty && tooDeep.notChecked.map(\.rule) == ["k8s:not-checked"], "\(tooDeep.notChecked)")
    }

    /// Go's readers drop a key's tag (`!x containers:` is `containers`) and decode `!!binary`: a
    /// tagged key hid the field from every check, and a binary one hid another name (helper-105).
    @Test func taggedKeysAreReadAsKubernetesReadsThem() throws {
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  !x hostPID: true\n  !x containers:\n  - {name: c, image: x, securityContext: {!<tag:example.com,2000:k> privileged: true}}\n"
        let r = try Workloads.read(try tmpFile("tagged.yaml", pod))
        let rules = Set(r.pods.flatMap { PodSecurity.check($0, level: .baseline) }.map(\.rule))
        #expect(rules.isSuperset(of: ["pss:privileged", "pss:hostnamespaces"]), "\(rules) \(r.rejected)")
        let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  !t template:\n    spec:\n      hostNetwork: true\n      containers: [{name: c, image: x}]\n"
        #expect(try Workloads.read(try tmpFile("deploy.yaml", deployment)).pods.count == 1)
        for binary in ["  containers:\n  - {name: c, image: x, securityContext: {!!binary cHJpdmlsZWdlZA==: true}}\n",
                       "  containers:\n  - {name: c, image: x, securityContext: {seccompProfile: {type: !!binary VW5jb25maW5lZA==}}}\n",
                       "  !!binary aG9zdE5ldHdvcms=: true\n  containers: [{name: c, image: x}]\n"] {
            let b = try Workloads.read(try tmpFile("binary.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n" + binary))
            #expect(b.pods.isEmpty && b.rejected.first?.message.contains("!!binary") == true, "\(binary): \(b.rejected)")
        }
    }

    @Test func jsonIsToldApartByContent() throws {
        let d = try dir()
        // An OCI config named otherwise, with no ociVersion: process and root make it one.
        try #"{"process": {"user": {"uid": 0, "gid": 10001}, "noNewPrivileges": true, "apparmorProfile": "docker-default"}, "root": {"path": "rootfs", "readonly": true}, "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO"}, "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"], "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "mount"}, {"type": "uts"}, {"type": "cgroup"}]}}"#
            .write(toFile: d + "/bundle.json", atomically: true, encoding: .utf8)
        try Self.deploymentJSON.write(toFile: d + "/deploy.json", atomically: true, encoding: .utf8)
        try #"{"name": "left-pad", "version": "1.0.0"}"#.write(toFile: d + "/package.json", atomically: true, encoding: .utf8)
        let c = try Workloads.collect([d])
        #expect(c.ociConfigs.map { ($0 as NSString).lastPathComponent } == ["bundle.json"])
        #expect(c.pods.map(\.name) == ["collector"])
        #expect(c.problems.contains { $0.description.contains("package.json") && $0.description.contains("neither a Kubernetes object") })
        #expect(try RuntimeConfigs.ociConfig(d + "/bundle.json").map(\.rule) == ["pss:runasnonroot"])
        // Named on the command line, an unknown JSON file is an input error.
        let r = try runProcess(provenantBinary, ["policy", "check", d + "/package.json"])
        #expect(r.code == 2 && r.err.contains("package.json: neither a Kubernetes object"), "\(r.err)")
    }

    /// Kubernetes admission names every control a container breaks: privileged and an explicit
    /// allowPrivilegeEscalation: true are two. A privileged container that leaves the field unset
    /// (Kubernetes refuses false there) breaks one thing, named once.
    @Test func everyControlAWorkloadBreaksIsReported() throws {
        func rules(_ sc: String, _ level: PodSecurity.Level) throws -> [String] {
            let path = try tmpFile("pod.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: p}
                spec:
                  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
                  containers:
                  - name: c
                    image: x
                    securityContext: {\(sc)}
                """)
            return try Workloads.read(path).pods.flatMap { PodSecurity.check($0, level: level) }.map(\.rule).sorted()
        }
        #expect(try rules("privileged: true, allowPrivilegeEscalation: true, capabilities: {drop: [ALL]}", .restricted) == ["pss:allowprivilegeescalation", "pss:privileged"])
        #expect(try rules("privileged: true, allowPrivilegeEscalation: true, capabilities: {drop: [ALL]}", .baseline) == ["pss:privileged"], "at the level being checked")
        #expect(try rules("privileged: true, capabilities: {drop: [ALL]}", .restricted) == ["pss:privileged"], "one violation, named once")
        #expect(try rules("allowPrivilegeEscalation: true, capabilities: {add: [SYS_ADMIN], drop: [ALL]}", .restricted)
                == ["pss:allowprivilegeescalation", "pss:capabilities_baseline"])
    }

    /// The repeated key is found by the parser's nodes, not by reading indentation: lines inside a
    /// block scalar that look like a repeated key are text.
    @Test func aDuplicateKeyAfterABlockScalarIsBlamedRight() throws {
        let text = """
            apiVersion: v1
            kind: Pod
            metadata:
              name: p
              annotations:
                script: |
                  retries: 1
                  retries: 2
            spec:
              hostNetwork: false
              containers: [{name: a, image: x}]
              hostNetwork: true

            """
        let path = try tmpFile("pod.yaml", text)
        #expect(throws: InputError.self) { try Workloads.read(path) }
        do { _ = try Workloads.read(path) } catch {
            #expect("\(error)".contains("pod.yaml:12: duplicate key 'hostNetwork' (first at line 10)"), "\(error)")
        }
        // In a flow mapping, in a list item, and three times over.
        let flow = try tmpFile("m.yaml", "name: a\nuser: {nonRoot: true, uid: 1,\n  uid: 0}\n")
        do { _ = try AgentManifest.load(flow); Issue.record("accepted") } catch {
            #expect("\(error)".contains("m.yaml:3: duplicate key 'uid' (first at line 2)"), "\(error)")
        }
        let items = try tmpFile("m.yaml", "name: a\nsecrets:\n  - secret: x\n    keys: |\n      env: 1\n      env: 2\n  - env: A\n    env: B\n")
        do { _ = try AgentManifest.load(items); Issue.record("accepted") } catch {
            #expect("\(error)".contains("m.yaml:8: duplicate key 'env' (first at line 7)"), "\(error)")
        }
        let thrice = try tmpFile("m.yaml", "name: a\ndns: false\ncapabilities: []\ndns: false\ndns: true\n")
        do { _ = try AgentManifest.load(thrice); Issue.record("accepted") } catch {
            #expect("\(error)".contains("m.yaml:4: duplicate key 'dns' (first at line 2)"), "\(error)")
        }
    }

    /// Kubernetes' and compose's YAML readers apply merge keys: a field merged in is a field set.
    @Test(.timeLimit(.minutes(1))) func mergeKeysAreAppliedNotSkipped() throws {
        let pod = try tmpFile("pod.yaml", """
            apiVersion: v1
            kind: Pod
            metadata: {name: p}
            spec:
              containers:
              - name: a
                image: x
                securityContext:
                  <<: [{privileged: true}, {privileged: false, runAsUser: 0}]
                  runAsNonRoot: true
            """)
        let r = try Workloads.read(pod)
        let rules = r.pods.flatMap { PodSecurity.check($0, level: .restricted) }.map(\.rule)
        #expect(rules.contains("pss:privileged") && rules.contains("pss:runasuser"), "\(rules)")
        #expect(r.pods.first?.spec["containers"]?.sequence?.first?["securityContext"]?["privileged"]?.mark?.line == 9)
        let compose = try tmpFile("docker-compose.yml", """
            x-base: &base
              cap_add: [SYS_ADMIN]
            services:
              agent:
                <<: *base
                image: acme/agent@sha256:0000000000000000000000000000000000000000000000000000000000000000
            """)
        let c = try Workloads.read(compose)
        #expect(c.objects.compose.flatMap { RuntimeConfigs.compose($0.node, file: $0.file) }.contains { $0.rule == "hygiene:cap-sys-admin" })
        // Aliases nested to blow up are refused, not walked for minutes.
        var lol = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for (i, n) in "bcdefgh".enumerated() { lol += "\(n): &\(n) [" + Array(repeating: "*" + String(Array("abcdefgh")[i]), count: 10).joined(separator: ", ") + "]\n" }
        let big = try Workloads.read(try tmpFile("lol.yaml", lol))
        #expect(big.rejected.first?.message.contains("too large once its aliases are expanded") == true, "\(big.rejected)")
        // The manifest has no merge keys: `<<` is an unknown field there.
        #expect(throws: InputError.self) { try AgentManifest.load(try tmpFile("m.yaml", "name: a\n<<: {capabilities: [SYS_ADMIN]}\n")) }
        // Ten levels of ten aliases: the manifest's duplicate-key walk and the workload reader's search
        // for a repeated key's line each visited every copy, and stalled (found by helper-124).
        var bomb = "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1..<10 { bomb += "  a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }
        let manifest = try tmpFile("bomb.yaml", "apiVersion: provenant.dev/v1\nkind: Agent\nname: agent\nx:\n" + bomb)
        do throws(InputError) { _ = try AgentManifest.load(manifest); Issue.record("accepted") } catch {
            #expect(error.message.contains("through its aliases"), "\(error.message)")
        }
        let bombPod = "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  a:\n" + bomb.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n  b:\n    z: 1\n    z: 2\n"
        do { _ = try Workloads.read(try tmpFile("dup-bomb.yaml", bombPod)); Issue.record("accepted") } catch {
            #expect("\(error)".contains("'z'"), "\(error)")
        }
        // The same bomb as a mapping key: the YAML composer hashed it whole to look for repeated keys,
        // before any budget of ours ran (found by helper-125). Refused on the parser's events.
        let keyed = bomb + "  ? *a9\n  : 1\n"
        let keyedManifest = try tmpFile("key-bomb.yaml", "apiVersion: provenant.dev/v1\nkind: Agent\nname: agent\nx:\n" + keyed)
        do throws(InputError) { _ = try AgentManifest.load(keyedManifest); Issue.record("accepted") } catch {
            #expect(error.message.contains("a mapping key that is an alias"), "\(error.message)")
        }
        let keyedPod = "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  a:\n" + keyed.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
        let keyedPodFile = try tmpFile("key-bomb-pod.yaml", keyedPod)
        do throws(InputError) { _ = try Workloads.read(keyedPodFile); Issue.record("accepted") } catch {
            #expect(error.message.contains("a mapping key that is an alias"), "\(error.message)")
        }
    }

    /// Where Go's YAML readers disagree on a merge, the document is refused (found by helper-80):
    /// kubectl's (v2) lets a merge after `privileged: false` set it true, compose's (v3) keeps the
    /// written key; with two merge keys v2 applies both, v3 the last. `!!merge "<<"` is a merge to both.
    @Test func mergesYAMLReadersDisagreeOnAreRefused() throws {
        func read(_ securityContext: String) throws -> Workloads.FileContents {
            try Workloads.read(try tmpFile("pod.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: p}
                spec:
                  containers:
                  - name: a
                    image: x
                    securityContext:
                \(securityContext)
                """))
        }
        let after = try read("      privileged: false\n      <<: {privileged: true}")
        #expect(after.pods.isEmpty)
        #expect(after.rejected.first.map { "\($0)" }?.contains("pod.yaml:10: the merge key '<<' sets 'privileged', written before it at line 9") == true, "\(after.rejected)")
        #expect(throws: InputError.self, "two merge keys are duplicate keys") { try read("      <<: {runAsNonRoot: true}\n      !!merge <<: {privileged: true}") }
        let tagged = try read("      !!merge \"<<\": {capabilities: {add: [SYS_ADMIN]}}")
        let rules = tagged.pods.flatMap { PodSecurity.check($0, level: .baseline) }.map(\.rule)
        #expect(rules.contains("pss:capabilities_baseline"), "\(rules) \(tagged.rejected)")
        // Written after the merge, the key wins in every reader: accepted, and read so.
        let override = try read("      <<: {privileged: true}\n      privileged: false")
        #expect(override.rejected.isEmpty)
        #expect(override.pods.flatMap { PodSecurity.check($0, level: .baseline) }.map(\.rule).contains("pss:privileged") == false)
        // `! <<` is a merge to Go's readers and a string to this parser, as `"<<"` is: a quoted or
        // tagged `<<` cannot be read for sure, so it is refused (found by review).
        for key in ["! <<", "! \"<<\"", "\"<<\"", "!!str <<"] {
            let tagged = try read("      \(key): {privileged: true}")
            #expect(tagged.pods.isEmpty && tagged.rejected.first?.message.contains("quoted or tagged") == true, "\(key): \(tagged.rejected)")
        }
        // Compose reads with yaml v3, where the written key wins: not ambiguous there.
        let compose = try Workloads.read(try tmpFile("docker-compose.yml", """
            x-base: &base
              privileged: true
            services:
              agent:
                privileged: false
                <<: *base
                image: acme/agent@sha256:0000000000000000000000000000000000000000000000000000000000000000

            """))
        #expect(compose.rejected.isEmpty)
        #expect(compose.objects.compose.first?.node["services"]?["agent"]?["privileged"]?.bool == false)
        // YAML that is no workload (a CI file) is not refused for it: it is not checked at all.
        let ci = try Workloads.read(try tmpFile(".gitlab-ci.yml", ".defaults: &defaults\n  tags: [docker]\njob:\n  tags: [shell]\n  <<: *defaults\n  script: [make]\n"))
        #expect(ci.rejected.isEmpty, "\(ci.rejected)")
    }

    /// An empty or null `serviceAccountName` (or namespace) is the field unset: the pod runs as
    /// `default` in the default namespace, and RBAC bound there is its (found by helper-80).
    @Test func emptyOrNullNamesAreTheDefaults() throws {
        let manifest = try AgentManifest.load(try tmpFile("agent.yaml", "apiVersion: provenant.dev/v1\nkind: Agent\nname: agent\nuser: {nonRoot: true, uid: 10001}\n"))
        for (sa, ns) in [("default", "default"), ("\"\"", "default"), ("null", "default"), ("default", "\"\""), ("~", "null")] {
            let path = try tmpFile("d.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: p, namespace: \(ns)}
                spec: {serviceAccountName: \(sa), automountServiceAccountToken: false, containers: [{name: c, image: x}]}
                ---
                apiVersion: rbac.authorization.k8s.io/v1
                kind: RoleBinding
                metadata: {name: b, namespace: default}
                roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
                subjects: [{kind: ServiceAccount, name: default, namespace: default}]

                """)
            let rules = try PolicyRun.check(try Workloads.collect([path]), level: .baseline, manifest: manifest).findings.map(\.rule)
            #expect(rules.contains("manifest:rbac-unknown-role"), "serviceAccountName \(sa), namespace \(ns): \(rules)")
        }
    }

    /// `!!str null` and `"null"` are strings: kubectl runs the pod as a ServiceAccount named `null`,
    /// and RBAC bound to it is the pod's. Reading them by their text as null sent the check to
    /// `default` and missed it.
    @Test func aNameTaggedAsAStringIsThatName() throws {
        let manifest = try AgentManifest.load(try tmpFile("agent.yaml", "apiVersion: provenant.dev/v1\nkind: Agent\nname: agent\nuser: {nonRoot: true, uid: 10001}\n"))
        for sa in ["!!str null", "\"null\"", "'null'", "!!str ~"] {
            let path = try tmpFile("d.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: p, namespace: ops}
                spec: {serviceAccountName: \(sa), automountServiceAccountToken: false, containers: [{name: c, image: x}]}
                ---
                apiVersion: rbac.authorization.k8s.io/v1
                kind: RoleBinding
                metadata: {name: b, namespace: ops}
                roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
                subjects: [{kind: ServiceAccount, name: "\(sa.hasSuffix("~") ? "~" : "null")", namespace: ops}]

                """)
            let rules = try PolicyRun.check(try Workloads.collect([path]), level: .baseline, manifest: manifest).findings.map(\.rule)
            #expect(rules.contains("manifest:rbac-unknown-role"), "serviceAccountName \(sa): \(rules)")
        }
    }

    /// Three ways a pod held more than its manifest declares and passed (found by helper-80): a token
    /// through a projected volume beside automount false, every key of a Secret whose manifest entry
    /// names one (envFrom, a volume without items), and a host path declared read-only mounted writable.
    @Test func grantsBeyondTheManifestThroughOtherFieldsAreFound() throws {
        let manifest = try AgentManifest.load(try tmpFile("agent.yaml", """
            apiVersion: provenant.dev/v1
            kind: Agent
            name: agent
            filesystem: {read: [/etc/collector], write: [/var/lib/collector]}
            user: {nonRoot: true, uid: 10001}
            secrets: [{secret: db, keys: [password]}]

            """))
        let path = try tmpFile("deploy.yaml", """
            apiVersion: v1
            kind: Pod
            metadata: {name: p, namespace: default}
            spec:
              automountServiceAccountToken: false
              securityContext: {runAsNonRoot: true, runAsUser: 10001}
              containers:
              - name: c
                image: x
                envFrom: [{secretRef: {name: db}}]
                volumeMounts:
                - {name: tok, mountPath: /var/run/secrets/tokens, readOnly: true}
                - {name: all-db, mountPath: /db, readOnly: true}
                - {name: some-db, mountPath: /db2, readOnly: true}
                - {name: host, mountPath: /var/lib/collector}
              volumes:
              - name: tok
                projected: {sources: [{serviceAccountToken: {path: token}}]}
              - name: all-db
                secret: {secretName: db}
              - name: some-db
                secret: {secretName: db, items: [{key: password, path: p}]}
              - name: host
                hostPath: {path: /etc/collector}

            """)
        let found = try PolicyRun.check(try Workloads.collect([path]), level: .baseline, manifest: manifest).findings.filter { $0.rule.hasPrefix("manifest:") }
        let shown = found.map { "\($0.rule): \($0.found)" }
        #expect(shown.contains("manifest:service-account-token: a projected volume (tok) mounts a service-account token"), "\(shown)")
        #expect(shown.contains("manifest:secret: envFrom injects every key of Secret db, where the manifest names only password"), "\(shown)")
        #expect(shown.contains("manifest:secret: Secret db mounted at /db with every key, where the manifest names only password"), "\(shown)")
        #expect(!shown.contains { $0.contains("/db2") }, "items naming only declared keys are allowed: \(shown)")
        #expect(shown.contains("manifest:writable-mount: hostPath /etc/collector mounted writable at /var/lib/collector, declared read-only"), "\(shown)")
        #expect(shown.contains("manifest:privilege-escalation: allowPrivilegeEscalation is not set (it defaults to true)"), "\(shown)")
        #expect(shown.contains { $0.hasPrefix("manifest:capability: keeps the runtime's default capabilities") }, "\(shown)")
        #expect(found.count == 7 && shown.contains { $0.hasPrefix("manifest:egress-unrestricted") }, "and no NetworkPolicy: \(shown)")
    }

    /// Variants review found open: `items: []` mounts every key; a declared file allows a mount of
    /// itself, not of a whole Secret at a directory above it; kinds whose containers sit under other
    /// keys are NOT CHECKED; compose's `:ro,rw` and `:readonly` are read-write.
    @Test func reviewVariantsOfTheGrantChecks() throws {
        let manifest = try AgentManifest.load(try tmpFile("agent.yaml", """
            apiVersion: provenant.dev/v1
            kind: Agent
            name: agent
            filesystem: {read: [/etc/collector], write: [/var/lib/collector]}
            user: {nonRoot: true, uid: 10001}
            secrets: [{secret: db, keys: [password]}, {file: /etc/app/tls/key.pem}]

            """))
        func found(_ volumes: String, _ mounts: String) throws -> [String] {
            let path = try tmpFile("deploy.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: p, namespace: default}
                spec:
                  automountServiceAccountToken: false
                  securityContext: {runAsNonRoot: true, runAsUser: 10001}
                  containers:
                  - name: c
                    image: x
                    volumeMounts: \(mounts)
                  volumes: \(volumes)

                """)
            return try PolicyRun.check(try Workloads.collect([path]), level: .baseline, manifest: manifest).findings.filter { $0.rule == "manifest:secret" }.map(\.found)
        }
        #expect(try found("[{name: s, secret: {secretName: db, items: []}}]", "[{name: s, mountPath: /db, readOnly: true}]").count == 1)
        #expect(try found("[{name: s, secret: {secretName: any}}]", "[{name: s, mountPath: /etc/app, readOnly: true}]").count == 1)
        #expect(try found("[{name: s, secret: {secretName: any, items: [{key: k, path: tls/key.pem}]}}]", "[{name: s, mountPath: /etc/app, readOnly: true}]").isEmpty)
        #expect(try found("[{name: s, secret: {secretName: any}}]", "[{name: s, mountPath: /etc/app/tls/key.pem, subPath: k, readOnly: true}]").isEmpty)
        #expect(try found("[{name: s, secret: {secretName: any}}]", "[{name: s, mountPath: /etc/app/tls/key.pem, subPath: ..data, readOnly: true}]").count == 1,
                "a subPath that is a directory of keys (found by second review)")
        // Second review: a kind merged in makes a document Kubernetes's, even with a services key.
        let merged = try Workloads.read(try tmpFile("merged.yaml", """
            x: &pod {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {hostPID: true, containers: [{name: a, image: x, securityContext: {privileged: true}}]}}
            services: {}
            spec: {hostPID: false}
            <<: *pod

            """))
        #expect(merged.pods.isEmpty && !merged.rejected.isEmpty, "\(merged.rejected)")
        let flux = try Workloads.read(try tmpFile("flux.yaml", "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageRepository\nmetadata: {name: r}\nspec: {image: ghcr.io/acme/app, interval: 5m}\n"))
        #expect(flux.notChecked.isEmpty, "an image automation object runs no container")
        let workflow = try Workloads.read(try tmpFile("wf.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  templates:\n  - name: t\n    container: {image: alpine, securityContext: {privileged: true}}\n"))
        #expect(workflow.notChecked.first?.rule == "k8s:not-checked")
        #expect(RuntimeConfigs.shortSyntaxReadOnly(["ro"]) && !RuntimeConfigs.shortSyntaxReadOnly(["ro", "rw"]) && !RuntimeConfigs.shortSyntaxReadOnly(["readonly"]))
    }

    /// Compose interpolates with the project's `.env` by itself: a default the file gives is not what
    /// runs when `.env` sets the variable.
    @Test func composeReadsTheProjectsDotEnv() throws {
        let compose = try tmpFile("compose.yaml", """
            services:
              app:
                image: ghcr.io/acme/app@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
                network_mode: ${NET:-bridge}
                privileged: ${PRIV:-false}
                user: "${APP_USER}"
                read_only: true
            """)
        func rules() throws -> [String] {
            let c = try Workloads.read(compose)
            return c.objects.compose.flatMap { RuntimeConfigs.compose($0.node, file: $0.file) }.map(\.rule).sorted()
        }
        let without = try rules()
        #expect(!without.contains("pss:privileged") && !without.contains("pss:hostnamespaces") && without.contains("compose:unresolved-interpolation"), "\(without)")
        let envFile = (compose as NSString).deletingLastPathComponent + "/.env"
        try "# project settings\nexport NET=host\nPRIV='true'\nAPP_USER=1000:1000 # the app's uid\n".write(toFile: envFile, atomically: true, encoding: .utf8)
        let with = try rules()
        #expect(with.contains("pss:privileged") && with.contains("pss:hostnamespaces") && !with.contains("compose:unresolved-interpolation"), "\(with)")
        // A line this does not read is said, not taken as setting nothing.
        try "NET=bridge\nthis line is not an assignment\n".write(toFile: envFile, atomically: true, encoding: .utf8)
        #expect(try rules().contains("compose:not-checked"))
        // What compose would expand, or read as another assignment after a quote, is reported, not guessed.
        for line in ["TAG=\"1.0\" PRIV=true", "Z=0\nU=${Z}", "U=\"${Z}\"", "V=\"a\\tb\""] {
            try (line + "\n").write(toFile: envFile, atomically: true, encoding: .utf8)
            let r = try rules()
            #expect(r.contains("compose:not-checked") || r.contains("pss:privileged"), "\(line): \(r)")
        }
        // CRLF line ends, as compose reads them: "\r\n" is one Swift Character, not a line break.
        try "X=1\r\nNET=host\r\nPRIV=true\r\n".write(toFile: envFile, atomically: true, encoding: .utf8)
        let crlf = try rules()
        #expect(crlf.contains("pss:privileged") && crlf.contains("pss:hostnamespaces"), "\(crlf)")
        // Paths are cut at '/' scalars: U+0600 joins the '/' after it into one Character.
        #expect(FieldSyntax.normalizedPath("/data/x\u{600}/../../etc") == "/etc")
        #expect(!RuntimeConfigs.staysInside("r\u{600}/../../etc") && RuntimeConfigs.staysInside("r/x/.."))
        // A FIFO named .env is not read (it would hold the run), and says so.
        try FileManager.default.removeItem(atPath: envFile)
        #expect(mkfifo(envFile, 0o600) == 0)
        #expect(try rules().contains("compose:not-checked"))
        try FileManager.default.removeItem(atPath: envFile)
        try "NET=host\t# a comment\nPRIV='${not}expanded'\n".write(toFile: envFile, atomically: true, encoding: .utf8)
        #expect(try rules().contains("pss:hostnamespaces") && !(try rules().contains("compose:not-checked")))
        // Compose's operators on a set variable.
        let env = ["SET": "v", "EMPTY": ""]
        #expect(ComposeModel.interpolate("${SET:-d} ${EMPTY:-d} ${EMPTY-d} ${SET:+a} ${EMPTY:+a}|$SET ${UNSET:-u}", env: env) == "v d  a |v u")
        #expect(ComposeModel.interpolate("${EMPTY:?must}", env: env) == nil && ComposeModel.interpolate("${SET:?must}", env: env) == "v")
    }
}
