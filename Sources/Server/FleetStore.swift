import Foundation
import ProvenantCore

/// The fleet's durable state. Every method's effect is durable when it returns: ingest answers `201`
/// only after the release's transaction commits.
public protocol FleetStore: Sendable {
    /// Creates the tables, or brings an older database up to date.
    func migrate() async throws
    /// One trivial query: the database answers (what `/healthz` asks, unauthenticated, so it must cost nothing).
    func ping() async throws
    func createToken(hash: String, scope: TokenScope, createdAt: String) async throws
    /// The scope of the token whose SHA-256 is `hash`, or nil.
    func token(hash: String) async throws -> TokenScope?
    /// Every token, as its hash, scope and creation time, oldest first.
    func tokens() async throws -> [TokenSummary]
    /// Deletes the token whose hash is `hash`, with its sign-in links and sessions; false when there
    /// is none.
    func revokeToken(hash: String) async throws -> Bool
    func addRelease(_ release: NewRelease) async throws -> ReleaseInsert
    /// Records that `agent` `version` runs in `environment` on `cluster`, replacing what ran there;
    /// false when the release is unknown.
    func recordDeployment(agent: String, version: String, environment: String, cluster: String, at: String) async throws -> Bool
    func agents() async throws -> [AgentSummary]
    /// nil when the agent is unknown.
    func releases(agent: String) async throws -> [ReleaseSummary]?
    func release(agent: String, version: String) async throws -> ReleaseSummary?
    /// A page of the release's components in purl byte order: at most `limit`, those after `after`.
    /// nil when the release is unknown.
    func components(agent: String, version: String, after: String?, limit: Int) async throws -> [StoredComponent]?
    /// Releases holding the component with exactly `purl` (qualifiers and subpath dropped): at most
    /// `limit` hits, those after `after` in the order `ComponentHitCursor` names. nil when `after`
    /// names no release.
    func components(purl: String, after: ComponentHitCursor?, limit: Int) async throws -> [ComponentHitRow]?
    /// Releases holding a component of `ecosystem` and `name`, any version, paged as above.
    func components(ecosystem: String, name: String, after: ComponentHitCursor?, limit: Int) async throws -> [ComponentHitRow]?

    /// The full purls (qualifiers kept) of a release's components, as pushed; nil when the release is unknown.
    func sources(agent: String, version: String) async throws -> [String]?
    /// What the release's SBOM says its maker could not read; nil when there is no such release.
    func unreadInputs(agent: String, version: String) async throws -> UnreadInputs?
    /// Releases stored before their SBOM's unread inputs were kept, with ids above `after`, at most
    /// `limit`, in id order.
    func releasesWithoutUnreadInputs(after: Int64, limit: Int) async throws -> [(id: Int64, agent: String, version: String)]
    /// How many releases are stored without them.
    func countReleasesWithoutUnreadInputs() async throws -> Int
    /// Records a release's unread inputs, when they are still not recorded.
    func recordUnreadInputs(agent: String, version: String, _ inputs: [String]) async throws
    /// The SBOM a release was pushed with; nil when the release is unknown.
    func sbom(agent: String, version: String) async throws -> Data?
    /// Names to match again, kept until `clearPending` (see `FleetSchema`'s `pending_rematch`).
    func addPending(_ names: Set<OSVName>) async throws
    func pending() async throws -> Set<OSVName>
    func clearPending(_ names: Set<OSVName>) async throws
    /// Every stored component with one of these OSV names: what an import re-matches.
    func matchTargets(_ names: Set<OSVName>) async throws -> [MatchTarget]
    /// Replaces the findings of each target's component with the ones given (in one transaction);
    /// returns the findings that are new on a deployed release, for the webhook.
    func replaceFindings(_ updates: [FindingUpdate]) async throws -> [FleetFinding]
    /// A release's findings, worst first; nil when the release is unknown.
    func findings(agent: String, version: String) async throws -> [StoredFinding]?
    /// Every finding of at least `minimumRank` (`SeverityLevel.rawValue`) in the fleet, worst first, and
    /// every unrated one (rank 0: an advisory without a severity cannot be ruled below any level), last.
    /// At most `limit`, those after `after`.
    func findings(minimumRank: Int, after: FleetFindingCursor?, limit: Int) async throws -> [FleetFinding]
    /// Deployed releases with a finding whose advisory id is one of `ids`.
    func affected(advisoryIDs: [String]) async throws -> [AffectedRelease]

