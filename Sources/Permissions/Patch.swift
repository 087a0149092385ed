import Foundation
import Yams

/// The smallest strategic-merge patch per workload that applies the manifest's least-privilege
/// settings: only fields whose current value differs are written.
public enum PolicyPatch {
    public static func patches(for pods: [PodSecurity.PodSpec], manifest m: AgentManifest) -> String {
        var out: [String] = []
        let uid = m.uid ?? 10001
        let caps = m.capabilities.sorted()
        for pod in pods {
            let spec = pod.spec
            var podFields: [(String, Node)] = []
            let psc = spec["securityContext"]
            var pscFields: [(String, Node)] = []
            // Not with uid 0 (a manifest that allows root): the kubelet would not start the pod.
            if psc?["runAsNonRoot"]?.bool != true, uid != 0 { pscFields.append(("runAsNonRoot", YAMLTree.bool(true))) }
            if psc?["runAsUser"]?.int != uid { pscFields.append(("runAsUser", YAMLTree.int(uid))) }
            if psc?["seccompProfile"]?["type"]?.string != "RuntimeDefault" && psc?["seccompProfile"]?["type"]?.string != "Localhost" {
                pscFields.append(("seccompProfile", YAMLTree.map([("type", .str("RuntimeDefault"))])))
            }
            if psc?["appArmorProfile"]?["type"]?.string == "Unconfined" {
                pscFields.append(("appArmorProfile", YAMLTree.map([("type", .str("RuntimeDefault"))])))
            }
            if !pscFields.isEmpty { podFields.append(("securityContext", YAMLTree.map(pscFields))) }
            if m.kubernetes.isEmpty, spec["automountServiceAccountToken"]?.bool != false { podFields.append(("automountServiceAccountToken", YAMLTree.bool(false))) }
            for f in ["hostNetwork", "hostPID", "hostIPC"] where spec[f]?.bool == true { podFields.append((f, YAMLTree.bool(false))) }
            for field in ["initContainers", "containers"] {
                var items: [Node] = []
                for c in spec[field]?.sequence ?? [] {
                    let sc = c["securityContext"]
                    var l: [(String, Node)] = []
                    if sc?["privileged"]?.bool == true { l.append(("privileged", YAMLTree.bool(false))) }
                    if sc?["allowPrivilegeEscalation"]?.bool != false { l.append(("allowPrivilegeEscalation", YAMLTree.bool(false))) }
                    if sc?["readOnlyRootFilesystem"]?.bool != true { l.append(("readOnlyRootFilesystem", YAMLTree.bool(true))) }
                    let drops = sc?["capabilities"]?["drop"]?.sequence?.compactMap(\.string) ?? []
                    let adds = (sc?["capabilities"]?["add"]?.sequence?.compactMap(\.string) ?? []).map(PodSecurity.bareCapability).sorted()
                    // Strategic merge replaces primitive lists, so these two become exactly the manifest's.
                    if !drops.contains("ALL") || adds != caps {
                        l.append(("capabilities", YAMLTree.map([("drop", YAMLTree.seq([.str("ALL")])), ("add", YAMLTree.seq(caps.map { .str($0) }))])))
                    }
                    if let pm = sc?["procMount"]?.string, pm != "Default" { l.append(("procMount", .str("Default"))) }
                    // A container's own settings override the pod's: root, or no confinement, set here
                    // stayed after the pod-level patch (found by helper-105).
                    if let u = sc?["runAsUser"], u.int != uid { l.append(("runAsUser", YAMLTree.int(uid))) }
                    if sc?["runAsNonRoot"]?.bool == false, uid != 0 { l.append(("runAsNonRoot", YAMLTree.bool(true))) }
                    if let t = sc?["seccompProfile"]?["type"]?.string, t != "RuntimeDefault", t != "Localhost" {
                        l.append(("seccompProfile", YAMLTree.map([("type", .str("RuntimeDefault"))])))
                    }
                    if sc?["appArmorProfile"]?["type"]?.string == "Unconfined" {
                        l.append(("appArmorProfile", YAMLTree.map([("type", .str("RuntimeDefault"))])))
                    }
                    guard !l.isEmpty, let name = c["name"]?.string else { continue }
                    items.append(YAMLTree.map([("name", .str(name)), ("securityContext", YAMLTree.map(l))]))
                }
                if !items.isEmpty { podFields.append((field, YAMLTree.seq(items, flow: false))) }
            }
            let header = "# \(comment(pod.kind))/\(comment(pod.name)) (\(comment(pod.file)))"
            guard !podFields.isEmpty else { out.append(header + ": already least-privilege, no change\n"); continue }
            let body = YAMLTree.map(podFields)
            let wrapped = pod.kind == "Pod" ? YAMLTree.map([("spec", body)])
                : pod.kind == "CronJob" ? YAMLTree.map([("spec", YAMLTree.map([("jobTemplate", YAMLTree.map([("spec", YAMLTree.map([("template", YAMLTree.map([("spec", body)]))]))]))]))])
                : YAMLTree.map([("spec", YAMLTree.map([("template", YAMLTree.map([("spec", body)]))]))])
            out.append(header + ": kubectl patch \(comment(pod.kind.lowercased())) \(comment(pod.name)) -n \(comment(pod.namespace)) --type strategic --patch-file <this document>\n"
                       + YAMLTree.documents([wrapped]))
        }
        return out.joined(separator: "---\n")
    }

    /// Input text in a YAML comment: one line, control characters escaped.
    static func comment(_ s: String) -> String { AgentManifest.printable(s) }
}
