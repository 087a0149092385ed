import Crypto
import Foundation
import ProvenantCore

/// A SLSA v1 provenance predicate for a local or CI build.
public struct ProvenanceBuilder: Sendable {
    /// One entry of `resolvedDependencies`: a `uri` (a purl), or only a `name` for a component its SBOM
    /// gave no purl.
    public struct Dependency: Sendable, Equatable {
        public var uri: String?
        public var name: String?
        public var digest: [String: String]
        public init(uri: String, digest: [String: String]) { self.uri = uri; self.digest = digest }
        public init(name: String, digest: [String: String]) { self.name = name; self.digest = digest }
    }

    public var subjects: [Statement.Subject]
    public var builderID: String?
    public var sourceDir: String?
    public var dependencies: [Dependency]
    public var environment: [String: String]
    public var now: Date

    public init(subjects: [Statement.Subject], builderID: String?, sourceDir: String?, dependencies: [Dependency],
                environment: [String: String], now: Date) {
        self.subjects = subjects; self.builderID = builderID; self.sourceDir = sourceDir
        self.dependencies = dependencies; self.environment = environment; self.now = now
    }

    /// The CI system, from its well-known variables.
    enum CI { case github, gitlab, local }
    var ci: CI {
        if environment["GITHUB_ACTIONS"] == "true" { return .github }
        if environment["GITLAB_CI"] == "true" { return .gitlab }
        return .local
    }

    struct Source { var uri: String; var ref: String?; var commit: String }

