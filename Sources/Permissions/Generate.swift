import Foundation

/// Least-privilege deployment configuration from an agent manifest.
public enum PolicyGenerator {
    /// Which egress policy to write. Kubernetes NetworkPolicy selects by address only, so a declared
    /// host name fails closed there (a placeholder that matches nothing); Cilium's policy names hosts.
    public enum NetworkPolicyFlavor: String, Sendable, CaseIterable { case kubernetes, cilium }

    /// A Deployment, ServiceAccount, egress policy and (when API access is declared) Role and
    /// RoleBinding, as multi-document YAML.
    public static func kubernetes(_ m: AgentManifest, namespace: String = "default", networkPolicy: NetworkPolicyFlavor = .kubernetes) -> String {
        let name = m.name
        let uid = m.uid ?? 10001
        var docs: [String] = []
        docs.append("""
            apiVersion: v1
            kind: ServiceAccount
            metadata:
              name: \(name)
              namespace: \(namespace)
            automountServiceAccountToken: \(m.kubernetes.isEmpty ? "false" : "true")
            """)
        var volumes: [String] = [], mounts: [String] = []
        for (i, path) in m.write.enumerated() {
            volumes.append("        - name: write-\(i)\n          emptyDir: {}")
            mounts.append("        - name: write-\(i)\n          mountPath: \(path)")
        }
        for (i, s) in m.secrets.enumerated() {
            guard let secret = s.secret else { continue }
            volumes.append("        - name: secret-\(i)\n          secret:\n            secretName: \(secret)")
            mounts.append("        - name: secret-\(i)\n          mountPath: /var/run/secrets/\(secret)\n          readOnly: true")
        }
        let caps = m.capabilities.sorted()
        let image = m.images.first ?? "IMAGE@sha256:REPLACE_WITH_DIGEST"
        docs.append("""
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: \(name)
              namespace: \(namespace)
            spec:
              selector:
                matchLabels:
                  app: \(name)
              template:
                metadata:
                  labels:
                    app: \(name)
                spec:
                  serviceAccountName: \(name)
                  automountServiceAccountToken: \(m.kubernetes.isEmpty ? "false" : "true")
                  securityContext:
                    runAsNonRoot: true
                    runAsUser: \(uid)
                    runAsGroup: \(uid)
                    seccompProfile:
                      type: RuntimeDefault
                  containers:
                  - name: \(name)
                    image: \(image)
                    securityContext:
                      allowPrivilegeEscalation: false
                      readOnlyRootFilesystem: true
                      capabilities:
                        drop: [ALL]\(caps.isEmpty ? "" : "\n            add: [\(caps.joined(separator: ", "))]")
            """ + (mounts.isEmpty ? "" : "\n        volumeMounts:\n" + mounts.joined(separator: "\n"))
            + (volumes.isEmpty ? "" : "\n      volumes:\n" + volumes.joined(separator: "\n")))
        docs.append(networkPolicy == .cilium ? ciliumPolicy(m, name: name, namespace: namespace) : networkPolicyDoc(m, name: name, namespace: namespace))
        if !m.kubernetes.isEmpty {
            let rules = m.kubernetes.map { a in
                "- apiGroups: [\"\"]\n  resources: [\(a.resources.joined(separator: ", "))]\n  verbs: [\(a.verbs.joined(separator: ", "))]"
            }.joined(separator: "\n")
            docs.append("""
                apiVersion: rbac.authorization.k8s.io/v1
                kind: Role
                metadata:
                  name: \(name)
                  namespace: \(namespace)
                rules:
                \(rules)
                """)
            docs.append("""
                apiVersion: rbac.authorization.k8s.io/v1
                kind: RoleBinding
                metadata:
                  name: \(name)
                  namespace: \(namespace)
                roleRef:
                  apiGroup: rbac.authorization.k8s.io
                  kind: Role
                  name: \(name)
                subjects:
                - kind: ServiceAccount
                  name: \(name)
                  namespace: \(namespace)
                """)
        }
        return docs.joined(separator: "\n---\n") + "\n"
    }

