@preconcurrency import Crypto
import Foundation
import ProvenantCore

/// What a verification looks at: the envelope, and the statement once the signature holds.
public struct VerificationSubject: Sendable {
    public var envelope: DSSEEnvelope
    public var statement: Statement?
}

/// One check that can say "no, because…". Checks run in order and the first "no" ends the run,
/// so nothing unverified is ever reported as verified.
public protocol VerificationPolicy: Sendable {
    var name: String { get }
    /// A one-line account of what held, or a thrown failure naming what did not match.
    func check(_ s: inout VerificationSubject) throws(VerificationFailure) -> String
}

public struct VerificationFailure: Error, Sendable, CustomStringConvertible {
    public var check: String
    public var reason: String
    public var description: String { "\(check): \(reason)" }
}

public struct VerificationReport: Sendable {
    public var passed: [(check: String, detail: String)]
    public var notRequested: [String]
    public var failure: VerificationFailure?
    public var verified: Bool { failure == nil }
}

public struct Verifier: Sendable {
    public var policies: [any VerificationPolicy]
    public var notRequested: [String]
    public init(policies: [any VerificationPolicy], notRequested: [String]) { self.policies = policies; self.notRequested = notRequested }

    public func verify(_ envelope: DSSEEnvelope) -> VerificationReport {
        var s = VerificationSubject(envelope: envelope, statement: nil)
        var passed: [(String, String)] = []
        for p in policies {
            do { passed.append((p.name, try p.check(&s))) } catch {
                return VerificationReport(passed: passed, notRequested: notRequested, failure: error)
            }
        }
        return VerificationReport(passed: passed, notRequested: notRequested, failure: nil)
    }
}

/// The envelope carries a valid signature from this key, over the DSSE pre-authentication encoding.
public struct SignedByKey: VerificationPolicy {
    public let key: VerifyingKey
    public var name: String { "signature" }
    public init(key: VerifyingKey) { self.key = key }
    public func check(_ s: inout VerificationSubject) throws(VerificationFailure) -> String {
        guard s.envelope.verified(by: key) else {
            throw VerificationFailure(check: name, reason: "no signature verifies with the \(key.typeName) key \(key.keyID.prefix(16))")
        }
        return "DSSE signature verified with \(key.typeName) key \(key.keyID.prefix(16))"
    }
}

/// The payload is an in-toto Statement.
public struct IsInTotoStatement: VerificationPolicy {
    public var name: String { "statement" }
    public init() {}
    public func check(_ s: inout VerificationSubject) throws(VerificationFailure) -> String {
        guard s.envelope.payloadType == DSSEEnvelope.inTotoType else {
            throw VerificationFailure(check: name, reason: "payloadType is '\(s.envelope.payloadType)', expected \(DSSEEnvelope.inTotoType)")
        }
        do { s.statement = try Statement.parse(s.envelope.payload) } catch { throw VerificationFailure(check: name, reason: error.message) }
        return "in-toto Statement with \(s.statement?.subjects.count ?? 0) subject(s)"
    }
}

public struct PredicateTypeIs: VerificationPolicy {
    public let expected: String
    public var name: String { "predicate type" }
    public init(_ expected: String) { self.expected = expected }
    public func check(_ s: inout VerificationSubject) throws(VerificationFailure) -> String {
        let got = s.statement?.predicateType ?? ""
        guard got == expected else { throw VerificationFailure(check: name, reason: "expected \(expected), got \(got)") }
        return got
    }
}

/// A subject's digest equals the artifact's, for every algorithm both name.
public struct SubjectMatches: VerificationPolicy {
    public let digests: [String: String]
    public var name: String { "subject digest" }
    public init(digests: [String: String]) { self.digests = digests.mapValues { $0.lowercased() } }

    public static func digests(ofFile path: String) throws(InputError) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError("cannot read artifact", at: Location(path)) }
        return ["sha256": Hex.encode(SHA256.hash(data: data)), "sha512": Hex.encode(SHA512.hash(data: data))]
    }

    public func check(_ s: inout VerificationSubject) throws(VerificationFailure) -> String {
        for subj in s.statement?.subjects ?? [] {
            let shared = subj.digest.keys.filter { digests[$0] != nil }
            if !shared.isEmpty, shared.allSatisfy({ subj.digest[$0]?.lowercased() == digests[$0] }) {
                return "\(subj.name) \(shared.sorted().joined(separator: "+")) matches"
            }
        }
        let want = digests.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.prefix(16))…" }.joined(separator: ", ")
        throw VerificationFailure(check: name, reason: "no subject has the artifact's digest (\(want))")
    }
}

/// SLSA provenance fields, from v1 (`runDetails.builder.id`) or v0.2 (`builder.id`).
public enum SLSA {
    public static func builderID(_ predicate: Any?) -> String? {
        let p = predicate as? [String: Any]
        return ((p?["runDetails"] as? [String: Any])?["builder"] as? [String: Any])?["id"] as? String
            ?? (p?["builder"] as? [String: Any])?["id"] as? String
    }

    /// Source URIs: v1 external parameters and resolved dependencies; v0.2 configSource and materials.
    public static func sourceURIs(_ predicate: Any?) -> [String] {
        guard let p = predicate as? [String: Any] else { return [] }
        var out: [String] = []
        if let bd = p["buildDefinition"] as? [String: Any] {
            if let ext = bd["externalParameters"] as? [String: Any] {
                for k in ["source", "repository"] {
                    if let v = ext[k] as? String { out.append(v) }
                    if let v = (ext[k] as? [String: Any])?["uri"] as? String { out.append(v) }
                }
                if let v = (ext["workflow"] as? [String: Any])?["repository"] as? String { out.append(v) }
            }
            for d in (bd["resolvedDependencies"] as? [[String: Any]]) ?? [] { if let u = d["uri"] as? String { out.append(u) } }
        }
        if let cs = (p["invocation"] as? [String: Any])?["configSource"] as? [String: Any], let u = cs["uri"] as? String { out.append(u) }
        for m in (p["materials"] as? [[String: Any]]) ?? [] { if let u = m["uri"] as? String { out.append(u) } }
        return out
    }
}

public struct BuilderIs: VerificationPolicy {
    public let expected: String
    public var name: String { "builder id" }
    public init(_ expected: String) { self.expected = expected }
    public func check(_ s: inout VerificationSubject) throws(VerificationFailure) -> String {
        let got = SLSA.builderID(s.statement?.predicate)
        guard got == expected else { throw VerificationFailure(check: name, reason: "expected \(expected), got \(got ?? "none")") }
        return expected
    }
}

/// A source URI equals the expected one, or extends it with a ref (`@refs/heads/main`, `#…`).
public struct SourceIs: VerificationPolicy {
    public let expected: String
    public var name: String { "source uri" }
    public init(_ expected: String) { self.expected = expected }
    public func check(_ s: inout VerificationSubject) throws(VerificationFailure) -> String {
        let uris = SLSA.sourceURIs(s.statement?.predicate)
        if let hit = uris.first(where: { $0 == expected || $0.hasPrefix(expected + "@") || $0.hasPrefix(expected + "#") }) { return hit }
        throw VerificationFailure(check: name, reason: "expected \(expected), got \(uris.isEmpty ? "none" : uris.joined(separator: ", "))")
    }
}
