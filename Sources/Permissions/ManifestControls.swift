import Foundation
import ProvenantCore
import Yams

/// Findings for what a workload holds beyond its manifest: one control value per kind of grant,
/// each run on its own, each finding saying why it matters.
public enum ManifestCheck {
    static let controls: [any ManifestControl] = [
        DeclaredHostPaths(), DeclaredImages(), DeclaredCapabilities(), DeclaredNoEscalation(), DeclaredWritablePaths(), DeclaredUser(), DeclaredSecrets(),
        ScriptEnvironments(), ServiceAccountToken(),
    ]

    /// `serviceAccounts` are the ServiceAccount objects read alongside, whose own
    /// `automountServiceAccountToken` applies when the pod does not set it.
    /// `level` is the Pod Security level checked beside: at restricted, what it already reports (the
    /// runtime's default capabilities, privilege escalation) is not said twice.
    public static func check(_ pod: PodSecurity.PodSpec, manifest m: AgentManifest, environment: String,
                             serviceAccounts: [Workloads.Objects.Doc] = [], level: PodSecurity.Level? = nil) -> [PolicyFinding] {
        var c = ManifestContext(pod: pod, manifest: m, environment: environment, serviceAccounts: serviceAccounts)
        c.level = level
        return controls.flatMap { $0.findings(c) }
    }
}

/// One comparison of a workload with its manifest.
protocol ManifestControl: Sendable {
    /// What exceeding the manifest here lets the workload do.
    var because: String { get }
    func findings(_ c: ManifestContext) -> [PolicyFinding]
}

/// What the manifest controls read.
struct ManifestContext {
    var pod: PodSecurity.PodSpec
    var manifest: AgentManifest
    var environment: String
    var serviceAccounts: [Workloads.Objects.Doc]
    var level: PodSecurity.Level?
    var spec: Node { pod.spec }
    var containers: [PodSecurity.Container]
    var volumes: [String: Node]

    init(pod: PodSecurity.PodSpec, manifest: AgentManifest, environment: String, serviceAccounts: [Workloads.Objects.Doc]) {
        self.pod = pod; self.manifest = manifest; self.environment = environment; self.serviceAccounts = serviceAccounts
        containers = PodSecurity.containers(pod.spec)
        var v: [String: Node] = [:]
        for n in pod.spec["volumes"]?.sequence ?? [] { if let name = n["name"]?.string { v[name] = n } }
        volumes = v
    }

    func finding(_ control: some ManifestControl, _ rule: String, _ severity: String, _ node: Node?, container: String? = nil,
                 found: String, allowed: String, fix: String) -> PolicyFinding {
        var f = pod.finding("manifest:" + rule, severity, at: node, container: container, found: found, allowed: allowed, fix: fix)
        f.because = control.because
        return f
    }
}

/// hostPath volumes under the declared paths, `..` resolved first.
struct DeclaredHostPaths: ManifestControl {
    var because: String { "a host path the manifest does not declare gives the agent files of the node it was not meant to touch" }
    func findings(_ c: ManifestContext) -> [PolicyFinding] {
        let m = c.manifest
        return (c.spec["volumes"]?.sequence ?? []).compactMap { v in
            guard let p = v["hostPath"]?["path"]?.string else { return nil }
            // /etc/collector/../../root is /root.
            guard let n = FieldSyntax.normalizedPath(p) else {
                return c.finding(self, "hostpath", "high", v["hostPath"], found: "hostPath \(p) cannot be normalized to an absolute path",
                                 allowed: "paths declared under filesystem", fix: "write the hostPath as an absolute path without '..' above /")
            }
            guard !AgentManifest.covered(n, by: m.read + m.write) else { return nil }
            return c.finding(self, "hostpath", "high", v["hostPath"], found: "hostPath \(p)" + (n == p ? "" : " (\(n))"), allowed: "paths declared under filesystem",
                             fix: "remove the hostPath volume or declare \(n) in the manifest")
        }
    }
}

/// A manifest's list as a finding quotes it: its first `shown` entries, then how many more. Whole, a
/// manifest of 2,000 images was copied into each of 2,000 findings: 372 MB of output from 650 KB of
/// input (found by helper-233).
enum DeclaredList {
    static let shown = 20

    static func text(_ items: [String]) -> String {
        guard items.count > shown else { return items.joined(separator: ", ") }
        return items.prefix(shown).joined(separator: ", ") + " and \(items.count - shown) more"
    }
}

