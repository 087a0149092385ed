import Foundation
import ProvenantCore
import Yams

/// What a workload's service account may do through RBAC, and where its pods may send traffic,
/// compared with the manifest. Each control is one value; every control runs, so every excess is named.
public enum AccessCheck {
    static let controls: [any AccessControl] = [RoleBindingGrants(), EgressRestricted(), NetworkPolicyEgress(), CiliumEgress()]

    /// `roles`: the objects' roles by kind and name, built once for many pods (built here when not given).
    public static func check(_ pod: PodSecurity.PodSpec, manifest m: AgentManifest, objects: Workloads.Objects, roles: RoleIndex? = nil) -> [PolicyFinding] {
        let c = AccessContext(pod: pod, manifest: m, objects: objects, roles: roles ?? RoleIndex(objects))
        return controls.flatMap { $0.findings(c) }
    }
}

/// Roles and ClusterRoles by kind and name. A binding's role was found by scanning every role, for every
/// binding of every pod: a 152 KB file of 200 pods, bindings and roles took 81 s (found by helper-105).
public struct RoleIndex {
    let byKindAndName: [String: [Workloads.Objects.Doc]]
    /// The objects each workload is held against, found by what can concern it rather than walked
    /// whole for each: 1,000 pods beside 1,000 RoleBindings and NetworkPolicies of other namespaces
    /// took over a minute (found by helper-233).
    /// Bindings (their indexes, in file order) by each subject key they name (`subjectKey`).
    let bindingsBySubject: [String: [Int]]
    /// Network and Cilium policies by namespace, in file order.
    let networkPoliciesByNamespace: [String: [Workloads.Objects.Doc]], ciliumPoliciesByNamespace: [String: [Workloads.Objects.Doc]]

    public init(_ objects: Workloads.Objects) {
        var index: [String: [Workloads.Objects.Doc]] = [:]
        for rd in objects.roles {
            guard let kind = rd.node["kind"]?.string, let name = rd.node["metadata"]?["name"]?.string else { continue }
            index[kind + "\u{0}" + name, default: []].append(rd)
        }
        byKindAndName = index
        var bySubject: [String: [Int]] = [:]
        for (i, bd) in objects.bindings.enumerated() {
            let bindingNS = bd.node["metadata"]?["namespace"]?.setName ?? "default"
            var keys = Set<String>()
            for s in bd.node["subjects"]?.sequence ?? [] {
                let name = s["name"]?.string ?? ""
                switch s["kind"]?.string {
                case "ServiceAccount": keys.insert(Self.subjectKey("ServiceAccount", s["namespace"]?.setName ?? bindingNS, name))
                case "User", "Group": keys.insert(Self.subjectKey(s["kind"]!.string!, "", name))
                default: break
                }
            }
            for k in keys { bySubject[k, default: []].append(i) }
        }
        bindingsBySubject = bySubject
        func byNamespace(_ docs: [Workloads.Objects.Doc]) -> [String: [Workloads.Objects.Doc]] {
            Dictionary(grouping: docs) { $0.node["metadata"]?["namespace"]?.setName ?? "default" }
        }
        networkPoliciesByNamespace = byNamespace(objects.networkPolicies)
        ciliumPoliciesByNamespace = byNamespace(objects.ciliumPolicies)
    }
    func roles(kind: String, name: String) -> [Workloads.Objects.Doc] { byKindAndName[kind + "\u{0}" + name] ?? [] }

    static func subjectKey(_ kind: String, _ namespace: String, _ name: String) -> String { kind + "\u{0}" + namespace + "\u{0}" + name }

    /// The bindings, in file order, with a subject that may name service account `sa` of `namespace`
    /// (`RBACExcess.names` decides): every other binding names it nowhere.
    func bindings(naming sa: String, in namespace: String, of objects: Workloads.Objects) -> [Workloads.Objects.Doc] {
        let keys = [Self.subjectKey("ServiceAccount", namespace, sa), Self.subjectKey("User", "", "system:serviceaccount:\(namespace):\(sa)"),
                    Self.subjectKey("Group", "", "system:serviceaccounts"), Self.subjectKey("Group", "", "system:serviceaccounts:\(namespace)"),
                    Self.subjectKey("Group", "", "system:authenticated")]
        return Set(keys.flatMap { bindingsBySubject[$0] ?? [] }).sorted().map { objects.bindings[$0] }
    }
}

