import Foundation
import ProvenantCore

/// Every check `policy check` makes, over everything read from its paths.
public enum PolicyRun {
    public struct Result: Sendable {
        public var findings: [PolicyFinding]
        public var workloads: Int
    }

    /// Pod Security at `level` and hygiene for every workload; with a manifest, what each holds
    /// beyond it (Kubernetes workloads and compose services alike). Findings sorted by place and rule.
    public static func check(_ input: Workloads.Collected, level: PodSecurity.Level, manifest: AgentManifest?) throws(InputError) -> Result {
        var findings: [PolicyFinding] = input.notChecked
        var workloads = input.pods.count + input.ociConfigs.count
        for f in input.ociConfigs { findings += try RuntimeConfigs.ociConfig(f, bytes: input.ociConfigBytes[f], manifest: manifest) }
        for c in input.objects.compose {
            findings += RuntimeConfigs.compose(c.node, file: c.file, manifest: manifest)
            workloads += c.node["services"]?.mapping?.count ?? 0
        }
        let roles = RoleIndex(input.objects)
        for pod in input.pods {
            findings += PodSecurity.check(pod, level: level) + Hygiene.check(pod) + ClaimedHostPaths.check(pod, objects: input.objects, manifest: manifest)
            // A namespace without an environment label counts as production.
            if let m = manifest {
                findings += ManifestCheck.check(pod, manifest: m, environment: input.environments[pod.namespace] ?? "production", serviceAccounts: input.objects.serviceAccounts, level: level)
                    + AccessCheck.check(pod, manifest: m, objects: input.objects, roles: roles)
            }
        }
        findings.sort { ($0.location.path, $0.location.line ?? 0, $0.rule, $0.found) < ($1.location.path, $1.location.line ?? 0, $1.rule, $1.found) }
        return Result(findings: findings, workloads: workloads)
    }
}
