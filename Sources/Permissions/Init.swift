import Foundation
import ProvenantCore
import Yams

/// Drafts an agent manifest from existing deployments: it records what the workloads hold today,
/// so `policy check` against it is clean, and the user tightens it from there.
public enum ManifestDrafter {
    public static func draft(pods: [PodSecurity.PodSpec], objects: Workloads.Objects, environments: [String: String], sources: [String]) -> String {
        var images = Set<String>(), unpinned = Set<String>(), read = Set<String>(), write = Set<String>(), caps = Set<String>()
        var secrets: [String: Set<String>] = [:], scripts: [String: Set<String>] = [:]
        var uids = Set<Int>(), root = false, api: [String: Set<String>] = [:], cidrs: [AddressAndProtocol: Set<Int>] = [:], dns = false
        // Roles by name, and each service account's grants, found once: per pod they were a scan of every
        // role for every binding (cubic in the file's size: found by helper-105).
        var rolesByName: [String: [Workloads.Objects.Doc]] = [:]
        for rd in objects.roles { if let n = rd.node["metadata"]?["name"]?.string { rolesByName[n, default: []].append(rd) } }
        var grantsBySA: [String: [String: Set<String>]] = [:]
        for pod in pods {
            let spec = pod.spec
            var volumes: [String: Node] = [:]
            for v in spec["volumes"]?.sequence ?? [] { if let n = v["name"]?.string { volumes[n] = v } }
            for v in volumes.values { if let p = v["hostPath"]?["path"]?.string { read.insert(FieldSyntax.normalizedPath(p) ?? p) } }
            // Image volumes are images of the pod too, as `check` reads them (helper-125).
            for (_, ref) in Hygiene.imageVolumes(spec) {
                if let i = ref.string { if FieldSyntax.isPinnedImage(i) { images.insert(i) } else { unpinned.insert(i) } }
            }
            let podSC = spec["securityContext"]
            for c in PodSecurity.containers(spec) {
                if let i = c.node["image"]?.string { if FieldSyntax.isPinnedImage(i) { images.insert(i) } else { unpinned.insert(i) } }
                let sc = c.node["securityContext"]
                for cap in sc?["capabilities"]?["add"]?.sequence?.compactMap(\.string) ?? [] { caps.insert(PodSecurity.runtimeCapability(cap)) }
                let uid = sc?["runAsUser"]?.int ?? podSC?["runAsUser"]?.int
                let nonRoot = sc?["runAsNonRoot"]?.bool ?? podSC?["runAsNonRoot"]?.bool
                if let u = uid, u != 0 { uids.insert(u) }
                if uid == 0 || (nonRoot != true && uid == nil) { root = true }
                for vm in c.node["volumeMounts"]?.sequence ?? [] {
                    guard let mp = vm["mountPath"]?.string else { continue }
                    let vol = vm["name"]?.string.flatMap { volumes[$0] }
                    if let s = vol?["secret"]?["secretName"]?.string { secrets[s, default: []].formUnion([]); continue }
                    if vol?["configMap"] != nil || vol?["projected"] != nil || vol?["downwardAPI"] != nil { continue }
                    let path = FieldSyntax.normalizedPath(mp) ?? mp
                    if vm["readOnly"]?.bool == true { read.insert(path) } else { write.insert(path) }
                    // A host path mounted writable is written, as `check` judges it: drafted as read, the
                    // draft failed `check` on the deployment it came from (found by helper-136).
                    if vm["readOnly"]?.bool != true, let hp = vol?["hostPath"]?["path"]?.string { write.insert(FieldSyntax.normalizedPath(hp) ?? hp) }
                }
                for e in c.node["env"]?.sequence ?? [] {
                    if let ref = e["valueFrom"]?["secretKeyRef"], let s = ref["name"]?.string { secrets[s, default: []].insert(ref["key"]?.string ?? "") }
                }
                for ef in c.node["envFrom"]?.sequence ?? [] { if let s = ef["secretRef"]?["name"]?.string { secrets[s, default: []].formUnion([]) } }
                let words = ContainerCommands.lines(c.node).flatMap(\.strings)
                    .flatMap { $0.split(whereSeparator: { $0 == " " || $0 == ";" || $0 == "&" || $0 == "|" }) }
                for w in words where w.hasSuffix(".sh") || w.hasSuffix(".py") {
                    scripts[String(w.split(separator: "/").last ?? w), default: []].insert(environments[pod.namespace] ?? "production")
                }
            }
            // RBAC bound to the service account, recorded as declared access.
            let sa = spec["serviceAccountName"]?.setName ?? "default"
            if grantsBySA[sa] == nil {
                var grants: [String: Set<String>] = [:]
                for bd in objects.bindings {
                    let b = bd.node
                    guard (b["subjects"]?.sequence ?? []).contains(where: { $0["kind"]?.string == "ServiceAccount" && $0["name"]?.string == sa }),
                          let roleName = b["roleRef"]?["name"]?.string else { continue }
                    for rd in rolesByName[roleName] ?? [] {
                        for rule in rd.node["rules"]?.sequence ?? [] {
                            let verbs = rule["verbs"]?.sequence?.compactMap(\.string) ?? []
                            for r in rule["resources"]?.sequence?.compactMap(\.string) ?? [] { grants[r, default: []].formUnion(verbs) }
                        }
                    }
                }
                grantsBySA[sa] = grants
            }
            for (r, verbs) in grantsBySA[sa] ?? [:] { api[r, default: []].formUnion(verbs) }
            for npd in objects.networkPolicies where (npd.node["metadata"]?["namespace"]?.setName ?? "default") == pod.namespace {
                for rule in npd.node["spec"]?["egress"]?.sequence ?? [] {
                    let entries = rule["ports"]?.sequence.map(Array.init) ?? []
                    var byProtocol: [String: Set<Int>] = [:]
                    for e in entries { if let p = e["port"]?.int { byProtocol[(e["protocol"]?.string ?? "TCP").uppercased(), default: []].insert(p) } }
                    let ports = byProtocol.values.flatMap { $0 }
                    if !ports.isEmpty && ports.allSatisfy({ $0 == 53 }) { dns = true }
                    // Addresses are drafted with their ports per protocol, DNS rules' too: `check` holds
                    // each address to its own ports, so a CIDR with 53/UDP beside 443 drafted as 443
                    // alone failed the draft's own check (helper-125).
                    for peer in rule["to"]?.sequence ?? [] {
                        guard let c = peer["ipBlock"]?["cidr"]?.string else { continue }
                        if byProtocol.isEmpty { cidrs[AddressAndProtocol(cidr: c, proto: "TCP"), default: []].formUnion([]) }
                        for (proto, ps) in byProtocol { cidrs[AddressAndProtocol(cidr: c, proto: proto), default: []].formUnion(ps) }
                    }
                }
            }
        }
        // Written through the serializer: a value read from a deployment stays one scalar in the draft.
        func list(_ s: some Collection<String>) -> Node { YAMLTree.seq(s.sorted().map { .str($0) }) }
        var header = ["# Drafted by `provenant policy init` from \(sources.map(AgentManifest.printable).joined(separator: ", ")).",
                      "# It records what the deployment holds today: tighten it, then check with `provenant policy check --manifest`."]
        // Quoted through the redactor, as `policy check` quotes it: a reference may carry a token (helper-105).
        for i in unpinned.sorted() { header.append("# TODO pin by digest and list under images: \(AgentManifest.printable(Redactor.redact(i)))") }
        var y: [(String, Node)] = [("apiVersion", .str("provenant.dev/v1")), ("kind", .str("Agent")), ("name", .str(Self.manifestName(pods.first?.name ?? "agent")))]
        if !images.isEmpty { y.append(("images", YAMLTree.seq(images.sorted().map { .str($0) }, flow: false))) }
        y.append(("filesystem", YAMLTree.map([("read", list(read)), ("write", list(write))])))
        if !cidrs.isEmpty {
            y.append(("egress", YAMLTree.seq(cidrs.sorted(by: { ($0.key.cidr, $0.key.proto) < ($1.key.cidr, $1.key.proto) }).map { key, ports in
                YAMLTree.map([("cidr", .str(key.cidr))] + (ports.isEmpty ? [] : [("ports", YAMLTree.seq(ports.sorted().map { YAMLTree.int($0) }))])
                             + (key.proto == "TCP" ? [] : [("protocol", .str(key.proto))]))
            }, flow: false)))
        }
        y.append(("dns", YAMLTree.bool(dns)))
        y.append(("capabilities", list(caps)))
        if root { y.append(("user", YAMLTree.map([("nonRoot", YAMLTree.bool(false))]))) } else {
            y.append(("user", YAMLTree.map([("nonRoot", YAMLTree.bool(true))] + (uids.count == 1 ? uids.first.map { [("uid", YAMLTree.int($0))] } ?? [] : []))))
        }
        if !secrets.isEmpty {
            y.append(("secrets", YAMLTree.seq(secrets.sorted(by: { $0.key < $1.key }).map { s, keys in
                let k = keys.filter { !$0.isEmpty }
                return YAMLTree.map([("secret", .str(s))] + (k.isEmpty ? [] : [("keys", list(k))]))
            }, flow: false)))
        }
        if !api.isEmpty {
            y.append(("kubernetes", YAMLTree.seq(api.sorted(by: { $0.key < $1.key }).map { r, verbs in
                YAMLTree.map([("verbs", list(verbs)), ("resources", YAMLTree.seq([.str(r)]))])
            }, flow: false)))
        }
        if !scripts.isEmpty { y.append(("scripts", YAMLTree.map(scripts.sorted(by: { $0.key < $1.key }).map { ($0.key, list($0.value)) }))) }
        return header.joined(separator: "\n") + "\n" + YAMLTree.documents([YAMLTree.map(y)])
    }

    /// A workload's name as a manifest name, a DNS label: a Deployment may be named `collector.v2`, a
    /// manifest may not, and a draft the check refuses helps nobody (found by helper-80). Values are
    /// drafted as the manifest spells them too: paths without a trailing `/`, capabilities upper case.
    static func manifestName(_ name: String) -> String {
        var out = String(name.lowercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? $0 : "-" })
        while out.contains("--") { out = out.replacingOccurrences(of: "--", with: "-") }
        out = String(out.trimmingCharacters(in: CharacterSet(charactersIn: "-")).prefix(63)).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        return out.isEmpty ? "agent" : out
    }
}

/// An address a drafted egress entry names, with the protocol its ports are of.
struct AddressAndProtocol: Hashable {
    var cidr: String
    var proto: String
}
