import Foundation
import Testing
import TestSupport
@testable import Attestation

/// Issue 11, item 3: `--source-uri` checks the build's own source, never what the build fetched.
@Suite struct SourceURITests {
    static var fixtures: String { Bundle.module.resourceURL?.appendingPathComponent("Fixtures").path ?? "" }

    /// What `SourceIs(expected)` says of a predicate: nil when it passes, else the reason.
    func failure(_ predicate: Any, _ expected: String) -> String? {
        var s = VerificationSubject(envelope: DSSEEnvelope(payloadType: DSSEEnvelope.inTotoType, payload: Data(), signatures: []),
                                    statement: Statement(subjects: [], predicateType: "https://slsa.dev/provenance/v1", predicate: predicate))
        do { _ = try SourceIs(expected).check(&s); return nil } catch { return error.reason }
    }

    /// The predicate of an in-toto statement in a file, or of the statement a Sigstore bundle signs.
    func predicate(_ path: String) throws -> Any {
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        if let env = obj["dsseEnvelope"] as? [String: Any] {
            let payload = try #require(Data(base64Encoded: env["payload"] as? String ?? ""))
            let statement = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
            return try #require(statement["predicate"])
        }
        return try #require(obj["predicate"])
    }

    func github(repository: String, ref: String, fetched: [String]) -> [String: Any] {
        ["buildDefinition": ["buildType": "https://actions.github.io/buildtypes/workflow/v1",
                             "externalParameters": ["workflow": ["ref": ref, "repository": repository, "path": ".github/workflows/release.yml"]],
                             "resolvedDependencies": fetched.map { ["uri": $0, "digest": ["gitCommit": String(repeating: "a", count: 40)]] }],
         "runDetails": ["builder": ["id": "https://github.com/actions/runner/github-hosted"]]]
    }

    @Test func aBuildOfAnotherRepositoryThatFetchedTheExpectedOneFails() {
        let evil = github(repository: "https://github.com/evil/repo", ref: "refs/heads/main",
                          fetched: ["git+https://github.com/evil/repo@refs/heads/main", "git+https://github.com/acme/agent@refs/heads/main"])
        for expected in ["github.com/acme/agent", "https://github.com/acme/agent", "git+https://github.com/acme/agent", "git+https://github.com/acme/agent@refs/heads/main"] {
            #expect(failure(evil, expected)?.contains("got git+https://github.com/evil/repo@refs/heads/main") == true, "\(expected)")
        }
        #expect(failure(evil, "github.com/evil/repo") == nil)
        // The same through Provenant's own buildType, and SLSA v0.2 materials.
        let own: [String: Any] = ["buildDefinition": ["buildType": "https://provenant.dev/buildtypes/local/v1",
                                                      "externalParameters": ["source": "git+https://github.com/evil/repo@refs/heads/main"],
                                                      "resolvedDependencies": [["uri": "git+https://github.com/acme/agent@refs/heads/main"]]]]
        #expect(failure(own, "git+https://github.com/acme/agent") != nil)
        let v02: [String: Any] = ["buildType": "https://example.com/x", "invocation": ["configSource": ["uri": "git+https://github.com/evil/repo@refs/heads/main"]],
                                  "materials": [["uri": "git+https://github.com/acme/agent@refs/heads/main"]]]
        #expect(failure(v02, "git+https://github.com/acme/agent") != nil)
        #expect(failure(v02, "git+https://github.com/evil/repo") == nil)
    }

