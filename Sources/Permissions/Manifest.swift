import Catalog
import Foundation
import ProvenantCore
import Yams

/// `provenant.agent.yaml`: what an agent may touch. The JSON Schema is `schemas/agent-manifest.schema.json`.
public struct AgentManifest: Sendable, Equatable {
    public struct Egress: Sendable, Equatable {
        public var host: String?; public var cidr: String?; public var ports: [Int]; public var proto: String
        public init(host: String?, cidr: String?, ports: [Int], proto: String) { self.host = host; self.cidr = cidr; self.ports = ports; self.proto = proto }
        /// `host:443,8443` or `10.0.0.0/8` (no ports: every port), as findings and notes show it.
        public var label: String { (host ?? cidr ?? "") + (ports.isEmpty ? "" : ":" + ports.map(String.init).joined(separator: ",")) }
    }
    public struct Secret: Sendable, Equatable {
        public var secret: String?; public var keys: [String]; public var env: String?; public var file: String?
        public init(secret: String?, keys: [String], env: String?, file: String?) { self.secret = secret; self.keys = keys; self.env = env; self.file = file }
    }
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
    /// Script → the SHA-256 its file must have (64 lowercase hex digits), for the scripts that declare
    /// one (`{environments: [...], sha256: ...}`); `provenant guard exec` refuses a file that differs.
    public var scriptDigests: [String: String] = [:]

    public init(name: String) { self.name = name }

    /// The largest manifest read; one declaring a great deal is a few KiB.
    public static let maxBytes = 16 << 20

    public static func load(_ path: String) throws(InputError) -> AgentManifest {
        try parse(try text(path), path: path)
    }

    /// The text of the manifest at `path`, read once within `maxBytes`: a caller that needs both the
    /// text and the manifest parses this, never a second read of a pipe the first drained.
    public static func text(_ path: String) throws(InputError) -> String {
        guard let text = String(validating: try NamedInputFile.read(path, limit: maxBytes, what: "manifest"), as: UTF8.self) else {
            throw InputError("cannot read manifest: not UTF-8 text", at: Location(path))
        }
        return text
    }

    /// The manifest `text` holds; `path` names it in errors.
    public static func parse(_ text: String, path: String) throws(InputError) -> AgentManifest {
        let root: Node
        try YAMLInput.checkEvents(text, path: path)
        do {
            guard let n = try Yams.compose(yaml: text) else { throw InputError("empty manifest", at: Location(path)) }
            root = n
        } catch let e as InputError { throw e } catch {
            throw YAMLInput.error(error, text: text, path: path)
        }
        var budget = YAMLInput.nodeBudget
        try Self.rejectDuplicateKeys(root, path: path, budget: &budget)
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
        let path = "an absolute, normalized path (no '.', '..', '//' or trailing '/'; no whitespace, control characters or any of : , $ = ' \" ` \\)"
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
            // The short form is the list of environments; the long form adds the file's digest.
            if v.mapping != nil {
                let field = "scripts.\(printable(script))"
                try fields(v, field, ["environments", "sha256"])
                // A digest with no environments would declare a script that may run nowhere.
                guard v["environments"] != nil else { throw fail("\(field) needs 'environments'", v) }
                m.scripts[script] = try strings(v["environments"], field + ".environments")
                if let d = v["sha256"] {
                    guard let hex = d.string, d.scalar != nil, Self.isSHA256(hex) else {
                        throw fail("\(field).sha256 must be 64 lowercase hexadecimal digits", d)
                    }
                    m.scriptDigests[script] = hex
                }
            } else {
                m.scripts[script] = try strings(v, "scripts.\(script)")
            }
        }
        return m
    }

    /// A SHA-256 digest as the manifest writes it: 64 lowercase hexadecimal digits, nothing else.
    public static func isSHA256(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// YAML allows a key twice and keeps the last; in a permission manifest that hides a grant.
    /// Aliases are copies, so the walk has a budget of nodes: a manifest of ten levels of ten aliases
    /// stalled every command that read it (found by helper-124).
    static func rejectDuplicateKeys(_ n: Node, path: String, budget: inout Int) throws(InputError) {
        budget -= 1
        guard budget >= 0 else {
            throw InputError("expands to more than \(YAMLInput.nodeBudget) nodes through its aliases; refused", at: Location(path))
        }
        if let map = n.mapping {
            var seen: [String: Int] = [:]
            for (k, v) in map {
                if let s = k.string {
                    if let first = seen[s] { throw InputError("duplicate key '\(s)' (first at line \(first))", at: Location(path, line: k.mark?.line)) }
                    seen[s] = k.mark?.line ?? 0
                }
                try rejectDuplicateKeys(v, path: path, budget: &budget)
            }
        } else if let seq = n.sequence {
            for x in seq { try rejectDuplicateKeys(x, path: path, budget: &budget) }
        }
    }

    /// A value quoted in an error message or a generated comment: control characters escaped, so one
    /// error is one line. The C1 controls and Unicode's line and paragraph separators too: YAML breaks
    /// lines at NEL (U+0085), U+2028 and U+2029, so an image name holding one ended `policy init`'s
    /// comment and wrote keys of its own into the draft manifest (found by helper-147).
    static func printable(_ s: String) -> String {
        String(s.unicodeScalars.prefix(120).map { c in
            let v = c.value
            let escaped = v < 0x20 || (v >= 0x7f && v <= 0x9f) || v == 0x2028 || v == 0x2029 || v == 0xfeff
            return escaped ? "\\u{\(String(v, radix: 16))}" : String(c)
        }.joined())
    }

    /// Whether `path` is one of `roots` or below one.
    static func covered(_ path: String, by roots: [String]) -> Bool {
        roots.contains { r in path == r || path.hasPrefix(r.hasSuffix("/") ? r : r + "/") }
    }
}
