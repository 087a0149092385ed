import Foundation
import Yams

/// Least-privilege deployment configuration from an agent manifest. Every document is a YAML node
/// tree written by the YAML serializer: a manifest value is always one scalar, whatever characters
/// it holds, and can never add a key.
public enum PolicyGenerator {
    /// Which egress policy to write. Kubernetes NetworkPolicy selects by address only, so a declared
    /// host name fails closed there (a placeholder that matches nothing); Cilium's policy names hosts.
    public enum NetworkPolicyFlavor: String, Sendable, CaseIterable { case kubernetes, cilium }

    /// Whether `namespace` can name a Kubernetes namespace (a DNS-1123 label).
    public static func isNamespace(_ namespace: String) -> Bool { FieldSyntax.isDNSLabel(namespace) }

    /// The egress guard as a sidecar: `provenant guard proxy` beside the agent, reading the manifest
    /// from a ConfigMap, with the agent's HTTP(S)_PROXY pointed at it.
    public struct GuardSidecar: Sendable {
        /// The image that holds `provenant`, pinned by digest.
        public var image: String
        /// The manifest's own text, put in the ConfigMap the guard reads.
        public var manifestText: String
        public var port: Int
        public init(image: String, manifestText: String, port: Int = 3128) { self.image = image; self.manifestText = manifestText; self.port = port }
    }