    @Test func anUnknownBuildTypeLeavesTheSourceUndeterminedAndFails() {
        let p: [String: Any] = ["buildDefinition": ["buildType": "https://ci.example/buildtypes/custom/v1",
                                                    "externalParameters": ["source": "git+https://github.com/acme/agent@refs/heads/main"],
                                                    "resolvedDependencies": [["uri": "git+https://github.com/acme/agent@refs/heads/main"]]]]
        #expect(failure(p, "git+https://github.com/acme/agent")?.contains("cannot be determined: buildType 'https://ci.example/buildtypes/custom/v1'") == true)
        #expect(SLSA.sourceURIs(p).isEmpty)
        #expect(failure(["buildDefinition": ["externalParameters": ["source": "git+https://github.com/acme/agent"]]], "github.com/acme/agent") != nil, "no buildType")
        #expect(failure(["buildDefinition": ["buildType": "https://actions.github.io/buildtypes/workflow/v1", "externalParameters": [:]]],
                        "github.com/acme/agent")?.contains("workflow.repository, which is missing") == true)
    }

    /// Real GitHub statements, signed in the sigstore-conformance bundles: actions/attest-build-provenance
    /// and slsa-github-generator, both SLSA v1.
    @Test func realGitHubProvenancesNameTheirRepository() throws {
        let dir = Self.fixtures + "/sigstore-conformance/bundle-verify"
        let attest = try predicate(dir + "/happy-path-intoto-in-dsse-v3/bundle.sigstore.json")
        #expect(SLSA.sourceURIs(attest) == ["git+https://github.com/loosebazooka/aa-test@refs/heads/main"])
        #expect(failure(attest, "github.com/loosebazooka/aa-test") == nil)
        #expect(failure(attest, "https://github.com/loosebazooka/aa-test@refs/heads/main") == nil)
        #expect(failure(attest, "https://github.com/loosebazooka/aa-test@refs/heads/dev") != nil)
        #expect(failure(attest, "github.com/loosebazooka/aa-test-2") != nil)
        let generator = try predicate(dir + "/intoto-with-custom-trust-root/bundle.sigstore.json")
        #expect(failure(generator, "git+https://github.com/sigstore/sigstore-conformance.git") == nil)
        #expect(failure(generator, "github.com/sigstore/other") != nil)
        // slsa-github-generator's v0.2 statement names its source in invocation.configSource.
        let v02 = try predicate(Self.fixtures + "/slsa/slsa-github-generator-v0.2.intoto.json")
        #expect(failure(v02, "github.com/acme/agent@refs/tags/v1.2.0") == nil)
        #expect(failure(v02, "github.com/acme/agent@refs/heads/main") != nil)
    }

    @Test func gitLabProvenancesNameTheirProject() throws {
        let v1 = try predicate(Self.fixtures + "/slsa/gitlab-runner-v1.intoto.json")
        #expect(SLSA.sourceURIs(v1) == ["https://gitlab.com/acme/agent"])
        #expect(failure(v1, "https://gitlab.com/acme/agent") == nil && failure(v1, "git+https://gitlab.com/acme/agent.git") == nil)
        #expect(failure(v1, "https://gitlab.com/acme/shared-ci-templates") != nil, "a resolved dependency is not the source")
        let v02 = try predicate(Self.fixtures + "/slsa/gitlab-runner-v0.2.intoto.json")
        #expect(failure(v02, "gitlab.com/acme/agent") == nil)
        #expect(failure(v02, "gitlab.com/acme/shared-ci-templates") != nil, "a material is not the source")
    }

    @Test func sourceLocatorsReadTheCommonSpellings() {
        let same = ["github.com/acme/agent", "https://github.com/acme/agent", "git+https://github.com/acme/agent.git", "https://GitHub.com/acme/agent/",
                    "git@github.com:acme/agent.git", "ssh://git@github.com/acme/agent", "https://user:token@github.com/acme/agent"]
        for s in same { #expect(SourceLocator(s)?.repository == "github.com/acme/agent", "\(s)") }
        #expect(SourceLocator("git+https://github.com/acme/agent@refs/heads/main")?.ref == "refs/heads/main")
        #expect(SourceLocator("https://github.com/acme/agent#refs/tags/v1")?.ref == "refs/tags/v1")
        // A branch may hold `#`; after `@`, it is part of the ref (helper-158).
        let hashed = SourceLocator("git+https://github.com/acme/agent@refs/heads/fix#12")
        #expect(hashed?.repository == "github.com/acme/agent" && hashed?.ref == "refs/heads/fix#12", "\(String(describing: hashed))")
        #expect(SourceLocator("github.com/Acme/agent")?.repository != "github.com/acme/agent", "paths keep their case")
        #expect(SourceLocator("") == nil && SourceLocator("https://github.com") == nil)
    }

    /// End to end through `verify` on a signed real GitHub provenance.
    @Test func verifyChecksTheSourceOfASignedGitHubProvenance() throws {
        let args = Conformance.arguments("intoto-with-custom-trust-root")
        let ok = try runProcess(provenantBinary, args + ["--source-uri", "github.com/sigstore/sigstore-conformance"])
        #expect(ok.code == 0 && ok.out.contains("✓ source uri: git+https://github.com/sigstore/sigstore-conformance@refs/heads/main"), "\(ok.out)\(ok.err)")
        let other = try runProcess(provenantBinary, args + ["--source-uri", "github.com/acme/agent"])
        #expect(other.code == 1 && other.out.contains("source uri: expected github.com/acme/agent"))
    }
}
