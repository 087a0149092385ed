import Foundation
import ProvenantCore
import Yams

/// docker-compose services and OCI runtime `config.json`, checked for the same controls as pods
/// where they have an equivalent.
public enum RuntimeConfigs {
    static func finding(_ rule: String, _ sev: String, kind: String, name: String, file: String, line: Int?, found: String, allowed: String, fix: String) -> PolicyFinding {
        PolicyFinding(rule: rule, severity: sev, kind: kind, name: name, container: nil, location: Location(file, line: line), found: found, allowed: allowed, fix: fix)
    }

    /// Whether a YAML document is a compose file: a `services` mapping and no Kubernetes `kind`.
    public static func isCompose(_ doc: Node) -> Bool { doc["services"]?.mapping != nil && doc["kind"] == nil }

    /// One volume of a compose service, short (`SOURCE:TARGET:MODE`) or long form.
    struct ComposeVolume {
        var node: Node
        /// The host path of a bind mount, as written; nil for named and anonymous volumes and tmpfs.
        var bindSource: String?
        var target: String?
        var readOnly: Bool
        var tmpfs = false

        /// A short-form source is a host path when it looks like one: anything else names a volume.
        static func isPath(_ s: String) -> Bool { s.hasPrefix("/") || s.hasPrefix(".") || s.hasPrefix("~") || s.hasPrefix("$") || s.contains("/") }

        static func read(_ svc: Node, bindVolumes: [String: (device: String, node: Node)] = [:]) -> [ComposeVolume] {
            var out: [ComposeVolume] = []
            for v in svc["volumes"]?.sequence ?? [] {
                if let short = v.string {
                    let parts = short.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                    if parts.count == 1 { out.append(ComposeVolume(node: v, bindSource: nil, target: parts[0], readOnly: false)); continue }
                    let mode = parts.count > 2 ? parts[2].split(separator: ",").map(String.init) : []
                    // A named volume the local driver binds from the host is a host path.
                    out.append(ComposeVolume(node: v, bindSource: isPath(parts[0]) ? parts[0] : bindVolumes[parts[0]]?.device, target: parts[1],
                                             readOnly: RuntimeConfigs.shortSyntaxReadOnly(mode)))
                } else {
                    let type = v["type"]?.string ?? "volume"
                    let named = type == "volume" ? v["source"]?.string.flatMap { bindVolumes[$0]?.device } : nil
                    out.append(ComposeVolume(node: v, bindSource: type == "bind" ? (v["source"]?.string ?? "") : named, target: v["target"]?.string,
                                             readOnly: ComposeModel.bool(v["read_only"]) == true, tmpfs: type == "tmpfs"))
                }
            }
            let tmpfs: [Node] = svc["tmpfs"].map { n in n.sequence.map { Array($0) } ?? [n] } ?? []
            for t in tmpfs {
                guard let s = t.string else { continue }
                out.append(ComposeVolume(node: t, bindSource: nil, target: String(s.split(separator: ":").first ?? ""), readOnly: false, tmpfs: true))
            }
            return out
        }
    }

    /// A compose bind source as an absolute, normalized host path: relative sources are relative to
    /// the compose file's directory, as compose reads them. nil for `~`, `$VAR` or what climbs above /.
    static func hostPath(_ source: String, composeFile: String) -> String? {
        if source.hasPrefix("/") { return FieldSyntax.normalizedPath(source) }
        guard !source.hasPrefix("~"), !source.contains("$") else { return nil }
        var dir = PathText.parent(composeFile)
        if !dir.hasPrefix("/") { dir = FileManager.default.currentDirectoryPath + (dir.isEmpty ? "" : "/" + dir) }
        return FieldSyntax.normalizedPath(dir + "/" + source)
    }

    /// Whether a short-syntax volume's options make it read-only, as compose-go reads them: `ro` and
    /// `rw` each set it, the last one winning, and nothing else does (`:readonly` and `:ro,rw` are
    /// read-write, found by review).
    static func shortSyntaxReadOnly(_ options: [String]) -> Bool {
        var readOnly = false
        for o in options { if o == "ro" { readOnly = true } else if o == "rw" { readOnly = false } }
        return readOnly
    }

    /// Whether a compose `user` runs as root, as runc reads `USER[:GROUP]`: unset, `root`, a user part
    /// that is empty (`:1000`, runc's default, root) or a number Go's Atoi reads as 0 (`0`, `00`, `+0`,
    /// found by helper-80). A name other than root depends on the image's /etc/passwd.
    static func composeUserIsRoot(_ user: String?) -> Bool {
        guard let user else { return true }
        let userPart = user.firstIndex(of: ":").map { String(user[..<$0]) } ?? user
        // A uid out of range is root to runtimes that cut it to 32 bits (CVE-2024-40635), and unknown to others.
        return userPart.isEmpty || userPart == "root" || Int(userPart).map { $0 == 0 || ImagePolicy.outOfRange($0) != nil } == true
    }

    /// Whether `security_opt` (with `=` read as `:`) sets no_new_privs, as the Docker daemon reads it:
    /// a bare `no-new-privileges` is true, a value is Go's `strconv.ParseBool` (`0`, `f`, `False`... are
    /// false, found by helper-80), and the last entry wins.
    static func noNewPrivileges(_ opts: [String]) -> Bool {
        var set = false
        for o in opts {
            let parts = o.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts[0] == "no-new-privileges" else { continue }
            guard parts.count == 2 else { set = true; continue }
            switch parts[1] {
            case "1", "t", "T", "TRUE", "true", "True": set = true
            default: set = false
            }
        }
        return set
    }

