import Attestation
import Catalog
import Crypto
import Foundation
import ProvenantCore
import Yams

/// `server --trust-policy FILE`: who must have built and signed each agent's releases. A YAML file:
///
/// ```yaml
/// trustedRoot: sigstore/trusted_root.json     # optional; the embedded production root otherwise
/// agents:
///   collector:
///     certificateIdentityRegexp: ^https://github\.com/acme/collector/
///     certificateOidcIssuer: https://token.actions.githubusercontent.com
///     predicateType: slsaprovenance1
///     builderId: https://github.com/actions/runner
///     sourceUri: github.com/acme/collector
///   remediator:
///     key: keys/remediator.pub                # a managed key (SPKI PEM)
///   "*":                                      # every agent not named
///     key: keys/fleet.pub
/// ```
///
/// Paths are relative to the policy file. An agent with no entry (and no `"*"`) has nothing to be
/// verified against: its attestations are stored as not checked, never as verified.
public struct FleetTrustPolicy: Sendable {
    public var agents: [String: AttestationRequirements]
    /// The file's SHA-256, stored with each verification so a status names the policy it was judged under.
    public var sha256: String

    static let entryKeys: Set<String> = ["key", "certificateIdentity", "certificateIdentityRegexp", "certificateOidcIssuer",
                                         "predicateType", "builderId", "sourceUri"]

    /// A key file (SPKI PEM) and a trusted root are read whole, as regular files of at most these sizes.
    static let maxKeyBytes = SigningKey.maxPEMBytes
    static let maxTrustedRootBytes = TrustedRoot.maxBytes