    /// A Deployment, ServiceAccount, egress policy and (when API access is declared) Role and
    /// RoleBinding, as multi-document YAML. With `guardSidecar`, also the guard container and its ConfigMap.
    public static func kubernetes(_ m: AgentManifest, namespace: String = "default", networkPolicy: NetworkPolicyFlavor = .kubernetes,
                                  guardSidecar: GuardSidecar? = nil) -> String {
        let name = m.name
        let uid = m.uid ?? 10001
        let automount = YAMLTree.bool(!m.kubernetes.isEmpty)
        func metadata(_ n: String) -> Node { YAMLTree.map([("name", .str(n)), ("namespace", .str(namespace))]) }
        var docs: [Node] = []
        docs.append(YAMLTree.map([("apiVersion", .str("v1")), ("kind", .str("ServiceAccount")), ("metadata", metadata(name)),
                                  ("automountServiceAccountToken", automount)]))
        var volumes: [Node] = [], mounts: [Node] = []
        for (i, path) in m.write.enumerated() {
            volumes.append(YAMLTree.map([("name", .str("write-\(i)")), ("emptyDir", YAMLTree.map([], flow: true))]))
            mounts.append(YAMLTree.map([("name", .str("write-\(i)")), ("mountPath", .str(path))]))
        }
        // One volume per Secret, whatever the number of entries naming it (two mounts at one path are
        // refused by the API server), with only the declared keys as items when every entry names keys:
        // a volume without items grants every key (both found by helper-80).
        var secretNames: [String] = []
        for s in m.secrets { if let n = s.secret, !secretNames.contains(n) { secretNames.append(n) } }
        for (i, secret) in secretNames.enumerated() {
            let entries = m.secrets.filter { $0.secret == secret }
            var source: [(String, Node)] = [("secretName", .str(secret))]
            if !entries.contains(where: { $0.keys.isEmpty }) {
                let keys = Array(Set(entries.flatMap(\.keys))).sorted()
                source.append(("items", YAMLTree.seq(keys.map { YAMLTree.map([("key", .str($0)), ("path", .str($0))], flow: true) }, flow: false)))
            }
            volumes.append(YAMLTree.map([("name", .str("secret-\(i)")), ("secret", YAMLTree.map(source))]))
            mounts.append(YAMLTree.map([("name", .str("secret-\(i)")), ("mountPath", .str("/var/run/secrets/" + secret)), ("readOnly", YAMLTree.bool(true))]))
        }
        var capabilities: [(String, Node)] = [("drop", YAMLTree.seq([.str("ALL")]))]
        if !m.capabilities.isEmpty { capabilities.append(("add", YAMLTree.seq(m.capabilities.sorted().map { .str($0) }))) }
        var container: [(String, Node)] = [
            ("name", .str(name)),
            ("image", .str(m.images.first ?? "IMAGE@sha256:REPLACE_WITH_DIGEST")),
            ("securityContext", YAMLTree.map([("allowPrivilegeEscalation", YAMLTree.bool(false)), ("readOnlyRootFilesystem", YAMLTree.bool(true)),
                                              ("capabilities", YAMLTree.map(capabilities))])),
        ]
        if !mounts.isEmpty { container.append(("volumeMounts", YAMLTree.seq(mounts, flow: false))) }
        var containers = [YAMLTree.map(container)]
        if let g = guardSidecar {
            // The agent's HTTP clients go through the guard on loopback; the pod's egress policy below
            // still limits the pod (guard included) to the declared destinations and DNS, and
            // `guard exec --proxy` inside the agent's image keeps the agent's own TCP connects on the proxy port.
            let proxyURL = "http://127.0.0.1:\(g.port)"
            let env = ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"].map { YAMLTree.map([("name", .str($0)), ("value", .str(proxyURL))]) }
                + ["NO_PROXY", "no_proxy"].map { YAMLTree.map([("name", .str($0)), ("value", .str("localhost,127.0.0.1"))]) }
            containers[0] = YAMLTree.map(container + [("env", YAMLTree.seq(env, flow: false))])
            volumes.append(YAMLTree.map([("name", .str("provenant-guard")), ("configMap", YAMLTree.map([("name", .str("\(name)-guard"))]))]))
            containers.append(YAMLTree.map([
                ("name", .str("provenant-guard")),
                ("image", .str(g.image)),
                ("args", YAMLTree.seq(["guard", "proxy", "--manifest", "/etc/provenant/agent.yaml", "--listen", "127.0.0.1:\(g.port)", "--audit", "-"].map { .str($0) }, flow: false)),
                ("securityContext", YAMLTree.map([("allowPrivilegeEscalation", YAMLTree.bool(false)), ("readOnlyRootFilesystem", YAMLTree.bool(true)),
                                                  ("capabilities", YAMLTree.map([("drop", YAMLTree.seq([.str("ALL")]))]))])),
                ("volumeMounts", YAMLTree.seq([YAMLTree.map([("name", .str("provenant-guard")), ("mountPath", .str("/etc/provenant")), ("readOnly", YAMLTree.bool(true))])], flow: false)),
            ]))
            docs.append(YAMLTree.map([("apiVersion", .str("v1")), ("kind", .str("ConfigMap")), ("metadata", metadata("\(name)-guard")),
                                      ("data", YAMLTree.map([("agent.yaml", .str(g.manifestText))]))]))
        }
        var podSpec: [(String, Node)] = [
            ("serviceAccountName", .str(name)),
            ("automountServiceAccountToken", automount),
            // runAsNonRoot with uid 0 (a manifest that allows root) is a pod the kubelet will not start.
            ("securityContext", YAMLTree.map([("runAsNonRoot", YAMLTree.bool(uid != 0)), ("runAsUser", YAMLTree.int(uid)), ("runAsGroup", YAMLTree.int(uid)),
                                              ("seccompProfile", YAMLTree.map([("type", .str("RuntimeDefault"))]))])),
            ("containers", YAMLTree.seq(containers, flow: false)),
        ]
        if !volumes.isEmpty { podSpec.append(("volumes", YAMLTree.seq(volumes, flow: false))) }
        let labels = YAMLTree.map([("app", .str(name))])
        docs.append(YAMLTree.map([
            ("apiVersion", .str("apps/v1")), ("kind", .str("Deployment")), ("metadata", metadata(name)),
            ("spec", YAMLTree.map([
                ("selector", YAMLTree.map([("matchLabels", labels)])),
                ("template", YAMLTree.map([("metadata", YAMLTree.map([("labels", labels)])), ("spec", YAMLTree.map(podSpec))])),
            ])),
        ]))
        docs.append(networkPolicy == .cilium ? ciliumPolicy(m, name: name, namespace: namespace) : networkPolicyDoc(m, name: name, namespace: namespace))
        if !m.kubernetes.isEmpty {
            let rules = m.kubernetes.map { a in
                YAMLTree.map([("apiGroups", YAMLTree.seq([.str("")])), ("resources", YAMLTree.seq(a.resources.map { .str($0) })),
                              ("verbs", YAMLTree.seq(a.verbs.map { .str($0) }))])
            }
            let rbac = "rbac.authorization.k8s.io/v1"
            docs.append(YAMLTree.map([("apiVersion", .str(rbac)), ("kind", .str("Role")), ("metadata", metadata(name)), ("rules", YAMLTree.seq(rules, flow: false))]))
            docs.append(YAMLTree.map([
                ("apiVersion", .str(rbac)), ("kind", .str("RoleBinding")), ("metadata", metadata(name)),
                ("roleRef", YAMLTree.map([("apiGroup", .str("rbac.authorization.k8s.io")), ("kind", .str("Role")), ("name", .str(name))])),
                ("subjects", YAMLTree.seq([YAMLTree.map([("kind", .str("ServiceAccount")), ("name", .str(name)), ("namespace", .str(namespace))])], flow: false)),
            ]))
        }
        return YAMLTree.documents(docs)
    }