    public static func compose(_ doc: Node, file: String, manifest: AgentManifest? = nil) -> [PolicyFinding] {
        var out: [PolicyFinding] = []
        var services: [String: Node] = [:]
        for (k, v) in doc["services"]?.mapping ?? [:] { if let n = k.string { services[n] = v } }
        // Compose interpolates with the variables of the project's `.env` by itself.
        let dotEnv = ComposeModel.dotEnv(beside: file)
        let env = dotEnv?.values ?? [:]
        let envFile = PathText.parent(file).isEmpty ? ".env" : PathText.parent(file) + "/.env"
        if let why = dotEnv?.unreadable {
            out.append(finding("compose:not-checked", "high", kind: "compose file", name: PathText.lastComponent(file), file: envFile, line: nil,
                               found: "not checked: \(why), and compose interpolates with it", allowed: "a .env file the check can read whole",
                               fix: "make .env a regular file beside the compose file"))
        }
        for line in dotEnv?.unread ?? [] {
            out.append(finding("compose:not-checked", "high", kind: "compose file", name: PathText.lastComponent(file), file: envFile, line: line,
                               found: "not checked: .env line \(line) is not a KEY=VALUE line this check reads, and compose interpolates with it",
                               allowed: "a .env file the check can read whole", fix: "write the line as KEY=VALUE"))
        }
        let bindVolumes = ComposeModel.bindVolumes(doc, env: env)
        // `include` brings in services from other files, which are not read.
        for inc in doc["include"].map({ $0.sequence.map(Array.init) ?? [$0] }) ?? [] {
            let what = inc.string ?? inc["path"]?.string ?? inc["path"]?.sequence?.compactMap(\.string).joined(separator: ", ") ?? "?"
            out.append(finding("compose:not-checked", "high", kind: "compose file", name: PathText.lastComponent(file), file: file, line: inc.mark?.line,
                               found: "not checked: include of \(what), another file whose services are not read", allowed: "a file the check can read whole",
                               fix: "check the merged file (`docker compose config`), or check the included file too"))
        }
        // Top-level configs and secrets read from `file:` are host files given to the containers.
        if let m = manifest {
            for section in ["configs", "secrets"] {
                for (k, v) in doc[section]?.mapping ?? [:] {
                    guard let fileNode = v["file"] else { continue }
                    let name = k.string ?? "?"
                    let written = fileNode.string ?? ""
                    let host = ComposeModel.interpolate(written, env: env).flatMap { hostPath($0, composeFile: file) }
                    let ok = host.map { h in AgentManifest.covered(h, by: m.read) || (section == "secrets" && m.secrets.contains { $0.file == h }) } ?? false
                    if !ok {
                        out.append(finding("manifest:hostpath", "high", kind: section == "configs" ? "compose config" : "compose secret", name: name, file: file, line: fileNode.mark?.line,
                                           found: "\(section.dropLast()) \(name) reads host file \(written)" + (host.map { $0 == written ? "" : " (\($0))" } ?? ", which cannot be normalized to an absolute path"),
                                           allowed: "paths declared under filesystem.read" + (section == "secrets" ? " or as a secret's file" : ""),
                                           fix: "declare \(host ?? written) under filesystem.read, or remove the \(section.dropLast())"))
                    }
                }
            }
        }
        var mergeBudget = ComposeModel.mergeBudget
        for (k, written) in doc["services"]?.mapping ?? [:] {
            let name = k.string ?? "?"
            // The service as compose runs it: what it extends merged in, then interpolated.
            let (merged, notChecked) = ComposeModel.extended(written, services: services, budget: &mergeBudget, seen: [name])
            let (svc, unresolved) = ComposeModel.interpolatedService(merged, env: env)
            func add(_ rule: String, _ sev: String, _ n: Node?, _ found: String, _ allowed: String, _ fix: String) {
                out.append(finding(rule, sev, kind: "compose service", name: name, file: file, line: (n ?? written).mark?.line, found: found, allowed: allowed, fix: fix))
            }
            for n in notChecked { add("compose:not-checked", "high", n.node, n.found, "a service the check can read whole", n.fix) }
            for (field, n) in unresolved {
                add("compose:unresolved-interpolation", "high", n, "not checked: \(field) holds \(n.string ?? "an interpolation") with no value the file determines (it comes from the environment at deploy time)",
                    "a value written in the file", "write the value, or give the variable a safe default (${VAR:-value})")
            }
            if let p = svc["privileged"] {
                switch ComposeModel.bool(p) {
                case true?: add("pss:privileged", "critical", p, "privileged: \(p.string ?? "true")", "not privileged", "remove privileged")
                case false?: break
                case nil: add("pss:privileged", "critical", p, "privileged: \(p.string ?? "?") is not a boolean compose reads: not checked", "privileged: false or absent", "remove privileged")
                }
            }
            // Another container's namespace is as open as that container: it is not followed.
            for f in ["network_mode", "pid", "ipc", "cgroup", "uts", "userns_mode"] {
                guard let v = svc[f]?.string else { continue }
                if v == "host" {
                    add("pss:hostnamespaces", "high", svc[f], "\(f): host", "the container's own namespace", "remove \(f): host")
                } else if v.hasPrefix("container:") || v.hasPrefix("service:") {
                    add("pss:hostnamespaces", "high", svc[f], "\(f): \(v) joins another container's namespace, which this check does not follow",
                        "the container's own namespace", "remove \(f)")
                }
            }
            // A service joins the host's network through a network whose name is `host` as well as
            // through `network_mode: host`: `networks: [hostnet]` with `hostnet: {external: true, name:
            // host}` was not seen (found by helper-124).
            // A service without `networks` (and without `network_mode`) is on `default`, which the file
            // may name `host` too; `external: {name: host}` is compose's older spelling; and a name is
            // interpolated like any other value (all helper-125).
            var joined: [(key: String, node: Node)] = (svc["networks"]?.sequence?.compactMap { n in n.string.map { ($0, n) } } ?? [])
                + (svc["networks"]?.mapping?.compactMap { k, _ in k.string.map { ($0, k) } } ?? [])
            // An empty list or mapping, an explicit null and `network_mode: ""` leave the service on
            // `default` too, as compose-go reads them (found by review).
            let networksGiven = !(svc["networks"]?.sequence?.isEmpty ?? svc["networks"]?.mapping?.isEmpty ?? true)
            if !networksGiven, (svc["network_mode"]?.string ?? "").isEmpty { joined.append(("default", svc)) }
            for (key, node) in joined {
                let declared = doc["networks"]?[key]
                let written = declared?["name"]?.string ?? declared?["external"]?["name"]?.string ?? key
                guard let name = ComposeModel.interpolate(written, env: env) else {
                    add("compose:unresolved-interpolation", "high", declared?["name"] ?? node, "not checked: network \(key) is named \(written), with no value the file determines",
                        "a value written in the file", "write the network's name")
                    continue
                }
                if name == "host" {
                    add("pss:hostnamespaces", "high", node, "networks: \(key) is the host's network (name: host)", "the container's own namespace",
                        "attach the service to a network of its own")
                }
            }
            for v in svc["volumes_from"]?.sequence ?? [] {
                add("pss:hostpathvolumes", "high", v, "volumes_from \(v.string ?? "?") mounts every volume of another container, which this check does not follow",
                    "volumes declared on the service itself", "declare the volumes on this service")
            }
            for r in svc["device_cgroup_rules"]?.sequence ?? [] {
                add("pss:hostpathvolumes", "high", r, "device cgroup rule '\(r.string ?? "?")' lets the container use host devices", "no host devices", "remove device_cgroup_rules")
            }
            if svc["build"] != nil, svc["image"] == nil {
                add("hygiene:image-not-pinned", "medium", svc["build"], "build: the image is built locally, and no digest pins it", "an image pinned by digest",
                    "build and push the image, then name it by digest under image")
                if let m = manifest, !m.images.isEmpty {
                    add("manifest:image", "high", svc["build"], "image built locally from build:", m.images.joined(separator: ", "), "run one of the images the manifest names")
                }
            }
            // Docker reads capability names in any case, with or without CAP_.
            let adds = (svc["cap_add"]?.sequence ?? []).compactMap(\.string).map(PodSecurity.runtimeCapability)
            let beyond = adds.filter { !PodSecurity.baselineCapabilities.contains($0) }
            if !beyond.isEmpty { add("pss:capabilities_baseline", "high", svc["cap_add"], "cap_add \(beyond.joined(separator: ", "))", "the baseline set", "remove them from cap_add") }
            if adds.contains("SYS_ADMIN") || adds.contains("ALL") {
                add("hygiene:cap-sys-admin", "critical", svc["cap_add"], "CAP_SYS_ADMIN: it allows mounting filesystems, entering namespaces, loading BPF and most of what root can do", "almost never justified for an agent", "remove SYS_ADMIN")
            }
            if !((svc["cap_drop"]?.sequence ?? []).compactMap(\.string).map(PodSecurity.runtimeCapability).contains("ALL")) {
                add("pss:capabilities_restricted", "medium", svc, "cap_drop does not include ALL", "cap_drop: [ALL]", "add cap_drop: [ALL]")
            }
            let volumes = ComposeVolume.read(svc, bindVolumes: bindVolumes)
            for v in volumes {
                // Any bind mount is a host path, `../../etc` as much as `/etc`.
                if let src = v.bindSource {
                    add("pss:hostpathvolumes", "high", v.node, "host path \(src) mounted", "named volumes or tmpfs", "use a named volume or tmpfs")
                }
            }
            let user = svc["user"]?.string ?? svc["user"]?.int.map(String.init)
            if let m = manifest {
                func declared(_ rule: String, _ sev: String, _ n: Node?, _ found: String, _ allowed: String, _ fix: String) {
                    add("manifest:" + rule, sev, n, found, allowed, fix)
                }
                for cap in adds where !m.capabilities.contains(cap) {
                    declared("capability", cap == "SYS_ADMIN" || cap == "ALL" ? "critical" : "high", svc["cap_add"], "cap_add \(cap)",
                             m.capabilities.isEmpty ? "no capabilities" : m.capabilities.joined(separator: ", "), "remove \(cap) from cap_add")
                }
                let uid = user.map { String($0.split(separator: ":", omittingEmptySubsequences: false).first ?? "") }
                if m.nonRoot != false, uid == nil || uid == "root" || uid.flatMap({ Int($0) }) == 0 {
                    declared("root", "high", svc["user"] ?? svc, user.map { "user: \($0)" } ?? "no user: the image's user, often root",
                             m.uid.map { "uid \($0), non-root" } ?? "non-root", "set user: \"\(m.uid ?? 10001):\(m.uid ?? 10001)\"")
                } else if let want = m.uid, let uid, uid != String(want) {
                    declared("uid", "medium", svc["user"], "user: \(user ?? "")", "uid \(want)", "set user: \"\(want):\(want)\"")
                }
                if !m.images.isEmpty, let image = svc["image"]?.string, !m.images.contains(image) {
                    declared("image", "high", svc["image"], "image \(image)", m.images.joined(separator: ", "), "run one of the images the manifest names")
                }
                for v in volumes {
                    if let src = v.bindSource {
                        if let host = hostPath(src, composeFile: file) {
                            if !AgentManifest.covered(host, by: m.read + m.write) {
                                declared("hostpath", "high", v.node, "bind mount of \(src)" + (host == src ? "" : " (\(host))"), "paths declared under filesystem",
                                         "remove the bind mount or declare \(host) in the manifest")
                            } else if !v.readOnly, !AgentManifest.covered(host, by: m.write) {
                                // Declared to be read, bound writable: the agent writes the host's files
                                // wherever the mount lands (found by helper-80).
                                declared("hostpath", "high", v.node, "writable bind mount of \(src)" + (host == src ? "" : " (\(host))") + ", declared read-only",
                                         m.write.isEmpty ? "no writable paths" : m.write.joined(separator: ", "), "mount it read-only (:ro), or declare \(host) under filesystem.write")
                            }
                        } else {
                            declared("hostpath", "high", v.node, "bind mount of \(src), which cannot be normalized to an absolute path", "paths declared under filesystem",
                                     "write the source as a path without ~, variables or '..' above /")
                        }
                    }
                    guard !v.readOnly, let target = v.target else { continue }
                    let t = FieldSyntax.normalizedPath(target)
                    if t.map({ !AgentManifest.covered($0, by: m.write) }) ?? true {
                        declared("writable-mount", "medium", v.node, "writable \(v.tmpfs ? "tmpfs" : "volume") at \(target)" + (t == nil ? ", which cannot be normalized" : t == target ? "" : " (\(t!))"),
                                 m.write.isEmpty ? "no writable paths" : m.write.joined(separator: ", "), "mount it read-only (:ro), or declare it under filesystem.write")
                    }
                }
                for sec in svc["secrets"]?.sequence ?? [] {
                    let source = sec.string ?? sec["source"]?.string ?? ""
                    let target = sec["target"]?.string ?? source
                    let path = target.hasPrefix("/") ? target : "/run/secrets/" + target
                    if !m.secrets.contains(where: { $0.secret == source || $0.file == path }) {
                        declared("secret", "high", sec, "secret \(source) at \(path)", "secrets the manifest names", "name \(source) (or file \(path)) under secrets in the manifest")
                    }
                }
                // Compose has no egress policy: a service reaches every address its networks reach.
                // Only `network_mode: none`, or networks that are all `internal: true`, keep it in
                // (Left undone: compose services were never held to the manifest's egress).
                let egressAllowed = m.egress.isEmpty ? (m.dns ? "DNS only" : "no egress")
                    : m.egress.map(\.label).joined(separator: "; ")
                let egressFix = m.egress.isEmpty ? "set network_mode: none"
                    : "attach the service only to networks with internal: true, and send the declared egress through an egress proxy on them (provenant guard proxy)"
                if let mode = svc["network_mode"]?.string, !mode.isEmpty {
                    if mode != "none" {
                        declared("egress-unrestricted", "high", svc["network_mode"], "network_mode: \(mode): compose has no egress policy, so the service reaches every address",
                                 egressAllowed, egressFix)
                    }
                } else {
                    for (key, node) in joined {
                        let net = doc["networks"]?[key]
                        // `external: true` (or compose's older `external: {name: …}`) is made elsewhere.
                        let external = net?["external"].map { ComposeModel.bool($0) != false } ?? false
                        if !external, ComposeModel.bool(net?["internal"]) == true { continue }
                        let why = external ? "is external: whether it is internal is set where it is made, not in this file" : "is not internal: true"
                        declared("egress-unrestricted", "high", node, "network \(key) \(why): compose has no egress policy, so the service reaches every address it routes to",
                                 egressAllowed, egressFix)
                    }
                }
                // Scripts bound to environments: the service's `environment` label names its
                // environment, production when it has none (as a namespace without the label).
                let labels = svc["labels"]
                let environment = labels?["environment"]?.string
                    ?? (labels?.sequence ?? []).compactMap(\.string).last { $0.hasPrefix("environment=") }.map { String($0.dropFirst("environment=".count)) }
                    ?? "production"
                let commandNodes = [svc["entrypoint"], svc["command"], svc["healthcheck"]?["test"]].compactMap { $0 }
                    + ["post_start", "pre_stop"].flatMap { hook in (svc[hook]?.sequence ?? []).compactMap { $0["command"] } }
                let commandLines = commandNodes.map { (node: $0, strings: ComposeModel.commandStrings($0)) }
                var serviceEnv: [String: String] = [:]
                for e in ComposeModel.environment(svc) { serviceEnv[e.name] = e.value ?? "" }
                for line in commandLines {
                    // Compose leaves `$$VAR` to the container's shell as `$VAR`, which the service's env sets.
                    let words = ContainerCommands.wordsAsRun(line.strings, env: serviceEnv)
                    for (script, envs) in m.scripts.sorted(by: { $0.key < $1.key }) where ContainerCommands.runs(words, script) && !envs.contains(environment) {
                        declared("script-environment", "critical", line.node, "runs \(script) in the \(environment) environment", "\(script) only in \(envs.joined(separator: ", "))",
                                 "remove \(script) from this \(environment) service, or label it with an environment the manifest allows")
                    }
                    let barred = m.scripts.filter { !$0.value.contains(environment) }.keys.sorted()
                    let runtimeNamed = ContainerCommands.runtimeNamedCommands(line.strings, env: serviceEnv)
                    if !barred.isEmpty, !runtimeNamed.isEmpty {
                        declared("script-environment", "high", line.node,
                                 "NOT CHECKED: the shell runs \(ScriptEnvironments.listed(runtimeNamed)), whose name is only known when it runs, so whether it runs \(barred.joined(separator: ", ")) in the \(environment) environment is not known",
                                 "commands whose scripts can be read from the service", "name the script the command runs literally")
                    }
                }
            }
            if Self.composeUserIsRoot(user) {
                add("pss:runasnonroot", "high", svc["user"] ?? svc, user.map { "user: \($0)" } ?? "no user: runs as the image's user, often root", "a non-root uid", "set user: \"10001:10001\"")
            }
            if ComposeModel.bool(svc["read_only"]) != true { add("hygiene:writable-root-filesystem", "medium", svc, "read_only is not true", "read_only: true", "set read_only: true and use tmpfs for writable paths") }
            // security_opt takes `key:value` or `key=value`.
            let opts = (svc["security_opt"]?.sequence ?? []).compactMap(\.string).map { $0.replacingOccurrences(of: "=", with: ":") }
            for (opt, rule, what) in [("seccomp:unconfined", "pss:seccompprofile_baseline", "seccomp"), ("apparmor:unconfined", "pss:apparmorprofile", "AppArmor"),
                                      ("label:disable", "pss:selinuxoptions", "SELinux labelling")] where opts.contains(opt) {
                add(rule, rule == "pss:seccompprofile_baseline" ? "high" : "medium", svc["security_opt"], "security_opt \(opt): \(what) is off", "the runtime's default profile", "remove \(opt) from security_opt")
            }
            // A profile of the user's own (`seccomp:./allow-all.json`, `apparmor:my-profile`) lives
            // outside this file and is not read: not checked, never clean.
            for opt in opts where opt.hasPrefix("seccomp:") || opt.hasPrefix("apparmor:") {
                let value = String(opt[opt.index(after: opt.firstIndex(of: ":")!)...])
                guard !["unconfined", "builtin", "default", "docker-default", "runtime/default"].contains(value) else { continue }
                add("compose:not-checked", "high", svc["security_opt"], "not checked: security_opt \(opt) names a profile that is not read",
                    "the runtime's default profile", "remove \(opt) from security_opt, or check the profile itself")
            }
            // `systempaths=unconfined` lifts the masks on /proc and /sys, as procMount: Unmasked.
            if opts.contains("systempaths:unconfined") {
                add("pss:procmount", "high", svc["security_opt"], "security_opt systempaths:unconfined: /proc and /sys are unmasked", "the runtime's masked paths",
                    "remove systempaths=unconfined from security_opt")
            }
            // `label=type:T` (or `label:type:T`) runs the process with another SELinux type; user and role may not be set.
            for opt in opts where opt.hasPrefix("label:") && opt != "label:disable" {
                let rest = String(opt.dropFirst("label:".count))
                if rest.hasPrefix("type:") {
                    let type = String(rest.dropFirst("type:".count))
                    guard !PodSecurity.seLinuxTypes.contains(type) else { continue }
                    add("pss:selinuxoptions", "medium", svc["security_opt"], "security_opt label:type:\(type): SELinux type \(type), not a container type",
                        "container_t, container_init_t, container_kvm_t or container_engine_t", "remove the label option")
                } else if rest.hasPrefix("level:") || rest == "nested" {
                    continue
                } else {
                    add("pss:selinuxoptions", "medium", svc["security_opt"], "security_opt \(opt): sets the SELinux \(rest.split(separator: ":").first ?? "label")",
                        "the default SELinux user and role", "remove the label option")
                }
            }
            // The root group (gid 0) owns what root made group-writable.
            let gid = user.flatMap { u in u.firstIndex(of: ":").map { String(u[u.index(after: $0)...]) } }
            if let gid, gid == "root" || Int(gid) == 0 {
                add("hygiene:root-group", "medium", svc["user"], "user: \(user ?? ""): gid 0, the root group", "a non-zero gid", "set user: \"10001:10001\"")
            } else if let user, gid == nil, user != "root", Int(user) != 0 {
                // Docker takes the group from the image's /etc/passwd, and gid 0 when the uid has no entry there.
                add("hygiene:root-group", "medium", svc["user"], "user: \(user) names no group: the gid comes from the image, 0 when the uid has no passwd entry",
                    "an explicit non-zero gid", "set user: \"\(user):\(user)\"")
            }
            for g in svc["group_add"]?.sequence ?? [] {
                let v = g.string ?? g.int.map(String.init) ?? ""
                if v == "root" || Int(v) == 0 { add("hygiene:root-group", "medium", g, "group_add \(v): the root group", "non-zero groups", "remove \(v) from group_add") }
            }
            if let gpus = svc["gpus"] {
                add("pss:hostpathvolumes", "high", gpus, "gpus: \(gpus.string ?? "…"): host GPU devices in the container", "no host devices", "remove gpus")
            }
            for d in svc["deploy"]?["resources"]?["reservations"]?["devices"]?.sequence ?? [] {
                let what = (d["capabilities"]?.sequence ?? []).compactMap(\.string).joined(separator: ", ")
                add("pss:hostpathvolumes", "high", d, "deploy reserves host devices (\(what.isEmpty ? "?" : what))", "no host devices", "remove the device reservation")
            }
            // Another runtime (nvidia, kata, runsc…) applies its own rules, which this check does not know.
            if let rt = svc["runtime"], rt.string != "runc" {
                add("hygiene:container-runtime", "medium", rt, "runtime \(rt.string ?? "?") is not the default runc: what it allows is not checked", "runc",
                    "remove runtime, or check what that runtime grants")
            }
            for (sk, _) in svc["sysctls"]?.mapping ?? [:] {
                if let n = sk.string, !PodSecurity.safeSysctls.contains(n) { add("pss:sysctls", "medium", sk, "sysctl \(n)", "the safe set", "remove the sysctl") }
            }
            for sv in svc["sysctls"]?.sequence ?? [] {
                if let n = sv.string.map({ String($0.split(separator: "=").first ?? "") }), !PodSecurity.safeSysctls.contains(n) { add("pss:sysctls", "medium", sv, "sysctl \(n)", "the safe set", "remove the sysctl") }
            }
            for d in svc["devices"]?.sequence ?? [] {
                add("pss:hostpathvolumes", "high", d, "host device \(d.string ?? d["source"]?.string ?? "?") mapped", "no host devices", "remove the device")
            }
            if !Self.noNewPrivileges(opts) {
                add("pss:allowprivilegeescalation", "medium", svc, "no-new-privileges is not set", "security_opt: [no-new-privileges:true]", "add security_opt: [\"no-new-privileges:true\"]")
            }
            if let image = svc["image"]?.string, !Hygiene.digestPinned(image) {
                let rule = Hygiene.tag(image).map { $0 == "latest" ? "hygiene:image-latest" : "hygiene:image-not-pinned" } ?? "hygiene:image-latest"
                add(rule, rule == "hygiene:image-latest" ? "high" : "medium", svc["image"],
                    "image \(image) is not pinned by digest", "an image pinned by digest", "append @sha256:<digest>")
            }
            for e in ComposeModel.environment(svc) {
                guard let v = e.value, Hygiene.looksSecret(name: e.name, value: v) else { continue }
                add("hygiene:plaintext-secret", "high", e.node, "environment \(e.name) holds a literal secret (\(Hygiene.mask(v)))", "secrets from files or a secret store", "use compose secrets: or an env_file kept out of the repository")
            }
        }
        return out
    }

