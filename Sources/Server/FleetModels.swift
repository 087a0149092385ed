import Foundation
import ProvenantCore

/// What a bearer token may do. `ingest` without an agent may write every agent.
public struct TokenScope: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable { case admin, read, ingest }
    public var kind: Kind
    /// For `ingest:AGENT`: the one agent it may write.
    public var agent: String?

    public init(kind: Kind, agent: String? = nil) { self.kind = kind; self.agent = agent }

    /// `admin`, `read`, `ingest` or `ingest:AGENT`.
    public init?(_ text: String) {
        // Empty parts are kept: dropped, `ingest:` (an unset `$AGENT`) read as every agent's ingest
        // and `:admin` as admin (found by helper-97).
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, let kind = Kind(rawValue: first) else { return nil }
        if parts.count == 2 {
            guard kind == .ingest, AgentName.isValid(parts[1]) else { return nil }
            self.init(kind: kind, agent: parts[1])
        } else {
            self.init(kind: kind)
        }
    }

    public var description: String { agent.map { "\(kind.rawValue):\($0)" } ?? kind.rawValue }

    public var mayRead: Bool { kind == .admin || kind == .read }
    public func mayWrite(agent name: String) -> Bool {
        kind == .admin || (kind == .ingest && (agent == nil || agent == name))
    }
    public var isAdmin: Bool { kind == .admin }
}

/// Agent names, versions, environments and clusters: path segments and labels, so a conservative
/// alphabet (as Kubernetes names and semver allow) and a length limit.
public enum AgentName {
    public static let maxLength = 128

    public static func isValid(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= maxLength, s != ".", s != ".." else { return false }
        guard s.utf8.allSatisfy({ b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x2e || b == 0x5f || b == 0x2b
        }) else { return false }
        // A name the redactor would hide is a credential pasted in the wrong place: stored, it was shown
        // in full on every page and listing (found by helper-97).
        return Redactor.redactField(s) == s
    }
}

/// A release as ingest stores it.
public struct NewRelease: Sendable {
    public var agent: String
    public var version: String
    public var sbomFormat: String
    public var sbomSHA256: String
    /// The digest of the artifact the release ships (an image's manifest, a binary): what an
    /// attestation's subject must name. From `?artifact=`, else the SBOM's metadata component.
    public var artifactSHA256: String?
    /// The body as pushed.
    public var sbom: Data
    public var components: [StoredComponent]
    /// Parallel to `components`: where each one is looked up in the advisory database.
    public var sources: [ComponentSource]
    /// The advisories matched at ingest.
    public var findings: [StoredFinding] = []
    public var createdAt: String
    /// What the SBOM says its maker could not read (known unknowns), one line each.
    public var unreadInputs: [String] = []
}

/// What a stored release's SBOM says its maker could not read.
public enum UnreadInputs: Sendable, Equatable {
    case recorded([String])
    /// The release was stored before the server kept them.
    case notRecorded
}

/// A component's full purl (with the qualifiers a distribution's release is read from) and its OSV
/// ecosystem and canonical name; nil when no OSV database covers it.
public struct ComponentSource: Sendable, Hashable {
    public var purl: String
    public var osv: OSVName?
}

/// An OSV ecosystem (without release) and a package's canonical name in it.
public struct OSVName: Sendable, Hashable, Comparable {
    public var ecosystem: String
    public var name: String
    public static func < (a: Self, b: Self) -> Bool { (a.ecosystem, a.name) < (b.ecosystem, b.name) }
}

/// One advisory matched to one component of a release.
public struct StoredFinding: Sendable, Hashable, Codable {
    /// The component's purl as stored (qualifiers dropped).
    public var purl: String
    public var id: String
    public var aliases: [String]
    public var severity: String
    public var severityRank: Int
    public var summary: String
    public var fixed: [String]
    /// `affected`, or `unknown` when a version could not be compared.
    public var status: String
    public var firstSeen: String
}

/// A finding with the release it is in, for fleet-wide answers and webhooks.
public struct FleetFinding: Sendable, Codable, Equatable {
    public var agent: String
    public var version: String
    public var environments: [String]
    public var finding: StoredFinding
}

