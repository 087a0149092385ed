import Foundation
import Testing
import ProvenantCore
import Yams
import TestSupport
@testable import Permissions

/// Issue 11, item 5: `policy generate` must not be steerable into privileged YAML. Manifest fields
/// are validated (each error with file:line), and every generated document goes through the YAML
/// serializer, so even a value that passed validation stays one scalar.
@Suite struct ManifestValidationTests {
    func error(_ text: String) -> String {
        do { _ = try AgentManifest.load(try tmpFile("m.yaml", text)); return "accepted" } catch { return "\(error)" }
    }

    /// Even a path that bypassed validation is only ever a tmpfs target: the long form has no options string.
    @Test func generatedTmpfsIsTheLongForm() throws {
        var m = AgentManifest(name: "a")
        m.write = ["/var/lib/collector:exec,suid,mode=4777,uid=0"]
        let doc = try #require(try Yams.compose(yaml: PolicyGenerator.compose(m)))
        let svc = try #require(doc["services"]?["a"])
        #expect(svc["tmpfs"] == nil)
        let v = try #require(svc["volumes"]?.sequence?.first)
        #expect(v["type"]?.string == "tmpfs" && v["target"]?.string == "/var/lib/collector:exec,suid,mode=4777,uid=0" && v.mapping?.count == 2)
    }

    @Test func aNameCarryingYAMLIsRefused() {
        let e = error("name: \"x\\n  hostPID: true\"\n")
        #expect(e.contains("m.yaml:1: name 'x\\u{a}  hostPID: true' is not a DNS-1123 label"), "\(e)")
        #expect(!e.contains("\n"), "one error is one line")
    }