    /// Mount types that the kernel provides, rather than reading from a host path or device.
    static let kernelMountTypes: Set<String> = ["proc", "tmpfs", "mqueue", "devpts", "cgroup", "cgroup2"]

    /// Whether a path is relative and, `..` resolved, stays inside the directory it is relative to.
    static func staysInside(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/") else { return false }
        var depth = 0
        for c in PathText.components(path) where c != "." {
            depth += c == ".." ? -1 : 1
            if depth < 0 { return false }
        }
        return true
    }

    /// An OCI runtime bundle's `config.json`: `bytes` when the walk already read it inside its
    /// directory, else the file at `path`, read within `Workloads.maxFileBytes`.
    public static func ociConfig(_ path: String, bytes: [UInt8]? = nil, manifest: AgentManifest? = nil) throws(InputError) -> [PolicyFinding] {
        let data: Data
        if let bytes { data = Data(bytes) } else { data = Data(try NamedInputFile.read(path, limit: Workloads.maxFileBytes, what: "OCI runtime config")) }
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { throw InputError("not a readable JSON OCI runtime config", at: Location(path)) }
        guard obj["ociVersion"] is String || (obj["process"] is [String: Any] && obj["root"] is [String: Any]) else {
            throw InputError("no ociVersion (nor process and root): not an OCI runtime config", at: Location(path))
        }
        var out: [PolicyFinding] = []
        // JSON parsing keeps no positions; the line is that of the first occurrence of the key.
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        func line(_ needle: String) -> Int? { lines.firstIndex { $0.contains(needle) }.map { $0 + 1 } }
        func add(_ rule: String, _ sev: String, _ found: String, _ allowed: String, _ fix: String, at needle: String) {
            out.append(finding(rule, sev, kind: "OCI config", name: PathText.lastComponent(path), file: path, line: line(needle), found: found, allowed: allowed, fix: fix))
        }
        let process = obj["process"] as? [String: Any] ?? [:]
        let caps = process["capabilities"] as? [String: Any] ?? [:]
        // A capability set that is not a list of names is not read by runc: it cannot be checked, so it is a finding.
        if process["capabilities"] != nil, !(process["capabilities"] is [String: Any]) {
            add("pss:capabilities_baseline", "high", "process.capabilities is not an object of capability lists: not checked", "lists of capability names", "write process.capabilities as an object of lists", at: "\"capabilities\"")
        }
        for set in ["bounding", "effective", "permitted", "inheritable", "ambient"] where caps[set] != nil && !(caps[set] is [String]) {
            add("pss:capabilities_baseline", "high", "process.capabilities.\(set) is not a list of names: not checked", "a list of capability names", "write \(set) as a list of names", at: "\"\(set)\"")
        }
        let granted = Set(["bounding", "effective", "permitted", "inheritable", "ambient"].flatMap { (caps[$0] as? [String]) ?? [] }.map(PodSecurity.bareCapability))
        let beyond = granted.subtracting(PodSecurity.baselineCapabilities)
        if !beyond.isEmpty { add("pss:capabilities_baseline", "high", "capabilities \(beyond.sorted().joined(separator: ", "))", "the baseline set", "remove them from process.capabilities", at: "\"capabilities\"") }
        if granted.contains("SYS_ADMIN") { add("hygiene:cap-sys-admin", "critical", "CAP_SYS_ADMIN in process.capabilities", "almost never justified for an agent", "remove CAP_SYS_ADMIN", at: "SYS_ADMIN") }
        if ((process["user"] as? [String: Any])?["uid"] as? Int ?? 0) == 0 { add("pss:runasnonroot", "high", "process.user.uid is 0", "a non-root uid", "set process.user.uid", at: "\"user\"") }
        if process["noNewPrivileges"] as? Bool != true { add("pss:allowprivilegeescalation", "medium", "noNewPrivileges is not true", "true", "set process.noNewPrivileges: true", at: line("noNewPrivileges") != nil ? "noNewPrivileges" : "\"process\"") }
        if (obj["root"] as? [String: Any])?["readonly"] as? Bool != true { add("hygiene:writable-root-filesystem", "medium", "root.readonly is not true", "true", "set root.readonly: true", at: "\"root\"") }
        let linux = obj["linux"] as? [String: Any] ?? [:]
        let nsEntries = linux["namespaces"] as? [[String: Any]] ?? []
        // A namespace entry with a path joins that existing namespace (`/proc/1/ns/net` is the host's): it is not followed.
        let namespaces = Set(nsEntries.filter { $0["path"] == nil }.compactMap { $0["type"] as? String })
        for e in nsEntries {
            if let type = e["type"] as? String, let p = e["path"] {
                add("pss:hostnamespaces", "high", "the \(type) namespace joins \(p as? String ?? "?"), another process's namespace, which this check does not follow",
                    "a namespace of its own", "remove the path from the \(type) namespace", at: (p as? String).map { "\"\($0)\"" } ?? "\"namespaces\"")
            }
        }
        for ns in ["network", "pid", "ipc", "mount", "uts", "cgroup"] where !namespaces.contains(ns) && !nsEntries.contains(where: { $0["type"] as? String == ns }) {
            add("pss:hostnamespaces", "high", "no \(ns) namespace: the host's is shared", "its own \(ns) namespace", "add {\"type\": \"\(ns)\"} to linux.namespaces", at: "\"namespaces\"")
        }
        for d in linux["devices"] as? [[String: Any]] ?? [] {
            add("pss:hostpathvolumes", "high", "host device \(d["path"] as? String ?? "?") created in the container", "no host devices", "remove it from linux.devices", at: "\"devices\"")
        }
        for r in (linux["resources"] as? [String: Any])?["devices"] as? [[String: Any]] ?? [] where r["allow"] as? Bool != false {
            add("pss:hostpathvolumes", "high", "device cgroup rule allows \(r["access"] as? String ?? "rwm") on \(r["type"] as? String ?? "a") \(r["major"].map { "\($0)" } ?? "*"):\(r["minor"].map { "\($0)" } ?? "*")",
                "no host devices", "remove the allow rule from linux.resources.devices", at: "\"allow\"")
        }
        // Hooks run programs on the host, outside every restriction the container has.
        for (stage, list) in (obj["hooks"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
            for h in list as? [[String: Any]] ?? [[:]] {
                add("hygiene:host-hooks", "high", "hooks.\(stage) runs \(h["path"] as? String ?? "a program") on the host", "no hooks",
                    "remove the hook, or check the program it runs", at: "\"\(stage)\"")
            }
        }
        for m in obj["mounts"] as? [[String: Any]] ?? [] {
            let src = m["source"] as? String ?? ""
            let type = m["type"] as? String ?? ""
            let options = m["options"] as? [String] ?? []
            let at = m["source"] is String ? "\"source\": \"\(src)\"" : "\"destination\": \"\(m["destination"] as? String ?? "")\""
            if type == "bind" || options.contains(where: { $0 == "bind" || $0 == "rbind" }) {
                // A relative source is relative to the bundle, and may climb out of it: every bind is a host path.
                if FieldSyntax.normalizedPath(src).map({ !["/etc/resolv.conf", "/etc/hosts", "/etc/hostname"].contains($0) }) ?? true {
                    add("pss:hostpathvolumes", "high", "bind mount of host path \(src)", "no host paths", "remove the bind mount", at: at)
                }
            } else if type == "sysfs" {
                if !options.contains("ro") {
                    add("pss:hostpathvolumes", "high", "sysfs mounted writable at \(m["destination"] as? String ?? "?"): the host's /sys", "sysfs with the ro option",
                        "add \"ro\" to the sysfs mount's options", at: at)
                }
            } else if !RuntimeConfigs.kernelMountTypes.contains(type) {
                // Every other filesystem reads from the host: a block device (ext4 on /dev/sda1), or
                // host directories (overlay's lowerdir=/...). Its contents are not checked.
                let dirs = options.filter { o in ["lowerdir=", "upperdir=", "workdir="].contains { o.hasPrefix($0) } }
                add("pss:hostpathvolumes", "high", "\(type.isEmpty ? "untyped" : type) mount of host \(dirs.isEmpty ? src : dirs.joined(separator: ","))", "no host paths",
                    "remove the mount, or use tmpfs", at: at)
            }
        }
        // A filter that allows every syscall by default is no filter.
        if let sc = linux["seccomp"] {
            let action = (sc as? [String: Any])?["defaultAction"] as? String
            if action == nil || ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG"].contains(action!) {
                add("pss:seccompprofile_baseline", "high", "linux.seccomp.defaultAction is \(action ?? "not a string"): syscalls are not filtered", "a defaultAction that refuses (SCMP_ACT_ERRNO)",
                    "use the runtime's default seccomp profile", at: line("defaultAction") != nil ? "defaultAction" : "\"seccomp\"")
            }
        } else {
            add("pss:seccompprofile_baseline", "high", "no linux.seccomp: syscalls are not filtered", "the runtime's default seccomp profile", "add the runtime's default profile as linux.seccomp",
                at: "\"linux\"")
        }
        // runc applies no AppArmor profile of its own: one the config does not name is none at all.
        if let aa = process["apparmorProfile"] as? String, aa == "unconfined" {
            add("pss:apparmorprofile", "medium", "process.apparmorProfile is unconfined: AppArmor is off", "a confining profile such as docker-default", "name a confining profile",
                at: "apparmorProfile")
        } else if process["apparmorProfile"] == nil {
            add("pss:apparmorprofile", "medium", "no process.apparmorProfile: runc confines the process with no AppArmor profile", "a confining profile such as docker-default",
                "set process.apparmorProfile (docker-default, or the host's profile for the agent)", at: "\"process\"")
        } else if !(process["apparmorProfile"] is String) || (process["apparmorProfile"] as? String)?.isEmpty == true {
            add("pss:apparmorprofile", "medium", "process.apparmorProfile is empty or not a string: no AppArmor profile applies", "a confining profile such as docker-default",
                "set process.apparmorProfile to a profile name", at: "apparmorProfile")
        }
        if let label = process["selinuxLabel"] {
            // user:role:type[:level]; the type decides what the process may do.
            let parts = (label as? String ?? "").split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
            let type = parts.count > 2 ? parts[2] : nil
            if type.map({ !PodSecurity.seLinuxTypes.contains($0) }) ?? true {
                add("pss:selinuxoptions", "medium", "process.selinuxLabel \(label as? String ?? "?") has type \(type ?? "?"), not a container type",
                    "a label of type " + PodSecurity.seLinuxTypes.filter { !$0.isEmpty }.sorted().joined(separator: ", "), "remove selinuxLabel, or use container_t", at: "selinuxLabel")
            }
        }
        // Without masked and read-only paths /proc and /sys expose the host's kernel interfaces, as procMount: Unmasked.
        for key in ["maskedPaths", "readonlyPaths"] where ((linux[key] as? [String]) ?? []).isEmpty {
            add("pss:procmount", "high", "linux.\(key) is \(linux[key] == nil ? "absent" : "empty or not a list"): /proc is unmasked (as procMount: Unmasked)",
                "the runtime's default \(key)", "add the runtime's default linux.\(key)", at: line("\"\(key)\"") != nil ? "\"\(key)\"" : "\"linux\"")
        }
        for name in (linux["sysctl"] as? [String: Any] ?? [:]).keys.sorted() where !PodSecurity.safeSysctls.contains(name) {
            add("pss:sysctls", "medium", "sysctl \(name)", "the safe set", "remove it from linux.sysctl", at: "\"\(name)\"")
        }
        if linux["sysctl"] != nil, !(linux["sysctl"] is [String: Any]) {
            add("pss:sysctls", "medium", "linux.sysctl is not an object: not checked", "an object of sysctl names", "write linux.sysctl as an object", at: "\"sysctl\"")
        }
        // The root filesystem is the bundle's: an absolute path or one climbing out of it is the host's.
        let rootPath = (obj["root"] as? [String: Any])?["path"] as? String
        if rootPath.map({ !RuntimeConfigs.staysInside($0) }) ?? true {
            add("pss:hostpathvolumes", "high", "root.path \(rootPath ?? "is not a string"): the root filesystem is outside the bundle", "a relative path inside the bundle (rootfs)",
                "set root.path to rootfs", at: "\"root\"")
        }
        let user = process["user"] as? [String: Any] ?? [:]
        // runc sets gid 0 when none is given.
        if (user["gid"] as? Int ?? 0) == 0 {
            add("hygiene:root-group", "medium", "process.user.gid is 0: the root group owns files root made group-writable", "a non-zero gid", "set process.user.gid", at: "\"user\"")
        }
        if (user["additionalGids"] as? [Any] ?? []).contains(where: { ($0 as? Int) == 0 }) {
            add("hygiene:root-group", "medium", "process.user.additionalGids holds 0, the root group", "non-zero gids", "remove 0 from additionalGids", at: "additionalGids")
        }
        if let m = manifest {
            for cap in granted.sorted() where !m.capabilities.contains(cap) {
                add("manifest:capability", cap == "SYS_ADMIN" ? "critical" : "high", "capability \(cap)", m.capabilities.isEmpty ? "no capabilities" : m.capabilities.joined(separator: ", "),
                    "remove \(cap) from process.capabilities", at: "\"capabilities\"")
            }
            let uid = (process["user"] as? [String: Any])?["uid"] as? Int ?? 0
            if m.nonRoot != false, uid == 0 {
                add("manifest:root", "high", "process.user.uid is 0", m.uid.map { "uid \($0), non-root" } ?? "non-root", "set process.user.uid", at: "\"user\"")
            } else if let want = m.uid, uid != want {
                add("manifest:uid", "medium", "process.user.uid is \(uid)", "uid \(want)", "set process.user.uid to \(want)", at: "\"user\"")
            }
            for mount in obj["mounts"] as? [[String: Any]] ?? [] {
                let options = mount["options"] as? [String] ?? []
                let type = mount["type"] as? String
                guard type == "bind" || options.contains(where: { $0 == "bind" || $0 == "rbind" }) || type == "tmpfs" else { continue }
                let dest = mount["destination"] as? String ?? ""
                if type != "tmpfs", let src = mount["source"] as? String {
                    let bundle = PathText.parent(path)
                    let host = FieldSyntax.normalizedPath(src.hasPrefix("/") ? src : (bundle.hasPrefix("/") ? bundle : FileManager.default.currentDirectoryPath + "/" + bundle) + "/" + src)
                    let allowed = ["/etc/resolv.conf", "/etc/hosts", "/etc/hostname"]
                    if host.map({ !allowed.contains($0) && !AgentManifest.covered($0, by: m.read + m.write) }) ?? true {
                        add("manifest:hostpath", "high", "bind mount of \(src)" + (host.map { $0 == src ? "" : " (\($0))" } ?? ", which cannot be normalized"),
                            "paths declared under filesystem", "remove the bind mount or declare its source in the manifest", at: "\"source\": \"\(src)\"")
                    }
                }
                if !options.contains("ro"), FieldSyntax.normalizedPath(dest).map({ !AgentManifest.covered($0, by: m.write) }) ?? true,
                   !["/etc/resolv.conf", "/etc/hosts", "/etc/hostname", "/dev", "/dev/shm", "/dev/mqueue", "/run"].contains(dest) {
                    add("manifest:writable-mount", "medium", "writable mount at \(dest)", m.write.isEmpty ? "no writable paths" : m.write.joined(separator: ", "),
                        "add \"ro\" to its options, or declare \(dest) under filesystem.write", at: "\"destination\": \"\(dest)\"")
                }
            }
        }
        for e in process["env"] as? [String] ?? [] {
            guard let eq = e.firstIndex(of: "=") else { continue }
            let n = String(e[..<eq]), v = String(e[e.index(after: eq)...])
            if Hygiene.looksSecret(name: n, value: v) {
                add("hygiene:plaintext-secret", "high", "env \(n) holds a literal secret (\(Hygiene.mask(v)))", "secrets from files", "mount the secret as a file", at: n + "=")
            }
        }
        return out
    }
}
