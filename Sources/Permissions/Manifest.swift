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
        // The name becomes object, container and label names in generated configuration.
        guard FieldSyntax.isDNSLabel(name) else {
            throw fail("name '\(printable(name))' is not a DNS-1123 label (lowercase letters, digits and '-', at most 63 characters)", root["name"])
        }
        var m = AgentManifest(name: name)
        func strings(_ n: Node?, _ field: String) throws(InputError) -> [String] {
            guard let n else { return [] }
            guard let seq = n.sequence else { throw fail("'\(field)' must be a list", n) }
            var out: [String] = []
            for x in seq { guard let s = x.string, x.scalar != nil else { throw fail("'\(field)' entries must be strings", x) }; out.append(s) }
            return out
        }
        /// Strings of `field`, each checked by `valid`; the error names the entry's own line.
        func checked(_ n: Node?, _ field: String, _ what: String, _ valid: (String) -> Bool) throws(InputError) -> [String] {
            let values = try strings(n, field)
            for (i, v) in values.enumerated() where !valid(v) { throw fail("\(field): '\(printable(v))' is not \(what)", n?.sequence?[i]) }
            return values
        }
        func fields(_ n: Node?, _ field: String, _ allowed: Set<String>) throws(InputError) {
            guard let n else { return }
            guard let map = n.mapping else { throw fail("'\(field)' must be a mapping", n) }
            for k in map.keys { if let s = k.string, !allowed.contains(s) { throw fail("unknown field '\(field).\(printable(s))'", k) } }
        }
        func bool(_ n: Node?, _ field: String) throws(InputError) -> Bool? {
            guard let n else { return nil }
            guard let b = n.bool else { throw fail("'\(field)' must be true or false", n) }
            return b
        }
        m.images = try checked(root["images"], "images", "pinned by digest (name@sha256:<64 hex digits>)", FieldSyntax.isPinnedImage)
        try fields(root["filesystem"], "filesystem", ["read", "write"])
        let path = "an absolute, normalized path (no '.', '..', '//' or trailing '/')"
        m.read = try checked(root["filesystem"]?["read"], "filesystem.read", path, FieldSyntax.isNormalizedAbsolutePath)
        m.write = try checked(root["filesystem"]?["write"], "filesystem.write", path, FieldSyntax.isNormalizedAbsolutePath)
        if let eg = root["egress"], eg.sequence == nil { throw fail("'egress' must be a list", eg) }
        for e in root["egress"]?.sequence ?? [] {
            try fields(e, "egress", ["host", "cidr", "ports", "protocol"])
            let host = e["host"]?.string, cidr = e["cidr"]?.string
            guard (host == nil) != (cidr == nil) else { throw fail("each egress entry needs exactly one of host or cidr", e) }
            if let host, !FieldSyntax.isHostName(host) { throw fail("egress host '\(printable(host))' is not a DNS host name", e["host"]) }
            if let cidr, !FieldSyntax.isCIDR(cidr) { throw fail("egress cidr '\(printable(cidr))' is not an IPv4 or IPv6 CIDR with no host bits set", e["cidr"]) }
            if let p = e["ports"], p.sequence == nil { throw fail("'egress.ports' must be a list", p) }
            let ports = try (e["ports"]?.sequence ?? []).map { p throws(InputError) -> Int in
                guard let v = p.int, (1...65535).contains(v) else { throw fail("egress ports must be numbers from 1 to 65535", p) }
                return v
            }
            let proto = e["protocol"]?.string ?? "TCP"
            guard ["TCP", "UDP", "SCTP"].contains(proto) else { throw fail("protocol must be TCP, UDP or SCTP", e["protocol"]) }
            m.egress.append(Egress(host: host, cidr: cidr, ports: ports, proto: proto))
        }
        m.dns = try bool(root["dns"], "dns") ?? false
        m.capabilities = try checked(root["capabilities"], "capabilities", "a Linux capability name (such as NET_BIND_SERVICE)") {
            FieldSyntax.linuxCapabilities.contains(PodSecurity.bareCapability($0)) && $0 == $0.uppercased()
        }.map(PodSecurity.bareCapability)
        try fields(root["user"], "user", ["nonRoot", "uid"])
        m.nonRoot = try bool(root["user"]?["nonRoot"], "user.nonRoot")
        if let u = root["user"]?["uid"] {
            guard let v = u.int, (0...2_147_483_647).contains(v) else { throw fail("user.uid must be a number from 0 to 2147483647", u) }
            m.uid = v
        }
        if m.nonRoot == true, m.uid == 0 { throw fail("user.uid 0 contradicts nonRoot: true", root["user"]) }
        if let sq = root["secrets"], sq.sequence == nil { throw fail("'secrets' must be a list", sq) }
        for s in root["secrets"]?.sequence ?? [] {
            try fields(s, "secrets", ["secret", "keys", "env", "file"])
            let sec = Secret(secret: s["secret"]?.string, keys: try checked(s["keys"], "secrets.keys", "a Secret key", FieldSyntax.isSecretKey),
                             env: s["env"]?.string, file: s["file"]?.string)
            guard [sec.secret, sec.env, sec.file].compactMap({ $0 }).count == 1 else { throw fail("each secret names exactly one of secret, env or file", s) }
            if let n = sec.secret, !FieldSyntax.isDNSSubdomain(n) { throw fail("secret '\(printable(n))' is not a DNS-1123 subdomain", s["secret"]) }
            if let n = sec.env, !FieldSyntax.isEnvName(n) { throw fail("env '\(printable(n))' is not an environment variable name", s["env"]) }
            if let n = sec.file, !FieldSyntax.isNormalizedAbsolutePath(n) { throw fail("file '\(printable(n))' is not \(path)", s["file"]) }
            m.secrets.append(sec)
        }
        if let k = root["kubernetes"], k.sequence == nil { throw fail("'kubernetes' must be a list", k) }
        for a in root["kubernetes"]?.sequence ?? [] {
            try fields(a, "kubernetes", ["verbs", "resources"])
            let verbs = try checked(a["verbs"], "kubernetes.verbs", "an RBAC verb (" + FieldSyntax.rbacVerbs.sorted().joined(separator: ", ") + ")") { FieldSyntax.rbacVerbs.contains($0) }
            let resources = try checked(a["resources"], "kubernetes.resources", "a resource name (such as pods or pods/log)", FieldSyntax.isResource)
            guard !verbs.isEmpty, !resources.isEmpty else { throw fail("each kubernetes entry needs verbs and resources", a) }
            m.kubernetes.append(APIAccess(verbs: verbs, resources: resources))
        }
        if let sc = root["scripts"], sc.mapping == nil { throw fail("'scripts' must be a mapping", sc) }
        for (k, v) in root["scripts"]?.mapping ?? [:] {
            guard let script = k.string, !script.isEmpty, !script.unicodeScalars.contains(where: { $0.value < 0x20 }) else { throw fail("script names must be strings", k) }
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

    /// A value quoted in an error message: control characters escaped, so one error is one line.
    static func printable(_ s: String) -> String {
        String(s.unicodeScalars.prefix(120).map { $0.value < 0x20 || $0.value == 0x7f ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined())
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
        for v in spec["volumes"]?.sequence ?? [] {
            guard let p = v["hostPath"]?["path"]?.string else { continue }
            // `..` is resolved before comparing: /etc/collector/../../root is /root.
            if let n = FieldSyntax.normalizedPath(p) {
                if !AgentManifest.covered(n, by: m.read + m.write) {
                    add("hostpath", "high", v["hostPath"], found: "hostPath \(p)" + (n == p ? "" : " (\(n))"), allowed: "paths declared under filesystem",
                        fix: "remove the hostPath volume or declare \(n) in the manifest")
                }
            } else {
                add("hostpath", "high", v["hostPath"], found: "hostPath \(p) cannot be normalized to an absolute path", allowed: "paths declared under filesystem",
                    fix: "write the hostPath as an absolute path without '..' above /")
            }
        }
        for c in PodSecurity.containers(spec) {
            let sc = c.node["securityContext"]
            if !m.images.isEmpty, let image = c.node["image"]?.string, !m.images.contains(image) {
                add("image", "high", c.node["image"], container: c.name, found: "image \(image)", allowed: m.images.joined(separator: ", "),
                    fix: "run one of the images the manifest names, or add this one (pinned by digest)")
            }
            for cap in sc?["capabilities"]?["add"]?.sequence?.compactMap(\.string) ?? [] {
                let bare = PodSecurity.runtimeCapability(cap)
                if !m.capabilities.contains(bare) {
                    add("capability", bare == "SYS_ADMIN" ? "critical" : "high", sc?["capabilities"]?["add"], container: c.name, found: "adds \(bare)",
                        allowed: m.capabilities.isEmpty ? "no capabilities" : m.capabilities.joined(separator: ", "), fix: "remove \(bare) from capabilities.add")
                }
            }
            for vm in c.node["volumeMounts"]?.sequence ?? [] {
                guard let raw = vm["mountPath"]?.string, vm["readOnly"]?.bool != true else { continue }
                // Secret and projected token volumes are read-only by nature; the rest must be declared writable.
                let vol = vm["name"]?.string.flatMap { volumes[$0] }
                if vol?["secret"] != nil || vol?["configMap"] != nil || vol?["projected"] != nil || vol?["downwardAPI"] != nil { continue }
                let mp = FieldSyntax.normalizedPath(raw)
                if mp.map({ !AgentManifest.covered($0, by: m.write) }) ?? true {
                    let mp = mp.map { $0 == raw ? raw : "\(raw) (\($0))" } ?? "\(raw), which cannot be normalized to an absolute path,"
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
                guard let vol = vm["name"]?.string.flatMap({ volumes[$0] }) else { continue }
                // A Secret volume, or a Secret among a projected volume's sources.
                let names = [vol["secret"]?["secretName"]?.string].compactMap { $0 }
                    + (vol["projected"]?["sources"]?.sequence ?? []).compactMap { $0["secret"]?["name"]?.string }
                let mp = vm["mountPath"]?.string ?? ""
                for sname in names where !m.secrets.contains(where: { $0.secret == sname || ($0.file.map { AgentManifest.covered($0, by: [mp]) } ?? false) }) {
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
