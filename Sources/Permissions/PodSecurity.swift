import Foundation
import ProvenantCore
import Yams

/// A problem found in a deployment, with where it is and how to fix it.
///
/// Every text field can hold input text (names, images, paths, values), so each passes through
/// `Redactor.redact` whenever it is set, here and nowhere else: the table, JSON and SARIF renderers
/// can then never echo a credential an input holds.
public struct PolicyFinding: Sendable, Equatable, Codable {
    public var rule: String
    public var severity: String
    public var kind: String { didSet { kind = Redactor.redact(kind) } }
    public var name: String { didSet { name = Redactor.redact(name) } }
    public var container: String? { didSet { container = container.map(Redactor.redact) } }
    public var location: Location
    public var found: String { didSet { found = Redactor.redact(found) } }
    public var allowed: String { didSet { allowed = Redactor.redact(allowed) } }
    public var fix: String { didSet { fix = Redactor.redact(fix) } }
    /// Why the control exists: what the finding lets a workload do.
    public var because: String? = nil { didSet { because = because.map(Redactor.redact) } }

    public init(rule: String, severity: String, kind: String, name: String, container: String?, location: Location,
                found: String, allowed: String, fix: String, because: String? = nil) {
        self.rule = rule
        self.severity = severity
        self.kind = Redactor.redact(kind)
        self.name = Redactor.redact(name)
        self.container = container.map(Redactor.redact)
        self.location = location
        self.found = Redactor.redact(found)
        self.allowed = Redactor.redact(allowed)
        self.fix = Redactor.redact(fix)
        self.because = because.map(Redactor.redact)
    }
}

/// Pod Security Standards (Kubernetes v1.37), baseline and restricted. Where a restricted control
/// tightens a baseline one (capabilities, seccomp, procMount, volumes), a violation is named by the
/// lowest level it breaks: adding NET_RAW is `capabilities_baseline` at either level, and only what
/// baseline allows but restricted does not is the restricted control. Each violation is named once,
/// and every control a workload breaks is named: one `PodSecurityControl` value per control
/// (PodSecurityControls.swift), each run on its own.
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
        /// A StatefulSet's `volumeClaimTemplates`: each pod gets a claim `<template>-<set>-<ordinal>`.
        public var claimTemplates: [Node] = []

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

    /// Every control, baseline first. Each runs on its own, so a workload gets every control it breaks.
    static let controls: [any PodSecurityControl] = [
        HostNamespaces(), Privileged(), CapabilitiesBaseline(), HostPorts(), HostProbesAndLifecycle(), ProcMountBaseline(), HostPathVolumes(),
        AppArmorProfile(), SELinuxOptions(), SeccompBaseline(), Sysctls(), WindowsHostProcess(),
        RestrictedVolumes(), RunAsNonRoot(), RunAsUser(), AllowPrivilegeEscalation(), CapabilitiesRestricted(), SeccompRestricted(), ProcMountRestricted(),
    ]

    public static func check(_ pod: PodSpec, level: Level) -> [PolicyFinding] {
        let context = PodContext(pod, level: level)
        return controls.filter { $0.level == .baseline || level == .restricted }.flatMap { $0.findings(context) }
    }

    static func containers(_ spec: Node) -> [Container] {
        var out: [Container] = []
        for field in ["initContainers", "containers", "ephemeralContainers"] {
            for c in spec[field]?.sequence ?? [] { out.append(Container(node: c, name: c["name"]?.string ?? "?", field: field)) }
        }
        return out
    }
}
