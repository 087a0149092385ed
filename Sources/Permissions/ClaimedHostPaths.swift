import Foundation
import ProvenantCore
import Yams

/// A PersistentVolumeClaim is no host path by itself, so Pod Security admits it; but a claim bound to
/// a PersistentVolume backed by `hostPath` or `local` storage hands the pod a directory of the node.
/// This check follows each claim a pod mounts to the volumes read alongside it that it is, or could
/// be, bound to.
public enum ClaimedHostPaths {
    static let because = "a claim bound to a hostPath or local PersistentVolume mounts a directory of the node, as a hostPath volume does"

    public static func check(_ pod: PodSecurity.PodSpec, objects: Workloads.Objects, manifest: AgentManifest?) -> [PolicyFinding] {
        // Every claim the pod mounts: named claims, generic ephemeral volumes (claim `<pod>-<volume>`,
        // from the template), and a StatefulSet's templates (claims `<template>-<set>-<ordinal>`).
        var claims: [(shown: String, node: Node?, spec: Node?, named: (String) -> Bool)] = []
        for v in pod.spec["volumes"]?.sequence ?? [] {
            if let source = v["persistentVolumeClaim"], let claimName = source["claimName"]?.string {
                let claim = objects.claims.first {
                    $0.node["metadata"]?["name"]?.string == claimName && ($0.node["metadata"]?["namespace"]?.setName ?? "default") == pod.namespace
                }
                claims.append(("volume '\(v["name"]?.string ?? "")' claims \(claimName)", source, claim?.node["spec"], { $0 == claimName }))
            } else if let template = v["ephemeral"]?["volumeClaimTemplate"] {
                let claimName = "\(pod.name)-\(v["name"]?.string ?? "")"
                claims.append(("ephemeral volume '\(v["name"]?.string ?? "")' claims \(claimName)", template, template["spec"], { $0 == claimName }))
            }
        }
        for t in pod.claimTemplates {
            let prefix = "\(t["metadata"]?["name"]?.string ?? "")-\(pod.name)-"
            claims.append(("volumeClaimTemplate \(t["metadata"]?["name"]?.string ?? "?") claims \(prefix)N", t, t["spec"],
                           { $0.hasPrefix(prefix) && Int($0.dropFirst(prefix.count)) != nil }))
        }
        var out: [PolicyFinding] = []
        for c in claims {
            for pv in boundVolumes(named: c.named, namespace: pod.namespace, claimSpec: c.spec, volumes: objects.persistentVolumes) {
                let spec = pv.node["spec"]
                guard let backing = spec?["hostPath"] ?? spec?["local"] else { continue }
                let kind = spec?["hostPath"] != nil ? "hostPath" : "local"
                let pvName = pv.node["metadata"]?["name"]?.string ?? "?"
                let path = backing["path"]?.string ?? "?"
                var f = pod.finding("hygiene:hostpath-claim", "high", at: c.node, container: nil,
                                    found: "\(c.shown), bound to PersistentVolume \(pvName): \(kind) \(path) on the node",
                                    allowed: "claims on network or dynamically provisioned storage", fix: "bind the claim to a volume that is not on the node's disk")
                f.because = because
                out.append(f)
                guard let m = manifest else { continue }
                let n = FieldSyntax.normalizedPath(path)
                guard n.map({ !AgentManifest.covered($0, by: m.read + m.write) }) ?? true else { continue }
                var d = pod.finding("manifest:hostpath", "high", at: c.node, container: nil,
                                    found: "\(c.shown), which reaches \(kind) \(path)" + (n == nil ? ", which cannot be normalized to an absolute path" : n == path ? "" : " (\(n!))"),
                                    allowed: "paths declared under filesystem", fix: "bind the claim elsewhere, or declare \(n ?? path) in the manifest")
                d.because = because
                out.append(d)
            }
        }
        return out
    }

    /// The volumes a claim is bound to, or may bind to: the one its `volumeName` names, one whose
    /// `claimRef` names it, and, while it names none, every unclaimed volume of its storage class
    /// whose labels its selector matches (the binder may pick any of them).
    static func boundVolumes(named: (String) -> Bool, namespace: String, claimSpec: Node?, volumes: [Workloads.Objects.Doc]) -> [Workloads.Objects.Doc] {
        let volumeName = claimSpec?["volumeName"]?.string
        return volumes.filter { pv in
            let name = pv.node["metadata"]?["name"]?.string
            if let volumeName { return name == volumeName }
            if let ref = pv.node["spec"]?["claimRef"] {
                return ref["name"]?.string.map(named) == true && (ref["namespace"]?.setName ?? "default") == namespace
            }
            guard let claimSpec else { return false }
            let wantClass = claimSpec["storageClassName"]?.string ?? ""
            let hasClass = pv.node["spec"]?["storageClassName"]?.string ?? ""
            // A claim without a class takes the cluster's default class, which may be the volume's.
            guard claimSpec["storageClassName"] == nil || wantClass == hasClass else { return false }
            // A selector that cannot be read may still bind the volume: assume it does.
            return LabelSelector.selects(claimSpec["selector"], LabelSelector.labels(pv.node["metadata"]?["labels"]), whenUnreadable: true)
        }
    }
}