    /// Repository, ref and commit: the CI variables when present, else `git` in the source directory.
    func source() throws(InputError) -> Source? {
        let e = environment
        switch ci {
        case .github:
            if let repo = e["GITHUB_REPOSITORY"], let sha = e["GITHUB_SHA"] {
                return Source(uri: "git+" + Self.redactedURL("\(e["GITHUB_SERVER_URL"] ?? "https://github.com")/\(repo)"), ref: e["GITHUB_REF"], commit: sha)
            }
        case .gitlab:
            if let url = e["CI_PROJECT_URL"], let sha = e["CI_COMMIT_SHA"] {
                // A tag pipeline names the tag in CI_COMMIT_REF_NAME too: it is a tag, not a branch (found by helper-106).
                let ref = e["CI_COMMIT_TAG"].flatMap { $0.isEmpty ? nil : "refs/tags/\($0)" } ?? e["CI_COMMIT_REF_NAME"].map { "refs/heads/\($0)" }
                return Source(uri: "git+" + Self.redactedURL(url), ref: ref, commit: sha)
            }
        case .local: break
        }
        guard let dir = sourceDir else { return nil }
        guard let commit = Git.run(["rev-parse", "HEAD"], in: dir) else {
            throw InputError("not a git checkout with a commit (git rev-parse HEAD failed)", at: Location(dir))
        }
        // A remote may carry credentials (`https://ci:token@host/…`); they never enter a provenance.
        let remote = Git.run(["remote", "get-url", "origin"], in: dir).map(Self.redactedURL)
            ?? "file://" + URL(fileURLWithPath: dir).standardizedFileURL.path
        let ref = Git.run(["symbolic-ref", "-q", "HEAD"], in: dir)
        return Source(uri: remote.hasPrefix("git+") ? remote : "git+" + remote, ref: ref, commit: commit)
    }

    public func predicate() throws(InputError) -> [String: Any] {
        let e = environment
        let src = try source()
        var external: [String: Any] = [:]
        if let s = src {
            external["source"] = s.uri + (s.ref.map { "@" + $0 } ?? "")
            external["repository"] = s.uri
            if let r = s.ref { external["ref"] = r }
            external["commit"] = s.commit
        }
        var internalParams: [String: Any] = [
            "subjects": subjects.map { ["name": $0.name, "digest": $0.digest] },
        ]
        var builder = builderID
        var invocation: String?
        var started: String?
        let buildType: String
        switch ci {
        case .github:
            buildType = "https://provenant.dev/buildtypes/github-actions/v1"
            let server = Self.redactedURL(e["GITHUB_SERVER_URL"] ?? "https://github.com")
            var wf: [String: Any] = [:]
            for (k, v) in [("ref", "GITHUB_WORKFLOW_REF"), ("repository", "GITHUB_REPOSITORY"), ("event", "GITHUB_EVENT_NAME"), ("workflow", "GITHUB_WORKFLOW")] {
                if let x = e[v] { wf[k] = x }
            }
            external["workflow"] = wf
            internalParams["github"] = ["runnerEnvironment": e["RUNNER_ENVIRONMENT"] ?? "", "runId": e["GITHUB_RUN_ID"] ?? ""]
            builder = builder ?? e["GITHUB_WORKFLOW_REF"].map { "\(server)/\($0)" } ?? "\(server)/actions/runner"
            if let repo = e["GITHUB_REPOSITORY"], let run = e["GITHUB_RUN_ID"] {
                invocation = "\(server)/\(repo)/actions/runs/\(run)/attempts/\(e["GITHUB_RUN_ATTEMPT"] ?? "1")"
            }
        case .gitlab:
            buildType = "https://provenant.dev/buildtypes/gitlab-ci/v1"
            var pipe: [String: Any] = [:]
            for (k, v) in [("pipelineId", "CI_PIPELINE_ID"), ("jobName", "CI_JOB_NAME"), ("pipelineSource", "CI_PIPELINE_SOURCE")] {
                if let x = e[v] { pipe[k] = x }
            }
            external["pipeline"] = pipe
            let server = Self.redactedURL(e["CI_SERVER_URL"] ?? "https://gitlab.com")
            builder = builder ?? e["CI_RUNNER_ID"].map { "\(server)/runners/\($0)" } ?? "https://gitlab.com/gitlab-org/gitlab-runner"
            invocation = e["CI_JOB_URL"].map(Self.redactedURL)
            started = e["CI_JOB_STARTED_AT"]
        case .local:
            buildType = "https://provenant.dev/buildtypes/local/v1"
            builder = builder ?? "https://provenant.dev/builders/local"
        }
        var resolved: [[String: Any]] = []
        if let s = src { resolved.append(["uri": s.uri + (s.ref.map { "@" + $0 } ?? ""), "digest": ["gitCommit": s.commit]]) }
        for d in dependencies {
            var r: [String: Any] = [:]
            if let u = d.uri { r["uri"] = Self.redactedURL(u) }
            if let n = d.name { r["name"] = n }
            if !d.digest.isEmpty { r["digest"] = d.digest }
            resolved.append(r)
        }
        var metadata: [String: Any] = ["finishedOn": RFC3339.string(from: now)]
        if let i = invocation { metadata["invocationId"] = i }
        // SLSA's startedOn is a timestamp: any text was written as given (found by helper-158).
        let startVariable = started != nil ? "CI_JOB_STARTED_AT" : "PROVENANT_BUILD_STARTED_ON"
        if let s = started ?? e["PROVENANT_BUILD_STARTED_ON"] {
            guard let date = RFC3339.date(from: s) else {
                throw InputError("\(startVariable) '\(Redactor.quote(s, max: 40))' is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)")
            }
            // Written in the one form every reader takes, as finishedOn is: `t`/`z` and a leap second
            // were copied as given, and Go's RFC 3339 parser refuses both (review, helper-162).
            metadata["startedOn"] = RFC3339.string(from: date)
        }
        return Self.withoutUserinfo([
            "buildDefinition": [
                "buildType": buildType,
                "externalParameters": external,
                "internalParameters": internalParams,
                "resolvedDependencies": resolved,
            ],
            "runDetails": [
                "builder": ["id": builder ?? ""],
                "metadata": metadata,
            ],
        ]) as? [String: Any] ?? [:]
    }

    /// A URL read from the build's surroundings (the remote, CI_JOB_URL, a dependency) without user info
    /// and through the redactor: a `?private_token=…` was signed into the predicate (found by
    /// helper-106). Refs and the builder id given are kept as written (review: a branch named
    /// `secret=rotation` lost its name).
    static func redactedURL(_ s: String) -> String { Redactor.redact(URLUserinfo.stripped(s)) }

    /// Every string in a predicate with URL user info removed: CI variables (`CI_PROJECT_URL`,
    /// `GITHUB_SERVER_URL`), a builder id or a dependency can carry it as well as the git remote.
    static func withoutUserinfo(_ value: Any) -> Any {
        switch value {
        case let s as String:
            // A purl's qualifiers (vcs_url, repository_url, download_url) are URLs too, written
            // percent-encoded: strip them decoded.
            if s.hasPrefix("pkg:"), let p = PackageURL(parsing: s), p.qualifiers.values.contains(where: URLUserinfo.hasUserinfo) {
                return PackageURL(type: p.type, namespace: p.namespace, name: p.name, version: p.version,
                                  qualifiers: p.qualifiers.mapValues(URLUserinfo.stripped), subpath: p.subpath).description
            }
            return URLUserinfo.stripped(s)
        case let d as [String: Any]: return d.mapValues(withoutUserinfo)
        case let a as [Any]: return a.map(withoutUserinfo)
        default: return value
        }
    }
}

enum Git {
    /// One line of `git` output, or nil when git fails.
    static func run(_ args: [String], in dir: String) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "-C", dir] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        let s = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return s.isEmpty ? nil : s
    }
}
