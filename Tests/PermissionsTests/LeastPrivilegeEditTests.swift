import Foundation
import Testing
import ProvenantCore
import Yams
import TestSupport
@testable import Permissions

/// Issue 11, item 11: start from what `policy generate` writes for the example manifest, which
/// checks clean against it, change one thing, and the check must name that change.
@Suite struct LeastPrivilegeEditTests {
    static let root = FileManager.default.currentDirectoryPath
    static func manifest() throws -> AgentManifest { try AgentManifest.load(root + "/examples/provenant.agent.yaml") }

    static func findings(_ text: String, file: String) throws -> [PolicyFinding] {
        let path = try tmpFile(file, text)
        return try PolicyRun.check(try Workloads.collect([path]), level: .restricted, manifest: manifest()).findings
    }

    static func edited(_ text: String, _ old: String, _ new: String) throws -> String {
        if old.isEmpty { return text + "---\n" + new }
        try #require(text.contains(old), "the generated output no longer holds \(old)")
        return text.replacingOccurrences(of: old, with: new)
    }

    static func kubernetes() throws -> String { PolicyGenerator.kubernetes(try manifest()) }
    static func compose() throws -> String { PolicyGenerator.compose(try manifest()) }

    @Test func theGeneratedOutputChecksClean() throws {
        let k = try Self.findings(Self.kubernetes(), file: "generated.yaml")
        #expect(k.isEmpty, "\(k.map { "\($0.rule): \($0.found)" })")
        let c = try Self.findings(Self.compose(), file: "docker-compose.yml")
        #expect(c.isEmpty, "\(c.map { "\($0.rule): \($0.found)" })")
    }

    static let roleOnSecrets = """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: reader}
        rules:
        - apiGroups: [""]
          resources: [secrets]
          verbs: [get]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata: {name: reader}
        roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}

        """

