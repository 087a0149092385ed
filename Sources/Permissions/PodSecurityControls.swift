import Foundation
import ProvenantCore
import Yams

/// One Pod Security Standards control: the findings of one pod spec, each saying why the control
/// exists. Where a restricted control tightens a baseline one, it leaves what baseline already
/// names to baseline, so one violation is named once; different violations are each named.
protocol PodSecurityControl: Sendable {
    /// The control's name as the Kubernetes fixtures spell it (`privileged`); the rule is `pss:` + id.
    var id: String { get }
    /// The lowest level that enforces it.
    var level: PodSecurity.Level { get }
    /// What breaking it lets a workload do.
    var because: String { get }
    func findings(_ p: PodContext) -> [PolicyFinding]
}

/// What the controls read from one pod spec.
struct PodContext {
    var pod: PodSecurity.PodSpec
    var level: PodSecurity.Level
    var spec: Node { pod.spec }
    var podSC: Node?
    var containers: [PodSecurity.Container]
    var windows: Bool
    /// Windows HostProcess pods need hostNetwork; the HostProcess control names that finding.
    var hostProcess: Bool

    init(_ pod: PodSecurity.PodSpec, level: PodSecurity.Level) {
        self.pod = pod
        self.level = level
        podSC = pod.spec["securityContext"]
        containers = PodSecurity.containers(pod.spec)
        windows = pod.spec["os"]?["name"]?.string == "windows"
        hostProcess = podSC?["windowsOptions"]?["hostProcess"]?.bool == true
            || containers.contains { $0.node["securityContext"]?["windowsOptions"]?["hostProcess"]?.bool == true }
    }

    func finding(_ control: some PodSecurityControl, _ severity: String, _ node: Node?, container: String? = nil,
                 found: String, allowed: String, fix: String) -> PolicyFinding {
        var f = pod.finding("pss:" + control.id, severity, at: node, container: container, found: found, allowed: allowed, fix: fix)
        f.because = control.because
        return f
    }
}

// MARK: Baseline

struct HostNamespaces: PodSecurityControl {
    var id: String { "hostnamespaces" }
    var level: PodSecurity.Level { .baseline }
    var because: String { "sharing the host's network, process or IPC namespace lets the pod see and reach the node's own" }
    func findings(_ p: PodContext) -> [PolicyFinding] {
        ["hostNetwork", "hostPID", "hostIPC"].filter { f in p.spec[f]?.bool == true && !(f == "hostNetwork" && p.hostProcess) }.map { f in
            p.finding(self, "high", p.spec[f], found: "\(f): true", allowed: "\(f) unset or false", fix: "remove \(f)")
        }
    }
}

struct Privileged: PodSecurityControl {
    var id: String { "privileged" }
    var level: PodSecurity.Level { .baseline }
    var because: String { "a privileged container has every capability and the host's devices: it is root on the node" }
    func findings(_ p: PodContext) -> [PolicyFinding] {
        p.containers.filter { $0.node["securityContext"]?["privileged"]?.bool == true }.map { c in
            p.finding(self, "critical", c.node["securityContext"]?["privileged"], container: c.name, found: "privileged: true",
                      allowed: "privileged unset or false", fix: "remove securityContext.privileged")
        }
    }
}

struct CapabilitiesBaseline: PodSecurityControl {
    var id: String { "capabilities_baseline" }
    var level: PodSecurity.Level { .baseline }
    var because: String { "capabilities beyond the default set give parts of root's power" }
    func findings(_ p: PodContext) -> [PolicyFinding] {
        p.containers.compactMap { c in
            let sc = c.node["securityContext"]
            let beyond = (sc?["capabilities"]?["add"]?.sequence?.compactMap(\.string) ?? []).filter { !PodSecurity.baselineCapabilities.contains($0) }
            guard !beyond.isEmpty else { return nil }
            let why = beyond.contains("SYS_ADMIN") ? " (CAP_SYS_ADMIN grants most of root: mounts, namespaces, BPF)" : ""
            return p.finding(self, "high", sc?["capabilities"]?["add"], container: c.name, found: "adds \(beyond.joined(separator: ", "))\(why)",
                             allowed: "only " + PodSecurity.baselineCapabilities.sorted().joined(separator: ", "), fix: "remove \(beyond.joined(separator: ", ")) from capabilities.add")
        }
    }
}