    @Test(arguments: [
        ("name: a\nfilesystem:\n  read: [/etc/collector, /etc/../root]\n", "m.yaml:3: filesystem.read: '/etc/../root' is not an absolute, normalized path"),
        ("name: a\nfilesystem:\n  write:\n    - var/lib\n", "m.yaml:4: filesystem.write: 'var/lib' is not an absolute, normalized path"),
        ("name: a\nfilesystem:\n  write: [/var/lib/]\n", "m.yaml:3: filesystem.write: '/var/lib/' is not an absolute"),
        // Characters compose and Kubernetes read as mount syntax: a path could carry tmpfs options or a second mount.
        ("name: a\nfilesystem:\n  write: [\"/var/lib/collector:exec,suid,mode=4777,uid=0\"]\n",
         "m.yaml:3: filesystem.write: '/var/lib/collector:exec,suid,mode=4777,uid=0' is not an absolute, normalized path"),
        ("name: a\nfilesystem:\n  write:\n    - /data,ro\n", "m.yaml:4: filesystem.write: '/data,ro' is not an absolute, normalized path"),
        ("name: a\nfilesystem:\n  read: [\"/etc/a b\"]\n", "m.yaml:3: filesystem.read: '/etc/a b' is not an absolute, normalized path"),
        ("name: a\nfilesystem:\n  read: [\"/etc/a\\tb\"]\n", "m.yaml:3: filesystem.read: '/etc/a\\u{9}b' is not an absolute, normalized path"),
        ("name: a\nfilesystem:\n  write: [\"/data/${HOME}\"]\n", "m.yaml:3: filesystem.write: '/data/${HOME}' is not an absolute, normalized path"),
        ("name: a\nsecrets:\n  - file: \"/run/s:/etc/shadow\"\n", "m.yaml:3: file '/run/s:/etc/shadow' is not an absolute, normalized path"),
        ("name: a\ncapabilities: [NET_BIND_SERVICE, SYS_ADMN]\n", "m.yaml:2: capabilities: 'SYS_ADMN' is not a Linux capability name"),
        ("name: a\ncapabilities: [sys_admin]\n", "m.yaml:2: capabilities: 'sys_admin' is not a Linux capability name"),
        ("name: a\ncapabilities: [ALL]\n", "m.yaml:2: capabilities: 'ALL' is not a Linux capability name"),
        ("name: a\nkubernetes:\n  - verbs: [get, \"*\"]\n    resources: [pods]\n", "m.yaml:3: kubernetes.verbs: '*' is not an RBAC verb"),
        ("name: a\nkubernetes:\n  - verbs: [get]\n    resources: [\"pods]\\n- x\"]\n", "m.yaml:4: kubernetes.resources: 'pods]\\u{a}- x' is not a resource name"),
        ("name: a\nimages:\n  - ghcr.io/acme/a@sha256:abc\n", "m.yaml:3: images: 'ghcr.io/acme/a@sha256:abc' is not pinned by digest"),
        ("name: a\nimages:\n  - \"a\\n  privileged: true@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0\"\n", "m.yaml:3: images:"),
        ("name: a\negress:\n  - host: \"evil.example.com\\n  hostPID: true\"\n", "m.yaml:3: egress host 'evil.example.com\\u{a}  hostPID: true' is not a DNS host name"),
        ("name: a\negress:\n  - cidr: 10.0.0.1/8\n", "m.yaml:3: egress cidr '10.0.0.1/8' is not an IPv4 or IPv6 CIDR"),
        ("name: a\negress:\n  - cidr: 10.0.0.0/+8\n", "m.yaml:3: egress cidr '10.0.0.0/+8' is not an IPv4 or IPv6 CIDR"),
        ("name: a\negress:\n  - cidr: 10.0.0.0/8\n    port: 443\n", "m.yaml:4: unknown field 'egress.port'"),
        ("name: a\nsecrets:\n  - secret: Bad_Name\n", "m.yaml:3: secret 'Bad_Name' is not a DNS-1123 subdomain"),
        ("name: a\nsecrets:\n  - file: /run/../etc/shadow\n", "m.yaml:3: file '/run/../etc/shadow' is not an absolute, normalized path"),
        ("name: a\nuser:\n  uid: -1\n", "m.yaml:3: user.uid must be a number"),
        ("name: a\ndns: yes please\n", "m.yaml:2: 'dns' must be true or false"),
        ("name: Agent_1\n", "m.yaml:1: name 'Agent_1' is not a DNS-1123 label"),
    ])
    func eachFieldIsValidatedWithFileAndLine(_ text: String, _ expected: String) {
        let e = error(text)
        #expect(e.contains(expected), "\(e)")
    }

    @Test func validManifestsStillLoad() throws {
        let root = FileManager.default.currentDirectoryPath
        let m = try AgentManifest.load(root + "/examples/provenant.agent.yaml")
        #expect(m.name == "telemetry-collector" && m.read == ["/etc/collector"] && m.egress.count == 2)
        #expect(error("name: a\ncapabilities: [CAP_NET_RAW, NET_BIND_SERVICE]\negress:\n  - cidr: fd00::/8\n  - host: api.Example.com\n") == "accepted")
    }

    /// Every key of every mapping in `n`.
    static func keys(_ n: Node, depth: Int = 0) -> [String] {
        guard depth < 100 else { return [] }
        if let m = n.mapping { return m.flatMap { k, v in [k.string ?? ""] + keys(k, depth: depth + 1) + keys(v, depth: depth + 1) } }
        if let s = n.sequence { return s.flatMap { keys($0, depth: depth + 1) } }
        return []
    }

    static func documents(_ text: String) throws -> [Node] {
        let p = try Parser(yaml: text)
        var out: [Node] = []
        while let n = try p.nextRoot() { out.append(n) }
        return out
    }

