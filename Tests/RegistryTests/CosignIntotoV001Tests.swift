import Attestation
import Crypto
import Foundation
import Testing
import ProvenantCore
import TestSupport

/// Cosign before 2.0 logged a keyless attestation as an intoto 0.0.1 entry: the hash of the envelope's
/// bytes, the payload's hash and the signer, with no signature. Such a layer verifies when those bytes
/// are the layer's own and the signer is its leaf; any other envelope, payload or signer fails it.
@Suite struct CosignIntotoV001Tests {
    static let digest = "sha256:" + String(repeating: "cd", count: 32)

    static func verify(_ sig: TestSigstore, _ layer: TestSigstore.Layer, envelope: Data? = nil) throws -> VerificationReport {
        try verify(sig, try CosignAttestationLayer.bundle(annotations: layer.annotations, envelope: envelope ?? layer.envelope))
    }

    static func verify(_ sig: TestSigstore, _ bundle: SigstoreBundle) throws -> VerificationReport {
        let (req, dir) = try KeylessAndReferrersHardeningTests.request(sig, digest)
        defer { _ = dir }
        return try req.verify(bundle)
    }

    @Test func anIntotoZeroZeroOneLayerVerifies() throws {
        let sig = try TestSigstore()
        let leaf = try sig.leaf(from: sig.now - 120)
        for omit in [false, true] {   // the oldest entries have no payload hash
            let layer = try sig.layer(digest: Self.digest, leaf: leaf, integratedTime: sig.now - 60, intotoVersion: "0.0.1", omitPayloadHash: omit)
            let report = try Self.verify(sig, layer)
            #expect(report.verified, "\(String(describing: report.failure))")
            #expect(report.passed.contains { $0.check == "transparency log" && $0.detail.contains("(intoto 0.0.1, SET)") }, "\(report.passed)")
        }
    }

    @Test func anotherEnvelopePayloadOrSignerFailsTheLog() throws {
        let sig = try TestSigstore()
        let leaf = try sig.leaf(from: sig.now - 120), other = try sig.leaf(from: sig.now - 120)
        let good = try sig.layer(digest: Self.digest, leaf: leaf, integratedTime: sig.now - 60, intotoVersion: "0.0.1")
        // The same envelope re-serialised (the same fields, other bytes) is not the envelope logged.
        let object = try #require(try JSONSerialization.jsonObject(with: good.envelope) as? [String: Any])
        let reserialised = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        #expect(reserialised != good.envelope)
        let cases: [(String, TestSigstore.Layer, Data?)] = [
            ("envelope hash", try sig.layer(digest: Self.digest, leaf: leaf, integratedTime: sig.now - 60, intotoVersion: "0.0.1",
                                            loggedEnvelope: Data("{}".utf8)), nil),
            ("envelope hash", good, reserialised),
            ("payload hash", try sig.layer(digest: Self.digest, leaf: leaf, integratedTime: sig.now - 60, loggedPayload: Data("{}".utf8),
                                           intotoVersion: "0.0.1"), nil),
            ("certificate or key", try sig.layer(digest: Self.digest, leaf: leaf, integratedTime: sig.now - 60, intotoVersion: "0.0.1",
                                                 loggedSigner: other), nil),
        ]
        for (what, layer, envelope) in cases {
            let report = try Self.verify(sig, layer, envelope: envelope)
            #expect(!report.verified, "\(what)")
            #expect(report.failure?.check == "transparency log", "\(what): \(String(describing: report.failure))")
            #expect(report.failure?.reason.contains("\(what) differs") == true, "\(what): \(String(describing: report.failure))")
        }
    }