    /// The address `generate` writes for a declared host name in a plain NetworkPolicy: TEST-NET-1,
    /// which matches nothing, so the policy fails closed until the address range is filled in.
    static let placeholderCIDR = "192.0.2.0/32"

    static func networkPolicyDoc(_ m: AgentManifest, name: String, namespace: String) -> Node {
        var egress: [Node] = []
        if m.dns {
            egress.append(YAMLTree.map([
                ("to", YAMLTree.seq([YAMLTree.map([("namespaceSelector", YAMLTree.map([("matchLabels", YAMLTree.map([("kubernetes.io/metadata.name", .str("kube-system"))]))])),
                                                   ("podSelector", YAMLTree.map([("matchLabels", YAMLTree.map([("k8s-app", .str("kube-dns"))]))]))])], flow: false)),
                ("ports", YAMLTree.seq([YAMLTree.map([("protocol", .str("UDP")), ("port", YAMLTree.int(53))], flow: true),
                                        YAMLTree.map([("protocol", .str("TCP")), ("port", YAMLTree.int(53))], flow: true)], flow: false)),
            ]))
        }
        var placeholders: [String] = []
        for e in m.egress {
            if let h = e.host { placeholders.append(h) }
            var rule: [(String, Node)] = [("to", YAMLTree.seq([YAMLTree.map([("ipBlock", YAMLTree.map([("cidr", .str(e.cidr ?? placeholderCIDR))]))])], flow: false))]
            if !e.ports.isEmpty {
                rule.append(("ports", YAMLTree.seq(e.ports.map { YAMLTree.map([("protocol", .str(e.proto)), ("port", YAMLTree.int($0))], flow: true) }, flow: false)))
            } else {
                // Every port of the declared protocol: a rule without ports allows every protocol (found by helper-80).
                rule.append(("ports", YAMLTree.seq([YAMLTree.map([("protocol", .str(e.proto))], flow: true)], flow: false)))
            }
            egress.append(YAMLTree.map(rule))
        }
        var meta: [(String, Node)] = [("name", .str(name + "-egress")), ("namespace", .str(namespace))]
        if !placeholders.isEmpty {
            // A NetworkPolicy cannot name hosts: say which placeholder stands for which host.
            meta.append(("annotations", YAMLTree.map([("provenant.dev/replace-placeholder",
                .str("\(placeholderCIDR) stands for " + placeholders.joined(separator: ", ") + "; replace it with their address ranges, or use --network-policy cilium"))])))
        }
        return YAMLTree.map([
            ("apiVersion", .str("networking.k8s.io/v1")), ("kind", .str("NetworkPolicy")), ("metadata", YAMLTree.map(meta)),
            ("spec", YAMLTree.map([("podSelector", YAMLTree.map([("matchLabels", YAMLTree.map([("app", .str(name))]))])),
                                   ("policyTypes", YAMLTree.seq([.str("Egress")])), ("egress", YAMLTree.seq(egress, flow: egress.isEmpty ? true : false))])),
        ])
    }

    /// A CiliumNetworkPolicy (cilium.io/v2): host names by `toFQDNs`, CIDRs by `toCIDR`, and DNS to
    /// kube-dns through Cilium's DNS proxy, which is how it learns the addresses the names resolve to.
    static func ciliumPolicy(_ m: AgentManifest, name: String, namespace: String) -> Node {
        var egress: [Node] = []
        // An entry without ports is every port of its protocol: port "0" with the protocol. Without
        // toPorts the rule allowed every protocol (found by helper-84).
        func ports(_ e: AgentManifest.Egress) -> [(String, Node)] {
            [("toPorts", YAMLTree.seq([YAMLTree.map([("ports", YAMLTree.seq((e.ports.isEmpty ? [0] : e.ports).map {
                YAMLTree.map([("port", .str(String($0))), ("protocol", .str(e.proto))], flow: true)
            }, flow: false))])], flow: false))]
        }
        if m.dns {
            egress.append(YAMLTree.map([
                ("toEndpoints", YAMLTree.seq([YAMLTree.map([("matchLabels", YAMLTree.map([("k8s:io.kubernetes.pod.namespace", .str("kube-system")), ("k8s-app", .str("kube-dns"))]))])], flow: false)),
                ("toPorts", YAMLTree.seq([YAMLTree.map([
                    ("ports", YAMLTree.seq([YAMLTree.map([("port", .str("53")), ("protocol", .str("ANY"))], flow: true)], flow: false)),
                    ("rules", YAMLTree.map([("dns", YAMLTree.seq([YAMLTree.map([("matchPattern", .str("*"))])], flow: false))])),
                ])], flow: false)),
            ]))
        }
        for e in m.egress {
            if let h = e.host { egress.append(YAMLTree.map([("toFQDNs", YAMLTree.seq([YAMLTree.map([("matchName", .str(h))])], flow: false))] + ports(e))) }
            if let c = e.cidr { egress.append(YAMLTree.map([("toCIDR", YAMLTree.seq([.str(c)], flow: false))] + ports(e))) }
        }
        return YAMLTree.map([
            ("apiVersion", .str("cilium.io/v2")), ("kind", .str("CiliumNetworkPolicy")),
            ("metadata", YAMLTree.map([("name", .str(name + "-egress")), ("namespace", .str(namespace))])),
            ("spec", YAMLTree.map([("endpointSelector", YAMLTree.map([("matchLabels", YAMLTree.map([("app", .str(name))]))])),
                                   ("egress", YAMLTree.seq(egress, flow: egress.isEmpty ? true : false))])),
        ])
    }

