import Foundation
import ProvenantCore
import Secrets
import Yams

/// The checks every peer makes, whatever the Pod Security level: pinned images, CAP_SYS_ADMIN,
/// a read-only root filesystem, and secrets written into the manifest in plain text.
public enum Hygiene {
    static let secretNames = ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "ACCESS_KEY", "PRIVATE_KEY", "CREDENTIAL", "AUTH"]

    /// The pod's image volumes: each volume's name and its `image.reference` node.
    static func imageVolumes(_ spec: Node) -> [(name: String, reference: Node)] {
        (spec["volumes"]?.sequence ?? []).compactMap { v in
            guard let ref = v["image"]?["reference"] else { return nil }
            return (v["name"]?.string ?? "?", ref)
        }
    }

    public static func check(_ pod: PodSecurity.PodSpec) -> [PolicyFinding] {
        var out: [PolicyFinding] = []
        func add(_ rule: String, _ severity: String, _ node: Node?, container: String?, found: String, allowed: String, fix: String) {
            out.append(pod.finding("hygiene:" + rule, severity, at: node, container: container, found: found, allowed: allowed, fix: fix))
        }
        let podSC = pod.spec["securityContext"]
        func pinned(_ image: String, _ node: Node?, container: String?, what: String) {
            guard !Self.digestPinned(image) else { return }
            let tag = Self.tag(image)
            if image.contains("@") {
                add("image-not-pinned", "medium", node, container: container, found: "\(what) \(image) has a digest that is not sha256:<64 hex digits>",
                    allowed: "an image pinned by digest", fix: "write the image's full sha256 digest")
            } else if tag == nil || tag == "latest" {
                add("image-latest", "high", node, container: container, found: "\(what) \(image) \(tag == nil ? "has no tag (latest)" : "uses :latest")",
                    allowed: "an image pinned by digest", fix: "pin the image: \(image.split(separator: ":").first ?? "")@sha256:<digest>")
            } else {
                add("image-not-pinned", "medium", node, container: container, found: "\(what) \(image) is pinned by tag only",
                    allowed: "an image pinned by digest", fix: "append @sha256:<digest> to the image")
            }
        }
        // An image volume (`volumes[].image.reference`) mounts another image's files into the pod:
        // its code is as much the pod's as a container's (found by helper-124).
        for (name, ref) in Self.imageVolumes(pod.spec) { pinned(ref.string ?? "", ref, container: nil, what: "image volume \(name):") }
        for c in PodSecurity.containers(pod.spec) {
            let image = c.node["image"]?.string ?? ""
            pinned(image, c.node["image"], container: c.name, what: "image")
            let sc = c.node["securityContext"]
            if (sc?["capabilities"]?["add"]?.sequence?.compactMap(\.string) ?? []).contains(where: { ["SYS_ADMIN", "ALL"].contains(PodSecurity.runtimeCapability($0)) }) {
                add("cap-sys-admin", "critical", sc?["capabilities"]?["add"], container: c.name,
                    found: "CAP_SYS_ADMIN: it allows mounting filesystems, entering namespaces, loading BPF and most of what root can do",
                    allowed: "almost never justified for an agent", fix: "remove SYS_ADMIN; grant the narrow capability the agent needs")
            }
            // The root group (gid 0) owns what root made group-writable. Without runAsGroup the gid
            // comes from the image's /etc/passwd, and is 0 when the uid has no entry there.
            let groupNode = sc?["runAsGroup"] ?? podSC?["runAsGroup"]
            if let group = groupNode?.int, group == 0 {
                add("root-group", "medium", groupNode, container: c.name, found: "runAsGroup: 0, the root group",
                    allowed: "a non-zero gid", fix: "set securityContext.runAsGroup to a non-zero gid")
            } else if groupNode == nil || groupNode?.int == nil {
                add("root-group", "medium", sc ?? c.node, container: c.name, found: "runAsGroup unset: the gid comes from the image, 0 when the uid has no passwd entry",
                    allowed: "an explicit non-zero gid", fix: "set securityContext.runAsGroup to a non-zero gid")
            }
            if sc?["readOnlyRootFilesystem"]?.bool != true {
                add("writable-root-filesystem", "medium", sc ?? c.node, container: c.name, found: "readOnlyRootFilesystem is not true",
                    allowed: "a read-only root filesystem with writable volumes for declared paths", fix: "set securityContext.readOnlyRootFilesystem: true")
            }
            for e in c.node["env"]?.sequence ?? [] {
                guard let name = e["name"]?.string, let value = e["value"]?.string, !value.isEmpty else { continue }
                if Self.looksSecret(name: name, value: value) {
                    add("plaintext-secret", "high", e["value"], container: c.name, found: "env \(name) holds a literal secret (\(Self.mask(value)))",
                        allowed: "secrets from a Secret via valueFrom.secretKeyRef", fix: "move the value into a Secret and reference it with valueFrom.secretKeyRef")
                }
            }
        }
        for g in podSC?["supplementalGroups"]?.sequence ?? [] where g.int == 0 {
            add("root-group", "medium", g, container: nil, found: "supplementalGroups holds 0, the root group", allowed: "non-zero groups", fix: "remove 0 from supplementalGroups")
        }
        if podSC?["fsGroup"]?.int == 0 {
            add("root-group", "medium", podSC?["fsGroup"], container: nil, found: "fsGroup: 0: volumes are owned by the root group", allowed: "a non-zero gid", fix: "set fsGroup to a non-zero gid")
        }
        return out
    }

    /// An environment variable whose name says it holds a secret (a literal there is plaintext, however
    /// weak), or whose value the secrets engine recognises as a credential, under any name.
    static func looksSecret(name: String, value: String) -> Bool {
        guard !value.isEmpty else { return false }
        let upper = name.uppercased()
        if secretNames.contains(where: { upper.contains($0) }) { return true }
        guard let engine = Self.engine else { return false }
        let text = Array("\(name)=\(value)\n".utf8)
        let valueStart = name.utf8.count + 1
        return text.withUnsafeBytes { engine.scan($0) }.contains { $0.value.lowerBound >= valueStart }
    }

    /// The secrets engine with Provenant's rules, built on first use.
    static let engine: SecretEngine? = try? SecretEngine.standard()

    /// Whether an image reference ends in a well-formed sha256 digest: `x@sha256:00` and the
    /// `@sha256:REPLACE_WITH_DIGEST` placeholder pin nothing.
    static func digestPinned(_ image: String) -> Bool {
        guard let at = image.range(of: "@sha256:", options: .backwards) else { return false }
        let d = image[at.upperBound...]
        return d.utf8.count == 64 && d.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// The tag of an image reference, or nil when it has none (`registry:5000/app` has none).
    static func tag(_ image: String) -> String? {
        let last = image.split(separator: "/").last.map(String.init) ?? image
        guard let colon = last.lastIndex(of: ":") else { return nil }
        return String(last[last.index(after: colon)...])
    }

    /// Never the secret itself: its first characters and its length.
    static func mask(_ s: String) -> String { "\(s.prefix(min(4, s.count / 4)))… \(s.count) characters" }
}
