import Foundation
import ProvenantCore
import Yams

/// `provenant.agent.yaml`: what an agent may touch. The JSON Schema is `schemas/agent-manifest.schema.json`.
public struct AgentManifest: Sendable, Equatable {
    public struct Egress: Sendable, Equatable { public var host: String?; public var cidr: String?; public var ports: [Int]; public var proto: String }
    public struct Secret: Sendable, Equatable { public var secret: String?; public var keys: [String]; public var env: String?; public var file: String? }
    public struct APIAccess: Sendable, Equatable { public var verbs: [String]; public var resources: [String] }

    public var name: String
    public var images: [String] = []
    public var read: [String] = []
    public var write: [String] = []
    public var egress: [Egress] = []
    public var dns = false
    public var capabilities: [String] = []
    /// nil when the manifest says nothing about the user: running as root is then undeclared.
    public var nonRoot: Bool?
    public var uid: Int?
    public var secrets: [Secret] = []
    public var kubernetes: [APIAccess] = []
    /// Script or command → the environments it may run in.
    public var scripts: [String: [String]] = [:]

    public static func load(_ path: String) throws(InputError) -> AgentManifest {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw InputError("cannot read manifest", at: Location(path))
        }
        let root: Node
        do {
            guard let n = try Yams.compose(yaml: text) else { throw InputError("empty manifest", at: Location(path)) }
            root = n
        } catch let e as InputError { throw e } catch {
            throw YAMLInput.error(error, text: text, path: path)
        }
        try Self.rejectDuplicateKeys(root, path: path)
        func fail(_ msg: String, _ node: Node?) -> InputError { InputError(msg, at: Location(path, line: (node ?? root).mark?.line)) }
        guard let map = root.mapping else { throw fail("the manifest must be a mapping", root) }
        let known: Set<String> = ["apiVersion", "kind", "name", "images", "filesystem", "egress", "dns", "capabilities", "user", "secrets", "kubernetes", "scripts"]
        for k in map.keys { if let s = k.string, !known.contains(s) { throw fail("unknown field '\(s)'", k) } }
        if let k = root["kind"]?.string, k != "Agent" { throw fail("kind must be Agent, not '\(k)'", root["kind"]) }
        guard let name = root["name"]?.string, !name.isEmpty else { throw fail("missing field 'name'", root) }
        var m = AgentManifest(name: name)
        func strings(_ n: Node?, _ field: String) throws(InputError) -> [String] {
            guard let n else { return [] }
            guard let seq = n.sequence else { throw fail("'\(field)' must be a list", n) }
            var out: [String] = []
            for x in seq { guard let s = x.string else { throw fail("'\(field)' entries must be strings", x) }; out.append(s) }
            return out
        }
        m.images = try strings(root["images"], "images")
        for i in m.images where !i.contains("@sha256:") { throw fail("image '\(i)' is not pinned by digest (@sha256:…)", root["images"]) }
        m.read = try strings(root["filesystem"]?["read"], "filesystem.read")
        m.write = try strings(root["filesystem"]?["write"], "filesystem.write")
        for e in root["egress"]?.sequence ?? [] {
            let host = e["host"]?.string, cidr = e["cidr"]?.string
            guard (host == nil) != (cidr == nil) else { throw fail("each egress entry needs exactly one of host or cidr", e) }
            let ports = try (e["ports"]?.sequence ?? []).map { p throws(InputError) -> Int in
                guard let v = p.int, (1...65535).contains(v) else { throw fail("egress ports must be numbers from 1 to 65535", p) }
                return v
            }
            let proto = e["protocol"]?.string ?? "TCP"
            guard ["TCP", "UDP", "SCTP"].contains(proto) else { throw fail("protocol must be TCP, UDP or SCTP", e["protocol"]) }
            m.egress.append(Egress(host: host, cidr: cidr, ports: ports, proto: proto))
        }
        m.dns = root["dns"]?.bool ?? false
        m.capabilities = try strings(root["capabilities"], "capabilities").map(PodSecurity.bareCapability)
        m.nonRoot = root["user"]?["nonRoot"]?.bool
        m.uid = root["user"]?["uid"]?.int
        if m.nonRoot == true, m.uid == 0 { throw fail("user.uid 0 contradicts nonRoot: true", root["user"]) }
        for s in root["secrets"]?.sequence ?? [] {
            let sec = Secret(secret: s["secret"]?.string, keys: try strings(s["keys"], "secrets.keys"), env: s["env"]?.string, file: s["file"]?.string)
            guard [sec.secret, sec.env, sec.file].compactMap({ $0 }).count == 1 else { throw fail("each secret names exactly one of secret, env or file", s) }
            m.secrets.append(sec)
        }
        for a in root["kubernetes"]?.sequence ?? [] {
            m.kubernetes.append(APIAccess(verbs: try strings(a["verbs"], "kubernetes.verbs"), resources: try strings(a["resources"], "kubernetes.resources")))
        }
        for (k, v) in root["scripts"]?.mapping ?? [:] {
            guard let script = k.string else { throw fail("script names must be strings", k) }
            m.scripts[script] = try strings(v, "scripts.\(script)")
        }
        return m
    }

    /// YAML allows a key twice and keeps the last; in a permission manifest that hides a grant.
    static func rejectDuplicateKeys(_ n: Node, path: String) throws(InputError) {
        if let map = n.mapping {
            var seen: [String: Int] = [:]
            for (k, v) in map {
                if let s = k.string {
                    if let first = seen[s] { throw InputError("duplicate key '\(s)' (first at line \(first))", at: Location(path, line: k.mark?.line)) }
                    seen[s] = k.mark?.line ?? 0
                }
                try rejectDuplicateKeys(v, path: path)
            }
        } else if let seq = n.sequence {
            for x in seq { try rejectDuplicateKeys(x, path: path) }
        }
    }

    /// Whether `path` is one of `roots` or below one.
    static func covered(_ path: String, by roots: [String]) -> Bool {
        roots.contains { r in path == r || path.hasPrefix(r.hasSuffix("/") ? r : r + "/") }
    }
}