struct DeclaredImages: ManifestControl {
    var because: String { "an image the manifest does not name is code nobody declared" }
    func findings(_ c: ManifestContext) -> [PolicyFinding] {
        let m = c.manifest
        guard !m.images.isEmpty else { return [] }
        let containers = c.containers.compactMap { k -> PolicyFinding? in
            guard let image = k.node["image"]?.string, !m.images.contains(image) else { return nil }
            return c.finding(self, "image", "high", k.node["image"], container: k.name, found: "image \(image)", allowed: DeclaredList.text(m.images),
                             fix: "run one of the images the manifest names, or add this one (pinned by digest)")
        }
        // Image volumes bring another image's files into the pod (helper-124: they passed unnamed).
        let volumes = Hygiene.imageVolumes(c.pod.spec).compactMap { name, ref -> PolicyFinding? in
            guard !m.images.contains(ref.string ?? "") else { return nil }
            return c.finding(self, "image", "high", ref, container: nil, found: "image volume \(name): \(ref.string ?? "?")", allowed: DeclaredList.text(m.images),
                             fix: "mount one of the images the manifest names, or add this one (pinned by digest)")
        }
        return containers + volumes
    }
}

/// Added capabilities, in any case and with or without CAP_, as the runtime reads them.
struct DeclaredCapabilities: ManifestControl {
    var because: String { "each capability is a piece of root the manifest did not grant" }
    func findings(_ c: ManifestContext) -> [PolicyFinding] {
        let m = c.manifest
        return c.containers.flatMap { k in
            let add = k.node["securityContext"]?["capabilities"]?["add"]
            return (add?.sequence?.compactMap(\.string) ?? []).map(PodSecurity.runtimeCapability).filter { !m.capabilities.contains($0) }.map { bare in
                c.finding(self, "capability", bare == "SYS_ADMIN" || bare == "ALL" ? "critical" : "high", add, container: k.name, found: "adds \(bare)",
                          allowed: m.capabilities.isEmpty ? "no capabilities" : DeclaredList.text(m.capabilities), fix: "remove \(bare) from capabilities.add")
            } + kept(k, c)
        }
    }

    /// The runtime's default capabilities (containerd's and Docker's) a container keeps unless it drops
    /// them: undeclared, they are grants too, and only the restricted level asked for `drop: [ALL]`
    /// (Left undone: at baseline the manifest check missed them).
    static let runtimeDefaults = PodSecurity.baselineCapabilities.union(["NET_RAW"])

    func kept(_ k: PodSecurity.Container, _ c: ManifestContext) -> [PolicyFinding] {
        guard c.level != .restricted else { return [] }
        let drop = k.node["securityContext"]?["capabilities"]?["drop"]
        let dropped = Set((drop?.sequence?.compactMap(\.string) ?? []).map(PodSecurity.runtimeCapability))
        guard !dropped.contains("ALL") else { return [] }
        let kept = Self.runtimeDefaults.subtracting(dropped).subtracting(c.manifest.capabilities).sorted()
        guard !kept.isEmpty else { return [] }
        return [c.finding(self, "capability", "medium", drop ?? k.node["securityContext"] ?? k.node, container: k.name,
                          found: "keeps the runtime's default capabilities \(kept.joined(separator: ", "))",
                          allowed: c.manifest.capabilities.isEmpty ? "no capabilities" : DeclaredList.text(c.manifest.capabilities),
                          fix: "set capabilities.drop: [ALL], and add back only the declared ones")]
    }
}

/// A non-root manifest with a container that may gain privileges: a setuid binary or file capability
/// in the image makes the process root, or hands it capabilities, whatever the manifest says.
struct DeclaredNoEscalation: ManifestControl {
    var because: String { "without allowPrivilegeEscalation: false, a setuid binary in the image runs with privileges the manifest does not declare" }
    func findings(_ c: ManifestContext) -> [PolicyFinding] {
        guard c.level != .restricted, c.manifest.nonRoot != false else { return [] }
        return c.containers.compactMap { k in
            let v = k.node["securityContext"]?["allowPrivilegeEscalation"]
            guard v?.bool != false else { return nil }
            return c.finding(self, "privilege-escalation", "medium", v ?? k.node["securityContext"] ?? k.node, container: k.name,
                             found: v == nil ? "allowPrivilegeEscalation is not set (it defaults to true)" : "allowPrivilegeEscalation: \(v?.string ?? "?")",
                             allowed: "a non-root agent that cannot gain privileges", fix: "set securityContext.allowPrivilegeEscalation: false")
        }
    }
}