    /// (what the edit is, text replaced (empty: a document appended), replacement, rule, words of the finding)
    static let kubernetesEdits: [(String, String, String, String, String)] = [
        // Paths: `..` is resolved before comparing.
        ("hostPath climbing out of a declared path", "      - name: write-0\n        emptyDir: {}", "      - name: write-0\n        hostPath: {path: /etc/collector/../../root}",
         "manifest:hostpath", "(/root)"),
        ("hostPath that cannot be normalized", "      - name: write-0\n        emptyDir: {}", "      - name: write-0\n        hostPath: {path: etc/collector}",
         "manifest:hostpath", "cannot be normalized"),
        ("mountPath climbing out of a declared path", "mountPath: /var/lib/collector\n", "mountPath: /var/lib/collector/../../../etc\n",
         "manifest:writable-mount", "(/etc)"),
        // NetworkPolicy.
        ("podSelector In selecting no pod", "  podSelector:\n    matchLabels:\n      app: telemetry-collector\n",
         "  podSelector:\n    matchExpressions: [{key: app, operator: In, values: [nobody]}]\n", "manifest:egress-unrestricted", "no NetworkPolicy"),
        ("podSelector NotIn excluding the pod", "  podSelector:\n    matchLabels:\n      app: telemetry-collector\n",
         "  podSelector:\n    matchExpressions: [{key: app, operator: NotIn, values: [telemetry-collector]}]\n", "manifest:egress-unrestricted", "no NetworkPolicy"),
        ("podSelector Exists on a label the pod lacks", "  podSelector:\n    matchLabels:\n      app: telemetry-collector\n",
         "  podSelector:\n    matchLabels:\n      app: telemetry-collector\n    matchExpressions: [{key: tier, operator: Exists}]\n", "manifest:egress-unrestricted", "no NetworkPolicy"),
        ("a rule without ports", "        cidr: 10.0.0.0/8\n    ports:\n    - {protocol: TCP, port: 443}\n", "        cidr: 10.0.0.0/8\n",
         "manifest:egress-excess", "egress to every port and protocol of 10.0.0.0/8"),
        ("endPort widening a declared port", "{protocol: TCP, port: 443}", "{protocol: TCP, port: 443, endPort: 65535}",
         "manifest:egress-excess", "egress to ports 443-65535"),
        ("a named port", "{protocol: TCP, port: 443}", "{protocol: TCP, port: https}", "manifest:egress-excess", "egress to named port https"),
        ("another destination's port", "{protocol: TCP, port: 443}", "{protocol: TCP, port: 4317}", "manifest:egress-excess", "egress to port 4317"),
        ("another protocol", "{protocol: TCP, port: 443}", "{protocol: UDP, port: 443}", "manifest:egress-excess", "egress to port 443/UDP"),
        ("a DNS rule without to", "  - to:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: kube-system\n      podSelector:\n        matchLabels:\n          k8s-app: kube-dns\n    ports:\n",
         "  - ports:\n", "manifest:egress-excess", "port 53 to every address"),
        // Anyone may label a pod kube-dns in their own namespace (found by helper-80).
        ("a DNS rule to kube-dns pods in every namespace", "    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: kube-system\n",
         "    - namespaceSelector: {}\n", "manifest:egress-excess", "port 53 to pods other than kube-dns"),
        ("a DNS rule to kube-dns pods in another namespace", "          kubernetes.io/metadata.name: kube-system\n",
         "          kubernetes.io/metadata.name: attacker\n", "manifest:egress-excess", "port 53 to pods other than kube-dns"),
        ("a DNS rule to every pod", "      podSelector:\n        matchLabels:\n          k8s-app: kube-dns\n", "", "manifest:egress-excess", "port 53 to pods other than kube-dns"),
        // RBAC: subjects that hold the service account, and roles the file does not define.
        ("Group system:serviceaccounts", "", roleOnSecrets + "subjects: [{kind: Group, name: system:serviceaccounts, apiGroup: rbac.authorization.k8s.io}]\n",
         "manifest:rbac-secrets", "through Group system:serviceaccounts"),
        ("Group system:serviceaccounts:<ns>", "", roleOnSecrets + "subjects: [{kind: Group, name: \"system:serviceaccounts:default\"}]\n",
         "manifest:rbac-secrets", "through Group system:serviceaccounts:default"),
        ("Group system:authenticated", "", roleOnSecrets + "subjects: [{kind: Group, name: system:authenticated}]\n",
         "manifest:rbac-secrets", "through Group system:authenticated"),
        ("the service account as a User", "", roleOnSecrets + "subjects: [{kind: User, name: \"system:serviceaccount:default:telemetry-collector\"}]\n",
         "manifest:rbac-secrets", "through User system:serviceaccount:default:telemetry-collector"),
        ("binding cluster-admin", "  kind: Role\n  name: telemetry-collector\nsubjects", "  kind: ClusterRole\n  name: cluster-admin\nsubjects",
         "manifest:rbac-unknown-role", "binds ClusterRole cluster-admin"),
        ("binding admin", "  kind: Role\n  name: telemetry-collector\nsubjects", "  kind: ClusterRole\n  name: admin\nsubjects",
         "manifest:rbac-unknown-role", "binds ClusterRole admin"),
        ("binding edit", "  kind: Role\n  name: telemetry-collector\nsubjects", "  kind: ClusterRole\n  name: edit\nsubjects",
         "manifest:rbac-unknown-role", "binds ClusterRole edit"),
        ("binding a Role defined elsewhere", "  kind: Role\n  name: telemetry-collector\nsubjects", "  kind: Role\n  name: elsewhere\nsubjects",
         "manifest:rbac-unknown-role", "binds Role elsewhere"),
        ("an aggregated ClusterRole", "", """
            apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRole
            metadata: {name: monitoring}
            aggregationRule:
              clusterRoleSelectors: [{matchLabels: {rbac.example.com/aggregate-to-monitoring: "true"}}]
            rules: []
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRoleBinding
            metadata: {name: monitoring}
            roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: monitoring}
            subjects: [{kind: ServiceAccount, name: telemetry-collector, namespace: default}]

            """, "manifest:rbac-aggregated", "ClusterRole monitoring is aggregated"),
        ("a non-resource URL", "  verbs: [get, list, watch]\n", "  verbs: [get, list, watch]\n- nonResourceURLs: [/metrics]\n  verbs: [get]\n",
         "manifest:rbac-excess", "on URL /metrics"),
        ("a subresource of every resource", "  verbs: [get, list, watch]\n", "  verbs: [get, list, watch]\n- apiGroups: [\"\"]\n  resources: [\"*/exec\"]\n  verbs: [create]\n",
         "manifest:rbac-wildcard", "on [*/exec]"),
        // The same class of gap elsewhere: capability case, and the image.
        // The root group: gid 0 set, left to the image, or added beside.
        ("runAsGroup 0", "        runAsGroup: 10001\n", "        runAsGroup: 0\n", "hygiene:root-group", "runAsGroup: 0"),
        ("runAsGroup unset", "        runAsGroup: 10001\n", "", "hygiene:root-group", "runAsGroup unset"),
        ("supplementalGroups holding 0", "        runAsGroup: 10001\n", "        runAsGroup: 10001\n        supplementalGroups: [0]\n", "hygiene:root-group", "supplementalGroups holds 0"),
        ("fsGroup 0", "        runAsGroup: 10001\n", "        runAsGroup: 10001\n        fsGroup: 0\n", "hygiene:root-group", "fsGroup: 0"),
        ("a lowercase capability", "            drop: [ALL]\n", "            drop: [ALL]\n            add: [sys_admin]\n", "hygiene:cap-sys-admin", "CAP_SYS_ADMIN"),
        ("another image", "image: ghcr.io/acme/collector@sha256:", "image: ghcr.io/evil/collector@sha256:", "manifest:image", "ghcr.io/evil/collector"),
        ("a script inside a command substitution", "        image: ghcr.io/acme/collector@sha256:",
         "        command: [/bin/sh, -c, \"x=$(/opt/cleanup.sh)\"]\n        image: ghcr.io/acme/collector@sha256:", "manifest:script-environment", "runs cleanup.sh in the production environment"),
        // Found by helper-136: what the shell runs after removing quotes, expanding a glob, or reading a
        // ConfigMap's value.
        ("a script name split by quotes", "        image: ghcr.io/acme/collector@sha256:",
         "        command: [/bin/sh, -c, \"/opt/clean''up.sh\"]\n        image: ghcr.io/acme/collector@sha256:", "manifest:script-environment", "runs cleanup.sh in the production environment"),
        ("a script name split by a backslash", "        image: ghcr.io/acme/collector@sha256:",
         "        command: [/bin/sh, -c, '/opt/clean\\up.sh']\n        image: ghcr.io/acme/collector@sha256:", "manifest:script-environment", "runs cleanup.sh in the production environment"),
        ("a script named by a glob", "        image: ghcr.io/acme/collector@sha256:",
         "        command: [/bin/sh, -c, /opt/cleanup.s?]\n        image: ghcr.io/acme/collector@sha256:", "manifest:script-environment", "runs cleanup.sh in the production environment"),
        ("a script name in ANSI-C quoting", "        image: ghcr.io/acme/collector@sha256:",
         "        command: [/bin/bash, -c, \"./clean$'u'p.sh\"]\n        image: ghcr.io/acme/collector@sha256:", "manifest:script-environment", "runs cleanup.sh in the production environment"),
        ("a script name by brace expansion", "        image: ghcr.io/acme/collector@sha256:",
         "        command: [/bin/bash, -c, \"./clean{up,}.sh\"]\n        image: ghcr.io/acme/collector@sha256:", "manifest:script-environment", "runs cleanup.sh in the production environment"),
        ("a script name through a variable the command sets", "        image: ghcr.io/acme/collector@sha256:",
         "        command: [/bin/sh, -c, \"S=cleanup; ./$S.sh\"]\n        image: ghcr.io/acme/collector@sha256:", "manifest:script-environment", "runs cleanup.sh in the production environment"),
        ("a command from a ConfigMap", "        image: ghcr.io/acme/collector@sha256:",
         "        command: [/bin/sh, -c, \"$(SCRIPT)\"]\n        env: [{name: SCRIPT, valueFrom: {configMapKeyRef: {name: cm, key: SCRIPT}}}]\n        image: ghcr.io/acme/collector@sha256:",
         "manifest:script-environment", "NOT CHECKED: the command runs text from SCRIPT"),
        ("a ConfigMap value after a literal of the same name", "        image: ghcr.io/acme/collector@sha256:",
         "        command: [/bin/sh, -c, \"./$(SCRIPT)\"]\n        env: [{name: SCRIPT, value: deploy.sh}, {name: SCRIPT, valueFrom: {configMapKeyRef: {name: cm, key: s}}}]\n        image: ghcr.io/acme/collector@sha256:",
         "manifest:script-environment", "NOT CHECKED: the command runs text from SCRIPT"),
        ("a ConfigMap value beside an empty value", "        image: ghcr.io/acme/collector@sha256:",
         "        command: [/bin/sh, -c, \"./$(SCRIPT)\"]\n        env: [{name: SCRIPT, value: \"\", valueFrom: {configMapKeyRef: {name: cm, key: s}}}]\n        image: ghcr.io/acme/collector@sha256:",
         "manifest:script-environment", "NOT CHECKED: the command runs text from SCRIPT"),
        ("a literal taking in a ConfigMap value", "        image: ghcr.io/acme/collector@sha256:",
         "        command: [/bin/sh, -c, \"./$B\"]\n        env: [{name: A, valueFrom: {configMapKeyRef: {name: cm, key: s}}}, {name: B, value: \"$(A)\"}]\n        image: ghcr.io/acme/collector@sha256:",
         "manifest:script-environment", "NOT CHECKED: the command runs text from B"),
        ("a command through envFrom", "        image: ghcr.io/acme/collector@sha256:",
         "        command: [/bin/sh, -c, \"$SCRIPT\"]\n        envFrom: [{configMapRef: {name: cm}}]\n        image: ghcr.io/acme/collector@sha256:",
         "manifest:script-environment", "NOT CHECKED: the command runs text from SCRIPT"),
        ("a digest that is not one", "@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0\n        securityContext", "@sha256:0f1e\n        securityContext",
         "hygiene:image-not-pinned", "has a digest that is not sha256:<64 hex digits>"),
        ("every key of a Secret whose keys are declared", "          items:\n          - {key: token, path: token}\n", "",
         "manifest:secret", "Secret collector-creds mounted at /var/run/secrets/collector-creds with every key, where the manifest names only token"),
        ("envFrom of a Secret whose keys are declared", "        volumeMounts:\n", "        envFrom: [{secretRef: {name: collector-creds}}]\n        volumeMounts:\n",
         "manifest:secret", "envFrom injects every key of Secret collector-creds, where the manifest names only token"),
        ("a Secret in a projected volume", "      - name: write-0\n        emptyDir: {}",
         "      - name: write-0\n        projected: {sources: [{secret: {name: prod-db}}]}", "manifest:secret", "Secret prod-db mounted at /var/lib/collector"),
    ]

