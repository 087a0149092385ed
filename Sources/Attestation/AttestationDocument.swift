import Foundation
import ProvenantCore

/// An attestation file as `verify` and the fleet server read it: one Sigstore bundle, or one or more
/// DSSE envelopes (a bare envelope, or a `.intoto.jsonl` with one per line).
public enum AttestationDocument: Sendable {
    case bundle(SigstoreBundle)
    /// The envelopes, each with the line it was read from (nil for a single document).
    case envelopes([DSSEEnvelope], lines: [Int?])

    /// The largest attestation file read.
    public static let maxBytes = DSSEEnvelope.maxPayload * 2
    /// The most envelopes one `.intoto.jsonl` may hold.
    public static let maxEnvelopes = 256

    /// Parses `data`; `path` names it in errors (a file, or a request body).
    public static func parse(_ data: Data, path: String) throws(InputError) -> AttestationDocument {
        guard data.count <= maxBytes else { throw InputError("larger than \(maxBytes >> 20) MiB; refused", at: Location(path)) }
        let docs = try objects(data, path: path)
        if docs.count == 1, let obj = docs.first?.object, obj["mediaType"] != nil {
            guard SigstoreBundle.isBundle(obj) else {
                throw InputError("unknown media type '\(Redactor.quote(String(describing: obj["mediaType"] ?? ""), max: 80))'", at: Location(path))
            }
            do { return .bundle(try SigstoreBundle.parse(obj)) } catch { throw InputError(error.message, at: Location(path)) }
        }
        // cosign's .intoto.jsonl wraps the envelope fields directly; some tools nest them. A file holds
        // a few (one per predicate); thousands are refused, each costs a signature check.
        guard docs.count <= maxEnvelopes else {
            throw InputError("\(docs.count) envelopes; at most \(maxEnvelopes) are read from one file", at: Location(path))
        }
        var out: [DSSEEnvelope] = [], lines: [Int?] = []
        for (line, obj) in docs {
            do { out.append(try DSSEEnvelope.parse((obj["dsseEnvelope"] as? [String: Any]) ?? obj)) } catch { throw InputError(error.message, at: Location(path, line: line)) }
            lines.append(line)
        }
        guard !out.isEmpty else { throw InputError("no envelope found", at: Location(path)) }
        return .envelopes(out, lines: lines)
    }

    /// The JSON objects in `data`: one document, or one per line, each with its line number.
    static func objects(_ data: Data, path: String) throws(InputError) -> [(line: Int?, object: [String: Any])] {
        func reason(_ error: Error) -> String { (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)" }
        let whole: Any
        do { whole = try JSONSerialization.jsonObject(with: data) } catch {
            // Split at LF bytes, a CR before one dropped: as Characters, CRLF is one and split nothing,
            // so a valid file with Windows line ends was refused, naming line 1 (found by helper-142).
            let lines = data.split(separator: 10, omittingEmptySubsequences: false)
                .map { String(decoding: $0.last == 13 ? $0.dropLast() : $0, as: UTF8.self) }.enumerated()
                .filter { !$0.element.allSatisfy(\.isWhitespace) }
            guard lines.count > 1 else { throw InputError("malformed JSON: \(reason(error))", at: Location(path, line: 1)) }
            // Counted before any line is parsed: a file of many tiny lines costs nothing more.
            guard lines.count <= maxEnvelopes else {
                throw InputError("\(lines.count) envelopes; at most \(maxEnvelopes) are read from one file", at: Location(path))
            }
            return try lines.map { i, text throws(InputError) in
                guard let obj = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
                    throw InputError("malformed JSON", at: Location(path, line: i + 1))
                }
                do throws(InputError) { try refuseAmbiguousKeys(Data(text.utf8), what: "the envelope", folds: AmbiguousKeys.envelope) } catch { throw InputError(error.message, at: Location(path, line: i + 1)) }
                return (i + 1, obj)
            }
        }
        guard let obj = whole as? [String: Any] else { throw InputError("malformed JSON: not an object", at: Location(path, line: 1)) }
        // A bundle is protobuf JSON (exact names); anything else is an envelope.
        let isBundle = obj["mediaType"] != nil
        do throws(InputError) {
            try refuseAmbiguousKeys(data, what: "the document", folds: { path in isBundle ? AmbiguousKeys.none(path) : AmbiguousKeys.envelope(path) })
        } catch { throw InputError(error.message, at: Location(path)) }
        return [(nil, obj)]
    }
}