/// One access control: the findings for one workload, each with the reason it matters.
protocol AccessControl: Sendable {
    func findings(_ c: AccessContext) -> [PolicyFinding]
}

/// What the access controls read: the workload, its manifest, and the objects read alongside it.
struct AccessContext {
    var pod: PodSecurity.PodSpec
    var manifest: AgentManifest
    var objects: Workloads.Objects
    var serviceAccount: String
    var podLabels: [String: String]
    /// Egress policies in the pod's namespace whose selector selects it.
    var networkPolicies: [Workloads.Objects.Doc]
    var ciliumPolicies: [Workloads.Objects.Doc]
    /// Those that restrict the pod whichever of a name's definitions the cluster keeps: what says
    /// egress is restricted. The allow rules of every definition above are checked (helper-154).
    var restrictingNetworkPolicies: [Workloads.Objects.Doc]
    var restrictingCiliumPolicies: [Workloads.Objects.Doc]
    var roles: RoleIndex

    init(pod: PodSecurity.PodSpec, manifest: AgentManifest, objects: Workloads.Objects, roles: RoleIndex) {
        self.pod = pod; self.manifest = manifest; self.objects = objects; self.roles = roles
        serviceAccount = pod.spec["serviceAccountName"]?.setName ?? pod.spec["serviceAccount"]?.setName ?? "default"
        let labels = LabelSelector.labels(pod.labels)
        podLabels = labels
        let ns = pod.namespace
        func inNamespace(_ d: Workloads.Objects.Doc) -> Bool { (d.node["metadata"]?["namespace"]?.setName ?? "default") == ns }
        // Kubernetes defaults policyTypes (absent or empty) to Egress only when the egress list is
        // non-empty: `egress: []` restricts nothing. A name defined twice counts only when every
        // definition restricts: which one the cluster keeps depends on how the files are applied
        // (`apply` keeps the last, `create` and Helm the first; helper-152, helper-153).
        func restricts(_ d: Workloads.Objects.Doc) -> Bool {
            let types = d.node["spec"]?["policyTypes"]?.sequence?.compactMap(\.string) ?? []
            let egress = types.isEmpty ? (d.node["spec"]?["egress"]?.sequence?.isEmpty == false) : types.contains("Egress")
            return egress && inNamespace(d) && LabelSelector.selects(d.node["spec"]?["podSelector"], labels)
        }
        // Only the pod's namespace's: a policy elsewhere never restricts it, nor shares a key with one that does.
        let namespacePolicies = roles.networkPoliciesByNamespace[ns] ?? [], namespaceCilium = roles.ciliumPoliciesByNamespace[ns] ?? []
        networkPolicies = namespacePolicies.filter(restricts)
        restrictingNetworkPolicies = Self.everyDefinition(namespacePolicies, restricts)
        // Cilium selects by labels that may carry a source prefix, and knows the pod's namespace as a label.
        var ciliumLabels = labels
        ciliumLabels["io.kubernetes.pod.namespace"] = ns
        // Cilium denies by default only in a direction that has rules: an empty egress list does not apply.
        func ciliumSelects(_ d: Workloads.Objects.Doc) -> Bool {
            d.node["spec"]?["egress"]?.sequence?.isEmpty == false && inNamespace(d) && LabelSelector.selects(d.node["spec"]?["endpointSelector"], ciliumLabels)
        }
        ciliumPolicies = namespaceCilium.filter(ciliumSelects)
        // A Cilium policy with `enableDefaultDeny: {egress: false}` adds allowances without putting
        // the endpoint into default deny: by itself it restricts nothing (found by helper-124).
        // Every spelling kubectl's YAML reader (v2) takes for false, `n` included (helper-125).
        restrictingCiliumPolicies = Self.everyDefinition(namespaceCilium) { d in
            let allowsOnly = d.node["spec"]?["enableDefaultDeny"]?["egress"]?.string.map { ["false", "no", "off", "n"].contains($0.lowercased()) } == true
            return !allowsOnly && ciliumSelects(d)
        }
    }

    /// The definitions of each namespace and name for which `holds` is true of every definition of
    /// it: a name defined twice counts only when it would whichever definition the cluster keeps.
    static func everyDefinition(_ docs: [Workloads.Objects.Doc], _ holds: (Workloads.Objects.Doc) -> Bool) -> [Workloads.Objects.Doc] {
        func key(_ d: Workloads.Objects.Doc) -> String {
            (d.node["metadata"]?["namespace"]?.setName ?? "default") + "\u{0}" + (d.node["metadata"]?["name"]?.string ?? "")
        }
        var failing = Set<String>()
        for d in docs where !holds(d) { failing.insert(key(d)) }
        return docs.filter { !failing.contains(key($0)) }
    }

