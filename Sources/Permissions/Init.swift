import Foundation
import Yams

/// Drafts an agent manifest from existing deployments: it records what the workloads hold today,
/// so `policy check` against it is clean, and the user tightens it from there.
public enum ManifestDrafter {
    public static func draft(pods: [PodSecurity.PodSpec], objects: Workloads.Objects, environments: [String: String], sources: [String]) -> String {
        var images = Set<String>(), unpinned = Set<String>(), read = Set<String>(), write = Set<String>(), caps = Set<String>()
        var secrets: [String: Set<String>] = [:], scripts: [String: Set<String>] = [:]
        var uids = Set<Int>(), root = false, api: [String: Set<String>] = [:], cidrs: [String: Set<Int>] = [:], dns = false
        for pod in pods {
            let spec = pod.spec
            var volumes: [String: Node] = [:]
            for v in spec["volumes"]?.sequence ?? [] { if let n = v["name"]?.string { volumes[n] = v } }
            for v in volumes.values { if let p = v["hostPath"]?["path"]?.string { read.insert(p) } }
            let podSC = spec["securityContext"]
            for c in PodSecurity.containers(spec) {
                if let i = c.node["image"]?.string { if i.contains("@sha256:") { images.insert(i) } else { unpinned.insert(i) } }
                let sc = c.node["securityContext"]
                for cap in sc?["capabilities"]?["add"]?.sequence?.compactMap(\.string) ?? [] { caps.insert(PodSecurity.bareCapability(cap)) }
                let uid = sc?["runAsUser"]?.int ?? podSC?["runAsUser"]?.int
                let nonRoot = sc?["runAsNonRoot"]?.bool ?? podSC?["runAsNonRoot"]?.bool
                if let u = uid, u != 0 { uids.insert(u) }
                if uid == 0 || (nonRoot != true && uid == nil) { root = true }
                for vm in c.node["volumeMounts"]?.sequence ?? [] {
                    guard let mp = vm["mountPath"]?.string else { continue }
                    let vol = vm["name"]?.string.flatMap { volumes[$0] }
                    if let s = vol?["secret"]?["secretName"]?.string { secrets[s, default: []].formUnion([]); continue }
                    if vol?["configMap"] != nil || vol?["projected"] != nil || vol?["downwardAPI"] != nil { continue }
                    if vm["readOnly"]?.bool == true { read.insert(mp) } else { write.insert(mp) }
                }
                for e in c.node["env"]?.sequence ?? [] {
                    if let ref = e["valueFrom"]?["secretKeyRef"], let s = ref["name"]?.string { secrets[s, default: []].insert(ref["key"]?.string ?? "") }
                }
                for ef in c.node["envFrom"]?.sequence ?? [] { if let s = ef["secretRef"]?["name"]?.string { secrets[s, default: []].formUnion([]) } }
                let words = ((c.node["command"]?.sequence ?? []) + (c.node["args"]?.sequence ?? [])).compactMap(\.string)
                    .flatMap { $0.split(whereSeparator: { $0 == " " || $0 == ";" || $0 == "&" || $0 == "|" }) }
                for w in words where w.hasSuffix(".sh") || w.hasSuffix(".py") {
                    scripts[String(w.split(separator: "/").last ?? w), default: []].insert(environments[pod.namespace] ?? "production")
                }
            }
            // RBAC bound to the service account, recorded as declared access.
            let sa = spec["serviceAccountName"]?.string ?? "default"
            for bd in objects.bindings {
                let b = bd.node
                guard (b["subjects"]?.sequence ?? []).contains(where: { $0["kind"]?.string == "ServiceAccount" && $0["name"]?.string == sa }),
                      let roleName = b["roleRef"]?["name"]?.string else { continue }
                for rd in objects.roles where rd.node["metadata"]?["name"]?.string == roleName {
                    for rule in rd.node["rules"]?.sequence ?? [] {
                        let verbs = rule["verbs"]?.sequence?.compactMap(\.string) ?? []
                        for r in rule["resources"]?.sequence?.compactMap(\.string) ?? [] { api[r, default: []].formUnion(verbs) }
                    }
                }
            }
            for npd in objects.networkPolicies where (npd.node["metadata"]?["namespace"]?.string ?? "default") == pod.namespace {
                for rule in npd.node["spec"]?["egress"]?.sequence ?? [] {
                    let ports = (rule["ports"]?.sequence ?? []).compactMap { $0["port"]?.int }
                    if !ports.isEmpty && ports.allSatisfy({ $0 == 53 }) { dns = true; continue }
                    for peer in rule["to"]?.sequence ?? [] { if let c = peer["ipBlock"]?["cidr"]?.string { cidrs[c, default: []].formUnion(ports) } }
                }
            }
        }
        func list(_ s: some Collection<String>) -> String { "[" + s.sorted().joined(separator: ", ") + "]" }
        var y = ["# Drafted by `provenant policy init` from \(sources.joined(separator: ", ")).",
                 "# It records what the deployment holds today: tighten it, then check with `provenant policy check --manifest`.",
                 "apiVersion: provenant.dev/v1", "kind: Agent", "name: \(pods.first?.name ?? "agent")"]
        if !images.isEmpty { y.append("images:"); y += images.sorted().map { "  - \($0)" } }
        for i in unpinned.sorted() { y.append("# TODO pin by digest and list under images: \(i)") }
        y.append("filesystem:"); y.append("  read: \(list(read))"); y.append("  write: \(list(write))")
        if !cidrs.isEmpty {
            y.append("egress:")
            for (c, ports) in cidrs.sorted(by: { $0.key < $1.key }) { y.append("  - cidr: \(c)" + (ports.isEmpty ? "" : "\n    ports: \(list(ports.map(String.init)))")) }
        }
        y.append("dns: \(dns)")
        y.append("capabilities: \(list(caps))")
        if root { y.append("user:\n  nonRoot: false") } else { y.append("user:\n  nonRoot: true" + (uids.count == 1 ? uids.first.map { "\n  uid: \($0)" } ?? "" : "")) }
        if !secrets.isEmpty {
            y.append("secrets:")
            for (s, keys) in secrets.sorted(by: { $0.key < $1.key }) {
                let k = keys.filter { !$0.isEmpty }
                y.append("  - secret: \(s)" + (k.isEmpty ? "" : "\n    keys: \(list(k))"))
            }
        }
        if !api.isEmpty {
            y.append("kubernetes:")
            for (r, verbs) in api.sorted(by: { $0.key < $1.key }) { y.append("  - verbs: \(list(verbs))\n    resources: [\(r)]") }
        }
        if !scripts.isEmpty {
            y.append("scripts:")
            for (s, envs) in scripts.sorted(by: { $0.key < $1.key }) { y.append("  \(s): \(list(envs))") }
        }
        return y.joined(separator: "\n") + "\n"
    }
}