    @Test(arguments: kubernetesEdits)
    func aOneLineKubernetesEditIsFound(_ what: String, _ old: String, _ new: String, _ rule: String, _ words: String) throws {
        let text = try Self.edited(Self.kubernetes(), old, new)
        let f = try Self.findings(text, file: "edited.yaml")
        #expect(f.contains { $0.rule == rule && $0.found.contains(words) }, "\(what): \(f.map { "\($0.rule): \($0.found)" })")
    }

    /// A literal secret the shell would fill into a command named only at run time is never quoted
    /// with it (found by helper-159): the finding names the variable instead.
    @Test func aSecretFilledIntoARuntimeCommandIsNotQuoted() throws {
        let password = "correct horse-battery staple"
        let k = try Self.edited(Self.kubernetes(), "        image: ghcr.io/acme/collector@sha256:",
                                "        command: [/bin/sh, -c, \"$(/opt/boot.sh $DB_PASSWORD)\"]\n        env: [{name: DB_PASSWORD, value: \"\(password)\"}]\n        image: ghcr.io/acme/collector@sha256:")
        let c = try Self.edited(Self.compose(), "    read_only: true\n",
                                "    read_only: true\n    command: [/bin/sh, -c, \"$$(/opt/boot.sh $$DB_PASSWORD)\"]\n    environment: {DB_PASSWORD: \"\(password)\"}\n")
        for (text, file) in [(k, "edited.yaml"), (c, "docker-compose.yml")] {
            let f = try Self.findings(text, file: file)
            let quoted = f.filter { $0.rule == "manifest:script-environment" && $0.found.hasPrefix("NOT CHECKED: the shell runs") }
            #expect(quoted.contains { $0.found.contains("REDACTED") }, "\(file): \(f.map { "\($0.rule): \($0.found)" })")
            for x in f {
                for piece in [password, "horse-battery", "staple"] {
                    #expect(![x.found, x.allowed, x.fix].contains { $0.contains(piece) }, "\(file): \(x.rule): \(x.found)")
                }
            }
        }
        // Outside `$(…)`, where the shell takes out quotes and backslashes and ends words at `;` and
        // `&`: the value as printed differed from the value as written, and passed (review, helper-162).
        for value in ["ab'Zq9hunterXY'cd", "Zq9\\\\hunter2XYZ", "Zq9hunter;2XYZabc", "Zq9hunter&2XYZabc"] {
            let text = try Self.edited(Self.kubernetes(), "        image: ghcr.io/acme/collector@sha256:",
                                       "        command: [/bin/sh, -c, \"$X$DB_PASSWORD\"]\n        env: [{name: DB_PASSWORD, value: \"\(value)\"}]\n        image: ghcr.io/acme/collector@sha256:")
            let f = try Self.findings(text, file: "edited.yaml")
            #expect(f.contains { $0.found.hasPrefix("NOT CHECKED: the shell runs") }, "\(value): \(f.map { "\($0.rule): \($0.found)" })")
            #expect(!f.contains { $0.found.contains("Zq9hunter") }, "\(value): \(f.map { "\($0.rule): \($0.found)" })")
        }
        // The same value written into the command too, as a default.
        let inline = try Self.edited(Self.kubernetes(), "        image: ghcr.io/acme/collector@sha256:",
                                     "        command: [/bin/sh, -c, \"$(/opt/boot.sh ${NOPE:-Zq9hunter2XYZ})\"]\n        env: [{name: DB_PASSWORD, value: Zq9hunter2XYZ}]\n        image: ghcr.io/acme/collector@sha256:")
        let f = try Self.findings(inline, file: "edited.yaml")
        #expect(f.contains { $0.found.hasPrefix("NOT CHECKED: the shell runs") } && !f.contains { $0.found.contains("Zq9hunter") }, "\(f.map { "\($0.rule): \($0.found)" })")
    }

    /// PersistentVolumes read beside the workload, and whether the claim `data` may reach one on the node's disk.
    static let claimCases: [(String, String, Bool)] = [
        ("bound by volumeName to a hostPath volume", """
            kind: PersistentVolume
            metadata: {name: pv-host}
            spec: {hostPath: {path: /etc}, storageClassName: manual}
            ---
            kind: PersistentVolumeClaim
            metadata: {name: data}
            spec: {volumeName: pv-host}
            """, true),
        ("claimed by the volume's claimRef, local storage", """
            kind: PersistentVolume
            metadata: {name: pv-local}
            spec: {local: {path: /var/lib/secrets}, claimRef: {name: data, namespace: default}}
            """, true),
        ("an unbound claim whose class and selector the hostPath volume matches", """
            kind: PersistentVolume
            metadata: {name: pv-host, labels: {tier: node}}
            spec: {hostPath: {path: /root}, storageClassName: manual}
            ---
            kind: PersistentVolumeClaim
            metadata: {name: data}
            spec: {storageClassName: manual, selector: {matchExpressions: [{key: tier, operator: In, values: [node]}]}}
            """, true),
        ("a hostPath volume of another class", """
            kind: PersistentVolume
            metadata: {name: pv-host}
            spec: {hostPath: {path: /root}, storageClassName: manual}
            ---
            kind: PersistentVolumeClaim
            metadata: {name: data}
            spec: {storageClassName: fast-ssd}
            """, false),
        ("a hostPath volume claimed by another namespace's claim", """
            kind: PersistentVolume
            metadata: {name: pv-host}
            spec: {hostPath: {path: /root}, claimRef: {name: data, namespace: kube-system}}
            """, false),
        ("bound to NFS", """
            kind: PersistentVolume
            metadata: {name: pv-nfs}
            spec: {nfs: {server: nfs.example, path: /exports/data}}
            ---
            kind: PersistentVolumeClaim
            metadata: {name: data}
            spec: {volumeName: pv-nfs}
            """, false),
    ]