struct HostPorts: PodSecurityControl {
    var id: String { "hostports" }
    var level: PodSecurity.Level { .baseline }
    var because: String { "a host port binds the node's own address, bypassing Services and NetworkPolicy" }
    func findings(_ p: PodContext) -> [PolicyFinding] {
        p.containers.flatMap { c in
            (c.node["ports"]?.sequence ?? []).compactMap { port -> PolicyFinding? in
                guard let hp = port["hostPort"]?.int, hp != 0 else { return nil }
                return p.finding(self, "high", port["hostPort"], container: c.name, found: "hostPort: \(hp)", allowed: "hostPort unset or 0",
                                 fix: "remove hostPort; expose the port with a Service")
            }
        }
    }
}

struct HostProbesAndLifecycle: PodSecurityControl {
    var id: String { "hostprobesandhostlifecycle" }
    var level: PodSecurity.Level { .baseline }
    var because: String { "a probe or hook with a host makes the kubelet connect to any address the pod names" }
    func findings(_ p: PodContext) -> [PolicyFinding] {
        var out: [PolicyFinding] = []
        for c in p.containers {
            let places = ["livenessProbe", "readinessProbe", "startupProbe"].map { ($0, c.node[$0]) } + ["postStart", "preStop"].map { ("lifecycle.\($0)", c.node["lifecycle"]?[$0]) }
            for (name, node) in places {
                for h in ["httpGet", "tcpSocket"] {
                    if let host = node?[h]?["host"]?.string, !host.isEmpty {
                        out.append(p.finding(self, "medium", node?[h]?["host"], container: c.name, found: "\(name).\(h).host: \(host)", allowed: "host unset", fix: "remove the host field"))
                    }
                }
            }
        }
        return out
    }
}

/// Baseline allows an unmasked /proc only for pods in their own user namespace.
struct ProcMountBaseline: PodSecurityControl {
    var id: String { "procmount" }
    var level: PodSecurity.Level { .baseline }
    var because: String { "an unmasked /proc exposes the host's kernel interfaces" }
    func findings(_ p: PodContext) -> [PolicyFinding] {
        guard p.spec["hostUsers"]?.bool != false else { return [] }
        return p.containers.compactMap { c in
            guard let pm = c.node["securityContext"]?["procMount"]?.string, pm != "Default" else { return nil }
            return p.finding(self, "high", c.node["securityContext"]?["procMount"], container: c.name, found: "procMount: \(pm)",
                             allowed: "Default (Unmasked only with hostUsers: false)", fix: "remove procMount")
        }
    }
}

struct HostPathVolumes: PodSecurityControl {
    var id: String { "hostpathvolumes" }
    var level: PodSecurity.Level { .baseline }
    var because: String { "a hostPath volume reads or writes the node's own files" }
    func findings(_ p: PodContext) -> [PolicyFinding] {
        (p.spec["volumes"]?.sequence ?? []).filter { $0["hostPath"] != nil }.map { v in
            p.finding(self, "high", v["hostPath"], found: "hostPath volume '\(v["name"]?.string ?? "")'", allowed: "no hostPath volumes",
                      fix: "use an emptyDir, configMap or persistentVolumeClaim")
        }
    }
}