    public static func load(_ path: String) throws(InputError) -> FleetTrustPolicy {
        let bytes = try NamedInputFile.read(path, limit: 1 << 20, what: "the trust policy", regularOnly: true)
        let text = String(decoding: bytes, as: UTF8.self)
        let dir = (path as NSString).deletingLastPathComponent
        func resolve(_ p: String) -> String { p.hasPrefix("/") || dir.isEmpty ? p : dir + "/" + p }
        func fail(_ message: String, _ node: Node?) -> InputError { InputError(message, at: Location(path, line: node?.mark?.line)) }
        func readBounded(_ file: String, limit: Int, what: String, _ node: Node) throws(InputError) -> [UInt8] {
            // Named by the policy, not the operator: only a regular file, so a FIFO cannot hang the load.
            do { return try NamedInputFile.read(file, limit: limit, what: "\(what) '\(Redactor.redact(file))'", regularOnly: true) } catch {
                throw fail(error.message, node)
            }
        }
        // Nesting is bounded before Yams' node builder recurses, and aliases are refused: a policy needs
        // none, and each use is expanded in full wherever the tree is walked.
        do { try YAMLNesting.check(text, maxAliases: 0) } catch { throw InputError(error.message, at: Location(path, line: error.line)) }
        let root: Node
        do {
            guard let r = try Yams.compose(yaml: text) else { throw fail("the trust policy is empty", nil) }
            root = r
        } catch let e as InputError { throw e } catch {
            throw InputError("not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")", at: Location(path))
        }
        guard let top = root.mapping else { throw fail("the trust policy is a mapping with 'agents' (and optionally 'trustedRoot')", root) }
        var trustedRootBytes: [UInt8] = [], parsedRoot: TrustedRoot?
        var agentsNode: Node.Mapping?
        for (k, v) in top {
            switch k.string {
            case "trustedRoot":
                guard let s = v.string, !s.isEmpty else { throw fail("trustedRoot is a path", v) }
                let trustedRoot = resolve(s)
                // Loaded now, so a bad root stops the server at start, not each verification. Read as a
                // regular file of bounded size: a FIFO or device named there must not hang the start.
                trustedRootBytes = try readBounded(trustedRoot, limit: maxTrustedRootBytes, what: "cannot read trustedRoot", v)
                // Kept: every verification uses these bytes, the ones the policy's hash names, and the
                // file is never read again (found by helper-201).
                parsedRoot = try TrustedRoot.parse(Data(trustedRootBytes), path: trustedRoot)
            case "agents":
                guard let m = v.mapping else { throw fail("agents maps agent names (or \"*\") to what their attestations must show", v) }
                agentsNode = m
            default:
                throw fail("unknown key '\(Redactor.quote(k.string ?? "?", max: 40))'; the trust policy has agents and trustedRoot", k)
            }
        }
        guard let agentsNode else { throw fail("the trust policy names no agents", root) }
        var agents: [String: AttestationRequirements] = [:]
        var keysRead: [String: String] = [:]
        for (k, v) in agentsNode {
            guard let name = k.string, name == "*" || AgentName.isValid(name) else { throw fail("'\(Redactor.quote(k.string ?? "?", max: 40))' is not an agent name or \"*\"", k) }
            guard let entry = v.mapping else { throw fail("agent \(name): a mapping of key, certificateIdentity[Regexp], certificateOidcIssuer, predicateType, builderId, sourceUri", v) }
            var fields: [String: String] = [:]
            for (fk, fv) in entry {
                guard let f = fk.string, entryKeys.contains(f) else {
                    throw fail("agent \(name): unknown key '\(Redactor.quote(fk.string ?? "?", max: 40))'", fk)
                }
                guard let s = fv.string, !s.isEmpty else { throw fail("agent \(name): \(f) is a non-empty string", fv) }
                fields[f] = s
            }
            if fields["certificateIdentity"] != nil && fields["certificateIdentityRegexp"] != nil {
                throw fail("agent \(name): give certificateIdentity or certificateIdentityRegexp, not both", v)
            }
            let identity: IdentityIs.Match? = fields["certificateIdentity"].map { .exact($0) } ?? fields["certificateIdentityRegexp"].map { .regex($0) }
            if let re = fields["certificateIdentityRegexp"], (try? NSRegularExpression(pattern: re)) == nil {
                throw fail("agent \(name): certificateIdentityRegexp is not a regular expression", v)
            }
            // A signer is required: an entry that names none would let any signature (or none) pass.
            // One kind of signer: no attestation is both key-signed and certificate-signed, so an entry
            // naming both could never verify anything.
            if fields["key"] != nil && (identity != nil || fields["certificateOidcIssuer"] != nil) {
                throw fail("agent \(name): name one signer: a key, or certificateIdentity[Regexp] with certificateOidcIssuer, not both", v)
            }
            guard fields["key"] != nil || (identity != nil && fields["certificateOidcIssuer"] != nil) else {
                throw fail("agent \(name): name the signer: key, or certificateIdentity[Regexp] with certificateOidcIssuer", v)
            }
            if (identity == nil) != (fields["certificateOidcIssuer"] == nil) {
                throw fail("agent \(name): certificateIdentity[Regexp] and certificateOidcIssuer go together", v)
            }
            var keyPEM: String?
            if let k = fields["key"] {
                // Each file is read once: a 1 MiB policy naming one 64 KiB key for 70,000 agents would
                // otherwise hold 4.5 GiB of copies (found by review).
                let file = resolve(k)
                let pem: String
                if let known = keysRead[file] { pem = known } else {
                    guard let text = String(validating: try readBounded(file, limit: maxKeyBytes, what: "agent \(name): cannot read key", v), as: UTF8.self) else {
                        throw fail("agent \(name): key \(Redactor.redact(k)) is not UTF-8 text", v)
                    }
                    pem = text
                    keysRead[file] = text
                }
                do { _ = try VerifyingKey.load(pem: pem) } catch { throw fail("agent \(name): key \(Redactor.redact(k)): \(error.message)", v) }
                keyPEM = pem
            }
            if let t = fields["predicateType"] {
                do { _ = try Statement.predicateType(t) } catch { throw fail("agent \(name): predicateType: \(error.message)", v) }
            }
            var requirements = AttestationRequirements(keyPEM: keyPEM, trustedRootPath: nil, identity: identity, issuer: fields["certificateOidcIssuer"],
                                                       predicateType: fields["predicateType"], builderID: fields["builderId"], sourceURI: fields["sourceUri"])
            requirements.trustedRoot = parsedRoot
            agents[name] = requirements
        }
        // The policy is what it says and what it points at: replacing a key file or the trusted root
        // (a compromised key rotated out) changes it as much as editing the YAML does.
        var hasher = SHA256()
        hasher.update(data: bytes)
        for name in agents.keys.sorted() {
            hasher.update(data: Data("\u{0}\(name)\u{0}".utf8))
            if let pem = agents[name]?.keyPEM { hasher.update(data: Data(pem.utf8)) }
        }
        if parsedRoot != nil {
            hasher.update(data: Data("\u{0}trustedRoot\u{0}".utf8))
            hasher.update(data: trustedRootBytes)
        }
        return FleetTrustPolicy(agents: agents, sha256: Hex.encode(hasher.finalize()))
    }

    /// What `agent`'s attestations must show, or nil when the policy says nothing about it.
    public func requirements(for agent: String) -> AttestationRequirements? { agents[agent] ?? agents["*"] }
}

/// Verifying an attestation pushed with a release, under the server's trust policy.
public enum FleetProvenance {
    public enum Status: String, Sendable { case verified, failed, notChecked = "not-checked" }