    @Test(arguments: claimCases)
    func aClaimIsFollowedToItsVolume(_ what: String, _ storage: String, _ onTheNode: Bool) throws {
        let text = try Self.edited(Self.kubernetes(), "      - name: write-0\n        emptyDir: {}", "      - name: write-0\n        persistentVolumeClaim: {claimName: data}")
            + "---\napiVersion: v1\n" + storage.replacingOccurrences(of: "\n---\n", with: "\n---\napiVersion: v1\n") + "\n"
        let f = try Self.findings(text, file: "edited.yaml").filter { $0.rule == "hygiene:hostpath-claim" || $0.rule == "manifest:hostpath" }
        if onTheNode {
            #expect(Set(f.map(\.rule)) == ["hygiene:hostpath-claim", "manifest:hostpath"], "\(what): \(f.map { "\($0.rule): \($0.found)" })")
            #expect(f.allSatisfy { $0.found.contains("data") && $0.location.line != nil })
        } else {
            #expect(f.isEmpty, "\(what): \(f.map { "\($0.rule): \($0.found)" })")
        }
    }

    /// Review: claims that no `volumes` entry names — a StatefulSet's volumeClaimTemplates and a
    /// generic ephemeral volume — reach local and hostPath PersistentVolumes too.
    @Test func claimTemplatesAreFollowedToo() throws {
        let text = """
            apiVersion: apps/v1
            kind: StatefulSet
            metadata: {name: db}
            spec:
              template:
                spec:
                  containers: [{name: c, image: x}]
                  volumes: [{name: scratch, ephemeral: {volumeClaimTemplate: {spec: {storageClassName: node-disk}}}}]
              volumeClaimTemplates: [{metadata: {name: data}, spec: {storageClassName: local-storage}}]
            ---
            apiVersion: v1
            kind: PersistentVolume
            metadata: {name: pv-local}
            spec: {local: {path: /mnt/disks/ssd1}, storageClassName: local-storage}
            ---
            apiVersion: v1
            kind: PersistentVolume
            metadata: {name: pv-host}
            spec: {hostPath: {path: /var/lib/node}, storageClassName: node-disk}
            ---
            apiVersion: v1
            kind: PersistentVolume
            metadata: {name: pv-taken}
            spec: {hostPath: {path: /root}, claimRef: {name: data-db-0, namespace: default}}

            """
        let f = try Self.findings(text, file: "sts.yaml").filter { $0.rule == "hygiene:hostpath-claim" }.map(\.found).sorted()
        #expect(f.count == 3, "\(f)")
        #expect(f.contains { $0.contains("volumeClaimTemplate data") && $0.contains("local /mnt/disks/ssd1") })
        #expect(f.contains { $0.contains("volumeClaimTemplate data") && $0.contains("pv-taken") })
        #expect(f.contains { $0.contains("ephemeral volume 'scratch'") && $0.contains("hostPath /var/lib/node") })
    }

