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
    /// Why, with control characters escaped: reasons quote the attestation (a certificate's names, a
    /// logged entry), and no such text may break the line it is reported on.
    public var reason: String
    public var description: String { "\(check): \(reason)" }
    public init(check: String, reason: String) { self.check = check; self.reason = Redactor.escapeControls(reason) }
}

public struct VerificationReport: Sendable {
    public var passed: [(check: String, detail: String)]
    public var notRequested: [String]
    public var failure: VerificationFailure?
    public var verified: Bool { failure == nil }
    /// For a file of several envelopes: how each fared, in order.
    public var envelopes: [EnvelopeOutcome] = []
    /// The envelope the report's checks passed for, when one did.
    public var verifiedEnvelope: EnvelopeOutcome?

    public init(passed: [(check: String, detail: String)], notRequested: [String], failure: VerificationFailure?) {
        self.passed = passed; self.notRequested = notRequested; self.failure = failure
    }
}

/// One envelope of an `.intoto.jsonl`, as verification judged it.
public struct EnvelopeOutcome: Sendable {
    /// The line it was read from, and its place among the envelopes (1-based).
    public var line: Int?
    public var index: Int
    public var verified: Bool
    public var failure: String?
    public var predicateType: String?
    /// `line 3` or `envelope 3`.
    public var place: String { line.map { "line \($0)" } ?? "envelope \(index)" }
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
        // Compared as bytes, as Go's policy engines compare: Swift's `==` took a Kelvin sign for a `K`
        // (found by helper-130).
        guard got.utf8.elementsEqual(expected.utf8) else { throw VerificationFailure(check: name, reason: "expected \(expected), got \(got)") }
        return got
    }
}

/// A subject's digest equals the artifact's, for every algorithm both name.
public struct SubjectMatches: VerificationPolicy {
    public let digests: [String: String]
    public var name: String { "subject digest" }
    public init(digests: [String: String]) { self.digests = digests.mapValues { $0.lowercased() } }

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

public struct BuilderIs: VerificationPolicy {
    public let expected: String
    public var name: String { "builder id" }
    public init(_ expected: String) { self.expected = expected }
    public func check(_ s: inout VerificationSubject) throws(VerificationFailure) -> String {
        let got = SLSA.builderID(s.statement?.predicate)
        guard let got, got.utf8.elementsEqual(expected.utf8) else { throw VerificationFailure(check: name, reason: "expected \(expected), got \(got ?? "none")") }
        return expected
    }
}

/// The build's own source is the expected repository (`github.com/acme/agent`,
/// `https://github.com/acme/agent`, `git+https://github.com/acme/agent.git` all name one), and,
/// when the expected value names a ref (`@refs/heads/main` or `#…`), that ref. What the build
/// merely fetched (resolvedDependencies, materials) never counts, and a provenance whose source
/// cannot be determined fails.
public struct SourceIs: VerificationPolicy {
    public let expected: String
    public var name: String { "source uri" }
    public init(_ expected: String) { self.expected = expected }
    public func check(_ s: inout VerificationSubject) throws(VerificationFailure) -> String {
        let got: String
        switch SLSA.buildSource(s.statement?.predicate) {
        case .source(let uri): got = URLUserinfo.stripped(uri)   // shown, so never with credentials
        case .undeterminable(let why): throw VerificationFailure(check: name, reason: "expected \(expected), but the build's source cannot be determined: \(why)")
        }
        guard let want = SourceLocator(expected), let have = SourceLocator(got) else {
            throw VerificationFailure(check: name, reason: "expected \(expected), got \(got), which is not a repository URI")
        }
        guard want.repository.utf8.elementsEqual(have.repository.utf8),
              want.ref.map({ w in have.ref.map { w.utf8.elementsEqual($0.utf8) } ?? false }) ?? true else {
            throw VerificationFailure(check: name, reason: "expected \(expected), got \(got)")
        }
        return got
    }
}