    /// Parses and verifies `body` for the release; a body that is not an attestation is a `400`.
    /// The outcome is always a status with its reasons: a check that could not run is `failed`
    /// (the policy asked for it) or `not-checked` (no policy applies), never `verified`.
    static func verify(_ body: Data, agent: String, artifactSHA256: String?, policy: FleetTrustPolicy?, at: String) throws -> StoredAttestation {
        let document: AttestationDocument
        do { document = try AttestationDocument.parse(body, path: "body") } catch {
            throw FleetAPIError(.badRequest, field: "body", "not an attestation (a Sigstore bundle, a DSSE envelope or .intoto.jsonl): \(error.message)\(error.location?.line.map { " (line \($0))" } ?? "")")
        }
        let kind: String, predicateType: String
        switch document {
        case .bundle(let b):
            kind = "sigstore-bundle"
            if case .dsse(let env) = b.content { predicateType = (try? Statement.parse(env.payload))?.predicateType ?? "" } else { predicateType = "" }
        case .envelopes(let envs, _):
            kind = "dsse"
            predicateType = envs.lazy.compactMap { try? Statement.parse($0.payload).predicateType }.first ?? ""
        }
        var stored = StoredAttestation(sha256: Hex.encode(SHA256.hash(data: body)), kind: kind, predicateType: Redactor.quote(predicateType, max: 200),
                                       status: Status.notChecked.rawValue, reasons: [], policySHA256: policy?.sha256 ?? "", createdAt: at)
        guard let policy else {
            stored.reasons = ["the server runs without --trust-policy: nothing to verify the attestation against"]
            return stored
        }
        guard let requirements = policy.requirements(for: agent) else {
            stored.reasons = ["the trust policy names no signer for agent \(agent) (and has no \"*\" entry)"]
            return stored
        }
        guard let artifactSHA256 else {
            stored.status = Status.failed.rawValue
            stored.reasons = ["the release names no artifact digest (give ?artifact=sha256:HEX, or an SBOM whose metadata component has one): the attestation's subject cannot be checked"]
            return stored
        }
        do {
            var requirements = requirements
            // The policy's trusted root is for Sigstore bundles; a bare envelope is checked with the key alone.
            if case .envelopes = document { requirements.trustedRootPath = nil; requirements.trustedRoot = nil }
            let report = try requirements.verify(document, artifact: .digests(["sha256": artifactSHA256]))
            stored.status = (report.verified ? Status.verified : Status.failed).rawValue
            // The type stored is the verified envelope's, not the first one's (found by helper-130).
            if let v = report.verifiedEnvelope { stored.predicateType = Redactor.quote(v.predicateType ?? "", max: 200) }
            stored.reasons = report.passed.map { "passed \($0.check): \($0.detail)" }
                + (report.failure.map { ["FAILED \($0.check): \($0.reason)"] } ?? [])
                + report.notRequested.map { "not checked: \($0)" }
        } catch {
            // The policy's requirements cannot apply to this attestation (a bare envelope where only
            // a certificate identity is trusted, say): it cannot pass.
            stored.status = Status.failed.rawValue
            stored.reasons = ["FAILED: \(error.message)"]
        }
        stored.reasons = stored.reasons.map { Redactor.escapeControls(Redactor.redact($0)) }
        return stored
    }
}

extension FleetProvenance {
    /// Marks what an earlier trust policy judged as not checked, at once, then judges it again under
    /// `policy` (nil: no policy), batch by batch. The server runs this when it starts: a policy that
    /// stops trusting a key takes effect for what is already stored, never leaving it `verified`.
    public static func markStale(_ store: any FleetStore, policy: FleetTrustPolicy?) async throws -> Int {
        let current = policy?.sha256 ?? ""
        return try await store.markStaleAttestations(policySHA256: current, reason: FleetSchema.column([
            "judged under another trust policy than the one the server runs with now; being verified again",
        ]))
    }

    public static func reverifyStale(_ store: any FleetStore, policy: FleetTrustPolicy?) async throws -> Int {
        let current = policy?.sha256 ?? ""
        var done = 0
        var seen = Set<String>()
        while true {
            let batch = try await store.staleAttestations(policySHA256: current, limit: 100)
            // Each is judged once: a row that stays stale (its release gone meanwhile) does not loop.
            let fresh = batch.filter { seen.insert("\($0.agent) \($0.version) \($0.stored.sha256)").inserted }
            if fresh.isEmpty { return done }
            for item in fresh {
                // One body at a time: bodies may be large, and a batch of them is not held at once. A
                // body that cannot be read now (an outage) leaves the row not checked for the next start.
                let body: Data
                do {
                    guard let b = try await store.attestationBody(agent: item.agent, version: item.version, sha256: item.stored.sha256) else { continue }
                    body = b
                } catch is CancellationError { return done } catch {
                    try await Task.sleep(for: .seconds(1))
                    continue
                }
                var judged: StoredAttestation
                do {
                    judged = try verify(body, agent: item.agent, artifactSHA256: item.artifactSHA256, policy: policy, at: item.stored.createdAt)
                } catch {
                    judged = item.stored
                    judged.status = Status.failed.rawValue
                    judged.reasons = ["FAILED: the stored attestation no longer reads as one"]
                    judged.policySHA256 = current
                }
                judged.createdAt = item.stored.createdAt
                // One row failing to update (a moment's outage) does not end the pass; it stays not checked.
                do { try await store.updateAttestation(agent: item.agent, version: item.version, judged); done += 1 } catch is CancellationError { return done } catch {
                    try await Task.sleep(for: .seconds(1))
                }
            }
        }
    }
}