    static let composeEdits: [(String, String, String, String, String)] = [
        ("a short bind mount climbing out with ..", "    volumes:\n", "    volumes:\n    - ../../../../etc:/var/lib/collector/x\n",
         "pss:hostpathvolumes", "host path ../../../../etc"),
        ("the same bind, checked against the manifest", "    volumes:\n", "    volumes:\n    - ../../../../etc:/var/lib/collector/x\n",
         "manifest:hostpath", "bind mount of ../../../../etc"),
        ("a long-form bind mount climbing out with ..", "    volumes:\n",
         "    volumes:\n    - {type: bind, source: ../../../../etc, target: /var/lib/collector/x, read_only: true}\n",
         "manifest:hostpath", "bind mount of ../../../../etc"),
        ("an undeclared cap_add", "    read_only: true\n", "    read_only: true\n    cap_add: [CHOWN]\n", "manifest:capability", "cap_add CHOWN"),
        ("another user", "user: 10001:10001", "user: 20002:20002", "manifest:uid", "user: 20002:20002"),
        ("root", "user: 10001:10001", "user: \"0\"", "manifest:root", "user: 0"),
        ("a read-only host path bound writable", "    volumes:\n", "    volumes:\n    - /etc/collector:/var/lib/collector/conf\n",
         "manifest:hostpath", "writable bind mount of /etc/collector, declared read-only"),
        // runc reads `+0` as uid 0 and an empty user part as its default, root (found by helper-80).
        ("root as +0", "user: 10001:10001", "user: \"+0:10001\"", "pss:runasnonroot", "user: +0:10001"),
        ("root as an empty user part", "user: 10001:10001", "user: \":10001\"", "pss:runasnonroot", "user: :10001"),
        ("root as a uid out of range", "user: 10001:10001", "user: \"4294967296:10001\"", "pss:runasnonroot", "user: 4294967296:10001"),
        // The daemon reads the value with strconv.ParseBool, and the last entry wins.
        ("no-new-privileges=0", "security_opt: ['no-new-privileges:true']", "security_opt: ['no-new-privileges=0']",
         "pss:allowprivilegeescalation", "no-new-privileges is not set"),
        ("no-new-privileges:False", "security_opt: ['no-new-privileges:true']", "security_opt: ['no-new-privileges:False']",
         "pss:allowprivilegeescalation", "no-new-privileges is not set"),
        ("no-new-privileges undone by a later entry", "security_opt: ['no-new-privileges:true']", "security_opt: ['no-new-privileges:true', 'no-new-privileges:f']",
         "pss:allowprivilegeescalation", "no-new-privileges is not set"),
        ("an undeclared secret", "    read_only: true\n", "    read_only: true\n    secrets: [prod-db]\n", "manifest:secret", "secret prod-db"),
        ("an undeclared writable volume", "    volumes:\n", "    volumes:\n    - data:/srv/data\n", "manifest:writable-mount", "writable volume at /srv/data"),
        ("an undeclared tmpfs", "    - {type: tmpfs, target: /var/lib/collector}\n", "    - {type: tmpfs, target: /var/lib/collector}\n    - {type: tmpfs, target: /etc}\n",
         "manifest:writable-mount", "writable tmpfs at /etc"),
        ("an undeclared short-form tmpfs", "    read_only: true\n", "    read_only: true\n    tmpfs: [/etc]\n", "manifest:writable-mount", "writable tmpfs at /etc"),
        ("a lowercase sys_admin", "    read_only: true\n", "    read_only: true\n    cap_add: [sys_admin]\n", "hygiene:cap-sys-admin", "CAP_SYS_ADMIN"),
        ("a lowercase sys_admin, against the manifest", "    read_only: true\n", "    read_only: true\n    cap_add: [sys_admin]\n", "manifest:capability", "cap_add SYS_ADMIN"),
        ("a lowercase all", "    read_only: true\n", "    read_only: true\n    cap_add: [all]\n", "hygiene:cap-sys-admin", "CAP_SYS_ADMIN"),
        ("another image", "image: ghcr.io/acme/collector@sha256:", "image: ghcr.io/evil/collector@sha256:", "manifest:image", "ghcr.io/evil/collector"),
        ("a digest that is not one", "@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0", "@sha256:0f1e", "hygiene:image-not-pinned", "not pinned by digest"),
        // The same class of gap: the compose spellings of the Pod Security controls.
        ("seccomp off", "security_opt: ['no-new-privileges:true']", "security_opt: ['no-new-privileges:true', 'seccomp:unconfined']",
         "pss:seccompprofile_baseline", "seccomp:unconfined"),
        ("AppArmor off", "security_opt: ['no-new-privileges:true']", "security_opt: ['no-new-privileges:true', 'apparmor=unconfined']",
         "pss:apparmorprofile", "apparmor:unconfined"),
        ("SELinux labels off", "security_opt: ['no-new-privileges:true']", "security_opt: ['no-new-privileges:true', 'label:disable']",
         "pss:selinuxoptions", "label:disable"),
        ("an unsafe sysctl", "    read_only: true\n", "    read_only: true\n    sysctls: {kernel.core_pattern: \"|/tmp/x\"}\n", "pss:sysctls", "kernel.core_pattern"),
        ("a host device", "    read_only: true\n", "    read_only: true\n    devices: [\"/dev/sda:/dev/sda\"]\n", "pss:hostpathvolumes", "host device /dev/sda"),
        ("the host user namespace", "    read_only: true\n", "    read_only: true\n    userns_mode: host\n", "pss:hostnamespaces", "userns_mode: host"),
        // Compose reads string booleans and interpolates `${…}`: the check reads the same value.
        ("privileged as a string", "    read_only: true\n", "    read_only: true\n    privileged: 'true'\n", "pss:privileged", "privileged: true"),
        ("privileged as yes", "    read_only: true\n", "    read_only: true\n    privileged: \"yes\"\n", "pss:privileged", "privileged: yes"),
        ("privileged from a default", "    read_only: true\n", "    read_only: true\n    privileged: ${PRIV:-true}\n", "pss:privileged", "privileged: true"),
        ("network_mode from a default", "    read_only: true\n", "    read_only: true\n    network_mode: ${NET:-host}\n", "pss:hostnamespaces", "network_mode: host"),
        ("privileged from the environment", "    read_only: true\n", "    read_only: true\n    privileged: ${PRIV}\n", "compose:unresolved-interpolation", "privileged holds ${PRIV}"),
        ("network_mode required from the environment", "    read_only: true\n", "    read_only: true\n    network_mode: ${NET:?set it}\n",
         "compose:unresolved-interpolation", "network_mode holds ${NET:?set it}"),
        ("a nested default", "    read_only: true\n", "    read_only: true\n    pid: ${A:-${B:-host}}\n", "pss:hostnamespaces", "pid: host"),
        ("privileged that is no boolean", "    read_only: true\n", "    read_only: true\n    privileged: maybe\n", "pss:privileged", "not a boolean"),
        // References to other files and services.
        ("extends another file", "    read_only: true\n", "    read_only: true\n    extends: {file: base.yaml, service: base}\n", "compose:not-checked", "extends another file"),
        ("extends a service the file lacks", "    read_only: true\n", "    read_only: true\n    extends: {service: nowhere}\n", "compose:not-checked", "which this file does not define"),
        ("volumes_from", "    read_only: true\n", "    read_only: true\n    volumes_from: [other]\n", "pss:hostpathvolumes", "volumes_from other"),
        ("the host cgroup namespace", "    read_only: true\n", "    read_only: true\n    cgroup: host\n", "pss:hostnamespaces", "cgroup: host"),
        ("another container's network", "    read_only: true\n", "    read_only: true\n    network_mode: container:x\n", "pss:hostnamespaces", "network_mode: container:x"),
        ("another service's network", "    read_only: true\n", "    read_only: true\n    network_mode: service:x\n", "pss:hostnamespaces", "network_mode: service:x"),
        ("another service's pids", "    read_only: true\n", "    read_only: true\n    pid: service:x\n", "pss:hostnamespaces", "pid: service:x"),
        ("another container's pids", "    read_only: true\n", "    read_only: true\n    pid: container:x\n", "pss:hostnamespaces", "pid: container:x"),
        ("the host IPC", "    read_only: true\n", "    read_only: true\n    ipc: host\n", "pss:hostnamespaces", "ipc: host"),
        ("another container's IPC", "    read_only: true\n", "    read_only: true\n    ipc: container:x\n", "pss:hostnamespaces", "ipc: container:x"),
        ("another service's IPC", "    read_only: true\n", "    read_only: true\n    ipc: service:x\n", "pss:hostnamespaces", "ipc: service:x"),
        ("a local build", "image: ghcr.io/acme/collector@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0", "build: .",
         "hygiene:image-not-pinned", "built locally"),
        ("a local build, against the manifest", "image: ghcr.io/acme/collector@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0", "build: .",
         "manifest:image", "built locally"),
        ("a device cgroup rule", "    read_only: true\n", "    read_only: true\n    device_cgroup_rules: ['a *:* rwm']\n", "pss:hostpathvolumes", "device cgroup rule 'a *:* rwm'"),
        ("an include of another file", "services:\n", "include: [other-compose.yml]\nservices:\n", "compose:not-checked", "include of other-compose.yml"),
        ("a named volume the local driver binds", "services:\n",
         "volumes:\n  data:\n    driver_opts: {type: none, o: bind, device: /etc}\nservices:\n  other:\n    volumes: ['data:/x']\n", "pss:hostpathvolumes", "host path /etc"),
        // Review of issue 11: what else unmasks, relabels, or reaches the host.
        ("system paths unmasked", "security_opt: ['no-new-privileges:true']", "security_opt: ['no-new-privileges:true', 'systempaths=unconfined']",
         "pss:procmount", "systempaths:unconfined"),
        ("a seccomp profile from a file that is not read", "security_opt: ['no-new-privileges:true']",
         "security_opt: ['no-new-privileges:true', 'seccomp=./allow-all.json']", "compose:not-checked", "seccomp:./allow-all.json"),
        ("an AppArmor profile of the user's own", "security_opt: ['no-new-privileges:true']",
         "security_opt: ['no-new-privileges:true', 'apparmor=my-profile']", "compose:not-checked", "apparmor:my-profile"),
        ("the SELinux type spc_t", "security_opt: ['no-new-privileges:true']", "security_opt: ['no-new-privileges:true', 'label=type:spc_t']",
         "pss:selinuxoptions", "label:type:spc_t"),
        ("the SELinux type unconfined_t, colon form", "security_opt: ['no-new-privileges:true']", "security_opt: ['no-new-privileges:true', 'label:type:unconfined_t']",
         "pss:selinuxoptions", "label:type:unconfined_t"),
        ("a named volume on a block device", "    volumes:\n", "    volumes:\n    - disk:/var/lib/collector/x:ro\n",
         "pss:hostpathvolumes", "host path /dev/sda1"),
        ("an undeclared config file", "services:\n", "configs:\n  conf:\n    file: /etc/shadow\nservices:\n", "manifest:hostpath", "config conf reads host file /etc/shadow"),
        ("an undeclared secret file", "services:\n", "secrets:\n  token:\n    file: /root/token.txt\nservices:\n", "manifest:hostpath", "secret token reads host file /root/token.txt"),
        ("the root group added", "    read_only: true\n", "    read_only: true\n    group_add: [0]\n", "hygiene:root-group", "group_add 0"),
        ("the root group added by name", "    read_only: true\n", "    read_only: true\n    group_add: [root]\n", "hygiene:root-group", "group_add root"),
        ("gid 0", "user: 10001:10001", "user: '10001:0'", "hygiene:root-group", "gid 0"),
        ("a uid without a gid", "user: 10001:10001", "user: '10001'", "hygiene:root-group", "names no group"),
        ("a zero-led uid without a gid", "user: 10001:10001", "user: '010'", "hygiene:root-group", "names no group"),
        ("host GPUs", "    read_only: true\n", "    read_only: true\n    gpus: all\n", "pss:hostpathvolumes", "gpus: all"),
        ("another runtime", "    read_only: true\n", "    read_only: true\n    runtime: nvidia\n", "hygiene:container-runtime", "runtime nvidia"),
        ("the default network", "    networks: [egress]\n", "", "manifest:egress-unrestricted", "network default is not internal"),
        ("an empty networks list", "    networks: [egress]\n", "    networks: []\n", "manifest:egress-unrestricted", "network default is not internal"),
        ("an empty network mode", "    networks: [egress]\n", "    network_mode: ''\n", "manifest:egress-unrestricted", "network default is not internal"),
        ("a network that is not internal", "    internal: true\n", "    internal: 'no'\n", "manifest:egress-unrestricted", "network egress is not internal"),
        ("an external network", "    internal: true\n", "    internal: true\n    external: true\n", "manifest:egress-unrestricted", "network egress is external"),
        ("a bridge network mode", "    networks: [egress]\n", "    network_mode: bridge\n", "manifest:egress-unrestricted", "network_mode: bridge"),
        ("a test script in production", "    read_only: true\n", "    read_only: true\n    command: [sh, -c, 'cleanup.sh']\n", "manifest:script-environment",
         "runs cleanup.sh in the production environment"),
        ("a test script in a healthcheck", "    read_only: true\n", "    read_only: true\n    healthcheck: {test: [CMD-SHELL, /bin/cleanup.sh]}\n", "manifest:script-environment",
         "runs cleanup.sh in the production environment"),
    ]