    /// The generator itself, given values no manifest would pass: each is one scalar in the output,
    /// and no key it spells (hostPID, privileged…) appears.
    @Test func hostileValuesStayScalarsInEveryGeneratedDocument() throws {
        var m = AgentManifest(name: "a\n      hostPID: true")
        m.images = ["i@sha256:x\n        privileged: true"]
        m.write = ["/data/\"q\": {hostNetwork: true} #\n          hostIPC: true"]
        m.read = ["/etc/x"]
        m.egress = [.init(host: "h.example\"\n  - {ipBlock: {cidr: 0.0.0.0/0}}", cidr: nil, ports: [443], proto: "TCP"),
                    .init(host: nil, cidr: "10.0.0.0/8\n      - 0.0.0.0/0", ports: [], proto: "TCP")]
        m.dns = true
        m.capabilities = ["NET_RAW]\n            privileged: true\n            x: ["]
        m.secrets = [.init(secret: "s\n  hostPID: true", keys: [], env: nil, file: nil), .init(secret: "true", keys: [], env: nil, file: nil)]
        m.kubernetes = [.init(verbs: ["get]\n  - apiGroups: [\"*\"]\n    verbs: [\"*\"]"], resources: ["pods"])]
        m.uid = 10001
        let forbidden: Set<String> = ["hostPID", "hostNetwork", "hostIPC", "privileged", "x"]
        for flavor in PolicyGenerator.NetworkPolicyFlavor.allCases {
            let text = PolicyGenerator.kubernetes(m, namespace: "ns\n  hostPID: true", networkPolicy: flavor)
            let docs = try Self.documents(text)
            #expect(docs.count == 5, "ServiceAccount, Deployment, egress policy, Role, RoleBinding: \(docs.count)")
            #expect(Set(docs.flatMap { Self.keys($0) }).isDisjoint(with: forbidden), "\(text)")
            let deploy = try #require(docs.first { $0["kind"]?.string == "Deployment" })
            let spec = try #require(deploy["spec"]?["template"]?["spec"])
            let c = try #require(spec["containers"]?.sequence?.first)
            #expect(c["name"]?.string == m.name && c["image"]?.string == m.images[0])
            #expect(c["securityContext"]?["capabilities"]?["add"]?.sequence?.compactMap(\.string) == m.capabilities)
            #expect(c["volumeMounts"]?.sequence?.first?["mountPath"]?.string == m.write[0])
            #expect(deploy["metadata"]?["namespace"]?.string == "ns\n  hostPID: true")
            // A string that reads as a boolean or number in plain YAML is written as a string.
            let names = spec["volumes"]?.sequence?.compactMap { $0["secret"]?["secretName"] } ?? []
            #expect(names.map(\.string) == ["s\n  hostPID: true", "true"] && names.allSatisfy { $0.bool == nil })
            #expect(spec["securityContext"]?["runAsUser"]?.int == 10001)
            let role = try #require(docs.first { $0["kind"]?.string == "Role" })
            #expect(role["rules"]?.sequence?.count == 1 && role["rules"]?.sequence?.first?["verbs"]?.sequence?.compactMap(\.string) == m.kubernetes[0].verbs)
            if flavor == .kubernetes {
                let np = try #require(docs.first { $0["kind"]?.string == "NetworkPolicy" })
                let cidrs = (np["spec"]?["egress"]?.sequence ?? []).flatMap { ($0["to"]?.sequence ?? []).compactMap { $0["ipBlock"]?["cidr"]?.string } }
                #expect(cidrs == ["192.0.2.0/32", "10.0.0.0/8\n      - 0.0.0.0/0"], "\(cidrs)")
            } else {
                let cnp = try #require(docs.first { $0["kind"]?.string == "CiliumNetworkPolicy" })
                let names = (cnp["spec"]?["egress"]?.sequence ?? []).flatMap { ($0["toFQDNs"]?.sequence ?? []).compactMap { $0["matchName"]?.string } }
                #expect(names == [m.egress[0].host!])
            }
        }
        let compose = try Self.documents(PolicyGenerator.compose(m))
        #expect(compose.count == 1 && Set(Self.keys(compose[0])).isDisjoint(with: forbidden))
        let svc = try #require(compose[0]["services"]?[m.name])
        #expect(svc["volumes"]?.sequence?.compactMap { $0["target"]?.string } == m.write && svc["user"]?.string == "10001:10001")
    }