/// Where a page of the fleet's findings resumes: after the finding with these values, in the answer's
/// order (worst rank first, then agent, release version, purl and advisory id in byte order). The
/// values themselves are carried, not a row's id, since a re-match replaces findings between pages.
/// Written as unpadded base64url of a JSON array.
public struct FleetFindingCursor: Sendable, Equatable {
    public var rank: Int
    public var agent: String
    public var version: String
    public var purl: String
    public var id: String

    public init(_ f: FleetFinding) {
        rank = f.finding.severityRank; agent = f.agent; version = f.version; purl = f.finding.purl; id = f.finding.id
    }

    /// The longest string a cursor carries: a stored purl is a name and a version of at most 4,096
    /// bytes each with its type; one of 4,107 bytes made the server refuse its own `next` (found by review).
    public static let maxField = 16_384

    /// Reads what `text` wrote; nil for anything else (a rank outside 0...99, a string empty, over
    /// `maxField` bytes or holding NUL).
    public init?(_ text: Substring) {
        guard let bytes = Self.base64URL(text),
              let items = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [Any], items.count == 5,
              let rank = items[0] as? Int, (0...99).contains(rank) else { return nil }
        let strings = items.dropFirst().compactMap { $0 as? String }
        guard strings.count == 4, strings.allSatisfy({ (1...Self.maxField).contains($0.utf8.count) && !$0.utf8.contains(0) }) else { return nil }
        self.rank = rank; agent = strings[0]; version = strings[1]; purl = strings[2]; id = strings[3]
    }

    public var text: String {
        Self.base64URL((try? JSONSerialization.data(withJSONObject: [rank, agent, version, purl, id] as [Any])) ?? Data())
    }

    /// Unpadded base64url.
    static func base64URL(_ data: Data) -> String {
        String(data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").prefix { $0 != "=" })
    }

    /// The bytes of unpadded base64url text of at most 128 KiB; nil for anything else.
    static func base64URL(_ text: Substring) -> [UInt8]? {
        guard (1...131_072).contains(text.utf8.count), text.utf8.allSatisfy({ isBase64URL($0) }) else { return nil }
        var b64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        b64 += String(repeating: "=", count: (4 - b64.utf8.count % 4) % 4)
        return Data(base64Encoded: b64).map { Array($0) }
    }

    static func isBase64URL(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b == 0x2d || b == 0x5f
    }
}

/// A stored component to be matched again after an import.
public struct MatchTarget: Sendable {
    public var releaseID: Int64
    public var purl: String
    public var source: String
}

/// A deployed or stored release an advisory affects, with the packages it affects there.
public struct AffectedRelease: Sendable, Codable, Equatable {
    public var agent: String
    public var version: String
    public var environments: [String]
    public var deployments: [DeploymentPlace]
    public var packages: [String]
    public var advisories: [String]
}

public struct StoredComponent: Sendable, Hashable, Codable {
    public var purl: String
    public var ecosystem: String
    public var name: String
    public var version: String
    public var licenses: [String]
}

public struct AgentSummary: Sendable, Codable, Equatable {
    public var name: String
    public var releases: Int
    public var latest: String?
    public var environments: [String]
}

public struct ReleaseSummary: Sendable, Codable, Equatable {
    public var agent: String
    public var version: String
    public var sbomFormat: String
    public var sbomSHA256: String
    public var components: Int
    public var createdAt: String
    public var deployments: [DeploymentPlace]
    public var artifactSHA256: String?
    /// `verified` when an attestation verified under the trust policy, else `failed` (one was checked and
    /// none passed), `not-checked` (no policy applied) or `none` (no attestation).
    public var provenance: String
}

/// An attestation pushed with a release, and what verifying it under the trust policy found.
public struct StoredAttestation: Sendable, Codable, Equatable {
    public var sha256: String
    /// `sigstore-bundle` or `dsse`.
    public var kind: String
    public var predicateType: String
    /// `verified`, `failed` or `not-checked`.
    public var status: String
    /// Each check that passed, the one that failed, and what was not checked.
    public var reasons: [String]
    /// The trust policy file it was judged under (empty without one).
    public var policySHA256: String
    public var createdAt: String
}

/// A stored attestation to judge again, with what judging it needs.
public struct StaleAttestation: Sendable {
    public var agent: String
    public var version: String
    public var artifactSHA256: String?
    public var stored: StoredAttestation
}

/// One finding of `provenant policy check --format json`, attached to a release.
public struct StoredPolicyResult: Sendable, Codable, Equatable {
    public var rule: String
    public var severity: String
    public var severityRank: Int
    /// `KIND/NAME[ container C]`.
    public var subject: String
    public var found: String
    public var location: String
}

/// A deployed release whose provenance did not verify.
public struct UnverifiedRelease: Sendable, Codable, Equatable {
    public var agent: String
    public var version: String
    public var deployments: [DeploymentPlace]
    public var provenance: String
    /// Each attestation's status and first failing reason.
    public var attestations: [StoredAttestation]
}

/// What runs where, with the provenance of what runs.
public struct DeploymentRow: Sendable, Codable, Equatable {
    public var agent: String
    public var version: String
    public var environment: String
    public var cluster: String
    public var provenance: String
    public var updatedAt: String
}

public enum AttestationInsert: Sendable, Equatable {
    case created(StoredAttestation)
    /// The same bytes were attached before: the stored outcome.
    case existing(StoredAttestation)
}

public struct DeploymentPlace: Sendable, Codable, Hashable, Comparable {
    public var environment: String
    public var cluster: String
    public static func < (a: Self, b: Self) -> Bool { (a.environment, a.cluster) < (b.environment, b.cluster) }
}

/// A component found in a release, for queries across the fleet.
public struct ComponentHit: Sendable, Codable, Equatable {
    public var agent: String
    public var release: String
    public var purl: String
    public var name: String
    public var version: String
}

/// Where a page of fleet-wide component hits resumes: after the component `purl` of the release
/// `releaseID`, in the answer's order (agent name, then release creation, release id and purl, all
/// in byte order). Written as unpadded base64url of `ID:PURL`, so it passes through a query string
/// as it is (a purl's `+`, space or `#` did not, found by review); releases are never deleted, so a
/// cursor stays good.
public struct ComponentHitCursor: Sendable, Equatable {
    public var releaseID: Int64
    public var purl: String
    public init(releaseID: Int64, purl: String) { self.releaseID = releaseID; self.purl = purl }

