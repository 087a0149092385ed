import Catalog
import Foundation
import ProvenantCore
import Yams

/// Finds pod specs in multi-document Kubernetes YAML.
public enum Workloads {
    /// Access and networking objects, for the checks that span documents.
    public struct Objects {
        public struct Doc { public var node: Node; public var file: String }
        public var roles: [Doc] = []          // Role and ClusterRole
        public var bindings: [Doc] = []       // RoleBinding and ClusterRoleBinding
        public var networkPolicies: [Doc] = []
        public var ciliumPolicies: [Doc] = []  // CiliumNetworkPolicy
        public var compose: [Doc] = []
        public var serviceAccounts: [Doc] = []
        public var persistentVolumes: [Doc] = []
        public var claims: [Doc] = []          // PersistentVolumeClaim
        public init() {}
        public mutating func merge(_ o: Objects) {
            roles += o.roles; bindings += o.bindings; networkPolicies += o.networkPolicies; ciliumPolicies += o.ciliumPolicies; compose += o.compose; serviceAccounts += o.serviceAccounts
            persistentVolumes += o.persistentVolumes; claims += o.claims
        }
    }

    /// What one file holds. `problems` are notes (an unchecked kind); `rejected` are documents with
    /// wrongly typed fields, which are not checked and make the run an input error.
    public struct FileContents {
        public var pods: [PodSecurity.PodSpec]
        public var problems: [Diagnostic]
        /// Each Namespace's `environment` label.
        public var environments: [String: String]
        public var objects: Objects
        public var rejected: [Diagnostic]
        /// Kinds that hold containers but are not read, as NOT CHECKED findings.
        public var notChecked: [PolicyFinding] = []
    }

    /// `root` is the path the command was given that holds `file`: a kustomization's resources are
    /// read only when they lie inside it.
    public static func read(_ file: String, root: String? = nil) throws(InputError) -> FileContents {
        try read(file, bytes: try NamedInputFile.read(file, limit: maxFileBytes), root: root)
    }