    /// A path holding quotes, colons and `#` is refused (compose reads `:` as mount syntax); one
    /// built past validation still stays the path it was through `generate`.
    @Test func aPathWithQuotesAndColonsIsRefusedAndStaysOnePath() throws {
        let path = "/data/\"q\": {hostPID: true} # x"
        let e = error("name: a\nfilesystem:\n  write: ['/data/\"q\": {hostPID: true} # x']\n")
        #expect(e.contains("m.yaml:3: filesystem.write: '/data/\"q\": {hostPID: true} # x' is not an absolute, normalized path"), "\(e)")
        var m = AgentManifest(name: "a")
        m.write = [path]
        let docs = try Self.documents(PolicyGenerator.kubernetes(m))
        #expect(!docs.flatMap { Self.keys($0) }.contains("hostPID"))
        let mount = docs.compactMap { $0["spec"]?["template"]?["spec"]?["containers"]?.sequence?.first?["volumeMounts"]?.sequence?.first?["mountPath"]?.string }
        #expect(mount == [path])
    }

    @Test func theCLIRefusesAHostileNamespace() throws {
        let root = FileManager.default.currentDirectoryPath
        let r = try runProcess(provenantBinary, ["policy", "generate", "--manifest", root + "/examples/provenant.agent.yaml", "--namespace", "x\n  hostPID: true"])
        #expect(r.code == 2 && r.err.contains("is not a DNS-1123 label"), "\(r.err)")
        let bad = try tmpFile("provenant.agent.yaml", "name: \"x\\n  hostPID: true\"\n")
        let g = try runProcess(provenantBinary, ["policy", "generate", "--manifest", bad])
        #expect(g.code == 2 && g.out.isEmpty && g.err.contains("provenant.agent.yaml:1: name"), "\(g.err)")
    }