    func finding(_ rule: String, _ severity: String, _ node: Node?, file: String? = nil, found: String, allowed: String, fix: String, because: String) -> PolicyFinding {
        var f = pod.finding("manifest:" + rule, severity, at: node, file: file, container: nil, found: found, allowed: allowed, fix: fix)
        f.because = because
        return f
    }

    var declaredAccess: String {
        manifest.kubernetes.isEmpty ? "no API access" : manifest.kubernetes.map { "\($0.verbs.joined(separator: ",")) on \($0.resources.joined(separator: ","))" }.joined(separator: "; ")
    }
}

/// Kubernetes label selectors: `matchLabels` and `matchExpressions` (In, NotIn, Exists, DoesNotExist).
/// What a selector it cannot read means is the caller's to say, each failing closed its own way: a
/// policy it cannot read never counts as restricting (`whenUnreadable: false`), while a claim whose
/// selector it cannot read may still bind the volume (`true`).
enum LabelSelector {
    /// Label keys as Cilium writes them may carry a source prefix (`k8s:app`).
    static func bare(_ key: String) -> String {
        for p in ["k8s:", "any:"] where key.hasPrefix(p) { return String(key.dropFirst(p.count)) }
        return key
    }

    static func selects(_ selector: Node?, _ labels: [String: String], whenUnreadable: Bool = false) -> Bool {
        guard let selector else { return true }
        guard selector.mapping != nil else { return whenUnreadable }
        for (k, v) in selector["matchLabels"]?.mapping ?? [:] {
            guard let key = k.string, let want = v.string, labels[bare(key)] == want else { return false }
        }
        if let exprs = selector["matchExpressions"], exprs.sequence == nil, !whenUnreadable { return false }
        for e in selector["matchExpressions"]?.sequence ?? [] {
            guard let key = e["key"]?.string.map(bare), let op = e["operator"]?.string else {
                if whenUnreadable { continue } else { return false }
            }
            let values = e["values"]?.sequence?.compactMap(\.string) ?? []
            let have = labels[key]
            switch op {
            case "In": guard let have, values.contains(have) else { return false }
            case "NotIn": if let have, values.contains(have) { return false }
            case "Exists": guard have != nil else { return false }
            case "DoesNotExist": guard have == nil else { return false }
            default: if whenUnreadable { continue } else { return false }
            }
        }
        return true
    }

    /// A `metadata.labels` mapping as the selector reads it; values that are not strings are left out.
    static func labels(_ node: Node?) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in node?.mapping ?? [:] { if let k = k.string, let v = v.string { out[k] = v } }
        return out
    }
}

/// RBAC bound to the pod's service account, directly, through a group that holds it, or through
/// its user name; a binding to a role the checked files do not define cannot be checked, so it is
/// a finding (cluster-admin, admin and edit are known to be broad).
struct RoleBindingGrants: AccessControl {
    static let builtIn: [String: (String, String)] = [
        "cluster-admin": ("critical", "every verb on every resource in every namespace"),
        "admin": ("high", "read and write of most namespaced resources, Secrets and pods/exec included, and RoleBindings"),
        "edit": ("high", "read and write of most namespaced resources, Secrets and pods/exec included"),
        "view": ("medium", "read of most namespaced resources"),
    ]

    /// How `subject` names the pod's service account, or nil when it does not.
    static func names(_ s: Node, sa: String, namespace: String, bindingNamespace: String) -> String? {
        let name = s["name"]?.string ?? ""
        switch s["kind"]?.string {
        case "ServiceAccount":
            return name == sa && (s["namespace"]?.setName ?? bindingNamespace) == namespace ? "ServiceAccount \(name)" : nil
        case "User":
            return name == "system:serviceaccount:\(namespace):\(sa)" ? "User \(name)" : nil
        case "Group":
            return ["system:serviceaccounts", "system:serviceaccounts:\(namespace)", "system:authenticated"].contains(name) ? "Group \(name)" : nil
        default: return nil
        }
    }

