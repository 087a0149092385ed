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
            var podLines: [String] = []
            let psc = spec["securityContext"]
            var pscLines: [String] = []
            if psc?["runAsNonRoot"]?.bool != true { pscLines.append("runAsNonRoot: true") }
            if psc?["runAsUser"]?.int != uid { pscLines.append("runAsUser: \(uid)") }
            if psc?["seccompProfile"]?["type"]?.string != "RuntimeDefault" && psc?["seccompProfile"]?["type"]?.string != "Localhost" {
                pscLines.append("seccompProfile:\n  type: RuntimeDefault")
            }
            if !pscLines.isEmpty { podLines.append("securityContext:\n" + indent(pscLines.joined(separator: "\n"), 2)) }
            if m.kubernetes.isEmpty, spec["automountServiceAccountToken"]?.bool != false { podLines.append("automountServiceAccountToken: false") }
            for f in ["hostNetwork", "hostPID", "hostIPC"] where spec[f]?.bool == true { podLines.append("\(f): false") }
            var containerLines: [String] = []
            for field in ["initContainers", "containers"] {
                var items: [String] = []
                for c in spec[field]?.sequence ?? [] {
                    let sc = c["securityContext"]
                    var l: [String] = []
                    if sc?["privileged"]?.bool == true { l.append("privileged: false") }
                    if sc?["allowPrivilegeEscalation"]?.bool != false { l.append("allowPrivilegeEscalation: false") }
                    if sc?["readOnlyRootFilesystem"]?.bool != true { l.append("readOnlyRootFilesystem: true") }
                    let drops = sc?["capabilities"]?["drop"]?.sequence?.compactMap(\.string) ?? []
                    let adds = (sc?["capabilities"]?["add"]?.sequence?.compactMap(\.string) ?? []).map(PodSecurity.bareCapability).sorted()
                    // Strategic merge replaces primitive lists, so these two become exactly the manifest's.
                    if !drops.contains("ALL") || adds != caps {
                        l.append("capabilities:\n  drop: [ALL]\n  add: [\(caps.joined(separator: ", "))]")
                    }
                    if let pm = sc?["procMount"]?.string, pm != "Default" { l.append("procMount: Default") }
                    guard !l.isEmpty, let name = c["name"]?.string else { continue }
                    items.append("- name: \(name)\n  securityContext:\n" + indent(l.joined(separator: "\n"), 4))
                }
                if !items.isEmpty { containerLines.append("\(field):\n" + items.joined(separator: "\n")) }
            }
            let all = podLines + containerLines
            guard !all.isEmpty else { out.append("# \(pod.kind)/\(pod.name) (\(pod.file)): already least-privilege, no change"); continue }
            let body = all.joined(separator: "\n")
            let wrapped = pod.kind == "Pod" ? "spec:\n" + indent(body, 2)
                : pod.kind == "CronJob" ? "spec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n" + indent(body, 10)
                : "spec:\n  template:\n    spec:\n" + indent(body, 6)
            out.append("# \(pod.kind)/\(pod.name) (\(pod.file)): kubectl patch \(pod.kind.lowercased()) \(pod.name) -n \(pod.namespace) --type strategic --patch-file <this document>\n" + wrapped)
        }
        return out.joined(separator: "\n---\n") + "\n"
    }

    static func indent(_ s: String, _ n: Int) -> String {
        let pad = String(repeating: " ", count: n)
        return s.split(separator: "\n", omittingEmptySubsequences: false).map { pad + $0 }.joined(separator: "\n")
    }
}