    /// A logged payload hash that is there but is not a sha256 object of this payload (null, a string,
    /// an empty object, another algorithm) fails, under a genuine SET; only a missing one is the oldest
    /// entries' absence.
    @Test func aPayloadHashThatIsThereMustMatch() throws {
        let sig = try TestSigstore()
        let leaf = try sig.leaf(from: sig.now - 120)
        let good = try sig.layer(digest: Self.digest, leaf: leaf, integratedTime: sig.now - 60, intotoVersion: "0.0.1")
        let publicKey = Data(try TestSigstore.pem([leaf.certificate]).utf8).base64EncodedString()
        func report(payloadHash: Any?) throws -> VerificationReport {
            var content: [String: Any] = ["hash": ["algorithm": "sha256", "value": Hex.encode(SHA256.hash(data: good.envelope))]]
            if let payloadHash { content["payloadHash"] = payloadHash }
            let body = try JSONSerialization.data(withJSONObject: ["apiVersion": "0.0.1", "kind": "intoto",
                                                                   "spec": ["content": content, "publicKey": publicKey] as [String: Any]] as [String: Any],
                                                  options: [.sortedKeys])
            var layer = good
            layer.annotations["dev.sigstore.cosign/bundle"] = try KeylessAndReferrersHardeningTests.withBody(good, body, resignedBy: sig)
            return try Self.verify(sig, layer)
        }
        #expect(try report(payloadHash: nil).verified, "the re-signed body without a payload hash is the control")
        for bad: Any in [NSNull(), "garbage", [String: Any](), ["algorithm": "sha512", "value": "00"]] {
            let r = try report(payloadHash: bad)
            #expect(!r.verified, "\(bad)")
            #expect(r.failure?.reason.contains("the payload hash differs") == true, "\(bad): \(String(describing: r.failure))")
        }
    }

    /// A bundle that holds the envelope parsed (any Sigstore bundle file) cannot be checked against a
    /// hash of bytes it does not have: the entry fails, saying why.
    @Test func aParsedEnvelopeCannotMeetAnEnvelopeHash() throws {
        let sig = try TestSigstore()
        let leaf = try sig.leaf(from: sig.now - 120)
        let layer = try sig.layer(digest: Self.digest, leaf: leaf, integratedTime: sig.now - 60, intotoVersion: "0.0.1")
        var bundle = try CosignAttestationLayer.bundle(annotations: layer.annotations, envelope: layer.envelope)
        bundle.envelopeBytes = nil
        let report = try Self.verify(sig, bundle)
        #expect(!report.verified)
        #expect(report.failure?.reason.contains("records the hash of the envelope's own bytes") == true, "\(String(describing: report.failure))")
        // Bytes that hold another envelope than the one verified are refused too.
        bundle.envelopeBytes = try sig.layer(digest: Self.digest, leaf: leaf, integratedTime: sig.now - 60, intotoVersion: "0.0.1").envelope
        let mixed = try Self.verify(sig, bundle)
        #expect(!mixed.verified)
        #expect(mixed.failure?.reason.contains("is not the one its bytes hold") == true, "\(String(describing: mixed.failure))")
    }

    /// Through the registry: the `.att` tag's 0.0.1 layer verifies by tag, and the same layer whose blob
    /// was re-serialised (what a registry mirror that rewrote JSON would serve) fails.
    @Test func throughTheRegistry() async throws {
        let c = try await CosignKeylessTests.setup("cosign-intoto-001")
        defer { c.s.stop() }
        let (leaf, logged) = try c.leaf()
        let layer = try c.sigstore.layer(digest: c.image.digest, leaf: leaf, integratedTime: logged, intotoVersion: "0.0.1")
        try await c.push([layer])
        let ok = try c.verify(["--type", "slsaprovenance1"])
        #expect(ok.code == 0, "\(ok.out) \(ok.err)")
        #expect(ok.out.contains("(intoto 0.0.1, SET)"), "\(ok.out)")
        let object = try #require(try JSONSerialization.jsonObject(with: layer.envelope) as? [String: Any])
        try await c.push([TestSigstore.Layer(annotations: layer.annotations,
                                             envelope: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]))])
        let bad = try c.verify()
        #expect(bad.code == 1)
        #expect(bad.out.contains("the envelope hash differs"), "\(bad.out)")
    }
}
