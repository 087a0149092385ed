import Foundation
import ProvenantCore
import Yams

/// What a workload's service account may do through RBAC, and where its pods may send traffic,
/// compared with the manifest.
public enum AccessCheck {
    public static func check(_ pod: PodSecurity.PodSpec, manifest m: AgentManifest, objects: Workloads.Objects) -> [PolicyFinding] {
        var out: [PolicyFinding] = []
        func add(_ rule: String, _ severity: String, _ node: Node?, file: String? = nil, found: String, allowed: String, fix: String) {
            out.append(pod.finding("manifest:" + rule, severity, at: node, file: file, container: nil, found: found, allowed: allowed, fix: fix))
        }
        let sa = pod.spec["serviceAccountName"]?.string ?? pod.spec["serviceAccount"]?.string ?? "default"
        let declared = Set(m.kubernetes.flatMap { a in a.resources.flatMap { r in a.verbs.map { "\(r)|\($0)" } } })

        // Roles bound to this pod's service account, in its namespace or cluster-wide.
        for bd in objects.bindings {
            let b = bd.node
            let subjects = b["subjects"]?.sequence ?? []
            let bound = subjects.contains { s in
                s["kind"]?.string == "ServiceAccount" && s["name"]?.string == sa
                    && (s["namespace"]?.string ?? b["metadata"]?["namespace"]?.string ?? "default") == pod.namespace
            }
            guard bound, let roleName = b["roleRef"]?["name"]?.string else { continue }
            let roleKind = b["roleRef"]?["kind"]?.string ?? "Role"
            let roles = objects.roles.filter { rd in
                let r = rd.node
                return
                r["kind"]?.string == roleKind && r["metadata"]?["name"]?.string == roleName
                    && (roleKind == "ClusterRole" || (r["metadata"]?["namespace"]?.string ?? "default") == (b["metadata"]?["namespace"]?.string ?? "default"))
            }
            for rd in roles {
                let role = rd.node, file = rd.file
                for rule in role["rules"]?.sequence ?? [] {
                    let verbs = rule["verbs"]?.sequence?.compactMap(\.string) ?? []
                    let resources = rule["resources"]?.sequence?.compactMap(\.string) ?? []
                    let groups = rule["apiGroups"]?.sequence?.compactMap(\.string) ?? []
                    let what = "\(roleKind) \(roleName) grants [\(verbs.joined(separator: ", "))] on [\(resources.joined(separator: ", "))]"
                    if verbs.contains("*") || resources.contains("*") || groups.contains("*") {
                        add("rbac-wildcard", "high", rule, file: file, found: what, allowed: "the declared API access only", fix: "list the exact verbs, resources and apiGroups")
                        continue
                    }
                    for r in resources {
                        for v in verbs where !declared.contains("\(r)|\(v)") {
                            let (id, sev) = r == "secrets" ? ("rbac-secrets", "high") : r == "pods/exec" ? ("rbac-exec", "high") : ("rbac-excess", "medium")
                            add(id, sev, rule, file: file, found: "\(roleKind) \(roleName) grants \(v) on \(r)",
                                allowed: m.kubernetes.isEmpty ? "no API access" : m.kubernetes.map { "\($0.verbs.joined(separator: ",")) on \($0.resources.joined(separator: ","))" }.joined(separator: "; "),
                                fix: "remove \(v) on \(r) from the role, or declare it under kubernetes in the manifest")
                        }
                    }
                }
            }
        }

        // Egress: a NetworkPolicy must select the pod and allow no more than the manifest declares.
        let podLabels = Dictionary((pod.labels?.mapping ?? [:]).compactMap { k, v in k.string.flatMap { ks in v.string.map { (ks, $0) } } }, uniquingKeysWith: { a, _ in a })
        // A policy applies when it is in the pod's namespace and its labels are a subset of the pod's
        // (Cilium labels may carry the `k8s:` source prefix).
        func applies(_ d: Workloads.Objects.Doc, _ selector: Node?) -> Bool {
            (d.node["metadata"]?["namespace"]?.string ?? "default") == pod.namespace
                && (selector?["matchLabels"]?.mapping ?? [:]).allSatisfy { k, v in
                    k.string.map { podLabels[$0.hasPrefix("k8s:") ? String($0.dropFirst(4)) : $0] == v.string } ?? false
                }
        }
        let selecting = objects.networkPolicies.filter { d in
            (d.node["spec"]?["policyTypes"]?.sequence?.compactMap(\.string).contains("Egress") ?? (d.node["spec"]?["egress"] != nil))
                && applies(d, d.node["spec"]?["podSelector"])
        }
        let ciliumSelecting = objects.ciliumPolicies.filter { d in d.node["spec"]?["egress"] != nil && applies(d, d.node["spec"]?["endpointSelector"]) }
        if selecting.isEmpty && ciliumSelecting.isEmpty {
            add("egress-unrestricted", "high", pod.spec, found: "no NetworkPolicy or CiliumNetworkPolicy restricts this workload's egress",
                allowed: m.egress.isEmpty ? "no egress" : m.egress.map { ($0.host ?? $0.cidr ?? "") + ($0.ports.isEmpty ? "" : ":" + $0.ports.map(String.init).joined(separator: ",")) }.joined(separator: "; "),
                fix: "apply the NetworkPolicy from `provenant policy generate`")
        }
        let cidrs = Set(m.egress.compactMap(\.cidr))
        let hosts = Set(m.egress.compactMap(\.host))
        let ports = Set(m.egress.flatMap(\.ports))
        // Findings both policy kinds share.
        func dns(_ rule: Node, _ file: String, _ what: String) {
            if !m.dns { add("egress-excess", "medium", rule, file: file, found: "egress to \(what) (DNS)", allowed: "no DNS", fix: "remove the DNS rule, or declare dns: true") }
        }
        func noDestination(_ rule: Node, _ file: String, fix: String) {
            add("egress-excess", "high", rule, file: file, found: "an egress rule with no destination allows every address", allowed: "declared destinations", fix: fix)
        }
        func cidr(_ c: String, _ node: Node?, _ file: String, fix: String) {
            guard !cidrs.contains(c) else { return }
            add("egress-excess", c == "0.0.0.0/0" || c == "::/0" ? "high" : "medium", node, file: file, found: "egress to \(c)", allowed: cidrs.isEmpty ? "no CIDRs" : cidrs.sorted().joined(separator: ", "), fix: fix)
        }
        func undeclaredPorts(_ rulePorts: [Int], _ rule: Node, _ file: String) {
            for p in rulePorts where !ports.isEmpty && !ports.contains(p) {
                add("egress-excess", "medium", rule, file: file, found: "egress to port \(p)", allowed: "ports " + ports.sorted().map(String.init).joined(separator: ", "), fix: "remove port \(p)")
            }
        }
        for d in ciliumSelecting {
            let file = d.file
            for rule in d.node["spec"]?["egress"]?.sequence ?? [] {
                let rulePorts = (rule["toPorts"]?.sequence ?? []).flatMap { ($0["ports"]?.sequence ?? []).compactMap { $0["port"]?.string.flatMap { Int($0) } ?? $0["port"]?.int } }
                let endpoints = rule["toEndpoints"]?.sequence ?? []
                let toDNS = !endpoints.isEmpty && endpoints.allSatisfy { $0["matchLabels"]?["k8s-app"]?.string == "kube-dns" }
                if toDNS, !rulePorts.isEmpty, rulePorts.allSatisfy({ $0 == 53 }) { dns(rule, file, "kube-dns"); continue }
                let targets = ["toFQDNs", "toCIDR", "toCIDRSet", "toEndpoints", "toEntities", "toServices", "toGroups", "toRequires", "toNodes"].filter { rule[$0] != nil }
                if targets.isEmpty { noDestination(rule, file, fix: "add toFQDNs or toCIDR with the declared destinations"); continue }
                for f in rule["toFQDNs"]?.sequence ?? [] {
                    if let n = f["matchName"]?.string, !hosts.contains(n) {
                        add("egress-excess", "medium", f, file: file, found: "egress to \(n)", allowed: hosts.isEmpty ? "no host names" : hosts.sorted().joined(separator: ", "), fix: "remove \(n), or declare it under egress")
                    } else if let p = f["matchPattern"]?.string, !hosts.contains(p) {
                        add("egress-excess", p == "*" ? "high" : "medium", f, file: file, found: "egress to names matching \(p)", allowed: hosts.isEmpty ? "no host names" : hosts.sorted().joined(separator: ", "), fix: "use matchName for each declared host")
                    }
                }
                let ruleCIDRs = (rule["toCIDR"]?.sequence ?? []).compactMap(\.string) + (rule["toCIDRSet"]?.sequence ?? []).compactMap { $0["cidr"]?.string }
                for c in ruleCIDRs { cidr(c, rule, file, fix: "narrow toCIDR to a declared CIDR") }
                for t in targets where ["toEndpoints", "toEntities", "toServices", "toGroups", "toNodes"].contains(t) {
                    let entities = (rule["toEntities"]?.sequence ?? []).compactMap(\.string)
                    add("egress-excess", entities.contains { ["world", "all"].contains($0) } ? "high" : "medium", rule[t], file: file,
                        found: t == "toEntities" ? "egress to entities \(entities.joined(separator: ", "))" : "egress by \(t)", allowed: "declared destinations", fix: "use toFQDNs or toCIDR for the declared destinations")
                }
                undeclaredPorts(rulePorts, rule, file)
            }
        }
        for npd in selecting {
            let np = npd.node, file = npd.file
            for rule in np["spec"]?["egress"]?.sequence ?? [] {
                let to = rule["to"]?.sequence ?? []
                let rulePorts = (rule["ports"]?.sequence ?? []).compactMap { $0["port"]?.int }
                let dnsOnly = !rulePorts.isEmpty && rulePorts.allSatisfy { $0 == 53 }
                if dnsOnly { dns(rule, file, "port 53"); continue }
                if to.isEmpty { noDestination(rule, file, fix: "add `to:` with the declared ipBlocks"); continue }
                for peer in to {
                    // 192.0.2.0/24 (TEST-NET-1) is the placeholder `generate` writes for a host name: it matches nothing.
                    if let c = peer["ipBlock"]?["cidr"]?.string {
                        if !c.hasPrefix("192.0.2.") { cidr(c, peer, file, fix: "narrow the ipBlock to a declared CIDR") }
                    } else {
                        add("egress-excess", "medium", peer, file: file, found: "egress to selected pods or namespaces", allowed: "declared destinations", fix: "use ipBlocks for the declared destinations")
                    }
                }
                undeclaredPorts(rulePorts, rule, file)
            }
        }
        return out
    }
}