/// What an attestation must show to count as verified: who signed it (a managed key, or a Sigstore
/// certificate's identity and issuer) and what it says (predicate type, builder, source). What is
/// not required is listed in the report as not checked.
public struct AttestationRequirements: Sendable {
    /// A managed public key (SPKI PEM).
    public var keyPEM: String?
    /// A trusted root file; the embedded production root when nil.
    public var trustedRootPath: String?
    /// A trusted root already read, used instead of `trustedRootPath` (see `BundleVerificationRequest`).
    public var trustedRoot: TrustedRoot?
    /// Whether a trusted root other than the embedded production one was asked for, by either field.
    var namesTrustedRoot: Bool { trustedRootPath != nil || trustedRoot != nil }
    public var identity: IdentityIs.Match?
    public var issuer: String?
    public var predicateType: String?
    public var builderID: String?
    public var sourceURI: String?

    public init(keyPEM: String? = nil, trustedRootPath: String? = nil, identity: IdentityIs.Match? = nil, issuer: String? = nil,
                predicateType: String? = nil, builderID: String? = nil, sourceURI: String? = nil) {
        self.keyPEM = keyPEM; self.trustedRootPath = trustedRootPath; self.identity = identity; self.issuer = issuer
        self.predicateType = predicateType; self.builderID = builderID; self.sourceURI = sourceURI
    }

    /// Verifies `document` for the artifact with `digests`. Input problems (an unreadable key, a
    /// bundle whose kind the requirements cannot apply to) throw; failed checks are in the report.
    public func verify(_ document: AttestationDocument, artifact: ArtifactInput) throws(InputError) -> VerificationReport {
        switch document {
        case .bundle(let bundle):
            // A bundle `attest --image` saved: signed with a managed key, offline, with no log entry and no
            // timestamp. Only the key vouches for it, as for a bare envelope.
            if bundle.isKeySignedOffline, let pem = keyPEM, case .dsse(let env) = bundle.content {
                if identity != nil || issuer != nil {
                    throw InputError("this bundle is signed with a managed key, not a certificate: the certificate identity and issuer asked for cannot be checked")
                }
                var report = try keyVerifier(try VerifyingKey.load(pem: pem), digests: artifact.digests,
                                             logNote: "transparency log (the bundle has no log entry: signed offline)").verify(env)
                if namesTrustedRoot { report.notRequested.append("the trusted root (nothing in this bundle is checked against it)") }
                return report
            }
            var request = BundleVerificationRequest(artifact: artifact, trustedRootPath: trustedRootPath, keyPEM: keyPEM, identity: identity,
                                                    issuer: issuer, predicateType: predicateType, builderID: builderID, sourceURI: sourceURI)
            request.trustedRoot = trustedRoot
            return try request.verify(bundle)
        case .envelopes(let envelopes, let lines):
            guard let pem = keyPEM else { throw InputError("a bare envelope has no certificate: the signer's public key is needed") }
            if namesTrustedRoot || identity != nil || issuer != nil {
                throw InputError("a trusted root and a certificate identity apply to Sigstore bundles; this is a bare envelope")
            }
            let verifier = try keyVerifier(try VerifyingKey.load(pem: pem), digests: artifact.digests, logNote: "transparency log")
            // An .intoto.jsonl passes when one of its envelopes passes every check. Every envelope is
            // judged and the report says which passed: "verified: FILE" alone let a reader take a
            // forged first line for the verified one (found by helper-130).
            var outcomes: [EnvelopeOutcome] = []
            var first: VerificationReport?, last: VerificationReport?
            for (i, envelope) in envelopes.enumerated() {
                let report = verifier.verify(envelope)
                outcomes.append(EnvelopeOutcome(line: lines.indices.contains(i) ? lines[i] : nil, index: i + 1, verified: report.verified,
                                                failure: report.failure.map { "\($0.check): \($0.reason)" },
                                                predicateType: (try? Statement.parse(envelope.payload))?.predicateType))
                if report.verified, first == nil { first = report }
                last = report
            }
            guard var chosen = first ?? last else { throw InputError("no envelope found") }
            chosen.envelopes = envelopes.count > 1 ? outcomes : []
            chosen.verifiedEnvelope = outcomes.first(where: \.verified)
            return chosen
        }
    }

    /// The checks of an envelope signed with a managed key: the signature, the statement, its subject, and what was asked of it.
    public func keyVerifier(_ pub: VerifyingKey, digests: [String: String], logNote: String) throws(InputError) -> Verifier {
        var policies: [any VerificationPolicy] = [SignedByKey(key: pub), IsInTotoStatement(), SubjectMatches(digests: digests)]
        var notRequested: [String] = []
        if let t = predicateType { policies.append(PredicateTypeIs(try Statement.predicateType(t))) } else { notRequested.append("predicate type") }
        if let b = builderID { policies.append(BuilderIs(b)) } else { notRequested.append("builder id") }
        if let s = sourceURI { policies.append(SourceIs(s)) } else { notRequested.append("source uri") }
        notRequested += ["certificate identity and issuer (no certificate: key-based verification)", logNote]
        return Verifier(policies: policies, notRequested: notRequested)
    }
}
