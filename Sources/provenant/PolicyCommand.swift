import ArgumentParser
import Catalog
import Foundation
import Permissions
import ProvenantCore

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "policy", abstract: "Check deployments for least privilege.", subcommands: [PolicyCheck.self, PolicyGenerate.self, PolicyInit.self])
}

struct PolicyCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check Kubernetes workloads and container images against the Pod Security Standards (v1.37), common hygiene rules and the agent manifest.",
        discussion: "Reads multi-document Kubernetes YAML, and Kubernetes JSON as `kubectl get -o json` prints it (a List too), told from OCI config.json by content (Pod, Deployment, DaemonSet, StatefulSet, ReplicaSet, Job, CronJob, Namespace, Role, ClusterRole and their bindings, NetworkPolicy), docker-compose files, and OCI runtime config.json. With an agent manifest (--manifest), every workload kind is also checked against it: Kubernetes workloads with their RBAC and egress policies, compose services and OCI configs. A container image (oci-dir:PATH[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE, or a path that is an image layout or archive) is checked for running as root or the root group (a user name resolved through the image's /etc/passwd and /etc/group), setuid and setgid files, file capabilities beyond the manifest's (any, without one), and a tag that is :latest or not pinned by digest; what the image does not let it tell is a NOT CHECKED finding. Exit codes: 0 success, 1 a finding reached --fail-on, 2 usage or input error (an image that cannot be read, too)."
    )
    @Argument(help: "Kubernetes YAML files or directories of them, compose files, OCI runtime configs, or container images.")
    var paths: [String]
    @OptionGroup var imageAccess: ImageAccessOptions
    @Option(name: .long, help: "Pod Security Standards level: baseline or restricted.")
    var level: String = "restricted"
    @Option(name: .long, help: "Output format: table, json or sarif (2.1.0).")
    var format: String = "table"
    @OptionGroup var failOn: FailOnOption
    @Option(name: .long, help: "Agent manifest to check against. Default: provenant.agent.yaml in the current directory, when present.")
    var manifest: String?
    @Option(name: .long, help: "For an image: the platform to pick from a multi-platform index, os/arch[/variant] (default: linux/amd64). Given, an image of another platform is refused.")
    var platform: String?

    func run() async throws {
        guard let lvl = PodSecurity.Level(rawValue: level) else { throw ValidationError("unknown --level '\(level)'; use baseline or restricted") }
        guard ["table", "json", "sarif"].contains(format) else { throw ValidationError("unknown --format '\(format)'; use table, json or sarif") }
        guard let imagePlatform = ImagePlatform.option(platform) else { throw ValidationError("--platform must be os/arch or os/arch/variant, such as linux/amd64") }
        var agent: AgentManifest?
        let manifestPath = manifest ?? (FileManager.default.fileExists(atPath: "provenant.agent.yaml") ? "provenant.agent.yaml" : nil)
        if let mp = manifestPath {
            do { agent = try AgentManifest.load(mp) } catch { CLI.fail("error: \(error)") }
        }
        // Images are told from the other inputs first: an OCI layout directory holds JSON of its own.
        var images: [ImageReference] = []
        var files: [String] = []
        for p in paths {
            do {
                if let image = try ImageReference.parse(p) ?? ImageReference.detect(path: p) { images.append(image) } else { files.append(p) }
            } catch { CLI.fail("error: \(error)") }
        }
        let input: Workloads.Collected
        do { input = try Workloads.collect(files) } catch { CLI.fail("error: \(error)") }
        for d in input.problems { CLI.stderr("warning: \(d)") }
        for d in input.rejected { CLI.stderr("error: \(d)") }
        let rejectedInputs = input.rejected.count
        let result: PolicyRun.Result
        do { result = try PolicyRun.check(input, level: lvl, manifest: agent) } catch { CLI.fail("error: \(error)") }
        var findings = result.findings
        let workloads = result.workloads
        for image in images {
            // An image that cannot be read is an input error: one line naming what is wrong, exit 2.
            do {
                let source = try imageAccess.open(image)
                let checked = try await ImagePolicy.check(source, reference: image, manifest: agent, platform: imagePlatform)
                for d in checked.diagnostics { CLI.stderr("warning: \(d)") }
                findings += checked.findings
            } catch { CLI.fail("error: \(error)") }
        }
        if format == "sarif" {
            print(PolicySARIF.render(findings, toolVersion: Provenant.version), terminator: "")
        } else if format == "json" {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: (try? enc.encode(findings)) ?? Data(), as: UTF8.self))
        } else {
            var out = ""
            for f in findings {
                out += "\(f.location)  \(f.severity)  \(f.rule)  \(f.kind)/\(f.name)\(f.container.map { " container \($0)" } ?? "")\n"
                out += "    found: \(f.found)\n    allowed: \(f.allowed)\n    fix: \(f.fix)\n"
                if let why = f.because { out += "    because: \(why)\n" }
            }
            var checked: [String] = []
            if workloads > 0 || images.isEmpty { checked.append("\(workloads) workload\(workloads == 1 ? "" : "s") at the \(lvl.rawValue) level") }
            if !images.isEmpty { checked.append("\(images.count) image\(images.count == 1 ? "" : "s")") }
            out += "\(findings.count) finding\(findings.count == 1 ? "" : "s") in \(checked.joined(separator: " and "))\n"
            // Names, images and values are quoted from the deployment files: the table reaches a
            // terminal with their control characters (C1 and bidirectional ones too) escaped.
            print(Redactor.escapeControlsPerLine(out), terminator: "")
        }
        // Rejected inputs were not checked, so the run cannot vouch for them: an input error.
        if rejectedInputs > 0 { throw ExitCode(2) }
        if let t = failOn.threshold,
           findings.contains(where: { SeverityLevel(word: $0.severity).map { $0 >= t } ?? false }) { throw ExitCode(1) }
    }
}

