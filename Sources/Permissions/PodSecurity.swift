import Foundation
import ProvenantCore
import Yams

/// A problem found in a deployment, with where it is and how to fix it.
public struct PolicyFinding: Sendable, Equatable, Codable {
    public var rule: String
    public var severity: String
    public var kind: String
    public var name: String
    public var container: String?
    public var location: Location
    public var found: String
    public var allowed: String
    public var fix: String
    /// Why the control exists: what the finding lets a workload do.
    public var because: String? = nil
}

/// Pod Security Standards (Kubernetes v1.37), baseline and restricted. Where a restricted control
/// tightens a baseline one (capabilities, seccomp, procMount, volumes), a violation is named by the
/// lowest level it breaks: adding NET_RAW is `capabilities_baseline` at either level, and only what
/// baseline allows but restricted does not is the restricted control. Each violation is named once.
public enum PodSecurity {
    public enum Level: String, Sendable, CaseIterable { case baseline, restricted }

    /// One pod spec to check: the spec node, its metadata annotations, and whose it is.
    public struct PodSpec {
        public var spec: Node
        public var annotations: Node?
        public var kind: String
        public var name: String
        public var file: String
        public var namespace: String = "default"
        /// The pod template's labels, which NetworkPolicies select on.
        public var labels: Node?

        /// A finding about this workload, at `node`'s line (the pod spec's when nil).
        func finding(_ rule: String, _ severity: String, at node: Node?, file: String? = nil, container: String?,
                     found: String, allowed: String, fix: String) -> PolicyFinding {
            PolicyFinding(rule: rule, severity: severity, kind: kind, name: name, container: container,
                          location: Location(file ?? self.file, line: (node ?? spec).mark?.line), found: found, allowed: allowed, fix: fix)
        }
    }

    /// `CAP_SYS_ADMIN` and `SYS_ADMIN` name the same capability; Kubernetes spells it without the prefix.
    static func bareCapability(_ c: String) -> String { c.hasPrefix("CAP_") ? String(c.dropFirst(4)) : c }

    /// A capability as the container runtime reads it: containerd and Docker accept any case and the
    /// CAP_ prefix, so `sys_admin` is SYS_ADMIN. (Pod Security admission compares exactly; its controls do too.)
    static func runtimeCapability(_ c: String) -> String { bareCapability(c.uppercased()) }

    struct Container { var node: Node; var name: String; var field: String }