    func findings(_ c: AccessContext) -> [PolicyFinding] {
        var out: [PolicyFinding] = []
        let declared = Set(c.manifest.kubernetes.flatMap { a in a.resources.flatMap { r in a.verbs.map { "\(r)|\($0)" } } })
        for bd in c.roles.bindings(naming: c.serviceAccount, in: c.pod.namespace, of: c.objects) {
            let b = bd.node
            let bindingNS = b["metadata"]?["namespace"]?.setName ?? "default"
            let bindingName = "\(b["kind"]?.string ?? "RoleBinding") \(b["metadata"]?["name"]?.string ?? "?")"
            guard let via = (b["subjects"]?.sequence ?? []).lazy.compactMap({ Self.names($0, sa: c.serviceAccount, namespace: c.pod.namespace, bindingNamespace: bindingNS) }).first,
                  let roleName = b["roleRef"]?["name"]?.string else { continue }
            let roleKind = b["roleRef"]?["kind"]?.string ?? "Role"
            let roles = c.roles.roles(kind: roleKind, name: roleName).filter { rd in
                roleKind == "ClusterRole" || (rd.node["metadata"]?["namespace"]?.setName ?? "default") == bindingNS
            }
            let through = via.hasPrefix("ServiceAccount") ? "" : " (through \(via), which includes this workload's service account)"
            if roles.isEmpty {
                let known = roleKind == "ClusterRole" ? Self.builtIn[roleName] : nil
                out.append(c.finding("rbac-unknown-role", known?.0 ?? "high", b["roleRef"], file: bd.file,
                                     found: "\(bindingName) binds \(roleKind) \(roleName)\(through), which the checked files do not define",
                                     allowed: c.declaredAccess, fix: "bind a Role that grants only the declared access, or check the file that defines \(roleName)",
                                     because: known.map { "the built-in \(roleName) grants \($0.1)" } ?? "its grants cannot be checked, and what is not checked is not clean"))
                continue
            }
            for rd in roles {
                let role = rd.node, file = rd.file
                if let agg = role["aggregationRule"] {
                    out.append(c.finding("rbac-aggregated", "high", agg, file: file, found: "ClusterRole \(roleName) is aggregated\(through)",
                                         allowed: c.declaredAccess, fix: "bind a ClusterRole with explicit rules",
                                         because: "its rules are whatever ClusterRoles in the cluster match its selectors, now or later"))
                }
                for rule in role["rules"]?.sequence ?? [] {
                    let verbs = rule["verbs"]?.sequence?.compactMap(\.string) ?? []
                    let resources = rule["resources"]?.sequence?.compactMap(\.string) ?? []
                    let groups = rule["apiGroups"]?.sequence?.compactMap(\.string) ?? []
                    let what = "\(roleKind) \(roleName) grants [\(verbs.joined(separator: ", "))] on [\(resources.joined(separator: ", "))]\(through)"
                    // `*/exec` is that subresource of every resource, as the API server matches it:
                    // pods/exec and any added later (found by helper-159).
                    if verbs.contains("*") || resources.contains(where: { $0 == "*" || $0.hasPrefix("*/") }) || groups.contains("*") {
                        out.append(c.finding("rbac-wildcard", "high", rule, file: file, found: what, allowed: "the declared API access only",
                                             fix: "list the exact verbs, resources and apiGroups", because: "a wildcard grants every verb or resource, including ones added later"))
                        continue
                    }
                    for u in rule["nonResourceURLs"]?.sequence?.compactMap(\.string) ?? [] {
                        out.append(c.finding("rbac-excess", "medium", rule, file: file, found: "\(roleKind) \(roleName) grants [\(verbs.joined(separator: ", "))] on URL \(u)\(through)",
                                             allowed: c.declaredAccess, fix: "remove nonResourceURLs from the role", because: "the manifest declares no non-resource URLs"))
                    }
                    for r in resources {
                        for v in verbs where !declared.contains("\(r)|\(v)") {
                            let (id, sev) = r == "secrets" ? ("rbac-secrets", "high") : r == "pods/exec" ? ("rbac-exec", "high") : ("rbac-excess", "medium")
                            out.append(c.finding(id, sev, rule, file: file, found: "\(roleKind) \(roleName) grants \(v) on \(r)\(through)", allowed: c.declaredAccess,
                                                 fix: "remove \(v) on \(r) from the role, or declare it under kubernetes in the manifest",
                                                 because: "the manifest does not declare \(v) on \(r)"))
                        }
                    }
                }
            }
        }
        return out
    }
}