/// AppArmor: the field or the legacy annotation, at pod and container level.
struct AppArmorProfile: PodSecurityControl {
    var id: String { "apparmorprofile" }
    var level: PodSecurity.Level { .baseline }
    var because: String { "an unconfined AppArmor profile lifts the runtime's mandatory access control" }
    func findings(_ p: PodContext) -> [PolicyFinding] {
        var out: [PolicyFinding] = []
        for (sc, container) in [(p.podSC, nil as String?)] + p.containers.map({ ($0.node["securityContext"], $0.name as String?) }) {
            if let t = sc?["appArmorProfile"]?["type"]?.string, t != "RuntimeDefault", t != "Localhost" {
                out.append(p.finding(self, "medium", sc?["appArmorProfile"], container: container, found: "appArmorProfile.type: \(t)",
                                     allowed: "RuntimeDefault or Localhost", fix: "set appArmorProfile.type: RuntimeDefault"))
            }
        }
        for (k, v) in p.pod.annotations?.mapping ?? [:] {
            guard let key = k.string, key.hasPrefix("container.apparmor.security.beta.kubernetes.io/"), let val = v.string else { continue }
            if val != "runtime/default", !val.hasPrefix("localhost/") {
                out.append(p.finding(self, "medium", v, container: String(key.split(separator: "/").last ?? ""), found: "\(key): \(val)",
                                     allowed: "runtime/default or localhost/*", fix: "set the annotation to runtime/default"))
            }
        }
        return out
    }
}

struct SELinuxOptions: PodSecurityControl {
    var id: String { "selinuxoptions" }
    var level: PodSecurity.Level { .baseline }
    var because: String { "a custom SELinux user, role or type can escape the container's confinement" }
    func findings(_ p: PodContext) -> [PolicyFinding] {
        ([(p.podSC, nil as String?)] + p.containers.map { ($0.node["securityContext"], $0.name as String?) }).compactMap { sc, container in
            guard let o = sc?["seLinuxOptions"] else { return nil }
            let t = o["type"]?.string ?? ""
            guard !PodSecurity.seLinuxTypes.contains(t) || !(o["user"]?.string ?? "").isEmpty || !(o["role"]?.string ?? "").isEmpty else { return nil }
            return p.finding(self, "medium", o, container: container, found: "seLinuxOptions type '\(t)' user '\(o["user"]?.string ?? "")' role '\(o["role"]?.string ?? "")'",
                             allowed: "type one of container_t, container_init_t, container_kvm_t, container_engine_t; no user or role", fix: "remove seLinuxOptions")
        }
    }
}

struct SeccompBaseline: PodSecurityControl {
    var id: String { "seccompprofile_baseline" }
    var level: PodSecurity.Level { .baseline }
    var because: String { "without seccomp every system call reaches the kernel" }
    func findings(_ p: PodContext) -> [PolicyFinding] {
        ([(p.podSC, nil as String?)] + p.containers.map { ($0.node["securityContext"], $0.name as String?) }).compactMap { sc, container in
            guard sc?["seccompProfile"]?["type"]?.string == "Unconfined" else { return nil }
            return p.finding(self, "high", sc?["seccompProfile"], container: container, found: "seccompProfile.type: Unconfined",
                             allowed: "RuntimeDefault or Localhost", fix: "set seccompProfile.type: RuntimeDefault")
        }
    }
}

struct Sysctls: PodSecurityControl {
    var id: String { "sysctls" }
    var level: PodSecurity.Level { .baseline }
    var because: String { "sysctls outside the namespaced safe set change the node's kernel for every pod" }
    func findings(_ p: PodContext) -> [PolicyFinding] {
        (p.podSC?["sysctls"]?.sequence ?? []).compactMap { s in
            guard let n = s["name"]?.string, !PodSecurity.safeSysctls.contains(n) else { return nil }
            return p.finding(self, "medium", s, found: "sysctl \(n)", allowed: "the safe set (" + PodSecurity.safeSysctls.sorted().joined(separator: ", ") + ")", fix: "remove the sysctl")
        }
    }
}