    @Test(arguments: composeEdits)
    func aOneLineComposeEditIsFound(_ what: String, _ old: String, _ new: String, _ rule: String, _ words: String) throws {
        var text = try Self.edited(Self.compose(), old, new)
        if text.contains("- disk:") { text += "volumes:\n  disk:\n    driver_opts: {type: ext4, device: /dev/sda1}\n" }
        let f = try Self.findings(text, file: "docker-compose.yml")
        #expect(f.contains { $0.rule == rule && $0.found.contains(words) }, "\(what): \(f.map { "\($0.rule): \($0.found)" })")
    }

    /// A service that extends another in the same file is checked with what it inherits.
    @Test func extendsInTheSameFileIsMerged() throws {
        let text = try Self.edited(try Self.edited(Self.compose(), "    read_only: true\n", "    read_only: true\n    extends: {service: base}\n"),
                                   "\nnetworks:\n", "\n  base:\n    privileged: true\n    cap_add: [NET_RAW]\nnetworks:\n")
        let f = try Self.findings(text, file: "docker-compose.yml").filter { $0.name == "telemetry-collector" }
        #expect(f.contains { $0.rule == "pss:privileged" } && f.contains { $0.rule == "manifest:capability" && $0.found.contains("NET_RAW") }, "\(f.map { "\($0.rule): \($0.found)" })")
    }

    /// A named volume bound from the host, used by the generated service.
    @Test func aNamedBindVolumeIsAHostPath() throws {
        let text = try Self.edited(Self.compose(), "    volumes:\n", "    volumes:\n    - data:/var/lib/collector/x:ro\n")
            + "volumes:\n  data:\n    driver_opts: {type: none, o: bind, device: /etc}\n"
        let f = try Self.findings(text, file: "docker-compose.yml")
        #expect(f.contains { $0.rule == "manifest:hostpath" && $0.found.contains("bind mount of /etc") }, "\(f.map { "\($0.rule): \($0.found)" })")
    }

    /// A default that is safe, and string booleans that say no, are not findings.
    @Test func safeDefaultsAndFalseStringsCheckClean() throws {
        var text = try Self.edited(Self.compose(), "    read_only: true\n", "    read_only: 'yes'\n    privileged: 'false'\n")
        text = try Self.edited(text, "    networks: [egress]\n", "    network_mode: ${NET:-none}\n")
        text = try Self.edited(text, "user: 10001:10001", "user: ${U:-10001:10001}")
        let f = try Self.findings(text, file: "docker-compose.yml")
        #expect(f.isEmpty, "\(f.map { "\($0.rule): \($0.found)" })")
    }