/// Some egress policy must select the pod: without one, its egress is unrestricted.
struct EgressRestricted: AccessControl {
    func findings(_ c: AccessContext) -> [PolicyFinding] {
        // Cilium policies allowing without default deny restrict nothing (`AccessContext`); a name
        // defined twice restricts only when every definition does.
        let denying = c.restrictingCiliumPolicies
        guard c.restrictingNetworkPolicies.isEmpty, denying.isEmpty else { return [] }
        let m = c.manifest
        return [c.finding("egress-unrestricted", "high", c.pod.spec, found: "no NetworkPolicy or CiliumNetworkPolicy restricts this workload's egress" + (denying.count < c.ciliumPolicies.count ? " (a CiliumNetworkPolicy that selects it sets enableDefaultDeny.egress to false, or is defined again without restricting)" : ""),
                          allowed: m.egress.isEmpty ? "no egress" : m.egress.map(\.label).joined(separator: "; "),
                          fix: "apply the NetworkPolicy from `provenant policy generate`",
                          because: "a policy selects a pod only when its podSelector's matchLabels and matchExpressions all hold for the pod's labels")]
    }
}

/// One port entry of an egress rule.
struct EgressPort {
    var port: Int?
    var endPort: Int?
    /// A named port, or any other value that is not a number.
    var named: String?
    /// The entry names no port (`{protocol: UDP}`): every port of its protocols.
    var everyPort: Bool
    /// The protocols the entry allows: TCP when unset in a NetworkPolicy; in Cilium, unset or ANY is TCP and UDP.
    var protocols: [String]
    var node: Node

    /// `ports` (NetworkPolicy) or `toPorts[].ports` (Cilium) entries. Cilium writes ports as strings, and port 0 means every port.
    static func read(_ entries: [Node], defaultProtocol: String) -> [EgressPort] {
        entries.map { e in
            let raw = e["port"]
            let absent = raw == nil || raw?.null != nil
            let n = absent ? nil : raw?.int ?? raw?.string.flatMap { Int($0) }
            let proto = (e["protocol"]?.string ?? defaultProtocol).uppercased()
            return EgressPort(port: n, endPort: e["endPort"]?.int ?? e["endPort"]?.string.flatMap { Int($0) },
                              named: n == nil && !absent ? (raw?.string ?? "(not a port)") : nil, everyPort: absent,
                              protocols: proto == "ANY" ? ["TCP", "UDP"] : [proto], node: e)
        }
    }

    /// The protocols' names, for messages: `TCP` or `TCP and UDP`.
    var protocolText: String { protocols.joined(separator: " and ") }

    /// `443` for TCP alone, else `443/UDP`.
    func label(_ n: Int) -> String { protocols == ["TCP"] ? "\(n)" : protocols.map { "\(n)/\($0)" }.joined(separator: ", ") }

    var isDNS: Bool { port == 53 && (endPort == nil || endPort == 53) }
}

/// Findings both egress policy kinds share: destinations and ports beyond what the manifest declares.
extension AccessContext {
    var declaredCIDRs: Set<String> { Set(manifest.egress.compactMap(\.cidr)) }
    var declaredHosts: Set<String> { Set(manifest.egress.compactMap(\.host)) }

    /// The ports declared for destinations, as `PROTOCOL/port`, and `PROTOCOL/*` for an entry that
    /// names a protocol and no ports (every port of that protocol, and of no other).
    func declaredPorts(cidrs: [String] = [], hosts: [String] = []) -> Set<String> {
        let entries = manifest.egress.filter { e in e.cidr.map(cidrs.contains) ?? e.host.map(hosts.contains) ?? false }
        return Set(entries.flatMap { e in e.ports.isEmpty ? ["\(e.proto)/*"] : e.ports.map { "\(e.proto)/\($0)" } })
    }