    static func networkPolicyDoc(_ m: AgentManifest, name: String, namespace: String) -> String {
        var egress: [String] = []
        if m.dns {
            egress.append("""
                  - to:
                    - namespaceSelector: {}
                      podSelector:
                        matchLabels:
                          k8s-app: kube-dns
                    ports:
                    - {protocol: UDP, port: 53}
                    - {protocol: TCP, port: 53}
                """)
        }
        for e in m.egress {
            // NetworkPolicy selects by address; a host name is written as a placeholder that matches
            // nothing, so the policy fails closed until the address range is filled in (or use --network-policy cilium).
            let peer = e.cidr.map { "    - ipBlock:\n        cidr: \($0)" }
                ?? "    - ipBlock:\n        cidr: 192.0.2.0/32  # \(e.host ?? ""): replace with its address range"
            let ports = e.ports.map { "    - {protocol: \(e.proto), port: \($0)}" }.joined(separator: "\n")
            egress.append("  - to:\n" + peer + (ports.isEmpty ? "" : "\n    ports:\n" + ports))
        }
        return """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata:
              name: \(name)-egress
              namespace: \(namespace)
            spec:
              podSelector:
                matchLabels:
                  app: \(name)
              policyTypes: [Egress]
              egress:\(egress.isEmpty ? " []" : "\n" + egress.joined(separator: "\n"))
            """
    }

    /// A CiliumNetworkPolicy (cilium.io/v2): host names by `toFQDNs`, CIDRs by `toCIDR`, and DNS to
    /// kube-dns through Cilium's DNS proxy, which is how it learns the addresses the names resolve to.
    static func ciliumPolicy(_ m: AgentManifest, name: String, namespace: String) -> String {
        var egress: [String] = []
        func ports(_ e: AgentManifest.Egress) -> String {
            e.ports.isEmpty ? "" : "\n    toPorts:\n    - ports:\n" + e.ports.map { "      - {port: \"\($0)\", protocol: \(e.proto)}" }.joined(separator: "\n")
        }
        if m.dns {
            egress.append("""
                  - toEndpoints:
                    - matchLabels:
                        k8s:io.kubernetes.pod.namespace: kube-system
                        k8s-app: kube-dns
                    toPorts:
                    - ports:
                      - {port: "53", protocol: ANY}
                      rules:
                        dns:
                        - matchPattern: "*"
                """)
        }
        for e in m.egress {
            if let h = e.host { egress.append("  - toFQDNs:\n    - matchName: \(h)" + ports(e)) }
            if let c = e.cidr { egress.append("  - toCIDR:\n    - \(c)" + ports(e)) }
        }
        return """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata:
              name: \(name)-egress
              namespace: \(namespace)
            spec:
              endpointSelector:
                matchLabels:
                  app: \(name)
              egress:\(egress.isEmpty ? " []" : "\n" + egress.joined(separator: "\n"))
            """
    }

    /// A docker-compose service with the same restrictions.
    public static func compose(_ m: AgentManifest) -> String {
        let uid = m.uid ?? 10001
        var lines = ["services:", "  \(m.name):", "    image: \(m.images.first ?? "IMAGE@sha256:REPLACE_WITH_DIGEST")",
                     "    user: \"\(uid):\(uid)\"", "    read_only: true", "    cap_drop: [ALL]"]
        if !m.capabilities.isEmpty { lines.append("    cap_add: [\(m.capabilities.sorted().joined(separator: ", "))]") }
        lines.append("    security_opt: [\"no-new-privileges:true\"]")
        if !m.write.isEmpty { lines.append("    tmpfs:"); lines += m.write.map { "      - \($0)" } }
        return lines.joined(separator: "\n") + "\n"
    }
}