    static let baselineCapabilities: Set<String> = ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                                    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]
    static let safeSysctls: Set<String> = ["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                                           "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem", "net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat",
                                           "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                                           "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                                           "net.ipv4.tcp_keepalive_probes"]
    static let seLinuxTypes: Set<String> = ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"]
    static let restrictedVolumes: Set<String> = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                                                 "projected", "secret", "image"]

    public static func check(_ pod: PodSpec, level: Level) -> [PolicyFinding] {
        var out: [PolicyFinding] = []
        let spec = pod.spec
        func add(_ rule: String, _ severity: String, _ node: Node?, container: String? = nil, found: String, allowed: String, fix: String) {
            out.append(pod.finding("pss:" + rule, severity, at: node, container: container, found: found, allowed: allowed, fix: fix))
        }
        let containers = Self.containers(spec)
        let podSC = spec["securityContext"]
        let windows = spec["os"]?["name"]?.string == "windows"
        let restricted = level == .restricted
        // Windows HostProcess pods need hostNetwork; the HostProcess control names that finding.
        let hostProcess = podSC?["windowsOptions"]?["hostProcess"]?.bool == true
            || containers.contains { $0.node["securityContext"]?["windowsOptions"]?["hostProcess"]?.bool == true }

        // Baseline
        for f in ["hostNetwork", "hostPID", "hostIPC"] where spec[f]?.bool == true && !(f == "hostNetwork" && hostProcess) {
            add("hostnamespaces", "high", spec[f], found: "\(f): true", allowed: "\(f) unset or false", fix: "remove \(f)")
        }
        for c in containers {
            let sc = c.node["securityContext"]
            if sc?["privileged"]?.bool == true {
                add("privileged", "critical", sc?["privileged"], container: c.name, found: "privileged: true", allowed: "privileged unset or false", fix: "remove securityContext.privileged")
            }
            let adds = sc?["capabilities"]?["add"]?.sequence?.compactMap(\.string) ?? []
            let beyond = adds.filter { !baselineCapabilities.contains($0) }
            if !beyond.isEmpty {
                let why = beyond.contains("SYS_ADMIN") ? " (CAP_SYS_ADMIN grants most of root: mounts, namespaces, BPF)" : ""
                add("capabilities_baseline", "high", sc?["capabilities"]?["add"], container: c.name, found: "adds \(beyond.joined(separator: ", "))\(why)",
                    allowed: "only " + baselineCapabilities.sorted().joined(separator: ", "), fix: "remove \(beyond.joined(separator: ", ")) from capabilities.add")
            }
            for p in c.node["ports"]?.sequence ?? [] {
                if let hp = p["hostPort"]?.int, hp != 0 {
                    add("hostports", "high", p["hostPort"], container: c.name, found: "hostPort: \(hp)", allowed: "hostPort unset or 0", fix: "remove hostPort; expose the port with a Service")
                }
            }
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                for h in ["httpGet", "tcpSocket"] {
                    if let host = c.node[probe]?[h]?["host"]?.string, !host.isEmpty {
                        add("hostprobesandhostlifecycle", "medium", c.node[probe]?[h]?["host"], container: c.name, found: "\(probe).\(h).host: \(host)", allowed: "host unset", fix: "remove the host field")
                    }
                }
            }
            for hook in ["postStart", "preStop"] {
                for h in ["httpGet", "tcpSocket"] {
                    if let host = c.node["lifecycle"]?[hook]?[h]?["host"]?.string, !host.isEmpty {
                        add("hostprobesandhostlifecycle", "medium", c.node["lifecycle"]?[hook]?[h]?["host"], container: c.name, found: "lifecycle.\(hook).\(h).host: \(host)", allowed: "host unset", fix: "remove the host field")
                    }
                }
            }
            if let pm = sc?["procMount"]?.string, pm != "Default" {
                if spec["hostUsers"]?.bool != false {
                    // Baseline allows Unmasked only for pods in their own user namespace.
                    add("procmount", "high", sc?["procMount"], container: c.name, found: "procMount: \(pm)", allowed: "Default (Unmasked only with hostUsers: false)", fix: "remove procMount")
                } else if restricted {
                    add("procmount_restricted", "medium", sc?["procMount"], container: c.name, found: "procMount: \(pm)", allowed: "Default", fix: "remove procMount")
                }
            }
        }
        for v in spec["volumes"]?.sequence ?? [] where v["hostPath"] != nil {
            add("hostpathvolumes", "high", v["hostPath"], found: "hostPath volume '\(v["name"]?.string ?? "")'", allowed: "no hostPath volumes", fix: "use an emptyDir, configMap or persistentVolumeClaim")
        }
        // AppArmor: the field or the legacy annotation, at pod and container level.
        func appArmor(_ sc: Node?, container: String?) {
            if let t = sc?["appArmorProfile"]?["type"]?.string, t != "RuntimeDefault", t != "Localhost" {
                add("apparmorprofile", "medium", sc?["appArmorProfile"], container: container, found: "appArmorProfile.type: \(t)", allowed: "RuntimeDefault or Localhost", fix: "set appArmorProfile.type: RuntimeDefault")
            }
        }
        appArmor(podSC, container: nil)
        for c in containers { appArmor(c.node["securityContext"], container: c.name) }
        for (k, v) in pod.annotations?.mapping ?? [:] {
            guard let key = k.string, key.hasPrefix("container.apparmor.security.beta.kubernetes.io/"), let val = v.string else { continue }
            if val != "runtime/default", !val.hasPrefix("localhost/") {
                add("apparmorprofile", "medium", v, container: String(key.split(separator: "/").last ?? ""), found: "\(key): \(val)", allowed: "runtime/default or localhost/*", fix: "set the annotation to runtime/default")
            }
        }
        func seLinux(_ sc: Node?, container: String?) {
            guard let o = sc?["seLinuxOptions"] else { return }
            let t = o["type"]?.string ?? ""
            if !seLinuxTypes.contains(t) || !(o["user"]?.string ?? "").isEmpty || !(o["role"]?.string ?? "").isEmpty {
                add("selinuxoptions", "medium", o, container: container, found: "seLinuxOptions type '\(t)' user '\(o["user"]?.string ?? "")' role '\(o["role"]?.string ?? "")'",
                    allowed: "type one of container_t, container_init_t, container_kvm_t, container_engine_t; no user or role", fix: "remove seLinuxOptions")
            }
        }
        seLinux(podSC, container: nil)
        for c in containers { seLinux(c.node["securityContext"], container: c.name) }
        func unconfined(_ sc: Node?, container: String?) {
            if sc?["seccompProfile"]?["type"]?.string == "Unconfined" {
                add("seccompprofile_baseline", "high", sc?["seccompProfile"], container: container, found: "seccompProfile.type: Unconfined", allowed: "RuntimeDefault or Localhost", fix: "set seccompProfile.type: RuntimeDefault")
            }
        }
        unconfined(podSC, container: nil)
        for c in containers { unconfined(c.node["securityContext"], container: c.name) }
        for s in podSC?["sysctls"]?.sequence ?? [] {
            if let n = s["name"]?.string, !safeSysctls.contains(n) {
                add("sysctls", "medium", s, found: "sysctl \(n)", allowed: "the safe set (" + safeSysctls.sorted().joined(separator: ", ") + ")", fix: "remove the sysctl")
            }
        }
        if podSC?["windowsOptions"]?["hostProcess"]?.bool == true {
            add("windowshostprocess", "critical", podSC?["windowsOptions"], found: "windowsOptions.hostProcess: true", allowed: "unset or false", fix: "remove hostProcess")
        }
        for c in containers where c.node["securityContext"]?["windowsOptions"]?["hostProcess"]?.bool == true {
            add("windowshostprocess", "critical", c.node["securityContext"]?["windowsOptions"], container: c.name, found: "windowsOptions.hostProcess: true", allowed: "unset or false", fix: "remove hostProcess")
        }
        guard level == .restricted else { return out }

        // Restricted
        for v in spec["volumes"]?.sequence ?? [] {
            let types = (v.mapping?.keys.compactMap(\.string) ?? []).filter { $0 != "name" }
            // hostPath is baseline's finding.
            let bad = types.filter { !restrictedVolumes.contains($0) && $0 != "hostPath" }
            if !bad.isEmpty {
                add("restrictedvolumes", "medium", v, found: "\(bad.joined(separator: ", ")) volume '\(v["name"]?.string ?? "")'", allowed: restrictedVolumes.sorted().joined(separator: ", "), fix: "use one of the allowed volume types")
            }
        }
        let podNonRoot = podSC?["runAsNonRoot"]?.bool
        if podSC?["runAsUser"]?.int == 0 {
            add("runasuser", "high", podSC?["runAsUser"], found: "runAsUser: 0", allowed: "a non-zero uid", fix: "set runAsUser to a non-zero uid")
        }
        var uncovered: [String] = []
        for c in containers {
            let sc = c.node["securityContext"]
            if sc?["runAsUser"]?.int == 0 {
                add("runasuser", "high", sc?["runAsUser"], container: c.name, found: "runAsUser: 0", allowed: "a non-zero uid", fix: "set runAsUser to a non-zero uid")
            }
            let nonRoot = sc?["runAsNonRoot"]?.bool
            if nonRoot == false || (nonRoot == nil && podNonRoot != true) { uncovered.append(c.name) }
        }
        if podNonRoot == false || !uncovered.isEmpty {
            add("runasnonroot", "high", podSC?["runAsNonRoot"] ?? podSC, container: uncovered.first, found: podNonRoot == false ? "runAsNonRoot: false" : "runAsNonRoot unset for \(uncovered.joined(separator: ", "))",
                allowed: "runAsNonRoot: true for the pod or every container", fix: "set securityContext.runAsNonRoot: true")
        }
        // Windows pods are exempt from the Linux-only restricted controls.
        guard !windows else { return out }
        for c in containers {
            let sc = c.node["securityContext"]
            // A privileged container escalates by definition, and Kubernetes refuses it with
            // allowPrivilegeEscalation: false, so an unset field is `privileged`'s finding alone. An
            // explicit allowPrivilegeEscalation: true is a second control broken, and reported.
            let sharedWithPrivileged = sc?["privileged"]?.bool == true && sc?["allowPrivilegeEscalation"] == nil
            if sc?["allowPrivilegeEscalation"]?.bool != false, !sharedWithPrivileged {
                let bare = sc == nil
                add("allowprivilegeescalation", "medium", sc ?? c.node, container: c.name,
                    found: bare ? "no securityContext" : "allowPrivilegeEscalation not false", allowed: "false",
                    fix: bare ? "add securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}" : "set allowPrivilegeEscalation: false")
            }
            // A container with no securityContext at all is one finding above, with both fixes.
            guard let sc else { continue }
            let caps = sc["capabilities"]
            let drops = caps?["drop"]?.sequence?.compactMap(\.string) ?? []
            // Capabilities outside the baseline set are baseline's finding.
            let adds = (caps?["add"]?.sequence?.compactMap(\.string) ?? []).filter { $0 != "NET_BIND_SERVICE" && baselineCapabilities.contains($0) }
            if !drops.contains("ALL") || !adds.isEmpty {
                let why = adds.contains("SYS_ADMIN") ? " (CAP_SYS_ADMIN grants most of root: mounts, namespaces, BPF)" : ""
                add("capabilities_restricted", adds.contains { !baselineCapabilities.contains($0) } ? "high" : "medium", caps ?? c.node, container: c.name,
                    found: !adds.isEmpty ? "adds \(adds.joined(separator: ", "))\(why)" : "capabilities.drop does not include ALL",
                    allowed: "drop ALL; add at most NET_BIND_SERVICE", fix: "set capabilities.drop: [ALL] and add back only NET_BIND_SERVICE if needed")
            }
        }
        // Seccomp must be set: at pod level, or on every container. Unconfined is baseline's finding.
        let podSeccomp = podSC?["seccompProfile"]?["type"]?.string
        for c in containers {
            let mine = c.node["securityContext"]?["seccompProfile"]?["type"]?.string
            if mine == nil && podSeccomp == nil {
                add("seccompprofile_restricted", "medium", c.node, container: c.name, found: "no seccompProfile", allowed: "RuntimeDefault or Localhost", fix: "set securityContext.seccompProfile.type: RuntimeDefault on the pod")
            } else if let t = mine ?? podSeccomp, t != "RuntimeDefault", t != "Localhost", t != "Unconfined" {
                add("seccompprofile_restricted", "medium", c.node, container: c.name, found: "seccompProfile.type: \(t)", allowed: "RuntimeDefault or Localhost", fix: "set seccompProfile.type: RuntimeDefault")
            }
        }
        return out
    }

    static func containers(_ spec: Node) -> [Container] {
        var out: [Container] = []
        for field in ["initContainers", "containers", "ephemeralContainers"] {
            for c in spec[field]?.sequence ?? [] { out.append(Container(node: c, name: c["name"]?.string ?? "?", field: field)) }
        }
        return out
    }
}