struct WindowsHostProcess: PodSecurityControl {
    var id: String { "windowshostprocess" }
    var level: PodSecurity.Level { .baseline }
    var because: String { "a Windows HostProcess container runs directly on the node with its privileges" }
    func findings(_ p: PodContext) -> [PolicyFinding] {
        ([(p.podSC, nil as String?)] + p.containers.map { ($0.node["securityContext"], $0.name as String?) }).compactMap { sc, container in
            guard sc?["windowsOptions"]?["hostProcess"]?.bool == true else { return nil }
            return p.finding(self, "critical", sc?["windowsOptions"], container: container, found: "windowsOptions.hostProcess: true", allowed: "unset or false", fix: "remove hostProcess")
        }
    }
}

// MARK: Restricted

struct RestrictedVolumes: PodSecurityControl {
    var id: String { "restrictedvolumes" }
    var level: PodSecurity.Level { .restricted }
    var because: String { "volume types beyond the restricted set reach storage outside the pod's own" }
    func findings(_ p: PodContext) -> [PolicyFinding] {
        (p.spec["volumes"]?.sequence ?? []).compactMap { v in
            // hostPath is baseline's finding.
            let bad = (v.mapping?.keys.compactMap(\.string) ?? []).filter { $0 != "name" && $0 != "hostPath" && !PodSecurity.restrictedVolumes.contains($0) }
            guard !bad.isEmpty else { return nil }
            return p.finding(self, "medium", v, found: "\(bad.joined(separator: ", ")) volume '\(v["name"]?.string ?? "")'",
                             allowed: PodSecurity.restrictedVolumes.sorted().joined(separator: ", "), fix: "use one of the allowed volume types")
        }
    }
}

struct RunAsNonRoot: PodSecurityControl {
    var id: String { "runasnonroot" }
    var level: PodSecurity.Level { .restricted }
    var because: String { "a container running as root is one kernel bug away from root on the node" }
    func findings(_ p: PodContext) -> [PolicyFinding] {
        let podNonRoot = p.podSC?["runAsNonRoot"]?.bool
        let uncovered = p.containers.filter { c in
            let nonRoot = c.node["securityContext"]?["runAsNonRoot"]?.bool
            return nonRoot == false || (nonRoot == nil && podNonRoot != true)
        }.map(\.name)
        guard podNonRoot == false || !uncovered.isEmpty else { return [] }
        return [p.finding(self, "high", p.podSC?["runAsNonRoot"] ?? p.podSC, container: uncovered.first,
                          found: podNonRoot == false ? "runAsNonRoot: false" : "runAsNonRoot unset for \(uncovered.joined(separator: ", "))",
                          allowed: "runAsNonRoot: true for the pod or every container", fix: "set securityContext.runAsNonRoot: true")]
    }
}

struct RunAsUser: PodSecurityControl {
    var id: String { "runasuser" }
    var level: PodSecurity.Level { .restricted }
    var because: String { "uid 0 is root" }
    func findings(_ p: PodContext) -> [PolicyFinding] {
        ([(p.podSC, nil as String?)] + p.containers.map { ($0.node["securityContext"], $0.name as String?) }).compactMap { sc, container in
            guard sc?["runAsUser"]?.int == 0 else { return nil }
            return p.finding(self, "high", sc?["runAsUser"], container: container, found: "runAsUser: 0", allowed: "a non-zero uid", fix: "set runAsUser to a non-zero uid")
        }
    }
}

struct AllowPrivilegeEscalation: PodSecurityControl {
    var id: String { "allowprivilegeescalation" }
    var level: PodSecurity.Level { .restricted }
    var because: String { "without no_new_privs a setuid binary or file capability raises the process's privileges" }
    func findings(_ p: PodContext) -> [PolicyFinding] {
        // Windows pods are exempt from the Linux-only restricted controls.
        guard !p.windows else { return [] }
        return p.containers.compactMap { c in
            let sc = c.node["securityContext"]
            guard sc?["allowPrivilegeEscalation"]?.bool != false else { return nil }
            // A privileged container escalates by definition, and Kubernetes refuses it with
            // allowPrivilegeEscalation: false, so an unset field is `privileged`'s finding alone. An
            // explicit allowPrivilegeEscalation: true is a second control broken, and reported.
            if sc?["privileged"]?.bool == true && sc?["allowPrivilegeEscalation"] == nil { return nil }
            let bare = sc == nil
            return p.finding(self, "medium", sc ?? c.node, container: c.name,
                             found: bare ? "no securityContext" : "allowPrivilegeEscalation not false", allowed: "false",
                             fix: bare ? "add securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}" : "set allowPrivilegeEscalation: false")
        }
    }
}