    /// Ports of a rule to declared destinations, against the ports declared for them: a rule with no
    /// ports allows every port of every protocol, `endPort` widens a port to a range, and a named port
    /// is not resolved. A declared entry without ports allows every port of its one protocol only: a
    /// rule without ports against it allowed TCP where UDP was declared (found by helper-84).
    func portFindings(_ ports: [EgressPort], allowed declared: Set<String>, rule: Node, file: String, destination: String) -> [PolicyFinding] {
        let list = declared.isEmpty ? "no ports" : "ports " + declared.sorted().map { $0.hasSuffix("/*") ? "every " + $0.dropLast(2) + " port" : $0 }.joined(separator: ", ")
        let everyProtocol = ["TCP", "UDP", "SCTP"].allSatisfy { declared.contains("\($0)/*") }
        if ports.isEmpty {
            if everyProtocol { return [] }
            return [finding("egress-excess", "medium", rule, file: file, found: "egress to every port and protocol of \(destination)", allowed: list,
                            fix: "list the declared ports and protocol under the rule", because: "a rule without ports allows every port of every protocol")]
        }
        var out: [PolicyFinding] = []
        for p in ports {
            let everyPortOf = p.protocols.allSatisfy { declared.contains("\($0)/*") }
            if everyPortOf { continue }
            let allowed = { (n: Int) in p.protocols.allSatisfy { declared.contains("\($0)/\(n)") || declared.contains("\($0)/*") } }
            if p.everyPort {
                out.append(finding("egress-excess", "medium", p.node, file: file, found: "egress to every \(p.protocolText) port of \(destination)", allowed: list,
                                   fix: "write the declared port numbers", because: "a port entry without a port allows every port of its protocol"))
            } else if let name = p.named {
                out.append(finding("egress-excess", "medium", p.node, file: file, found: "egress to named port \(name)", allowed: list, fix: "write the port number",
                                   because: "a named port is resolved by each destination pod, so it can be any number"))
            } else if let n = p.port, n == 0 {
                out.append(finding("egress-excess", "medium", p.node, file: file, found: "egress to port 0 (every port)", allowed: list, fix: "write the declared port numbers",
                                   because: "port 0 allows every port"))
            } else if let n = p.port, let end = p.endPort, end != n {
                if !(min(n, end)...max(n, end)).allSatisfy(allowed) {
                    out.append(finding("egress-excess", "medium", p.node, file: file, found: "egress to ports \(n)-\(end)", allowed: list, fix: "remove endPort",
                                       because: "endPort widens the rule to a range of ports"))
                }
            } else if let n = p.port, !allowed(n) {
                out.append(finding("egress-excess", "medium", rule, file: file, found: "egress to port \(p.label(n))", allowed: list, fix: "remove port \(p.label(n))",
                                   because: "the manifest does not declare port \(p.label(n)) for \(destination)"))
            }
        }
        return out
    }

    func cidrFinding(_ cidr: String, _ node: Node?, _ file: String, fix: String) -> PolicyFinding? {
        guard !declaredCIDRs.contains(cidr) else { return nil }
        return finding("egress-excess", cidr == "0.0.0.0/0" || cidr == "::/0" ? "high" : "medium", node, file: file, found: "egress to \(cidr)",
                       allowed: declaredCIDRs.isEmpty ? "no CIDRs" : DeclaredList.text(declaredCIDRs.sorted()), fix: fix, because: "the manifest does not declare \(cidr)")
    }

    func dnsFinding(_ rule: Node, _ file: String, _ what: String) -> PolicyFinding? {
        manifest.dns ? nil : finding("egress-excess", "medium", rule, file: file, found: "egress to \(what) (DNS)", allowed: "no DNS",
                                     fix: "remove the DNS rule, or declare dns: true", because: "the manifest does not declare dns: true")
    }

    func noDestination(_ rule: Node, _ file: String, fix: String) -> PolicyFinding {
        finding("egress-excess", "high", rule, file: file, found: "an egress rule with no destination allows every address", allowed: "declared destinations",
                fix: fix, because: "a rule without destinations matches every address")
    }
}

/// Egress rules of the NetworkPolicies that select the pod.
struct NetworkPolicyEgress: AccessControl {
    /// A `to` peer that selects cluster DNS: pods labelled k8s-app: kube-dns, in kube-system (or, with
    /// no namespaceSelector, in the policy's own namespace). Anyone who may create a pod may label it
    /// kube-dns: `namespaceSelector: {}` or one naming another namespace would send the agent's port-53
    /// traffic to such a pod (found by helper-80).
    static func isKubeDNS(_ peer: Node) -> Bool {
        guard peer["ipBlock"] == nil, peer["podSelector"]?["matchLabels"]?["k8s-app"]?.string == "kube-dns" else { return false }
        guard let ns = peer["namespaceSelector"], ns.null == nil else { return true }
        return ns["matchExpressions"] == nil && ns["matchLabels"]?.mapping?.count == 1
            && ns["matchLabels"]?["kubernetes.io/metadata.name"]?.string == "kube-system"
    }