    /// What `bytes`, the contents of `file`, hold.
    static func read(_ file: String, bytes: [UInt8], root: String?) throws(InputError) -> FileContents {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw InputError("cannot read file as UTF-8 text", at: Location(file))
        }
        var docs: [Node] = []
        try YAMLInput.checkEvents(text, path: file)
        try YAMLInput.checkDocumentMarkers(text, path: file)
        // Parsed document by document so a syntax error anywhere is an error, not a silent stop.
        do {
            let parser = try Parser(yaml: text)
            while let node = try parser.nextRoot() { docs.append(node) }
        } catch {
            throw YAMLInput.error(error, text: text, path: file)
        }
        var problems: [Diagnostic] = []
        var rejected: [Diagnostic] = []
        var notChecked: [PolicyFinding] = []
        // Merge keys applied, within a budget: a document that exhausts it (aliases nested to blow up) is not checked.
        var budget = YAMLInput.nodeBudget
        docs = docs.compactMap { d in
            // Compose files are read by compose's YAML reader (v3), Kubernetes objects by kubectl's (v2):
            // only where they disagree is a document refused, and only one that is a workload's. Other
            // YAML in a directory (CI files, Helm values) is not checked anyway (found by review).
            // Whether it is compose is decided on the document as expanded: a `kind` merged in at the
            // top makes it Kubernetes's, whatever else it holds (found by review).
            do throws(YAMLInput.AmbiguousMerge) {
                let before = budget
                if let e = try YAMLInput.expandingMerges(d, budget: &budget) {
                    guard RuntimeConfigs.isCompose(e) else { return e }
                    // Compose drops `!reset` values before it applies merges, so a reset key lets the
                    // merged value through (`<<: {privileged: true}` beside `privileged: !reset false`:
                    // found by helper-153); dropped after, the merged value was lost too. The second
                    // pass gets what the first used (dropping only removes nodes), not the budget
                    // left, which fell back to the old order past half of it (helper-154).
                    var again = before - budget + 1
                    if let r = try YAMLInput.expandingMerges(YAMLInput.droppingResets(d), budget: &again) { return r }
                    rejected.append(Diagnostic(Location(file, line: d.mark?.line), "too large once its aliases are expanded, skipped"))
                    return nil
                }
                rejected.append(Diagnostic(Location(file, line: d.mark?.line), "too large once its aliases are expanded, skipped"))
                return nil
            } catch {
                var spare = budget
                if let loose = try? YAMLInput.expandingMerges(d, budget: &spare, strict: false), RuntimeConfigs.isCompose(loose) {
                    var again = budget - spare + 1
                    budget = spare
                    if let r = try? YAMLInput.expandingMerges(YAMLInput.droppingResets(d), budget: &again, strict: false) { return r }
                    rejected.append(Diagnostic(Location(file, line: d.mark?.line), "too large once its aliases are expanded, skipped"))
                    return nil
                }
                // By the keys' names, whatever their tags: `!x kind:` is still Kubernetes's `kind`.
                let workload = d.mapping?.keys.contains(where: { ["kind", "apiVersion", "services", "<<"].contains($0.string ?? "") }) == true
                guard workload else { return d }
                rejected.append(Diagnostic(Location(file, line: error.line ?? d.mark?.line), "\(error.message), skipped"))
            }
            return nil
        }
        // `kubectl get -o yaml|json` prints a List (or a typed list such as PodList) whose items are the objects.
        // kubectl unpacks Lists within Lists as well (found by helper-105: an inner List was skipped, and
        // the privileged Pod in it with it); nesting is bounded.
        /// An item without a kind takes the list's, less `List`, and its apiVersion, as kubectl's list
        /// flattening gives them (`kind: PodList` items are Pods: found by helper-153).
        func inheriting(_ item: Node, from list: Node) -> Node {
            // Only when both are empty (a null or "" counts as empty), as kubectl fills them (helper-154).
            func empty(_ n: Node?) -> Bool { n == nil || n?.string == "" || n?.null != nil }
            guard case .mapping(var m) = item, empty(m["kind"]), empty(m["apiVersion"]), let kind = list["kind"]?.string else { return item }
            let own = kind.hasSuffix("List") ? String(kind.dropLast(4)) : kind
            guard !own.isEmpty else { return item }
            m[Node("kind")] = Node(own)
            if let v = list["apiVersion"] { m[Node("apiVersion")] = v }
            return .mapping(m)
        }
        func tooDeep(_ d: Node, _ kind: String) -> [Node] {
            notChecked.append(PolicyFinding(rule: "k8s:not-checked", severity: "high", kind: kind, name: "?", container: nil,
                                            location: Location(file, line: d.mark?.line),
                                            found: "NOT CHECKED: \(kind) nested more than 16 Lists deep; its items are not read",
                                            allowed: "Lists nested at most 16 deep", fix: "flatten the List"))
            return []
        }
        func unpacked(_ d: Node, depth: Int) -> [Node] {
            guard let kind = d["kind"]?.string, kind == "List" || (kind.hasSuffix("List") && d["apiVersion"] != nil) else {
                // kubectl reads any object with an `items` list as a List, applying the items and not
                // the object: a compliant Pod carrying `items: [privileged Pod]` passed (found by
                // helper-152). Both are checked.
                guard let items = d["items"]?.sequence else { return [d] }
                guard depth < 16 else { return [d] + tooDeep(d, d["kind"]?.string ?? "(none)") }
                return [d] + items.flatMap { unpacked(inheriting($0, from: d), depth: depth + 1) }
            }
            guard let items = d["items"]?.sequence else {
                problems.append(Diagnostic(Location(file, line: d.mark?.line), "\(kind) without an items list, skipped"))
                return []
            }
            guard depth < 16 else { return tooDeep(d, kind) }
            return items.flatMap { unpacked(inheriting($0, from: d), depth: depth + 1) }
        }
        docs = docs.flatMap { unpacked($0, depth: 0) }
        var pods: [PodSecurity.PodSpec] = []
        var environments: [String: String] = [:]
        var objects = Objects()
        for doc in docs {
            guard doc.mapping != nil else { continue }
            if RuntimeConfigs.isCompose(doc) { objects.compose.append(.init(node: doc, file: file)); continue }
            let kind = doc["kind"]?.string ?? ""
            let name = doc["metadata"]?["name"]?.string ?? "?"
            // A Kustomization changes the objects it lists (patches, images, labels, namespace…): what
            // the cluster gets is its output, not these files. A patch adding `privileged: true` was
            // never seen. Listing resources alone changes nothing.
            if Self.isKustomization(doc, file: file) {
                notChecked += Self.kustomizationFindings(doc, kind: kind, file: file, root: root)
                continue
            }
            if kind == "Namespace" {
                // Defined twice with different labels (or once without), the cluster holds whichever is
                // applied last: judged as production, the strictest, and said (found by helper-136:
                // the first definition won, and a test label hid a production one).
                let env = doc["metadata"]?["labels"]?["environment"]?.string ?? Self.unlabelled
                if let old = environments[name], old != env {
                    problems.append(Self.conflictingNamespace(name, Location(file, line: doc.mark?.line)))
                    environments[name] = "production"
                } else { environments[name] = env }
            }
            switch kind {
            case "Role", "ClusterRole": objects.roles.append(.init(node: doc, file: file))
            case "RoleBinding", "ClusterRoleBinding": objects.bindings.append(.init(node: doc, file: file))
            // Only Kubernetes' own NetworkPolicy: Calico's and Antrea's share the kind, not the schema,
            // and read as Kubernetes' they selected every pod and hid unrestricted egress (helper-125).
            case "NetworkPolicy" where Self.isKubernetesNetworkPolicy(doc): objects.networkPolicies.append(.init(node: doc, file: file))
            case "CiliumNetworkPolicy" where doc["specs"] == nil: objects.ciliumPolicies.append(.init(node: doc, file: file))
            case "ServiceAccount": objects.serviceAccounts.append(.init(node: doc, file: file))
            case "PersistentVolume": objects.persistentVolumes.append(.init(node: doc, file: file))
            case "PersistentVolumeClaim": objects.claims.append(.init(node: doc, file: file))
            default: break
            }
            let template: Node?
            switch kind {
            case "Pod": template = doc
            case "Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job", "ReplicationController": template = doc["spec"]?["template"]
            case "CronJob": template = doc["spec"]?["jobTemplate"]?["spec"]?["template"]
            case "NetworkPolicy" where Self.isKubernetesNetworkPolicy(doc): continue
            case "CiliumNetworkPolicy" where doc["specs"] == nil: continue
            case "Namespace", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ServiceAccount",
                 "PersistentVolume", "PersistentVolumeClaim": continue
            default:
                problems.append(Diagnostic(Location(file, line: doc.mark?.line), "kind '\(kind.isEmpty ? "(none)" : kind)' is not checked, skipped"))
                // A kind that runs pods (an Argo Rollout, a Knative Service, an operator's CRD) is a
                // workload nobody checked: said in the findings, not only on stderr, so `--format json`
                // and `--fail-on` do not read it as clean (found by helper-80).
                // Cluster-wide network policies add allowances to every pod they select, beyond what the
                // namespaced policies this check reads allow: a CiliumClusterwideNetworkPolicy to
                // `world` or an AdminNetworkPolicy `Allow` to 0.0.0.0/0 left the run clean (found by
                // helper-124). Not read, so NOT CHECKED.
                if Self.grantsEgressUnread(kind: kind, doc) {
                    notChecked.append(PolicyFinding(rule: "k8s:not-checked", severity: "high", kind: kind, name: name, container: nil,
                                                    location: Location(file, line: doc.mark?.line),
                                                    found: "NOT CHECKED: \(kind) (\(doc["apiVersion"]?.string ?? "no apiVersion")) can allow egress to the pods it selects, and this check does not read it",
                                                    allowed: "egress policies the check reads (NetworkPolicy, CiliumNetworkPolicy)",
                                                    fix: "express the workload's egress as a NetworkPolicy or CiliumNetworkPolicy, and check the cluster-wide policy by hand"))
                }
                if Self.holdsContainers(doc["spec"], depth: 0) {
                    notChecked.append(PolicyFinding(rule: "k8s:not-checked", severity: "high", kind: kind, name: name, container: nil,
                                                    location: Location(file, line: doc.mark?.line),
                                                    found: "NOT CHECKED: kind \(kind) holds containers, and its pod template is not read",
                                                    allowed: "workloads the check reads (Pod, Deployment, DaemonSet, StatefulSet, ReplicaSet, Job, CronJob, ReplicationController)",
                                                    fix: "check what it renders (the Pods or a Deployment of the same template) instead"))
                }
                continue
            }
            guard let t = template, t.mapping != nil, let spec = t["spec"], spec.mapping != nil else {
                problems.append(Diagnostic(Location(file, line: doc.mark?.line), "\(kind) '\(name)' has no pod spec, skipped"))
                // A workload whose template or spec is a list was skipped, and the run read as clean
                // (found by helper-124): it is NOT CHECKED, as an unknown workload kind is. One without
                // any (a Kustomize patch setting replicas) stays a warning (helper-125).
                let written = template.map { $0.mapping == nil } ?? false || template?["spec"].map { $0.mapping == nil } == true
                guard written else { continue }
                notChecked.append(PolicyFinding(rule: "k8s:not-checked", severity: "high", kind: kind, name: name, container: nil,
                                                location: Location(file, line: (template ?? doc).mark?.line),
                                                found: "NOT CHECKED: \(kind) has a pod template or spec that is not a mapping",
                                                allowed: "a pod spec mapping at \(kind == "Pod" ? "spec" : kind == "CronJob" ? "spec.jobTemplate.spec.template.spec" : "spec.template.spec")",
                                                fix: "write the pod spec as a mapping"))
                continue
            }
            if let bad = Self.typeError(spec) {
                rejected.append(Diagnostic(Location(file, line: bad.node.mark?.line), "\(kind) '\(name)': \(bad.message), skipped"))
                continue
            }
            var pod = PodSecurity.PodSpec(spec: spec, annotations: t["metadata"]?["annotations"], kind: kind, name: name, file: file,
                                          namespace: doc["metadata"]?["namespace"]?.setName ?? "default", labels: t["metadata"]?["labels"])
            if kind == "StatefulSet" { pod.claimTemplates = Array(doc["spec"]?["volumeClaimTemplates"]?.sequence ?? []) }
            pods.append(pod)
        }
        return FileContents(pods: pods, problems: problems, environments: environments, objects: objects, rejected: rejected, notChecked: notChecked)
    }

    /// A kustomization's NOT CHECKED findings. What it lists is read only when it lies inside what was
    /// given: a remote base, or a directory outside the checked path, renders objects nobody checked
    /// (found by review). Any key beyond listing changes what it renders (patches, images, labels,
    /// namespace…): the cluster gets its output, not these files, and a patch adding `privileged: true`
    /// was never seen.
    static func kustomizationFindings(_ doc: Node, kind: String, file: String, root: String?) -> [PolicyFinding] {
        let dir = PathText.parent(file).isEmpty ? "." : PathText.parent(file)
        let name = PathText.lastComponent(dir).isEmpty ? "." : PathText.lastComponent(dir)
        let shownKind = kind.isEmpty ? "Kustomization" : kind
        let fix = "check what it renders: kubectl kustomize \(Redactor.quote(dir, max: 120)) > rendered.yaml"
        var isDir: ObjCBool = false
        let top = root.flatMap { FileManager.default.fileExists(atPath: $0, isDirectory: &isDir) && isDir.boolValue ? ($0 as NSString).standardizingPath : nil }
        var out: [PolicyFinding] = []
        // One reader for every entry: its real path is resolved once.
        let directory = top.flatMap { RootedDirectory(hostDirectory: $0) }
        for key in ["resources", "bases", "components"] {
            for entry in doc[key]?.sequence ?? [] {
                guard let written = entry.string else { continue }
                let remote = written.contains("://") || written.contains("?ref=") || written.hasPrefix("git@") || written.hasPrefix("github.com/")
                let resolved = ((written.hasPrefix("/") ? written : dir + "/" + written) as NSString).standardizingPath
                var inside = top.map { resolved == $0 || resolved.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") } ?? false
                // Looked up only inside the checked path, through its links: a resource that is a link
                // out of it was never read by the walk, which follows no link out.
                var found = false
                if !remote, inside, let top {
                    let rel = resolved == top ? "" : String(resolved.dropFirst(top.hasSuffix("/") ? top.count : top.count + 1))
                    if rel.isEmpty { found = true } else if let directory {
                        do throws(FileAccessError) { _ = try directory.lookUp(rel); found = true } catch {
                            if case .outsideRoot = error { inside = false }
                        }
                    }
                }
                guard remote || !inside || !found else { continue }
                let why = remote ? "a remote \(key == "bases" ? "base" : "resource")" : !inside ? "outside the checked path" : "not found"
                out.append(PolicyFinding(rule: "k8s:not-checked", severity: "high", kind: shownKind, name: name, container: nil,
                                         location: Location(file, line: entry.mark?.line),
                                         found: "NOT CHECKED: \(key) entry \(Redactor.quote(written, max: 200)) is \(why); what it renders is not read",
                                         allowed: "resources inside the checked path", fix: fix))
            }
        }
        let changes = (doc.mapping ?? [:]).compactMap(\.key.string).filter { !kustomizeListingKeys.contains($0) }.sorted()
        if !changes.isEmpty {
            out.append(PolicyFinding(rule: "k8s:not-checked", severity: "high", kind: shownKind, name: name, container: nil,
                                     location: Location(file, line: doc.mark?.line),
                                     found: "NOT CHECKED: a kustomization that changes what it renders (\(changes.prefix(8).map { Redactor.quote($0, max: 40) }.joined(separator: ", "))); the checked files are its input, not what is deployed",
                                     allowed: "rendered manifests", fix: fix))
        }
        return out
    }

    /// Kinds that can allow egress beyond the namespaced policies this check reads: cluster-wide ones,
    /// Calico's and Antrea's own NetworkPolicy, and a CiliumNetworkPolicy written with `specs:`.
    /// (A BaselineAdminNetworkPolicy cannot widen past a NetworkPolicy that selects the pod.)
    static let egressGrantingKinds: Set<String> = [
        "CiliumClusterwideNetworkPolicy", "CiliumNetworkPolicy", "AdminNetworkPolicy", "GlobalNetworkPolicy", "ClusterNetworkPolicy", "NetworkPolicy",
    ]

    /// Whether `doc` is an egress policy this check does not read that has egress rules at all: a
    /// cluster-wide policy of ingress rules only (a host firewall) allows no egress (helper-125).
    static func grantsEgressUnread(kind: String, _ doc: Node) -> Bool {
        guard egressGrantingKinds.contains(kind) else { return false }
        let specs = [doc["spec"]].compactMap { $0 } + (doc["specs"]?.sequence.map(Array.init) ?? [])
        return specs.contains { spec in
            spec["egress"] != nil || spec["egressDeny"] != nil || (spec["types"]?.sequence?.contains { $0.string == "Egress" } ?? false)
        }
    }

    /// Kubernetes' NetworkPolicy (networking.k8s.io), not another project's kind of the same name.
    static func isKubernetesNetworkPolicy(_ doc: Node) -> Bool {
        guard let api = doc["apiVersion"]?.string else { return true }
        return api.hasPrefix("networking.k8s.io/")
    }

    /// Whether a container is somewhere under `node` (a pod template in a kind not read): a
    /// `containers` list, or any mapping naming an `image` as a string (an Argo Workflow's
    /// `templates[].container`, a Tekton Task's `steps`, found by review).
    static func holdsContainers(_ node: Node?, depth: Int) -> Bool {
        guard let node, depth < 12 else { return false }
        if let map = node.mapping {
            // A container names its image and how it runs; an image automation object (Flux's
            // ImageRepository) names only the image (found by review).
            if map["image"]?.scalar != nil, ["command", "args", "script", "securityContext", "env", "name", "ports", "volumeMounts", "workingDir"].contains(where: { map[$0] != nil }) { return true }
            for (k, v) in map {
                if k.string == "containers", v.sequence?.contains(where: { $0.mapping != nil }) == true { return true }
                if holdsContainers(v, depth: depth + 1) { return true }
            }
        } else if let seq = node.sequence {
            return seq.contains { holdsContainers($0, depth: depth + 1) }
        }
        return false
    }

    /// Everything read from the paths a command was given.
    public struct Collected {
        public var pods: [PodSecurity.PodSpec] = []
        public var objects = Objects()
        public var environments: [String: String] = [:]
        public var problems: [Diagnostic] = []
        public var rejected: [Diagnostic] = []
        public var notChecked: [PolicyFinding] = []
        /// OCI runtime `config.json` files, checked on their own.
        public var ociConfigs: [String] = []
        /// What each of `ociConfigs` held when the walk read it, so it is not read again by path.
        public var ociConfigBytes: [String: [UInt8]] = [:]
    }

    /// Bytes one manifest file may hold: `kubectl get -o yaml` of a large namespace is tens of MiB.
    public static let maxFileBytes = 256 << 20

    public static func collect(_ paths: [String]) throws(InputError) -> Collected {
        var c = Collected()
        for p in paths {
            let listing = files(p)
            c.rejected += listing.unread
            if listing.files.isEmpty && listing.unread.isEmpty { throw InputError("no such file, or no .yaml files in it", at: Location(p)) }
            for (f, rel) in listing.files {
                // A file in a directory is read inside it: a link that leads out of the directory, a
                // FIFO or a device is rejected, not read. A file named alone is the operator's own.
                let bytes: [UInt8]
                if let rel, let directory = listing.directory {
                    do throws(FileAccessError) { bytes = try directory.read(rel, limit: maxFileBytes) } catch {
                        c.rejected.append(Diagnostic(Location(f), unreadWhy(error, in: p, isLink: listing.links.contains(rel))))
                        continue
                    }
                } else {
                    bytes = try NamedInputFile.read(f, limit: maxFileBytes)
                }
                // A Helm chart's templates are Go templates: what they render is NOT CHECKED. One that
                // still reads as YAML is checked as written too (a privileged pod with a `{{` in an
                // annotation hid behind the NOT CHECKED finding); one that does not is not an input
                // error that stops the whole run. A plain manifest among them is checked as any other.
                var template: PolicyFinding?
                if f != p, let chart = helmChart(holdingTemplate: f, under: p), isGoTemplate(bytes) {
                    template = PolicyFinding(rule: "k8s:not-checked", severity: "high", kind: "HelmTemplate", name: chart, container: nil,
                                             location: Location(f),
                                             found: "NOT CHECKED: a template of Helm chart '\(Redactor.quote(chart, max: 120))'; its objects exist only once rendered",
                                             allowed: "rendered manifests",
                                             fix: "check what the chart renders: helm template \(Redactor.quote(chart, max: 120)) CHART_DIR > rendered.yaml")
                }
                if let template { c.notChecked.append(template) }
                // In a directory, a file that cannot be read is rejected and the others are still
                // checked; a file named alone is an input error.
                do throws(InputError) {
                    if f.hasSuffix(".json") {
                        // JSON is told apart by content: `kubectl get -o json` prints Kubernetes objects, runc reads OCI configs.
                        switch try jsonKind(f, bytes: bytes) {
                        case .oci: c.ociConfigs.append(f); c.ociConfigBytes[f] = bytes; continue
                        case .kubernetes: break
                        case .other where f != p:
                            c.problems.append(Diagnostic(Location(f), "neither a Kubernetes object (apiVersion and kind) nor an OCI runtime config (ociVersion), skipped"))
                            continue
                        case .other:
                            throw InputError("neither a Kubernetes object (apiVersion and kind) nor an OCI runtime config (ociVersion, or process and root)", at: Location(f))
                        }
                    }
                    let r = try read(f, bytes: bytes, root: p)
                    c.pods += r.pods; c.objects.merge(r.objects)
                    // In name order: the dictionary's own order changes every run (helper-159).
                    for (name, env) in r.environments.sorted(by: { $0.key < $1.key }) {
                        if let old = c.environments[name], old != env {
                            c.problems.append(Self.conflictingNamespace(name, Location(f)))
                            c.environments[name] = "production"
                        } else { c.environments[name] = env }
                    }
                    c.problems += r.problems; c.notChecked += r.notChecked
                    if template == nil { c.rejected += r.rejected }
                } catch {
                    guard f != p else { throw error }
                    if template == nil { c.rejected.append(Diagnostic(error.location ?? Location(f), error.message)) }
                }
            }
        }
        return c
    }

    /// Why a file of a checked directory was not read, in that directory's terms.
    static func unreadWhy(_ error: FileAccessError, in directory: String, isLink: Bool) -> String {
        let shown = Redactor.quote(directory, max: 160)
        switch error {
        case .outsideRoot: return "a symbolic link out of \(shown); not read"
        case .notFound: return isLink ? "a symbolic link to nothing in \(shown); not read" : "gone since the walk listed it; not read"
        case .notRegularFile: return "not a regular file; not read"
        case .tooLarge(_, let size, let limit): return "\(size) bytes, over the \(limit >> 20) MiB a manifest may have; not read"
        case .tooManyLinks: return "goes through too many symbolic links; not read"
        case .unreadable(_, let reason): return "cannot be read (\(reason)); not read"
        case .overBudget, .linkBudgetSpent: return "not read: \(error)"
        }
    }

    enum JSONKind { case kubernetes, oci, other }

    /// A Namespace without an `environment` label: production, as a namespace never defined is.
    static let unlabelled = "production"

    static func conflictingNamespace(_ name: String, _ at: Location) -> Diagnostic {
        Diagnostic(at, "Namespace '\(Redactor.quote(name, max: 100))' is defined more than once with different environment labels; judged as production")
    }

    /// Keys of a kustomization that only say what it renders, unchanged.
    static let kustomizeListingKeys: Set<String> = ["apiVersion", "kind", "metadata", "resources", "bases", "sortOptions", "buildMetadata", "openapi"]

    /// A kustomization: its kind (Kustomization, or a kustomize Component), or a file of kustomize's
    /// names, which needs no kind.
    static func isKustomization(_ doc: Node, file: String) -> Bool {
        let kind = doc["kind"]?.string, api = doc["apiVersion"]?.string ?? ""
        if kind == "Kustomization" || (kind == "Component" && api.hasPrefix("kustomize.config.k8s.io/")) { return true }
        return kind == nil && ["kustomization.yaml", "kustomization.yml", "Kustomization"].contains(PathText.lastComponent(file))
    }

    /// Whether a file's bytes hold a Go template action (`{{`) outside a comment line.
    static func isGoTemplate(_ data: [UInt8]) -> Bool {
        for line in data.split(separator: 10, omittingEmptySubsequences: true) {
            guard line.first(where: { $0 != 32 && $0 != 9 }) != UInt8(ascii: "#") else { continue }
            var prev: UInt8 = 0
            for c in line { if c == 123 && prev == 123 { return true }; prev = c }
        }
        return false
    }

    /// The name of the Helm chart whose `templates/` holds `file` (a `Chart.yaml` file beside that
    /// directory), looking no higher than `root`; nil when it is no chart's template.
    static func helmChart(holdingTemplate file: String, under root: String) -> String? {
        var dir = (file as NSString).deletingLastPathComponent
        let top = (root as NSString).standardizingPath
        var steps = 0
        while dir.count > top.count, steps < 64 {
            let parent = (dir as NSString).deletingLastPathComponent
            var isDirectory: ObjCBool = true
            if (dir as NSString).lastPathComponent == "templates",
               FileManager.default.fileExists(atPath: parent + "/Chart.yaml", isDirectory: &isDirectory), !isDirectory.boolValue {
                return (parent as NSString).lastPathComponent
            }
            dir = parent; steps += 1
        }
        return nil
    }

    /// What `bytes`, the JSON file `file`, hold: an object with apiVersion and kind is Kubernetes (a
    /// List too); one with ociVersion, or process and root, is an OCI runtime config.
    static func jsonKind(_ file: String, bytes: [UInt8]) throws(InputError) -> JSONKind {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw InputError("cannot read file as UTF-8 text", at: Location(file))
        }
        try YAMLInput.checkEvents(text, path: file)
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch { throw YAMLInput.error(error, text: text, path: file) }
        guard let root, root.mapping != nil else { return .other }
        if root["apiVersion"]?.string != nil, root["kind"]?.string != nil { return .kubernetes }
        if root["ociVersion"] != nil || (root["process"]?.mapping != nil && root["root"]?.mapping != nil) { return .oci }
        return .other
    }

    /// The first field the checks read whose type is wrong: a misread type would silently pass.
    static func typeError(_ spec: Node) -> (node: Node, message: String)? {
        func want(_ n: Node?, _ path: String, _ kind: String) -> (node: Node, message: String)? {
            // Kubernetes reads an explicit null (`null`, `~`, nothing) as the field unset; so do the controls.
            guard let n, n.null == nil else { return nil }
            let ok: Bool
            switch kind {
            case "bool": ok = n.bool != nil
            case "int": ok = n.int != nil
            case "list": ok = n.sequence != nil
            case "map": ok = n.mapping != nil
            default: ok = n.string != nil
            }
            return ok ? nil : (n, "\(path) must be a \(kind == "bool" ? "boolean" : kind == "int" ? "number" : kind == "list" ? "list" : kind == "map" ? "mapping" : "string")")
        }
        for f in ["hostNetwork", "hostPID", "hostIPC", "hostUsers", "automountServiceAccountToken"] { if let e = want(spec[f], f, "bool") { return e } }
        for f in ["containers", "initContainers", "ephemeralContainers", "volumes"] { if let e = want(spec[f], f, "list") { return e } }
        if let e = want(spec["securityContext"], "securityContext", "map") { return e }
        let scFields: [(String, String)] = [("privileged", "bool"), ("allowPrivilegeEscalation", "bool"), ("runAsNonRoot", "bool"), ("readOnlyRootFilesystem", "bool"),
                                            ("runAsUser", "int"), ("runAsGroup", "int"), ("capabilities", "map")]
        for (f, k) in scFields { if let e = want(spec["securityContext"]?[f], "securityContext.\(f)", k) { return e } }
        // The pod's groups, which the root-group check reads as numbers: `fsGroup: 0.0` read as no
        // group passed it, where kubectl sends gid 0 (found by helper-159).
        if let e = want(spec["securityContext"]?["fsGroup"], "securityContext.fsGroup", "int") { return e }
        if let e = want(spec["securityContext"]?["supplementalGroups"], "securityContext.supplementalGroups", "list") { return e }
        for g in spec["securityContext"]?["supplementalGroups"]?.sequence ?? [] {
            if let e = want(g, "securityContext.supplementalGroups", "int") { return e }
        }
        // Kubernetes reads YAML 1.1, where `y` and `n` are booleans and Yams reads strings: a field the
        // controls read as a boolean must be one, or the workload is not checked.
        if let e = want(spec["securityContext"]?["windowsOptions"]?["hostProcess"], "securityContext.windowsOptions.hostProcess", "bool") { return e }
        if let e = want(spec["shareProcessNamespace"], "shareProcessNamespace", "bool") { return e }
        for c in PodSecurity.containers(spec) {
            if let e = want(c.node["securityContext"], "\(c.name).securityContext", "map") { return e }
            for (f, k) in scFields { if let e = want(c.node["securityContext"]?[f], "\(c.name).securityContext.\(f)", k) { return e } }
            if let e = want(c.node["securityContext"]?["windowsOptions"]?["hostProcess"], "\(c.name).securityContext.windowsOptions.hostProcess", "bool") { return e }
            for f in ["add", "drop"] { if let e = want(c.node["securityContext"]?["capabilities"]?[f], "\(c.name).securityContext.capabilities.\(f)", "list") { return e } }
            for p in c.node["ports"]?.sequence ?? [] { if let e = want(p["hostPort"], "\(c.name).ports.hostPort", "int") { return e } }
        }
        return nil
    }

    /// YAML files under a directory (or the file itself), sorted.
    /// What `policy check` reads from one path it was given.
    public struct Listing {
        /// Each manifest file: its path as shown, and for a file found in a directory its path
        /// inside it (nil for a file named alone).
        public var files: [(path: String, inDirectory: String?)] = []
        /// What the walk found and could not read: FIFOs, devices and sockets with a manifest's name,
        /// directories it could not open or that lie too deep. Rejected: what they hold is not checked.
        public var unread: [Diagnostic] = []
        /// The directory walked, read only inside itself.
        public var directory: RootedDirectory?
        /// The entries of `files` that are symbolic links.
        public var links: Set<String> = []
    }

    /// The `.yaml`, `.yml` and `.json` files under `path` (or `path` itself when it is not a
    /// directory), in name order. The directory is walked by descriptors that never follow a link
    /// (`FileIndex`), `.git` included (`kubectl apply -R` skips no hidden name); a link with a
    /// manifest's name is listed and later read inside the directory, absolute targets as host paths.
    /// What the walk could not list (a directory it cannot open or that lies too deep, a name that
    /// is not UTF-8) is `unread`: what it may hold is not checked.
    public static func files(_ path: String) -> Listing {
        var st = stat()
        guard stat(path, &st) == 0 else { return Listing() }
        guard st.st_mode & S_IFMT == S_IFDIR else { return Listing(files: [(path, nil)]) }
        guard let directory = RootedDirectory(hostDirectory: path) else {
            return Listing(unread: [Diagnostic(Location(path), "cannot resolve the directory's real path; nothing in it read")])
        }
        let index = FileIndex(root: path, skippingGitDirectories: false)
        // At `/` the walk leaves out /proc, /sys, /dev, /run and /tmp: said, as what they hold is not
        // checked (helper-205).
        let skipped = index.skippedAtRoot.map { Diagnostic(Location("/" + $0), "not walked (the host's \($0)); manifests in it are not checked") }
        func isManifest(_ rel: String) -> Bool { rel.hasSuffix(".yaml") || rel.hasSuffix(".yml") || rel.hasSuffix(".json") }
        func shown(_ rel: String) -> String { path.hasSuffix("/") ? path + rel : path + "/" + rel }
        var listing = Listing(directory: directory)
        // A link to a directory named `x.yaml` is not walked, as no link is; one to a file is read.
        let links = index.links.filter(isManifest).filter { rel in
            guard let (_, st) = try? directory.lookUp(rel) else { return true }
            return st.st_mode & S_IFMT != S_IFDIR
        }
        listing.links = Set(links)
        listing.files = (index.files.map(\.path).filter(isManifest) + links)
            .sorted(by: PathKey.byBytes).map { (shown($0), $0) }
        listing.unread = index.specials.filter(isManifest).sorted(by: PathKey.byBytes).map {
            Diagnostic(Location(shown($0)), "not a regular file; not read")
        } + index.diagnostics.map { Diagnostic(Location($0.location.path == "." ? path : shown($0.location.path)), $0.message) } + skipped
        return listing
    }
}

extension Node {
    /// A name field as Kubernetes reads it: an explicit null or an empty string is the field unset
    /// (a pod's `serviceAccountName: ""` runs as `default`, `namespace: ""` lands in the default
    /// namespace), so either must fall back to the default, never name an account or namespace of
    /// its own (found by helper-80: RBAC bound to `default` was missed).
    ///
    /// Null by its resolved tag, not its text: `!!str null` and `"null"` are strings, a ServiceAccount
    /// named `null` to kubectl (Yams's `null` reads the text alone, and RBAC bound to that account
    /// was missed).
    var setName: String? {
        guard let s = string, !s.isEmpty, tag.rawValue != Tag.Name.null.rawValue else { return nil }
        return s
    }
}
