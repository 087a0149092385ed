import Foundation

/// SLSA provenance fields, from v1 (`buildDefinition`, `runDetails`) or v0.2 (`invocation`,
/// `builder`).
public enum SLSA {
    public static func builderID(_ predicate: Any?) -> String? {
        let p = predicate as? [String: Any]
        return ((p?["runDetails"] as? [String: Any])?["builder"] as? [String: Any])?["id"] as? String
            ?? (p?["builder"] as? [String: Any])?["id"] as? String
    }

    /// The build's own source, or why it cannot be told.
    public enum BuildSource: Sendable, Equatable {
        case source(String)
        case undeterminable(String)
    }

    /// What a SLSA v1 buildType says its source is.
    enum SourceField { case workflow, source }

    static let githubWorkflowTypes: Set<String> = [
        "https://actions.github.io/buildtypes/workflow/v1",                       // actions/attest-build-provenance
        "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",  // slsa-github-generator
    ]
    /// Provenant's own, as `provenant provenance` writes them (Provenance.swift).
    static let provenantTypes: Set<String> = [
        "https://provenant.dev/buildtypes/github-actions/v1",
        "https://provenant.dev/buildtypes/gitlab-ci/v1",
        "https://provenant.dev/buildtypes/local/v1",
    ]

    /// The field a known buildType defines as the build's source; nil for a buildType Provenant
    /// does not know, whose parameters it cannot interpret.
    static func sourceField(_ buildType: String) -> SourceField? {
        if githubWorkflowTypes.contains(buildType) { return .workflow }
        if provenantTypes.contains(buildType) { return .source }
        // GitLab Runner: https://gitlab.com/gitlab-org/gitlab-runner/-/blob/<version>/PROVENANCE.md,
        // whose externalParameters.source is the project URL.
        if buildType.hasPrefix("https://gitlab.com/gitlab-org/gitlab-runner/-/blob/"), buildType.hasSuffix("/PROVENANCE.md") { return .source }
        return nil
    }

    /// The build's own source and nothing else: for SLSA v1 the external parameter its buildType
    /// defines (GitHub Actions `workflow.repository` at `workflow.ref`; GitLab Runner's and
    /// Provenant's `source`), for v0.2 `invocation.configSource.uri`. What the build fetched
    /// (resolvedDependencies, materials) is never its source, and an unknown buildType leaves
    /// the source undetermined.
    public static func buildSource(_ predicate: Any?) -> BuildSource {
        guard let p = predicate as? [String: Any] else { return .undeterminable("the statement has no predicate") }
        if let bd = p["buildDefinition"] as? [String: Any] {
            let type = bd["buildType"] as? String ?? ""
            let ext = bd["externalParameters"] as? [String: Any] ?? [:]
            switch sourceField(type) {
            case .workflow?:
                guard let wf = ext["workflow"] as? [String: Any], let repo = wf["repository"] as? String, !repo.isEmpty else {
                    return .undeterminable("buildType \(type) defines externalParameters.workflow.repository, which is missing")
                }
                let ref = (wf["ref"] as? String).flatMap { $0.isEmpty ? nil : $0 }
                return .source((repo.hasPrefix("git+") ? repo : "git+" + repo) + (ref.map { "@" + $0 } ?? ""))
            case .source?:
                guard let src = ext["source"] as? String, !src.isEmpty else {
                    return .undeterminable("buildType \(type) defines externalParameters.source, which is missing")
                }
                return .source(src)
            case nil:
                return .undeterminable("buildType '\(type)' is not one whose external parameters Provenant can read (known: GitHub Actions workflow, GitLab Runner, Provenant)")
            }
        }
        if let inv = p["invocation"] as? [String: Any] {
            guard let uri = (inv["configSource"] as? [String: Any])?["uri"] as? String, !uri.isEmpty else {
                return .undeterminable("SLSA v0.2 provenance without invocation.configSource.uri")
            }
            return .source(uri)
        }
        return .undeterminable("neither a SLSA v1 buildDefinition nor a v0.2 invocation")
    }

    /// The build's source as a list: one URI, or none when it cannot be determined.
    public static func sourceURIs(_ predicate: Any?) -> [String] {
        if case .source(let uri) = buildSource(predicate) { return [uri] }
        return []
    }
}