    /// A docker-compose service with the same restrictions.
    public static func compose(_ m: AgentManifest) -> String {
        let uid = m.uid ?? 10001
        var svc: [(String, Node)] = [
            ("image", .str(m.images.first ?? "IMAGE@sha256:REPLACE_WITH_DIGEST")),
            ("user", .str("\(uid):\(uid)")),
            ("read_only", YAMLTree.bool(true)),
            ("cap_drop", YAMLTree.seq([.str("ALL")])),
        ]
        if !m.capabilities.isEmpty { svc.append(("cap_add", YAMLTree.seq(m.capabilities.sorted().map { .str($0) }))) }
        svc.append(("security_opt", YAMLTree.seq([.str("no-new-privileges:true")])))
        // The long form: a path is only ever the target, never a place for tmpfs options.
        if !m.write.isEmpty {
            svc.append(("volumes", YAMLTree.seq(m.write.map { YAMLTree.map([("type", .str("tmpfs")), ("target", .str($0))], flow: true) }, flow: false)))
        }
        // Compose has no egress policy: with no egress declared the service gets no network; with
        // some, only an internal network, which reaches the declared destinations through an egress
        // proxy the user attaches to it (fail closed until then, like the placeholder CIDR).
        var top: [(String, Node)] = []
        if m.egress.isEmpty {
            svc.append(("network_mode", .str("none")))
            top.append(("services", YAMLTree.map([(m.name, YAMLTree.map(svc))])))
        } else {
            let destinations = m.egress.map(\.label)
            svc.append(("networks", YAMLTree.seq([.str("egress")])))
            top.append(("services", YAMLTree.map([(m.name, YAMLTree.map(svc))])))
            top.append(("networks", YAMLTree.map([("egress", YAMLTree.map([("internal", YAMLTree.bool(true))]))])))
            top.append(("x-provenant-egress", .str("network egress is internal: the declared egress (\(destinations.joined(separator: "; "))) is reached "
                + "only through an egress proxy attached to it and to an outside network, such as `provenant guard proxy --manifest` with this manifest")))
        }
        return YAMLTree.documents([YAMLTree.map(top)])
    }
}

/// Building YAML node trees for the serializer. A string is always a string scalar: when its plain
/// form would read back as something else (`true`, `10001`, `null`), it is quoted.
enum YAMLTree {
    static func str(_ s: String) -> Node {
        let plain = Resolver.default.resolveTag(of: Node(s)) == .str
        return Node(s, Tag(.str), plain ? .any : .doubleQuoted)
    }
    static func int(_ i: Int) -> Node { Node(String(i), Tag(.int)) }
    static func bool(_ b: Bool) -> Node { Node(b ? "true" : "false", Tag(.bool)) }
    static func map(_ pairs: [(String, Node)], flow: Bool = false) -> Node {
        Node(pairs.map { (str($0.0), $0.1) }, Tag(.map), flow ? .flow : .block)
    }
    /// Lists of scalars are written in flow style (`[ALL]`), lists of mappings in block style.
    static func seq(_ items: [Node], flow: Bool = true) -> Node { Node(items, Tag(.seq), flow ? .flow : .block) }

    /// Documents separated by `---`, each through the serializer. A node tree built here always
    /// serializes; should the emitter ever refuse, the output is an empty document, never raw text.
    static func documents(_ docs: [Node]) -> String {
        docs.map { (try? Yams.serialize(node: $0, width: -1)) ?? "{}\n" }.joined(separator: "---\n")
    }
}

extension Node {
    /// A string scalar (see `YAMLTree.str`).
    static func str(_ s: String) -> Node { YAMLTree.str(s) }
}
