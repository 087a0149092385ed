import Catalog
import Foundation
import Permissions

/// What `provenant policy` reads: the agent manifest, Kubernetes and compose YAML, OCI configs, and
/// the file capabilities of an image's files.
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
        FuzzTarget("k8s-json", "Kubernetes JSON as kubectl prints it, told apart from an OCI config by content, with every `policy check` check") { bytes in
            Scratch.withFile(bytes, target: "k8s-json", as: "workload.json") { path, _ in check(path) }
        },
        FuzzTarget("compose", "a docker-compose file, with every `policy check` check") { bytes in
            Scratch.withFile(bytes, target: "compose", as: "compose.yaml") { path, _ in check(path) }
        },
        FuzzTarget("compose-dotenv", "a compose project's .env, applied to a compose file that interpolates its variables") { bytes in
            Scratch.withFile(bytes, target: "compose-dotenv", as: ".env") { _, dir in
                let compose = (dir as NSString).appendingPathComponent("compose.yaml")
                _ = FileManager.default.createFile(atPath: compose, contents: Data(dotEnvCompose.utf8))
                check(compose)
            }
        },
        FuzzTarget("image-accounts", "an image's /etc/passwd and /etc/group, read as runc reads them") { bytes in
            for passwd in [true, false] {
                for e in ImagePolicy.accountEntries(bytes, passwd: passwd) {
                    // Ids are what the runtime stores: 32 bits. A name never holds the field or line separator.
                    precondition((0...Int(UInt32.max)).contains(e.id) && (e.gid.map { (0...Int(UInt32.max)).contains($0) } ?? !passwd), "id out of range")
                    precondition(!e.name.contains(UInt8(ascii: ":")) && !e.name.contains(10), "a name holds ':' or a line break")
                }
            }
        },
        FuzzTarget("oci-config", "an OCI runtime config.json") { bytes in
            Scratch.withFile(bytes, target: "oci-config", as: "config.json") { path, _ in _ = try? RuntimeConfigs.ociConfig(path) }
        },
        FuzzTarget("file-capability", "a security.capability extended attribute (vfs_cap_data), as `policy check IMAGE` decodes it") { bytes in
            guard let caps = try? FileCapabilities(xattr: bytes) else { return }
            // What was decoded must be what the bytes say: a size the revision allows, and every bit named once.
            precondition([1: 12, 2: 20, 3: 24][caps.revision] == bytes.count, "revision \(caps.revision) decoded from \(bytes.count) bytes")
            precondition((caps.rootID != nil) == (caps.revision == 3), "a root uid outside revision 3")
            precondition(caps.revision != 1 || caps.all >> 32 == 0, "revision 1 holds only capabilities 0-31")
            precondition(FileCapabilities.names(caps.all).count == caps.all.nonzeroBitCount, "a capability named twice or not at all")
            precondition(caps.text.isEmpty == (caps.all == 0), "text for an empty set, or none for a set")
            precondition(caps.text.split(separator: " ").count == caps.all.nonzeroBitCount, "text lists a capability twice or not at all")
        },
    ]

    /// A compose file whose security fields come from variables, for the `.env` harness.
    static let dotEnvCompose = """
        services:
          app:
            image: ${IMAGE:-ghcr.io/acme/app:1}
            network_mode: ${NET:-bridge}
            privileged: ${PRIV:-false}
            user: "${APP_USER}"
            volumes: ["${DATA:-./data}:/data:${MODE:+ro}"]
            cap_add: ["${CAP:?set}"]
        volumes:
          v:
            driver_opts: {type: "${T-none}", o: "$O", device: "${DEV:-/srv}"}
        """

    /// The checks `policy check --manifest` runs, in its order, against a fixed manifest.
    static func check(_ path: String) {
        guard let input = try? Workloads.collect([path]) else { return }
        var findings: [PolicyFinding] = []
        for c in input.objects.compose { findings += RuntimeConfigs.compose(c.node, file: c.file) }
        for f in input.ociConfigs { findings += (try? RuntimeConfigs.ociConfig(f, bytes: input.ociConfigBytes[f], manifest: manifest)) ?? [] }
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