/// Writable mounts under filesystem.write, `..` resolved first. Secret, configMap, projected and
/// downwardAPI volumes are read-only by nature.
struct DeclaredWritablePaths: ManifestControl {
    var because: String { "a writable path the manifest does not declare lets the agent change what it should only read" }
    func findings(_ c: ManifestContext) -> [PolicyFinding] {
        let m = c.manifest
        return c.containers.flatMap { k in
            (k.node["volumeMounts"]?.sequence ?? []).compactMap { vm -> PolicyFinding? in
                guard let raw = vm["mountPath"]?.string, vm["readOnly"]?.bool != true else { return nil }
                let vol = vm["name"]?.string.flatMap { c.volumes[$0] }
                if vol?["secret"] != nil || vol?["configMap"] != nil || vol?["projected"] != nil || vol?["downwardAPI"] != nil { return nil }
                // A hostPath mounted writable writes the node's files, wherever the mount lands: the host
                // path must be declared writable, not only read (found by helper-80).
                if let hp = vol?["hostPath"]?["path"]?.string, let host = FieldSyntax.normalizedPath(hp),
                   AgentManifest.covered(host, by: m.read), !AgentManifest.covered(host, by: m.write) {
                    return c.finding(self, "writable-mount", "high", vm, container: k.name, found: "hostPath \(hp) mounted writable at \(raw), declared read-only",
                                     allowed: m.write.isEmpty ? "no writable paths" : DeclaredList.text(m.write),
                                     fix: "set readOnly: true on the mount, or declare \(host) under filesystem.write")
                }
                let mp = FieldSyntax.normalizedPath(raw)
                guard mp.map({ !AgentManifest.covered($0, by: m.write) }) ?? true else { return nil }
                let shown = mp.map { $0 == raw ? raw : "\(raw) (\($0))" } ?? "\(raw), which cannot be normalized to an absolute path,"
                return c.finding(self, "writable-mount", "medium", vm, container: k.name, found: "writable mount at \(shown)",
                                 allowed: m.write.isEmpty ? "no writable paths" : DeclaredList.text(m.write),
                                 fix: "set readOnly: true on the mount, or declare \(mp ?? raw) under filesystem.write")
            }
        }
    }
}

/// The user each container runs as: the container's runAsNonRoot/runAsUser, else the pod's.
struct DeclaredUser: ManifestControl {
    var because: String { "the manifest fixes who the agent runs as" }
    func findings(_ c: ManifestContext) -> [PolicyFinding] {
        let m = c.manifest
        let podSC = c.spec["securityContext"]
        return c.containers.compactMap { k in
            let sc = k.node["securityContext"]
            let nonRoot = sc?["runAsNonRoot"]?.bool ?? podSC?["runAsNonRoot"]?.bool
            let uid = sc?["runAsUser"]?.int ?? podSC?["runAsUser"]?.int
            if m.nonRoot != false, uid == 0 || (nonRoot != true && uid == nil) {
                return c.finding(self, "root", "high", sc ?? k.node, container: k.name, found: uid == 0 ? "runAsUser: 0" : "may run as root (no runAsNonRoot or runAsUser)",
                                 allowed: m.uid.map { "uid \($0), non-root" } ?? "non-root", fix: "set runAsNonRoot: true and runAsUser: \(m.uid ?? 10001)")
            }
            if let want = m.uid, let got = uid, got != want {
                return c.finding(self, "uid", "medium", sc?["runAsUser"] ?? podSC?["runAsUser"], container: k.name, found: "runAsUser: \(got)", allowed: "uid \(want)",
                                 fix: "set runAsUser: \(want)")
            }
            return nil
        }
    }
}