    func findings(_ c: AccessContext) -> [PolicyFinding] {
        var out: [PolicyFinding] = []
        for npd in c.networkPolicies {
            let file = npd.file
            for rule in npd.node["spec"]?["egress"]?.sequence ?? [] {
                let to = rule["to"]?.sequence ?? []
                let ports = EgressPort.read(rule["ports"]?.sequence.map { Array($0) } ?? [], defaultProtocol: "TCP")
                if !ports.isEmpty && ports.allSatisfy(\.isDNS) {
                    if let f = c.dnsFinding(rule, file, "port 53") { out.append(f); continue }
                    if to.isEmpty {
                        out.append(c.finding("egress-excess", "high", rule, file: file, found: "port 53 to every address (a DNS rule with no `to`)", allowed: "DNS to kube-dns",
                                             fix: "add `to:` selecting the kube-dns pods", because: "without `to`, the rule allows port 53 to the whole internet, a common exfiltration channel"))
                    }
                    for peer in to where !Self.isKubeDNS(peer) {
                        if let cidr = peer["ipBlock"]?["cidr"]?.string {
                            if let f = c.cidrFinding(cidr, peer, file, fix: "select the kube-dns pods instead") { out.append(f) }
                            // A declared address still has only its declared ports: port 53 to a CIDR
                            // declared for 443 passed (found by helper-124).
                            else { out += c.portFindings(ports, allowed: c.declaredPorts(cidrs: [cidr]), rule: rule, file: file, destination: cidr) }
                        } else {
                            out.append(c.finding("egress-excess", "medium", peer, file: file, found: "port 53 to pods other than kube-dns", allowed: "DNS to kube-dns",
                                                 fix: "select the kube-dns pods with podSelector matchLabels k8s-app: kube-dns and namespaceSelector matchLabels kubernetes.io/metadata.name: kube-system",
                                                 because: "the peer selects more than the cluster's DNS; any pod labelled kube-dns in another namespace would receive the queries"))
                        }
                    }
                    continue
                }
                if to.isEmpty { out.append(c.noDestination(rule, file, fix: "add `to:` with the declared ipBlocks")); continue }
                var declared: [String] = []
                for peer in to {
                    if let cidr = peer["ipBlock"]?["cidr"]?.string {
                        // The placeholder `generate` writes for a host name matches nothing.
                        if cidr == PolicyGenerator.placeholderCIDR { continue }
                        if let f = c.cidrFinding(cidr, peer, file, fix: "narrow the ipBlock to a declared CIDR") { out.append(f) } else { declared.append(cidr) }
                    } else {
                        out.append(c.finding("egress-excess", "medium", peer, file: file, found: "egress to selected pods or namespaces", allowed: "declared destinations",
                                             fix: "use ipBlocks for the declared destinations", because: "the manifest declares destinations by address"))
                    }
                }
                // Each destination against its own declared ports: the union let 203.0.113.0/24 (443)
                // and 198.51.100.0/24 (5432) in one rule open 5432 to the first (found by helper-124).
                for cidr in Array(Set(declared)).sorted() {
                    out += c.portFindings(ports, allowed: c.declaredPorts(cidrs: [cidr]), rule: rule, file: file, destination: cidr)
                }
            }
        }
        return out
    }
}