struct CapabilitiesRestricted: PodSecurityControl {
    var id: String { "capabilities_restricted" }
    var level: PodSecurity.Level { .restricted }
    var because: String { "a container keeps the runtime's default capabilities unless it drops ALL" }
    func findings(_ p: PodContext) -> [PolicyFinding] {
        guard !p.windows else { return [] }
        return p.containers.compactMap { c in
            // A container with no securityContext at all is one finding (allowprivilegeescalation), with both fixes.
            guard let sc = c.node["securityContext"] else { return nil }
            let caps = sc["capabilities"]
            let drops = caps?["drop"]?.sequence?.compactMap(\.string) ?? []
            // Capabilities outside the baseline set are baseline's finding.
            let adds = (caps?["add"]?.sequence?.compactMap(\.string) ?? []).filter { $0 != "NET_BIND_SERVICE" && PodSecurity.baselineCapabilities.contains($0) }
            guard !drops.contains("ALL") || !adds.isEmpty else { return nil }
            return p.finding(self, "medium", caps ?? c.node, container: c.name,
                             found: !adds.isEmpty ? "adds \(adds.joined(separator: ", "))" : "capabilities.drop does not include ALL",
                             allowed: "drop ALL; add at most NET_BIND_SERVICE", fix: "set capabilities.drop: [ALL] and add back only NET_BIND_SERVICE if needed")
        }
    }
}

/// Seccomp must be set: at pod level, or on every container. Unconfined is baseline's finding.
struct SeccompRestricted: PodSecurityControl {
    var id: String { "seccompprofile_restricted" }
    var level: PodSecurity.Level { .restricted }
    var because: String { "without a seccomp profile every system call reaches the kernel" }
    func findings(_ p: PodContext) -> [PolicyFinding] {
        guard !p.windows else { return [] }
        let podSeccomp = p.podSC?["seccompProfile"]?["type"]?.string
        return p.containers.compactMap { c in
            let mine = c.node["securityContext"]?["seccompProfile"]?["type"]?.string
            if mine == nil && podSeccomp == nil {
                return p.finding(self, "medium", c.node, container: c.name, found: "no seccompProfile", allowed: "RuntimeDefault or Localhost",
                                 fix: "set securityContext.seccompProfile.type: RuntimeDefault on the pod")
            }
            if let t = mine ?? podSeccomp, t != "RuntimeDefault", t != "Localhost", t != "Unconfined" {
                return p.finding(self, "medium", c.node, container: c.name, found: "seccompProfile.type: \(t)", allowed: "RuntimeDefault or Localhost",
                                 fix: "set seccompProfile.type: RuntimeDefault")
            }
            return nil
        }
    }
}

/// Restricted allows only the default /proc mask, even in a user namespace (baseline names the rest).
struct ProcMountRestricted: PodSecurityControl {
    var id: String { "procmount_restricted" }
    var level: PodSecurity.Level { .restricted }
    var because: String { "an unmasked /proc exposes kernel interfaces" }
    func findings(_ p: PodContext) -> [PolicyFinding] {
        guard p.spec["hostUsers"]?.bool == false else { return [] }
        return p.containers.compactMap { c in
            guard let pm = c.node["securityContext"]?["procMount"]?.string, pm != "Default" else { return nil }
            return p.finding(self, "medium", c.node["securityContext"]?["procMount"], container: c.name, found: "procMount: \(pm)", allowed: "Default", fix: "remove procMount")
        }
    }
}