/// Secrets read through env, envFrom, a Secret volume or a projected volume's Secret sources.
struct DeclaredSecrets: ManifestControl {
    var because: String { "a Secret the manifest does not name is a credential the agent was not meant to hold" }
    func findings(_ c: ManifestContext) -> [PolicyFinding] {
        let m = c.manifest
        var out: [PolicyFinding] = []
        for k in c.containers {
            for e in k.node["env"]?.sequence ?? [] {
                guard let ref = e["valueFrom"]?["secretKeyRef"], let sname = ref["name"]?.string else { continue }
                let key = ref["key"]?.string ?? ""
                let envName = e["name"]?.string ?? ""
                if !m.secrets.contains(where: { s in (s.secret == sname && (s.keys.isEmpty || s.keys.contains(key))) || s.env == envName }) {
                    out.append(c.finding(self, "secret", "high", ref, container: k.name, found: "env \(envName) reads Secret \(sname) key \(key)",
                                         allowed: "secrets the manifest names", fix: "remove it, or name Secret \(sname) key \(key) in the manifest"))
                }
            }
            // Every key of a Secret (envFrom, a volume without items) is allowed only where the manifest
            // names the whole Secret: one that names some keys was passed by the name alone (found by helper-80).
            func allows(_ sname: String, keys: [String]?) -> Bool {
                let entries = m.secrets.filter { $0.secret == sname }
                if entries.contains(where: { $0.keys.isEmpty }) { return true }
                guard let keys, !entries.isEmpty else { return false }
                let declared = Set(entries.flatMap(\.keys))
                return keys.allSatisfy(declared.contains)
            }
            func declaredKeys(_ sname: String) -> String {
                m.secrets.filter { $0.secret == sname }.flatMap(\.keys).joined(separator: ", ")
            }
            for ef in k.node["envFrom"]?.sequence ?? [] {
                guard let sname = ef["secretRef"]?["name"]?.string, !allows(sname, keys: nil) else { continue }
                let some = declaredKeys(sname)
                out.append(c.finding(self, "secret", "high", ef, container: k.name,
                                     found: "envFrom injects every key of Secret \(sname)" + (some.isEmpty ? "" : ", where the manifest names only \(some)"),
                                     allowed: "secrets the manifest names", fix: "name Secret \(sname) in the manifest, or reference only the keys needed"))
            }
            for vm in k.node["volumeMounts"]?.sequence ?? [] {
                guard let vol = vm["name"]?.string.flatMap({ c.volumes[$0] }) else { continue }
                // An empty items list mounts every key, as none does (found by review).
                func items(_ n: Node?) -> [Node]? { n?["items"]?.sequence.flatMap { $0.isEmpty ? nil : Array($0) } }
                var refs: [(String, [Node]?)] = []
                if let sname = vol["secret"]?["secretName"]?.string { refs.append((sname, items(vol["secret"]))) }
                for src in vol["projected"]?["sources"]?.sequence ?? [] {
                    if let sname = src["secret"]?["name"]?.string { refs.append((sname, items(src["secret"]))) }
                }
                let mp = vm["mountPath"]?.string ?? ""
                // Declared files allow a mount only of themselves: one key by subPath at a declared file,
                // or items whose paths are all declared files. A Secret mounted whole at a directory above
                // a declared file put every key beside it (found by review).
                let files = Set(m.secrets.compactMap(\.file).compactMap(FieldSyntax.normalizedPath))
                func onlyDeclaredFiles(_ itemNodes: [Node]?) -> Bool {
                    guard let dir = FieldSyntax.normalizedPath(mp) else { return false }
                    // One key by subPath: a plain key name, not a directory of them (`..data`, `.`, `d/`, found by review).
                    if let sub = vm["subPath"]?.string, !sub.isEmpty {
                        return !sub.hasPrefix(".") && !sub.contains("/") && itemNodes == nil && files.contains(dir)
                    }
                    guard let itemNodes else { return false }
                    return itemNodes.allSatisfy { i in i["path"]?.string.flatMap { FieldSyntax.normalizedPath(dir + "/" + $0) }.map(files.contains) == true }
                }
                for (sname, itemNodes) in refs where !allows(sname, keys: itemNodes.map { $0.compactMap { $0["key"]?.string } }) && !onlyDeclaredFiles(itemNodes) {
                    let keys = itemNodes.map { $0.compactMap { $0["key"]?.string } }
                    let some = declaredKeys(sname)
                    out.append(c.finding(self, "secret", "high", vm, container: k.name,
                                         found: "Secret \(sname) mounted at \(mp)" + (some.isEmpty ? "" : (keys == nil ? " with every key" : " with keys \(keys!.joined(separator: ", "))") + ", where the manifest names only \(some)"),
                                         allowed: "secrets the manifest names", fix: "name Secret \(sname) (or a file under \(mp)) in the manifest, or mount only the declared keys with items"))
                }
            }
        }
        return out
    }
}