    /// Stores a verified (or not) attestation with its body; nil when the release is unknown.
    func addAttestation(agent: String, version: String, _ attestation: StoredAttestation, body: Data) async throws -> AttestationInsert?
    /// Replaces the outcome of a stored attestation (the same body judged again, under the current policy).
    func updateAttestation(agent: String, version: String, _ attestation: StoredAttestation) async throws
    /// Attestations judged under another trust policy than `policySHA256` ("" for none): what a server
    /// started with a new policy verifies again. A batch of at most `limit`.
    func staleAttestations(policySHA256: String, limit: Int) async throws -> [StaleAttestation]
    /// The body an attestation was pushed with; nil when there is none.
    func attestationBody(agent: String, version: String, sha256: String) async throws -> Data?
    /// The full purls of a release's components whose names an import still has to match again.
    func pendingSources(agent: String, version: String) async throws -> Set<String>
    /// Marks every attestation judged under another policy `not-checked` with `reason` (until it is
    /// judged again): a key the new policy no longer trusts vouches for nothing meanwhile.
    func markStaleAttestations(policySHA256: String, reason: String) async throws -> Int
    /// A release's attestations in the order attached; nil when the release is unknown.
    func attestations(agent: String, version: String) async throws -> [StoredAttestation]?
    /// Replaces a release's policy-check results with these; false when the release is unknown.
    func replacePolicyResults(agent: String, version: String, _ results: [StoredPolicyResult], at: String) async throws -> Bool
    /// A release's policy-check results, worst first; nil when the release is unknown.
    func policyResults(agent: String, version: String) async throws -> [StoredPolicyResult]?
    /// Every deployment with its release's provenance, by environment, agent and cluster.
    func deployments() async throws -> [DeploymentRow]
    /// Stores a browser session or one-time sign-in link (`kind` `session` or `link`).
    /// Rows expired by `now` are deleted first: a read-token holder posting the sign-in form in a loop
    /// added rows nothing removed unless a sign-in link happened to be used (found by helper-207).
    func createSession(hash: String, kind: String, tokenHash: String, expiresAt: String, now: String) async throws
    /// The token hash a link was made for, deleting the link (it is used once); nil when unknown or expired.
    func consumeLink(hash: String, now: String) async throws -> String?
    /// The scope and token hash a session acts for; nil when unknown, expired, or its token is gone.
    func session(hash: String, now: String) async throws -> (scope: TokenScope, tokenHash: String)?
    /// Deletes the browser session whose hash is `hash` (signing out); nothing when there is none.
    func endSession(hash: String) async throws
    /// Whether replicas share this database, so advisories go through the shared log (PostgreSQL);
    /// an embedded database has one server, whose OSV database is the only copy.
    var sharesAdvisories: Bool { get }
    /// Appends OSV records (id, modified, JSON) to the shared log; a version already there is skipped.
    /// Returns the ids of the records it added.
    func appendAdvisories(_ records: [(id: String, modified: String, json: String)]) async throws -> Set<String>
    /// Records of the shared log after `seq`, in order, at most `limit`.
    func advisories(after seq: Int64, limit: Int) async throws -> [(seq: Int64, json: String)]
    /// The newest `seq` of the shared log (0 when empty).
    func latestAdvisorySeq() async throws -> Int64
    /// Moves the shared log's as-of time keys (`AdvisoryStore.asOfKey`) forward, never back, by OSV
    /// ecosystem. Called after the records they date are appended.
    func raiseAdvisoryAsOf(_ keys: [String: String]) async throws
    /// The shared log's as-of time keys, by OSV ecosystem.
    func advisoryAsOf() async throws -> [String: String]
    /// Runs `body` holding the import lock every replica on this database takes.
    func withImportLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T
    /// Releases deployed in `environment` with no attestation that verified, by agent and version.
    func unverified(environment: String) async throws -> [UnverifiedRelease]
}

/// The findings one component of one release has now.
public struct FindingUpdate: Sendable {
    public var releaseID: Int64
    public var purl: String
    public var findings: [StoredFinding]
}

/// A stored token as `server token list` shows it: never the token, only its SHA-256.
public struct TokenSummary: Sendable, Codable, Equatable {
    public var hash: String
    public var scope: String
    public var createdAt: String
    public init(hash: String, scope: String, createdAt: String) { self.hash = hash; self.scope = scope; self.createdAt = createdAt }
}
