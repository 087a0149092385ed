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
        var out: [PolicyFinding] = []
        for v in pod.spec["volumes"]?.sequence ?? [] {
            guard let source = v["persistentVolumeClaim"], let claimName = source["claimName"]?.string else { continue }
            let claim = objects.claims.first {
                $0.node["metadata"]?["name"]?.string == claimName && ($0.node["metadata"]?["namespace"]?.string ?? "default") == pod.namespace
            }
            for pv in boundVolumes(claimName: claimName, namespace: pod.namespace, claim: claim?.node, volumes: objects.persistentVolumes) {
                let spec = pv.node["spec"]
                guard let backing = spec?["hostPath"] ?? spec?["local"] else { continue }
                let kind = spec?["hostPath"] != nil ? "hostPath" : "local"
                let pvName = pv.node["metadata"]?["name"]?.string ?? "?"
                let path = backing["path"]?.string ?? "?"
                var f = pod.finding("hygiene:hostpath-claim", "high", at: source, container: nil,
                                    found: "volume '\(v["name"]?.string ?? "")' claims \(claimName), bound to PersistentVolume \(pvName): \(kind) \(path) on the node",
                                    allowed: "claims on network or dynamically provisioned storage", fix: "bind the claim to a volume that is not on the node's disk")
                f.because = because
                out.append(f)
                guard let m = manifest else { continue }
                let n = FieldSyntax.normalizedPath(path)
                guard n.map({ !AgentManifest.covered($0, by: m.read + m.write) }) ?? true else { continue }
                var d = pod.finding("manifest:hostpath", "high", at: source, container: nil,
                                    found: "claim \(claimName) reaches \(kind) \(path)" + (n == nil ? ", which cannot be normalized to an absolute path" : n == path ? "" : " (\(n!))"),
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
    static func boundVolumes(claimName: String, namespace: String, claim: Node?, volumes: [Workloads.Objects.Doc]) -> [Workloads.Objects.Doc] {
        let volumeName = claim?["spec"]?["volumeName"]?.string
        return volumes.filter { pv in
            let name = pv.node["metadata"]?["name"]?.string
            if let volumeName { return name == volumeName }
            if let ref = pv.node["spec"]?["claimRef"] {
                return ref["name"]?.string == claimName && (ref["namespace"]?.string ?? "default") == namespace
            }
            guard let claim else { return false }
            let wantClass = claim["spec"]?["storageClassName"]?.string ?? ""
            let hasClass = pv.node["spec"]?["storageClassName"]?.string ?? ""
            // A claim without a class takes the cluster's default class, which may be the volume's.
            guard claim["spec"]?["storageClassName"] == nil || wantClass == hasClass else { return false }
            return selects(claim["spec"]?["selector"], labels: pv.node["metadata"]?["labels"])
        }
    }

    /// Whether a label selector (matchLabels and matchExpressions) selects these labels; no selector selects all.
    static func selects(_ selector: Node?, labels: Node?) -> Bool {
        guard let selector else { return true }
        var have: [String: String] = [:]
        for (k, v) in labels?.mapping ?? [:] { if let k = k.string, let v = v.string { have[k] = v } }
        for (k, v) in selector["matchLabels"]?.mapping ?? [:] where have[k.string ?? ""] != v.string { return false }
        for e in selector["matchExpressions"]?.sequence ?? [] {
            let key = e["key"]?.string ?? ""
            let values = Set((e["values"]?.sequence ?? []).compactMap(\.string))
            switch e["operator"]?.string {
            case "In": if !(have[key].map(values.contains) ?? false) { return false }
            case "NotIn": if have[key].map(values.contains) ?? false { return false }
            case "Exists": if have[key] == nil { return false }
            case "DoesNotExist": if have[key] != nil { return false }
            // An operator the binder would refuse: the claim binds nothing, but assume it might.
            default: continue
            }
        }
        return true
    }
}