/// Scripts bound to environments: `cleanup.sh: [test]` must not run on production.
struct ScriptEnvironments: ManifestControl {
    var because: String { "the manifest allows this script only in other environments" }
    func findings(_ c: ManifestContext) -> [PolicyFinding] {
        let m = c.manifest
        var out: [PolicyFinding] = []
        for k in c.containers {
            let env = ContainerCommands.environment(k.node)
            for line in ContainerCommands.lines(k.node) {
                // As written, and as a shell would expand `$VAR` from the container's literal env values.
                let words = ContainerCommands.wordsAsRun(line.strings, env: env)
                for (script, envs) in m.scripts.sorted(by: { $0.key < $1.key }) {
                    guard ContainerCommands.runs(words, script), !envs.contains(c.environment) else { continue }
                    out.append(c.finding(self, "script-environment", "critical", line.node, container: k.name,
                                         found: "runs \(script) in the \(c.environment) environment", allowed: "\(script) only in \(envs.joined(separator: ", "))",
                                         fix: "remove \(script) from this \(c.environment) workload, or deploy it only to \(envs.joined(separator: ", "))"))
                }
                // Text whose value is set outside the workload may name a script barred here: not
                // checked, never clean. Only where the manifest bars some script from this environment.
                let barred = m.scripts.filter { !$0.value.contains(c.environment) }.keys.sorted()
                let unknown = ContainerCommands.unknownReferences(line.strings, container: k.node)
                if !barred.isEmpty, !unknown.isEmpty {
                    out.append(c.finding(self, "script-environment", "high", line.node, container: k.name,
                                         found: "NOT CHECKED: the command runs text from \(unknown.joined(separator: ", ")), set outside the workload (valueFrom or envFrom), so whether it runs \(barred.joined(separator: ", ")) in the \(c.environment) environment is not known",
                                         allowed: "commands whose scripts can be read from the workload",
                                         fix: "write the command literally, or give \(unknown.joined(separator: ", ")) a literal value"))
                }
                let runtimeNamed = ContainerCommands.runtimeNamedCommands(line.strings, env: env)
                if !barred.isEmpty, unknown.isEmpty, !runtimeNamed.isEmpty {
                    out.append(c.finding(self, "script-environment", "high", line.node, container: k.name,
                                         found: "NOT CHECKED: the shell runs \(Self.listed(runtimeNamed)), whose name is only known when it runs, so whether it runs \(barred.joined(separator: ", ")) in the \(c.environment) environment is not known",
                                         allowed: "commands whose scripts can be read from the workload",
                                         fix: "name the script the command runs literally"))
                }
            }
        }
        return out
    }
}

extension ScriptEnvironments {
    /// Words quoted in a finding: the first three, each cut short.
    static func listed(_ words: [String]) -> String {
        // Redacted before it is cut: a URL cut before its `@` kept its password (found by helper-211).
        let shown: [String] = words.prefix(ContainerCommands.quotedWords).map { word in
            let r: String = Redactor.redact(word)
            let cut: String = r.count > 60 ? String(r.prefix(60)) + "…" : r
            return "`" + cut + "`"
        }
        return shown.joined(separator: ", ") + (words.count > 3 ? " and \(words.count - 3) more" : "")
    }
}

/// No declared API access, no token: the pod's field, else its ServiceAccount's.
struct ServiceAccountToken: ManifestControl {
    var because: String { "a mounted token lets anyone in the pod call the Kubernetes API as its service account" }
    func findings(_ c: ManifestContext) -> [PolicyFinding] {
        guard c.manifest.kubernetes.isEmpty else { return [] }
        let saName = c.spec["serviceAccountName"]?.setName ?? c.spec["serviceAccount"]?.setName ?? "default"
        // Defined twice, the token counts as not mounted only when every definition says so: `apply`
        // keeps the last, `create` and Helm the first (found by helper-152, helper-153).
        let definitions = c.serviceAccounts.filter {
            $0.node["metadata"]?["name"]?.string == saName && ($0.node["metadata"]?["namespace"]?.setName ?? "default") == c.pod.namespace
        }
        let saAutomount: Bool? = definitions.isEmpty ? nil : !definitions.allSatisfy { $0.node["automountServiceAccountToken"]?.bool == false }
        // A projected serviceAccountToken source mounts a working token whatever automount says (found by helper-80).
        let projected = (c.spec["volumes"]?.sequence ?? []).filter { v in
            (v["projected"]?["sources"]?.sequence ?? []).contains { $0["serviceAccountToken"] != nil }
        }
        if let v = projected.first {
            return [c.finding(self, "service-account-token", "medium", v, found: "a projected volume (\(v["name"]?.string ?? "unnamed")) mounts a service-account token",
                              allowed: "no API access declared", fix: "remove the serviceAccountToken source from the projected volume")]
        }
        guard (c.spec["automountServiceAccountToken"]?.bool ?? saAutomount) != false else { return [] }
        return [c.finding(self, "service-account-token", "medium", c.spec, found: "a service-account token is mounted", allowed: "no API access declared",
                          fix: "set automountServiceAccountToken: false")]
    }
}