/// Findings for what a workload holds beyond its manifest.
public enum ManifestCheck {
    /// `serviceAccounts` are the ServiceAccount objects read alongside, whose own
    /// `automountServiceAccountToken` applies when the pod does not set it.
    public static func check(_ pod: PodSecurity.PodSpec, manifest m: AgentManifest, environment: String,
                             serviceAccounts: [Workloads.Objects.Doc] = []) -> [PolicyFinding] {
        var out: [PolicyFinding] = []
        let spec = pod.spec
        func add(_ rule: String, _ severity: String, _ node: Node?, container: String? = nil, found: String, allowed: String, fix: String) {
            out.append(pod.finding("manifest:" + rule, severity, at: node, container: container, found: found, allowed: allowed, fix: fix))
        }
        let podSC = spec["securityContext"]
        var volumes: [String: Node] = [:]
        for v in spec["volumes"]?.sequence ?? [] { if let n = v["name"]?.string { volumes[n] = v } }
        for v in volumes.values {
            if let p = v["hostPath"]?["path"]?.string, !AgentManifest.covered(p, by: m.read + m.write) {
                add("hostpath", "high", v["hostPath"], found: "hostPath \(p)", allowed: "paths declared under filesystem", fix: "remove the hostPath volume or declare \(p) in the manifest")
            }
        }
        for c in PodSecurity.containers(spec) {
            let sc = c.node["securityContext"]
            for cap in sc?["capabilities"]?["add"]?.sequence?.compactMap(\.string) ?? [] {
                let bare = PodSecurity.bareCapability(cap)
                if !m.capabilities.contains(bare) {
                    add("capability", bare == "SYS_ADMIN" ? "critical" : "high", sc?["capabilities"]?["add"], container: c.name, found: "adds \(bare)",
                        allowed: m.capabilities.isEmpty ? "no capabilities" : m.capabilities.joined(separator: ", "), fix: "remove \(bare) from capabilities.add")
                }
            }
            for vm in c.node["volumeMounts"]?.sequence ?? [] {
                guard let mp = vm["mountPath"]?.string, vm["readOnly"]?.bool != true else { continue }
                // Secret and projected token volumes are read-only by nature; the rest must be declared writable.
                let vol = vm["name"]?.string.flatMap { volumes[$0] }
                if vol?["secret"] != nil || vol?["configMap"] != nil || vol?["projected"] != nil || vol?["downwardAPI"] != nil { continue }
                if !AgentManifest.covered(mp, by: m.write) {
                    add("writable-mount", "medium", vm, container: c.name, found: "writable mount at \(mp)", allowed: m.write.isEmpty ? "no writable paths" : m.write.joined(separator: ", "),
                        fix: "set readOnly: true on the mount, or declare \(mp) under filesystem.write")
                }
            }
            // Running as root: effective runAsNonRoot/runAsUser from container, else pod.
            let nonRoot = sc?["runAsNonRoot"]?.bool ?? podSC?["runAsNonRoot"]?.bool
            let uid = sc?["runAsUser"]?.int ?? podSC?["runAsUser"]?.int
            if m.nonRoot != false, uid == 0 || (nonRoot != true && uid == nil) {
                add("root", "high", sc ?? c.node, container: c.name, found: uid == 0 ? "runAsUser: 0" : "may run as root (no runAsNonRoot or runAsUser)",
                    allowed: m.uid.map { "uid \($0), non-root" } ?? "non-root", fix: "set runAsNonRoot: true and runAsUser: \(m.uid ?? 10001)")
            } else if let want = m.uid, let got = uid, got != want {
                add("uid", "medium", sc?["runAsUser"] ?? podSC?["runAsUser"], container: c.name, found: "runAsUser: \(got)", allowed: "uid \(want)", fix: "set runAsUser: \(want)")
            }
            for e in c.node["env"]?.sequence ?? [] {
                if let ref = e["valueFrom"]?["secretKeyRef"], let sname = ref["name"]?.string {
                    let key = ref["key"]?.string ?? ""
                    let envName = e["name"]?.string ?? ""
                    let ok = m.secrets.contains { s in (s.secret == sname && (s.keys.isEmpty || s.keys.contains(key))) || s.env == envName }
                    if !ok {
                        add("secret", "high", ref, container: c.name, found: "env \(envName) reads Secret \(sname) key \(key)",
                            allowed: "secrets the manifest names", fix: "remove it, or name Secret \(sname) key \(key) in the manifest")
                    }
                }
            }
            for ef in c.node["envFrom"]?.sequence ?? [] {
                if let sname = ef["secretRef"]?["name"]?.string, !m.secrets.contains(where: { $0.secret == sname }) {
                    add("secret", "high", ef, container: c.name, found: "envFrom injects every key of Secret \(sname)", allowed: "secrets the manifest names",
                        fix: "name Secret \(sname) in the manifest, or reference only the keys needed")
                }
            }
            for vm in c.node["volumeMounts"]?.sequence ?? [] {
                guard let vol = vm["name"]?.string.flatMap({ volumes[$0] }), let sname = vol["secret"]?["secretName"]?.string else { continue }
                let mp = vm["mountPath"]?.string ?? ""
                if !m.secrets.contains(where: { $0.secret == sname || ($0.file.map { AgentManifest.covered($0, by: [mp]) } ?? false) }) {
                    add("secret", "high", vm, container: c.name, found: "Secret \(sname) mounted at \(mp)", allowed: "secrets the manifest names",
                        fix: "name Secret \(sname) (or a file under \(mp)) in the manifest")
                }
            }
            // Scripts bound to environments: `cleanup.sh: [test]` must not run on production.
            let words = ((c.node["command"]?.sequence ?? []) + (c.node["args"]?.sequence ?? [])).compactMap(\.string)
                .flatMap { $0.split(whereSeparator: { $0 == " " || $0 == ";" || $0 == "&" || $0 == "|" }).map(String.init) }
            for (script, envs) in m.scripts.sorted(by: { $0.key < $1.key }) {
                let hit = words.contains { $0 == script || $0.hasSuffix("/" + script) }
                if hit, !envs.contains(environment) {
                    add("script-environment", "critical", c.node["command"] ?? c.node["args"], container: c.name,
                        found: "runs \(script) in the \(environment) environment", allowed: "\(script) only in \(envs.joined(separator: ", "))",
                        fix: "remove \(script) from this \(environment) workload, or deploy it only to \(envs.joined(separator: ", "))")
                }
            }
        }
        let saName = spec["serviceAccountName"]?.string ?? "default"
        let saAutomount = serviceAccounts.first {
            $0.node["metadata"]?["name"]?.string == saName && ($0.node["metadata"]?["namespace"]?.string ?? "default") == pod.namespace
        }?.node["automountServiceAccountToken"]?.bool
        if m.kubernetes.isEmpty, (spec["automountServiceAccountToken"]?.bool ?? saAutomount) != false {
            add("service-account-token", "medium", spec, found: "a service-account token is mounted", allowed: "no API access declared",
                fix: "set automountServiceAccountToken: false")
        }
        return out
    }
}