/// Egress rules of the CiliumNetworkPolicies that select the pod.
struct CiliumEgress: AccessControl {
    func findings(_ c: AccessContext) -> [PolicyFinding] {
        var out: [PolicyFinding] = []
        let hosts = c.declaredHosts
        for d in c.ciliumPolicies {
            let file = d.file
            for rule in d.node["spec"]?["egress"]?.sequence ?? [] {
                let ports = EgressPort.read((rule["toPorts"]?.sequence ?? []).flatMap { p -> [Node] in p["ports"]?.sequence.map { Array($0) } ?? [] }, defaultProtocol: "ANY")
                let endpoints = rule["toEndpoints"]?.sequence ?? []
                // Without a namespace label an endpoint selector stays in the policy's namespace; with
                // one, it must be kube-system.
                // Cilium's label sources (`k8s:`, `any:`) are read alike; any other label (a namespace's
                // own labels, `io.cilium.k8s.namespace.labels.*`) could select another namespace's pods
                // (found by review).
                let toDNS = !endpoints.isEmpty && endpoints.allSatisfy { e in
                    guard e["matchExpressions"] == nil, let labels = e["matchLabels"]?.mapping else { return false }
                    var app: String?
                    for (k, v) in labels {
                        guard let key = k.string else { return false }
                        let bare = key.hasPrefix("k8s:") ? String(key.dropFirst(4)) : key.hasPrefix("any:") ? String(key.dropFirst(4)) : key
                        switch bare {
                        case "k8s-app": app = v.string
                        case "io.kubernetes.pod.namespace": guard v.string == "kube-system" else { return false }
                        default: return false
                        }
                    }
                    return app == "kube-dns"
                }
                if toDNS, !ports.isEmpty, ports.allSatisfy(\.isDNS) {
                    if let f = c.dnsFinding(rule, file, "kube-dns") { out.append(f) }
                    continue
                }
                let targets = ["toFQDNs", "toCIDR", "toCIDRSet", "toEndpoints", "toEntities", "toServices", "toGroups", "toRequires", "toNodes"].filter { rule[$0] != nil }
                if targets.isEmpty { out.append(c.noDestination(rule, file, fix: "add toFQDNs or toCIDR with the declared destinations")); continue }
                var declaredHosts: [String] = [], declaredCIDRs: [String] = []
                for f in rule["toFQDNs"]?.sequence ?? [] {
                    if let n = f["matchName"]?.string {
                        if hosts.contains(n) { declaredHosts.append(n); continue }
                        out.append(c.finding("egress-excess", "medium", f, file: file, found: "egress to \(n)", allowed: hosts.isEmpty ? "no host names" : DeclaredList.text(hosts.sorted()),
                                             fix: "remove \(n), or declare it under egress", because: "the manifest does not declare \(n)"))
                    } else if let p = f["matchPattern"]?.string {
                        if hosts.contains(p) { declaredHosts.append(p); continue }
                        out.append(c.finding("egress-excess", p == "*" ? "high" : "medium", f, file: file, found: "egress to names matching \(p)",
                                             allowed: hosts.isEmpty ? "no host names" : DeclaredList.text(hosts.sorted()), fix: "use matchName for each declared host",
                                             because: "a pattern matches names the manifest does not declare"))
                    }
                }
                let ruleCIDRs = (rule["toCIDR"]?.sequence ?? []).compactMap(\.string) + (rule["toCIDRSet"]?.sequence ?? []).compactMap { $0["cidr"]?.string }
                // A CIDR set entry by group (`cidrGroupRef`, `cidrGroupSelector`) names addresses this
                // check cannot see: it was counted as a destination and then read as none, so a group
                // of 0.0.0.0/0 passed (found by helper-124).
                for entry in rule["toCIDRSet"]?.sequence ?? [] where entry["cidr"]?.string == nil {
                    out.append(c.finding("egress-excess", "high", entry, file: file, found: "egress to a CIDR group", allowed: "declared destinations",
                                         fix: "list the declared CIDRs under toCIDRSet[].cidr", because: "a group's addresses are not in this file, so they cannot be checked against the manifest"))
                }
                for cidr in ruleCIDRs {
                    if let f = c.cidrFinding(cidr, rule, file, fix: "narrow toCIDR to a declared CIDR") { out.append(f) } else { declaredCIDRs.append(cidr) }
                }
                for t in targets where ["toEndpoints", "toEntities", "toServices", "toGroups", "toNodes", "toRequires"].contains(t) {
                    let entities = (rule["toEntities"]?.sequence ?? []).compactMap(\.string)
                    out.append(c.finding("egress-excess", entities.contains { ["world", "all"].contains($0) } ? "high" : "medium", rule[t], file: file,
                                         found: t == "toEntities" ? "egress to entities \(entities.joined(separator: ", "))" : "egress by \(t)", allowed: "declared destinations",
                                         fix: "use toFQDNs or toCIDR for the declared destinations", because: "the manifest declares destinations by name or address"))
                }
                // Each destination against its own declared ports, as for NetworkPolicy (helper-124).
                for host in Array(Set(declaredHosts)).sorted() {
                    out += c.portFindings(ports, allowed: c.declaredPorts(hosts: [host]), rule: rule, file: file, destination: host)
                }
                for cidr in Array(Set(declaredCIDRs)).sorted() {
                    out += c.portFindings(ports, allowed: c.declaredPorts(cidrs: [cidr]), rule: rule, file: file, destination: cidr)
                }
            }
        }
        return out
    }
}