    /// A config file under a declared read path, a container SELinux type, and runc are not findings.
    @Test func declaredConfigsAndDefaultsCheckClean() throws {
        var text = try Self.edited(Self.compose(), "security_opt: ['no-new-privileges:true']", "security_opt: ['no-new-privileges:true', 'label=type:container_t']")
        text = try Self.edited(text, "    read_only: true\n", "    read_only: true\n    runtime: runc\n")
        text = try Self.edited(text, "services:\n", "configs:\n  conf:\n    file: /etc/collector/collector.yaml\nservices:\n")
        let f = try Self.findings(text, file: "docker-compose.yml")
        #expect(f.isEmpty, "\(f.map { "\($0.rule): \($0.found)" })")
    }

    /// Docker reads `all` as ALL: dropping it is dropping everything, not a finding.
    @Test func aLowercaseDropAllCounts() throws {
        let f = try Self.findings(try Self.edited(Self.compose(), "cap_drop: [ALL]", "cap_drop: [all]"), file: "docker-compose.yml")
        #expect(f.isEmpty, "\(f.map { "\($0.rule): \($0.found)" })")
    }

    /// A policy whose selector holds for the pod still restricts it.
    @Test func matchExpressionsThatHoldSelectThePod() throws {
        let text = try Self.edited(Self.kubernetes(), "  podSelector:\n    matchLabels:\n      app: telemetry-collector\n",
                                   "  podSelector:\n    matchExpressions: [{key: app, operator: In, values: [telemetry-collector]}, {key: tier, operator: DoesNotExist}]\n")
        let f = try Self.findings(text, file: "edited.yaml")
        #expect(f.isEmpty, "\(f.map { "\($0.rule): \($0.found)" })")
    }

    /// An OCI runtime config that holds exactly what the example manifest declares.
    static let oci = """
        {"ociVersion": "1.0.2",
         "process": {"user": {"uid": 10001, "gid": 10001}, "noNewPrivileges": true, "apparmorProfile": "docker-default",
                     "capabilities": {"bounding": [], "effective": [], "permitted": []}},
         "root": {"path": "rootfs", "readonly": true},
         "mounts": [
          {"destination": "/var/lib/collector", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]}
         ],
         "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"]},
                   "maskedPaths": ["/proc/kcore", "/proc/keys", "/sys/firmware"],
                   "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/sys"],
                   "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "mount"}, {"type": "uts"}, {"type": "cgroup"}]}}
        """

    static let ociEdits: [(String, String, String, String, String)] = [
        ("nothing", "", "", "", ""),
        ("an rbind climbing out of the bundle", "\"mounts\": [\n", "\"mounts\": [\n  {\"destination\": \"/x\", \"type\": \"none\", \"source\": \"../../etc\", \"options\": [\"rbind\", \"ro\"]},\n",
         "pss:hostpathvolumes", "bind mount of host path ../../etc"),
        ("the same, against the manifest", "\"mounts\": [\n", "\"mounts\": [\n  {\"destination\": \"/x\", \"type\": \"none\", \"source\": \"../../etc\", \"options\": [\"rbind\", \"ro\"]},\n",
         "manifest:hostpath", "bind mount of ../../etc"),
        ("an undeclared capability", "\"bounding\": []", "\"bounding\": [\"CAP_NET_RAW\"]", "manifest:capability", "capability NET_RAW"),
        // References to what the config does not hold, and types runc would not read.
        ("joining the host's network namespace", "{\"type\": \"network\"}", "{\"type\": \"network\", \"path\": \"/proc/1/ns/net\"}", "pss:hostnamespaces", "joins /proc/1/ns/net"),
        ("no mount namespace", ", {\"type\": \"mount\"}", "", "pss:hostnamespaces", "no mount namespace"),
        ("no uts namespace", ", {\"type\": \"uts\"}", "", "pss:hostnamespaces", "no uts namespace"),
        ("no cgroup namespace", ", {\"type\": \"cgroup\"}", "", "pss:hostnamespaces", "no cgroup namespace"),
        ("a capability set as a string", "\"bounding\": []", "\"bounding\": \"CAP_SYS_ADMIN\"", "pss:capabilities_baseline", "bounding is not a list"),
        ("an ambient capability", "\"permitted\": []", "\"permitted\": [], \"ambient\": [\"CAP_NET_RAW\"]", "manifest:capability", "capability NET_RAW"),
        ("a host device", "\"linux\": {", "\"linux\": {\"devices\": [{\"path\": \"/dev/sda\", \"type\": \"b\", \"major\": 8, \"minor\": 0}], ", "pss:hostpathvolumes", "host device /dev/sda"),
        ("a device cgroup rule", "\"linux\": {", "\"linux\": {\"resources\": {\"devices\": [{\"allow\": true, \"access\": \"rwm\"}]}, ", "pss:hostpathvolumes", "device cgroup rule allows rwm"),
        ("a prestart hook", "\"root\": {", "\"hooks\": {\"prestart\": [{\"path\": \"/usr/bin/fix-perms\"}]},\n \"root\": {", "hygiene:host-hooks", "runs /usr/bin/fix-perms on the host"),
        ("another uid", "\"uid\": 10001", "\"uid\": 20002", "manifest:uid", "process.user.uid is 20002"),
        ("a writable mount climbing out", "\"destination\": \"/var/lib/collector\"", "\"destination\": \"/var/lib/collector/../../../etc\"",
         "manifest:writable-mount", "writable mount at /var/lib/collector/../../../etc"),
        // Confinement the runtime applies only when the config asks for it.
        ("no seccomp filter", "\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_X86_64\"]},", "",
         "pss:seccompprofile_baseline", "no linux.seccomp"),
        ("a seccomp filter allowing everything", "SCMP_ACT_ERRNO", "SCMP_ACT_ALLOW", "pss:seccompprofile_baseline", "defaultAction is SCMP_ACT_ALLOW"),
        ("AppArmor unconfined", "\"apparmorProfile\": \"docker-default\"", "\"apparmorProfile\": \"unconfined\"", "pss:apparmorprofile", "unconfined"),
        ("no AppArmor profile", ", \"apparmorProfile\": \"docker-default\"", "", "pss:apparmorprofile", "no process.apparmorProfile"),
        ("an empty AppArmor profile", "\"apparmorProfile\": \"docker-default\"", "\"apparmorProfile\": \"\"", "pss:apparmorprofile", "empty or not a string"),
        ("SELinux spc_t", "\"noNewPrivileges\": true", "\"noNewPrivileges\": true, \"selinuxLabel\": \"system_u:system_r:spc_t:s0\"", "pss:selinuxoptions", "type spc_t"),
        ("SELinux unconfined_t", "\"noNewPrivileges\": true", "\"noNewPrivileges\": true, \"selinuxLabel\": \"unconfined_u:unconfined_r:unconfined_t:s0\"",
         "pss:selinuxoptions", "type unconfined_t"),
        ("no masked paths", "\"maskedPaths\": [\"/proc/kcore\", \"/proc/keys\", \"/sys/firmware\"],", "", "pss:procmount", "linux.maskedPaths is absent"),
        ("masked paths emptied", "\"maskedPaths\": [\"/proc/kcore\", \"/proc/keys\", \"/sys/firmware\"]", "\"maskedPaths\": []", "pss:procmount", "linux.maskedPaths is empty"),
        ("read-only paths emptied", "\"readonlyPaths\": [\"/proc/bus\", \"/proc/fs\", \"/proc/sys\"]", "\"readonlyPaths\": []", "pss:procmount", "linux.readonlyPaths is empty"),
        ("an unsafe sysctl", "\"linux\": {", "\"linux\": {\"sysctl\": {\"kernel.core_pattern\": \"|/tmp/x\"}, ", "pss:sysctls", "sysctl kernel.core_pattern"),
        // Mounts that read from the host without being binds.
        ("a block device", "\"mounts\": [\n", "\"mounts\": [\n  {\"destination\": \"/x\", \"type\": \"ext4\", \"source\": \"/dev/sda1\", \"options\": [\"ro\"]},\n",
         "pss:hostpathvolumes", "ext4 mount of host /dev/sda1"),
        ("an overlay of the host root", "\"mounts\": [\n",
         "\"mounts\": [\n  {\"destination\": \"/x\", \"type\": \"overlay\", \"source\": \"overlay\", \"options\": [\"lowerdir=/\", \"ro\"]},\n",
         "pss:hostpathvolumes", "overlay mount of host lowerdir=/"),
        ("a bind by type", "\"mounts\": [\n", "\"mounts\": [\n  {\"destination\": \"/x\", \"type\": \"bind\", \"source\": \"/etc\", \"options\": [\"ro\"]},\n",
         "pss:hostpathvolumes", "bind mount of host path /etc"),
        ("a writable sysfs", "\"mounts\": [\n", "\"mounts\": [\n  {\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\", \"options\": [\"nosuid\"]},\n",
         "pss:hostpathvolumes", "sysfs mounted writable"),
        ("the host root as root.path", "\"path\": \"rootfs\"", "\"path\": \"/\"", "pss:hostpathvolumes", "root.path /"),
        ("root.path climbing out of the bundle", "\"path\": \"rootfs\"", "\"path\": \"../..\"", "pss:hostpathvolumes", "root.path ../.."),
        ("gid 0", "\"gid\": 10001", "\"gid\": 0", "hygiene:root-group", "process.user.gid is 0"),
        ("an additional gid 0", "\"gid\": 10001", "\"gid\": 10001, \"additionalGids\": [10001, 0]", "hygiene:root-group", "additionalGids holds 0"),
    ]