    /// `policy init` and `generate --patch` write YAML from a deployment's own values: those go
    /// through the serializer too, so a crafted name cannot add a grant to the draft or the patch.
    @Test func draftsAndPatchesKeepDeploymentValuesAsScalars() throws {
        let path = try tmpFile("deploy.yaml", """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: collector}
            spec:
              template:
                spec:
                  containers:
                  - name: "c\\n  securityContext: {privileged: true}"
                    image: "x:1\\ncapabilities: [SYS_ADMIN]"
                    env:
                    - name: T
                      valueFrom: {secretKeyRef: {name: "creds\\ncapabilities: [SYS_ADMIN]", key: token}}
            """)
        let r = try Workloads.read(path)
        let draft = ManifestDrafter.draft(pods: r.pods, objects: r.objects, environments: [:], sources: [path + "\nname: evil"])
        let d = try #require(try Yams.compose(yaml: draft))
        #expect(d["capabilities"]?.sequence?.isEmpty == true && d["name"]?.string == "collector", "\(draft)")
        #expect(d["secrets"]?.sequence?.first?["secret"]?.string == "creds\ncapabilities: [SYS_ADMIN]")
        let m = try AgentManifest.load(try tmpFile("m.yaml", "name: a\n"))
        let patch = PolicyPatch.patches(for: r.pods, manifest: m)
        let docs = try Self.documents(patch)
        let c = try #require(docs.first?["spec"]?["template"]?["spec"]?["containers"]?.sequence?.first)
        #expect(c["name"]?.string == "c\n  securityContext: {privileged: true}", "\(patch)")
        #expect(c["securityContext"]?["privileged"] == nil && c["securityContext"]?["allowPrivilegeEscalation"]?.bool == false)
    }
    /// A Deployment `d` whose pod spec is `podSpec` (its lines at the pod spec's level, unindented).
    static func deployment(_ podSpec: String) -> String {
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n"
            + podSpec.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "      " + $0 }.joined(separator: "\n")
    }

    /// A host path mounted without readOnly was drafted as read, so the draft failed `check` on the
    /// deployment it came from (found by helper-136).
    @Test func aWritableHostPathIsDraftedAsWritten() throws {
        let path = try tmpFile("d.yaml", Self.deployment("""
              containers:
              - {name: c, image: x, volumeMounts: [{name: h, mountPath: /data}]}
              volumes: [{name: h, hostPath: {path: /etc}}]
            """))
        let r = try Workloads.read(path)
        let draft = ManifestDrafter.draft(pods: r.pods, objects: r.objects, environments: [:], sources: [path])
        let d = try #require(try Yams.compose(yaml: draft))
        #expect(d["filesystem"]?["write"]?.sequence?.compactMap(\.string).contains("/etc") == true, "\(draft)")
        let m = try AgentManifest.load(try tmpFile("provenant.agent.yaml", draft))
        let f = r.pods.flatMap { ManifestCheck.check($0, manifest: m, environment: "production") }
        #expect(!f.contains { $0.rule == "manifest:writable-mount" }, "\(f.map(\.found))")
    }

    /// An unpinned image is quoted in the draft's comments through the redactor (helper-105).
    @Test func theDraftQuotesUnpinnedImagesRedacted() throws {
        let path = try tmpFile("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: \"u:ghp_1234567890abcdefghijklmnopqrstuvwxyzAB@registry.example.com/app:1\"}]\n")
        let r = try Workloads.read(path)
        let draft = ManifestDrafter.draft(pods: r.pods, objects: r.objects, environments: [:], sources: [path])
        #expect(draft.contains("# TODO pin by digest") && !draft.contains("ghp_1234"), "\(draft)")
    }

    /// helper-147: an image name holding U+2028 (or NEL) ended the draft's comment line in YAML's
    /// reading, and the rest became keys: `egress: [{cidr: 0.0.0.0/0}]` in the draft manifest.
    @Test func unicodeLineBreaksStayInsideTheDraftsComments() throws {
        for brk in ["\\L", "\\N", "\\P"] {
            let path = try tmpFile("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: \"nginx:1.25\(brk)egress: [{cidr: 0.0.0.0/0}]\(brk)#\"}]\n")
            let r = try Workloads.read(path)
            let draft = ManifestDrafter.draft(pods: r.pods, objects: r.objects, environments: [:], sources: [path])
            let d = try #require(try Yams.compose(yaml: draft))
            #expect(d["egress"] == nil, "\(draft)")
            #expect(!draft.unicodeScalars.contains { [0x85, 0x2028, 0x2029].contains($0.value) }, "\(brk)")
        }
    }

    /// A container's securityContext overrides the pod's: the patch resets root and unconfined settings
    /// there too, or the patched workload still ran as root, unconfined (helper-105).
    @Test func thePatchResetsContainerLevelOverrides() throws {
        let path = try tmpFile("dep.yaml", Self.deployment("""
              containers:
              - name: c
                image: x
                securityContext: {runAsUser: 0, runAsNonRoot: false, seccompProfile: {type: Unconfined}, appArmorProfile: {type: Unconfined}}
            """))
        let r = try Workloads.read(path)
        let m = try AgentManifest.load(try tmpFile("m.yaml", "name: a\nuser: {nonRoot: true, uid: 10001}\n"))
        let docs = try Self.documents(PolicyPatch.patches(for: r.pods, manifest: m))
        let sc = try #require(docs.first?["spec"]?["template"]?["spec"]?["containers"]?.sequence?.first?["securityContext"])
        #expect(sc["runAsUser"]?.int == 10001 && sc["runAsNonRoot"]?.bool == true)
        #expect(sc["seccompProfile"]?["type"]?.string == "RuntimeDefault" && sc["appArmorProfile"]?["type"]?.string == "RuntimeDefault")
    }
}
