import Foundation
import Permissions

/// What `provenant policy` reads: the agent manifest, Kubernetes and compose YAML, OCI configs.
enum PermissionTargets {
    static let all: [FuzzTarget] = [
        FuzzTarget("agent-manifest", "provenant.agent.yaml, then `policy generate` from it") { bytes in
            guard let m = Scratch.withFile(bytes, target: "agent-manifest", as: "provenant.agent.yaml", { path, _ in
                try? AgentManifest.load(path)
            }) else { return }
            _ = PolicyGenerator.kubernetes(m, namespace: "default", networkPolicy: .kubernetes)
            _ = PolicyGenerator.kubernetes(m, namespace: "default", networkPolicy: .cilium)
            _ = PolicyGenerator.compose(m)
        },
        FuzzTarget("k8s", "Kubernetes YAML, with every `policy check` and `policy patch` check") { bytes in
            Scratch.withFile(bytes, target: "k8s", as: "workload.yaml") { path, _ in check(path) }
        },
        FuzzTarget("compose", "a docker-compose file, with every `policy check` check") { bytes in
            Scratch.withFile(bytes, target: "compose", as: "compose.yaml") { path, _ in check(path) }
        },
        FuzzTarget("oci-config", "an OCI runtime config.json") { bytes in
            Scratch.withFile(bytes, target: "oci-config", as: "config.json") { path, _ in _ = try? RuntimeConfigs.ociConfig(path) }
        },
    ]

    /// The checks `policy check --manifest` runs, in its order, against a fixed manifest.
    static func check(_ path: String) {
        guard let input = try? Workloads.collect([path]) else { return }
        var findings: [PolicyFinding] = []
        for c in input.objects.compose { findings += RuntimeConfigs.compose(c.node, file: c.file) }
        for pod in input.pods {
            for level in PodSecurity.Level.allCases { findings += PodSecurity.check(pod, level: level) }
            findings += Hygiene.check(pod) + ClaimedHostPaths.check(pod, objects: input.objects, manifest: manifest)
            if let m = manifest {
                findings += ManifestCheck.check(pod, manifest: m, environment: input.environments[pod.namespace] ?? "production",
                                                serviceAccounts: input.objects.serviceAccounts)
                findings += AccessCheck.check(pod, manifest: m, objects: input.objects)
            }
        }
        if let m = manifest { _ = PolicyPatch.patches(for: input.pods, manifest: m) }
        _ = findings.count
    }

    /// A manifest declaring a little of everything, so each manifest check has something to compare.
    static let manifest: AgentManifest? = {
        let text = """
            apiVersion: provenant.dev/v1
            kind: Agent
            name: collector
            images: ["ghcr.io/acme/collector@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"]
            filesystem:
              read: [/etc/collector]
              write: [/var/lib/collector]
            egress:
              - host: api.example.com
                ports: [443]
            dns: true
            capabilities: [NET_BIND_SERVICE]
            user:
              nonRoot: true
              uid: 10001
            secrets:
              - secret: collector-creds
                keys: [token]
            kubernetes:
              - verbs: [get, list]
                resources: [configmaps]
            scripts:
              cleanup.sh: [test, staging]

            """
        return Scratch.withFile(Array(text.utf8), target: "fixed-manifest", as: "provenant.agent.yaml") { path, _ in
            try? AgentManifest.load(path)
        }
    }()
}