    /// Kernel filesystems the runtime sets up are not host paths; a read-only sysfs is not either.
    @Test func kernelMountsCheckClean() throws {
        let mounts = """
            "mounts": [
              {"destination": "/proc", "type": "proc", "source": "proc"},
              {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
              {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance"]},
              {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
              {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
              {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
              {"destination": "/etc/resolv.conf", "type": "bind", "source": "/etc/resolv.conf", "options": ["rbind", "ro"]},

            """
        let f = try Self.findings(try Self.edited(Self.oci, "\"mounts\": [\n", mounts), file: "config.json").filter { $0.rule.hasPrefix("pss:") }
        #expect(f.isEmpty, "\(f.map { "\($0.rule): \($0.found)" })")
    }

    /// The manifest applies to OCI runtime configs as to compose services.
    @Test(arguments: ociEdits)
    func aOneLineOCIEditIsFound(_ what: String, _ old: String, _ new: String, _ rule: String, _ words: String) throws {
        let text = old.isEmpty ? Self.oci : try Self.edited(Self.oci, old, new)
        let f = try Self.findings(text, file: "config.json")
        if rule.isEmpty {
            #expect(f.isEmpty, "\(f.map { "\($0.rule): \($0.found)" })")
        } else {
            #expect(f.contains { $0.rule == rule && $0.found.contains(words) }, "\(what): \(f.map { "\($0.rule): \($0.found)" })")
        }
    }

    static let ciliumEdits: [(String, String, String, String, String)] = [
        ("nothing", "", "", "", ""),
        ("a port with no protocol (ANY)", "{port: \"4317\", protocol: TCP}", "{port: \"4317\"}", "manifest:egress-excess", "egress to port 4317/TCP, 4317/UDP"),
        ("endPort widening a declared port", "{port: \"443\", protocol: TCP}", "{port: \"443\", endPort: 65535, protocol: TCP}", "manifest:egress-excess", "egress to ports 443-65535"),
        ("port 0", "{port: \"443\", protocol: TCP}", "{port: \"0\", protocol: TCP}", "manifest:egress-excess", "port 0 (every port)"),
        ("a named port", "{port: \"443\", protocol: TCP}", "{port: https, protocol: TCP}", "manifest:egress-excess", "egress to named port https"),
        ("a rule without toPorts", "    - 10.0.0.0/8\n    toPorts:\n    - ports:\n      - {port: \"443\", protocol: TCP}\n", "    - 10.0.0.0/8\n",
         "manifest:egress-excess", "egress to every port and protocol of 10.0.0.0/8"),
        // Another namespace's pods labelled kube-dns (found by review).
        ("kube-dns in another namespace", "        k8s:io.kubernetes.pod.namespace: kube-system\n", "        any:io.kubernetes.pod.namespace: attacker\n",
         "manifest:egress-excess", "egress by toEndpoints"),
        ("kube-dns by a namespace's labels", "        k8s:io.kubernetes.pod.namespace: kube-system\n", "        k8s:io.cilium.k8s.namespace.labels.team: attacker\n",
         "manifest:egress-excess", "egress by toEndpoints"),
        ("an endpointSelector selecting no pod", "  endpointSelector:\n    matchLabels:\n      app: telemetry-collector\n",
         "  endpointSelector:\n    matchExpressions: [{key: app, operator: In, values: [nobody]}]\n", "manifest:egress-unrestricted", "no NetworkPolicy"),
    ]

    /// The Cilium flavour of the generated output, edited the same way.
    @Test(arguments: ciliumEdits)
    func aOneLineCiliumEditIsFound(_ what: String, _ old: String, _ new: String, _ rule: String, _ words: String) throws {
        let generated = PolicyGenerator.kubernetes(try Self.manifest(), networkPolicy: .cilium)
        let f = try Self.findings(old.isEmpty ? generated : try Self.edited(generated, old, new), file: "cilium.yaml")
        if rule.isEmpty {
            #expect(f.isEmpty, "\(f.map { "\($0.rule): \($0.found)" })")
        } else {
            #expect(f.contains { $0.rule == rule && $0.found.contains(words) }, "\(what): \(f.map { "\($0.rule): \($0.found)" })")
        }
    }
}
