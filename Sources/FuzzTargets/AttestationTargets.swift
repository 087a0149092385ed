import Attestation
import Foundation

/// What `provenant verify` reads: DSSE envelopes, Sigstore bundles (and the RFC 3161 tokens and
/// checkpoints inside them), and trusted roots.
enum AttestationTargets {
    static let all: [FuzzTarget] = [
        FuzzTarget("dsse", "a DSSE envelope and its in-toto statement, verified against a key") { bytes in
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any],
                  let envelope = try? DSSEEnvelope.parse((obj["dsseEnvelope"] as? [String: Any]) ?? obj) else { return }
            _ = try? Statement.parse(envelope.payload)
            _ = envelopeVerifier.verify(envelope)
        },
        FuzzTarget("attestation-document", "an attestation file as verify reads it: a bundle, an envelope or an .intoto.jsonl, every envelope judged") { bytes in
            guard let doc = try? AttestationDocument.parse(Data(bytes), path: "fuzz.intoto.jsonl") else { return }
            guard case .envelopes = doc else { return }
            let requirements = AttestationRequirements(keyPEM: fuzzKeyPEM, predicateType: "https://slsa.dev/provenance/v1")
            if let report = try? requirements.verify(doc, artifact: .digests(["sha256": String(repeating: "0", count: 64)])) {
                precondition(report.verifiedEnvelope == nil || report.verified, "a verified envelope in a failed report")
            }
        },
        FuzzTarget("sigstore-bundle", "a Sigstore bundle, parsed and verified against the production root") { bytes in
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any],
                  SigstoreBundle.isBundle(obj), let bundle = try? SigstoreBundle.parse(obj) else { return }
            let request = BundleVerificationRequest(artifact: .digests(["sha256": String(repeating: "0", count: 64)]))
            _ = try? request.verify(bundle)
        },
        FuzzTarget("cosign-layer", "a cosign .att layer (annotations and DSSE envelope) read as a bundle and verified against the production root") { bytes in
            // {"annotations": {NAME: TEXT}, "envelope": TEXT}: the layer's annotations and its blob.
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else { return }
            let annotations = ((obj["annotations"] as? [String: Any]) ?? [:]).compactMapValues { $0 as? String }
            let envelope = Data(((obj["envelope"] as? String) ?? "").utf8)
            guard let bundle = try? CosignAttestationLayer.bundle(annotations: annotations, envelope: envelope) else { return }
            let request = BundleVerificationRequest(artifact: .digests(["sha256": String(repeating: "0", count: 64)]),
                                                    identity: .exact("fuzz@example.org"), issuer: "https://issuer.example")
            _ = try? request.verify(bundle)
        },
        FuzzTarget("rfc3161", "an RFC 3161 timestamp response (DER), checked against the production root") { bytes in
            guard let root = productionRoot else { return }
            _ = try? RFC3161Timestamp.verify(Data(bytes), signature: Data("signature".utf8), root: root)
        },
        FuzzTarget("checkpoint", "a transparency-log checkpoint (signed note)") { bytes in
            _ = try? Checkpoint.parse(String(decoding: bytes, as: UTF8.self))
        },
        FuzzTarget("trusted-root", "a Sigstore trusted_root.json (--trusted-root)") { bytes in
            _ = try? TrustedRoot.parse(Data(bytes), path: "trusted_root.json")
        },
    ]

    /// A key no fuzzed envelope is signed with: every check before and after the signature still runs its parser.
    static let envelopeVerifier = Verifier(
        policies: [SignedByKey(key: SigningKey.generate(.ecdsaP256).publicKey), IsInTotoStatement(),
                   SubjectMatches(digests: ["sha256": String(repeating: "0", count: 64)])],
        notRequested: [])

    static let productionRoot: TrustedRoot? = try? TrustedRoot.production()
    static let fuzzKeyPEM = SigningKey.generate(.ecdsaP256).publicKey.pem
}