struct PolicyGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write least-privilege deployment configuration from an agent manifest.",
        discussion: "For proxy: the kubernetes output plus the egress guard (`provenant guard proxy`) as a sidecar container reading the manifest from a ConfigMap, with the agent's HTTP_PROXY/HTTPS_PROXY set to it. For kubernetes: a Deployment with a non-root, read-only, drop-ALL, RuntimeDefault-seccomp securityContext and writable emptyDir volumes only for declared paths; a ServiceAccount; a NetworkPolicy allowing exactly the declared egress plus DNS (declared host names need --network-policy cilium, which writes a CiliumNetworkPolicy with toFQDNs: a plain NetworkPolicy can only name addresses, so there they fail closed); and a Role and RoleBinding with exactly the declared API access. For compose: a service with the same restrictions."
    )
    @Option(name: .long, help: "The agent manifest.")
    var manifest: String = "provenant.agent.yaml"
    @Option(name: .long, help: "Target: kubernetes, compose, or proxy (kubernetes with the egress guard as a sidecar).")
    var `for`: String = "kubernetes"
    @Option(name: .long, help: "Kubernetes namespace for the generated objects.")
    var namespace: String = "default"
    @Option(name: .long, help: "Egress policy for kubernetes: kubernetes (NetworkPolicy; host names fail closed as a placeholder address) or cilium (CiliumNetworkPolicy that names hosts with toFQDNs).")
    var networkPolicy: String = "kubernetes"
    @Option(name: .long, help: "An existing deployment file: print the smallest strategic-merge patch per workload instead.")
    var patch: String?
    @Option(name: .long, help: "With --for proxy: the image holding provenant, pinned by digest (name@sha256:...).")
    var guardImage: String = "PROVENANT_IMAGE@sha256:REPLACE_WITH_DIGEST"
    @Option(name: .shortAndLong, help: "Write here instead of stdout.")
    var output: String?

    func run() throws {
        guard ["kubernetes", "compose", "proxy"].contains(self.for) else { throw ValidationError("unknown --for '\(self.for)'; use kubernetes, compose or proxy") }
        guard let flavor = PolicyGenerator.NetworkPolicyFlavor(rawValue: networkPolicy) else { throw ValidationError("unknown --network-policy '\(networkPolicy)'; use kubernetes or cilium") }
        guard PolicyGenerator.isNamespace(namespace) else {
            throw ValidationError("--namespace '\(namespace)' is not a DNS-1123 label (lowercase letters, digits and '-', at most 63 characters)")
        }
        // Read once: the proxy's config carries the same text the checks were generated from.
        let m: AgentManifest, manifestText: String
        do {
            manifestText = try AgentManifest.text(manifest)
            m = try AgentManifest.parse(manifestText, path: manifest)
        } catch { CLI.fail("error: \(error)") }
        var text: String
        switch self.for {
        case "compose": text = PolicyGenerator.compose(m)
        case "proxy":
            text = PolicyGenerator.kubernetes(m, namespace: namespace, networkPolicy: flavor,
                                              guardSidecar: .init(image: guardImage, manifestText: manifestText))
        default: text = PolicyGenerator.kubernetes(m, namespace: namespace, networkPolicy: flavor)
        }
        if let p = patch {
            do { text = PolicyPatch.patches(for: try Workloads.read(p).pods, manifest: m) } catch { CLI.fail("error: \(error)") }
        }
        try CLI.withOutput(output) { $0(Array(text.utf8)) }
    }
}

struct PolicyInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Draft provenant.agent.yaml from existing Kubernetes deployments, recording what they hold today."
    )
    @Argument(help: "Kubernetes YAML files or directories of them.")
    var paths: [String]
    @Option(name: .shortAndLong, help: "Write the draft here instead of stdout (an existing file is not overwritten).")
    var output: String?

    func run() throws {
        let input: Workloads.Collected
        do { input = try Workloads.collect(paths) } catch { CLI.fail("error: \(error)") }
        let pods = input.pods
        guard !pods.isEmpty else { CLI.fail("error: no workloads found in \(paths.joined(separator: ", "))") }
        if let o = output, FileManager.default.fileExists(atPath: o) { CLI.fail("error: \(o): exists; not overwritten") }
        let text = ManifestDrafter.draft(pods: pods, objects: input.objects, environments: input.environments, sources: paths)
        try CLI.withOutput(output) { $0(Array(text.utf8)) }
        // What was not read is not in the draft: said on stderr, and a rejected input is an input error.
        for d in input.problems { CLI.stderr("warning: \(d)") }
        for f in input.notChecked { CLI.stderr("warning: \(f.location): \(f.found); not in the draft") }
        for d in input.rejected { CLI.stderr("error: \(d); not in the draft") }
        if !input.rejected.isEmpty { throw ExitCode(2) }
    }
}