    /// Reads what `text` wrote: a positive decimal id of at most 18 digits, `:`, then a purl of 1 to
    /// `FleetFindingCursor.maxField` bytes without NUL. nil for anything else.
    public init?(_ text: Substring) {
        guard let bytes = FleetFindingCursor.base64URL(text), let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let digits = bytes[..<colon], purl = bytes[(colon + 1)...]
        guard (1...18).contains(digits.count), digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let id = Int64(String(decoding: digits, as: UTF8.self)), id > 0,
              (1...FleetFindingCursor.maxField).contains(purl.count), !purl.contains(0),
              let text = String(validating: purl, as: UTF8.self) else { return nil }
        releaseID = id; self.purl = text
    }

    public var text: String { FleetFindingCursor.base64URL(Data("\(releaseID):\(purl)".utf8)) }
}

/// One fleet-wide hit with the cursor that resumes after it.
public struct ComponentHitRow: Sendable, Equatable {
    public var hit: ComponentHit
    public var cursor: ComponentHitCursor
    public init(hit: ComponentHit, cursor: ComponentHitCursor) { self.hit = hit; self.cursor = cursor }
}

public enum ReleaseInsert: Sendable, Equatable {
    case created
    /// The same agent and version with the same SBOM: nothing changed.
    case unchanged
    /// The same agent and version with another SBOM: refused, releases are immutable.
    case conflict(existingSHA256: String)
    /// The same SBOM naming another artifact digest (or one where none was stored): refused too, as
    /// the digest the release was stored with is what its attestations are checked against.
    case artifactConflict(existing: String?)
}

/// A store error that is the client's: the status and the field it names.
public struct StoreRefusal: Error, Sendable {
    public var field: String
    public var message: String
}
