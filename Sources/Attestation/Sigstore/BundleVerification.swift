import Foundation
import ProvenantCore
import X509

/// What `provenant verify` asks of a Sigstore bundle: the policies are built from it, in a fixed order.
public struct BundleVerificationRequest: Sendable {
    public var artifact: ArtifactInput
    /// A trusted root file; the embedded production root when nil.
    public var trustedRootPath: String?
    /// A trusted root already read, used instead of `trustedRootPath`: a server reads its policy's root
    /// once, so a file changed or replaced later (by a FIFO, say) is never read again.
    public var trustedRoot: TrustedRoot?
    /// A managed public key (SPKI PEM) for bundles signed without a certificate.
    public var keyPEM: String?
    public var identity: IdentityIs.Match?
    public var issuer: String?
    public var predicateType: String?
    public var builderID: String?
    public var sourceURI: String?

    public init(artifact: ArtifactInput, trustedRootPath: String? = nil, keyPEM: String? = nil, identity: IdentityIs.Match? = nil,
                issuer: String? = nil, predicateType: String? = nil, builderID: String? = nil, sourceURI: String? = nil) {
        self.artifact = artifact; self.trustedRootPath = trustedRootPath; self.keyPEM = keyPEM; self.identity = identity
        self.issuer = issuer; self.predicateType = predicateType; self.builderID = builderID; self.sourceURI = sourceURI
    }

    /// Verifies `bundle`. Input problems (an unreadable trust root or key, missing policy flags) throw; check failures are in the report.
    public func verify(_ bundle: SigstoreBundle) throws(InputError) -> VerificationReport {
        let root: TrustedRoot
        if let loaded = trustedRoot { root = loaded } else if let p = trustedRootPath { root = try TrustedRoot.load(p) } else { root = try TrustedRoot.production() }
        var key: Certificate.PublicKey?
        if let pem = keyPEM {
            guard let der = PEM.decode(pem, label: "PUBLIC KEY"), let k = try? Certificate.PublicKey(derEncoded: Array(der)) else {
                throw InputError("--key is not a PEM public key (BEGIN PUBLIC KEY) that parses")
            }
            key = k
        }
        var policies = BundleVerifier.standardChecks(for: bundle)
        var notRequested: [String] = []
        if bundle.timestamps.isEmpty { notRequested.append("RFC 3161 timestamps (none in the bundle)") }
        if case .certificates = bundle.material {
            if let id = identity { policies.append(IdentityIs(id)) } else if key == nil {
                throw InputError("keyless verification needs --certificate-identity or --certificate-identity-regexp")
            } else { notRequested.append("certificate identity") }
            if let iss = issuer { policies.append(IssuerIs(iss)) } else if key == nil {
                throw InputError("keyless verification needs --certificate-oidc-issuer")
            } else { notRequested.append("certificate OIDC issuer") }
        } else {
            if identity != nil || issuer != nil { throw InputError("the bundle is signed with a managed key, not a certificate: identity and issuer do not apply") }
            notRequested.append("certificate identity and issuer (managed key, no certificate)")
        }
        switch bundle.content {
        case .dsse:
            policies += [EnvelopeCheck(IsInTotoStatement()), EnvelopeCheck(SubjectMatches(digests: artifact.digests))]
            if let t = predicateType { policies.append(EnvelopeCheck(PredicateTypeIs(try Statement.predicateType(t)))) } else { notRequested.append("predicate type") }
            if let b = builderID { policies.append(EnvelopeCheck(BuilderIs(b))) } else { notRequested.append("builder id") }
            if let s = sourceURI { policies.append(EnvelopeCheck(SourceIs(s))) } else { notRequested.append("source uri") }
        case .messageSignature:
            if predicateType != nil || builderID != nil || sourceURI != nil {
                throw InputError("--type, --builder-id and --source-uri apply to attestations; this bundle holds a plain message signature")
            }
            // A usage error, as the flags above are: not a failed verification (found by helper-158).
            if case .digests = artifact {
                throw InputError("a message signature covers the artifact's bytes: pass --artifact, not --digest")
            }
        }
        let context = BundleContext(bundle: bundle, root: root, artifact: artifact, key: key)
        return BundleVerifier(policies: policies, notRequested: notRequested).verify(context)
    }
}
