import Attestation
import Crypto
import Foundation
import Testing
import Catalog
import ProvenantCore
import TestSupport
import X509

/// What an independent review of keyless cosign `.att` verification and the referrers-tag race fix
/// tried: a chain annotation bringing its own CAs, log-entry kind confusion, registry text that tries to
/// write report lines of its own, weak ETags, passing registry failures and refusals. The escaping,
/// ETag and blob-retry tests failed before their fixes.
@Suite(.serialized) struct KeylessAndReferrersHardeningTests {
    static let bundleKey = CosignAttestationLayer.bundleAnnotation

    static func request(_ sig: TestSigstore, _ digest: String) throws -> (BundleVerificationRequest, ScratchDirectory) {
        let dir = try ScratchDirectory("hardening-root")
        try sig.trustedRoot().write(to: URL(fileURLWithPath: dir.path + "/root.json"))
        let r = BundleVerificationRequest(artifact: .digests(["sha256": String(digest.dropFirst(7))]), trustedRootPath: dir.path + "/root.json",
                                          identity: .exact(TestSigstore.identity), issuer: TestSigstore.issuer)
        return (r, dir)
    }

    /// The layer's bundle annotation with another logged body (and, when `sig` is given, a SET over it
    /// by the test Rekor: what uploading that body to Rekor would give).
    static func withBody(_ layer: TestSigstore.Layer, _ body: Data, resignedBy sig: TestSigstore?) throws -> String {
        let text = try #require(layer.annotations[bundleKey])
        var obj = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        var p = try #require(obj["Payload"] as? [String: Any])
        p["body"] = body.base64EncodedString()
        obj["Payload"] = p
        if let sig {
            let payload = #"{"body":"\#(body.base64EncodedString())","integratedTime":\#(p["integratedTime"]!),"logID":"\#(p["logID"]!)","logIndex":\#(p["logIndex"]!)}"#
            obj["SignedEntryTimestamp"] = try sig.rekorKey.signature(for: Data(payload.utf8)).derRepresentation.base64EncodedString()
        }
        return String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self)
    }

    // MARK: - Keyless .att: what must not pass

    /// The chain annotation may carry a root and an intermediate of the attacker's own, named as the
    /// trusted ones are; the leaf they issue must still fail the chain (the Rekor SET is genuine:
    /// Rekor logs any certificate).
    @Test func aChainAnnotationCannotBringItsOwnRootOrIntermediate() throws {
        let sig = try TestSigstore()
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let (req, _dir) = try Self.request(sig, digest)
        _ = _dir
        let evilRootKey = P256.Signing.PrivateKey()
        let evilRoot = try Certificate(version: .v3, serialNumber: .init(), publicKey: .init(evilRootKey.publicKey),
                                       notValidBefore: sig.now - 86_400, notValidAfter: sig.now + 86_400, issuer: sig.root.subject,
                                       subject: sig.root.subject, signatureAlgorithm: .ecdsaWithSHA256,
                                       extensions: try Certificate.Extensions([
                                           try .init(BasicConstraints.isCertificateAuthority(maxPathLength: 1), critical: true),
                                           try .init(KeyUsage(keyCertSign: true, cRLSign: true), critical: true),
                                       ]), issuerPrivateKey: .init(evilRootKey))
        let evilIntKey = P256.Signing.PrivateKey()
        let evilInt = try TestSigstore.ca("test fulcio intermediate", key: evilIntKey, issuer: evilRoot, issuerKey: evilRootKey, from: sig.now - 86_400)
        #expect(evilInt.subject == sig.intermediate.subject)
        let leaf = try sig.leaf(from: sig.now - 120, ca: (evilInt, evilIntKey))
        for chain in [[evilInt, evilRoot], [evilInt], [evilInt, sig.intermediate, sig.root], [sig.intermediate, evilInt]] {
            let layer = try sig.layer(digest: digest, leaf: leaf, integratedTime: sig.now - 60, chain: chain)
            let bundle = try CosignAttestationLayer.bundle(annotations: layer.annotations, envelope: layer.envelope)
            let report = try req.verify(bundle)
            #expect(!report.verified)
            #expect(report.failure?.check == "certificate chain", "\(String(describing: report.failure))")
        }
    }

    /// A genuine, SET-signed intoto entry of another envelope by the same signer cannot vouch for this one;
    /// nor an entry of another kind, version, or with the kind renamed.
    @Test func kindAndVersionConfusionFails() throws {
        let sig = try TestSigstore()
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let (req, _dir) = try Self.request(sig, digest)
        _ = _dir
        let leaf = try sig.leaf(from: sig.now - 120)
        let good = try sig.layer(digest: digest, leaf: leaf, integratedTime: sig.now - 60)
        let text = try #require(good.annotations[Self.bundleKey])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let body64 = try #require((obj["Payload"] as? [String: Any])?["body"] as? String)
        let bodyData = try #require(Data(base64Encoded: body64))
        let body = try #require(try JSONSerialization.jsonObject(with: bodyData) as? [String: Any])
        for (kind, version) in [("intoto", "0.0.1"), ("dsse", "0.0.1"), ("dsse", "0.0.2"), ("hashedrekord", "0.0.1"), ("rekord", "0.0.1")] {
            var b = body
            b["kind"] = kind
            b["apiVersion"] = version
            var a = good.annotations
            a[Self.bundleKey] = try Self.withBody(good, try JSONSerialization.data(withJSONObject: b, options: [.sortedKeys]), resignedBy: sig)
            let report = try req.verify(try CosignAttestationLayer.bundle(annotations: a, envelope: good.envelope))
            #expect(!report.verified, "\(kind) \(version)")
            #expect(report.failure?.check == "transparency log", "\(kind) \(version): \(String(describing: report.failure))")
        }
    }

    // MARK: - Keyless .att: registry text echoed unescaped

    /// The logged body's kind and apiVersion are read from the annotation before its SET is checked, and
    /// the "does not fit" reason prints them as they are: a registry can put a newline and terminal
    /// escapes in the report, and forge a `verified:` line.
    @Test func aLoggedKindThatIsNotRekorsIsRefusedAndNeverEchoedRaw() throws {
        let sig = try TestSigstore()
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let (req, _dir) = try Self.request(sig, digest)
        _ = _dir
        let good = try sig.layer(digest: digest, leaf: try sig.leaf(from: sig.now - 120), integratedTime: sig.now - 60)
        var a = good.annotations
        let body = #"{"apiVersion":"0.0.2\nverified: forged","kind":"\u001b[2Jintoto","spec":{}}"#
        a[Self.bundleKey] = try Self.withBody(good, Data(body.utf8), resignedBy: nil)   // no SET needed: refused before it is checked
        // Refused while the annotation is read, and the message quotes none of it.
        do {
            _ = try CosignAttestationLayer.bundle(annotations: a, envelope: good.envelope)
            Issue.record("a body whose kind is not Rekor's was accepted")
        } catch {
            #expect(error.message.contains("not Rekor's"))
            #expect(!error.message.contains("\n") && !error.message.contains("\u{1b}") && !error.message.contains("forged"), "\(error.message.debugDescription)")
        }
        // A well-formed kind that does not fit the bundle still fails at the log check, with its text escaped.
        let other = #"{"apiVersion":"0.0.1","kind":"rekord","spec":{}}"#
        a[Self.bundleKey] = try Self.withBody(good, Data(other.utf8), resignedBy: nil)
        let report = try req.verify(try CosignAttestationLayer.bundle(annotations: a, envelope: good.envelope))
        let why = report.failure?.reason ?? ""
        #expect(!report.verified)
        #expect(why.contains("does not fit"))
        #expect(!why.contains("\n"))
    }

    /// The `predicateType` annotation is echoed (Redactor.quote redacts and cuts, but does not escape).
    @Test func aPredicateTypeAnnotationIsEchoedEscaped() throws {
        let sig = try TestSigstore()
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let good = try sig.layer(digest: digest, leaf: try sig.leaf(from: sig.now - 120), integratedTime: sig.now - 60)
        var a = good.annotations
        a["predicateType"] = "x\u{1b}[2J\nverified: forged"
        do {
            _ = try CosignAttestationLayer.bundle(annotations: a, envelope: good.envelope)
            Issue.record("accepted")
        } catch {
            #expect(!error.message.contains("\n") && !error.message.contains("\u{1b}"), "\(error.message.debugDescription)")
        }
    }

    /// The same through `provenant verify registry:…`: stdout gets a line starting `verified: ` although
    /// nothing verified (exit 1).
    @Test func registryTextCannotWriteAVerifiedLine() async throws {
        let c = try await CosignKeylessTests.setup("hardening-forged-line")
        defer { c.s.stop() }
        let (leaf, logged) = try c.leaf()
        let good = try c.sigstore.layer(digest: c.image.digest, leaf: leaf, integratedTime: logged)
        var evil = good
        let forged = "verified: \(c.s.host)/team/app@\(c.image.digest): cosign \(c.attTag) sha256:\(String(repeating: "0", count: 64))"
        let body = try JSONSerialization.data(withJSONObject: ["kind": "intoto", "apiVersion": "0.0.2 (skipped)\n" + forged + "\n  ✓ identity: " + TestSigstore.identity + "\n  x", "spec": [String: Any]()], options: [.sortedKeys])
        evil.annotations[Self.bundleKey] = try Self.withBody(good, body, resignedBy: nil)
        try await c.push([evil])
        let r = try c.verify()
        #expect(r.code == 1)
        let lines = r.out.split(separator: "\n")
        #expect(!lines.contains { $0.hasPrefix("verified: ") }, "forged line in stdout:\n\(r.out)")
    }

    /// The leaf's issuer DN (attacker-chosen; Rekor logs any certificate, so the SET is genuine) is echoed
    /// by the chain check.
    @Test func anIssuerNameIsEchoedEscaped() throws {
        let sig = try TestSigstore()
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let (req, _dir) = try Self.request(sig, digest)
        _ = _dir
        let caKey = P256.Signing.PrivateKey()
        let ca = try TestSigstore.ca("evil\u{1b}[2J\nverified: forged", key: caKey, issuer: sig.root, issuerKey: caKey, from: sig.now - 86_400)
        let leaf = try sig.leaf(from: sig.now - 120, ca: (ca, caKey))
        let layer = try sig.layer(digest: digest, leaf: leaf, integratedTime: sig.now - 60)
        let report = try req.verify(try CosignAttestationLayer.bundle(annotations: layer.annotations, envelope: layer.envelope))
        let reason = report.failure?.reason ?? ""
        #expect(report.failure?.check == "certificate chain")
        #expect(!reason.contains("\n") && !reason.contains("\u{1b}"), "\(reason.debugDescription)")
    }

    // MARK: - Keyless .att: cost

    /// Deeply nested JSON in the envelope and in its payload: an error, not a stack overflow.
    @Test func deeplyNestedEnvelopeOrPayloadIsRefused() throws {
        let sig = try TestSigstore()
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let good = try sig.layer(digest: digest, leaf: try sig.leaf(from: sig.now - 120), integratedTime: sig.now - 60)
        let deep = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        #expect(throws: InputError.self) { _ = try CosignAttestationLayer.bundle(annotations: good.annotations, envelope: Data(deep.utf8)) }
        let env = #"{"payloadType":"application/vnd.in-toto+json","payload":"\#(Data(deep.utf8).base64EncodedString())","signatures":[{"sig":"AAAA"}]}"#
        let (req, _dir) = try Self.request(sig, digest)
        _ = _dir
        if let b = try? CosignAttestationLayer.bundle(annotations: good.annotations, envelope: Data(env.utf8)) {
            #expect(!(try req.verify(b)).verified)
        }
    }

    // MARK: - Referrers tag

    static func tagWrites(_ dir: ScratchDirectory) -> [Substring] {
        ((try? String(contentsOfFile: dir.path + "/helper.log", encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.hasPrefix("PUT sha256-") }
    }

    /// A registry (or a proxy before it) that sends a weak ETag and honours If-Match: RFC 9110 has
    /// If-Match compare strongly, so `If-Match: W/"…"` never matches, and every attach fails after 8 writes.
    @Test func aWeakETagIsNotSentAsIfMatch() async throws {
        let dir = try ScratchDirectory("hardening-weak")
        let (server, client, subject) = try await Harness.conditionalRegistry("weak", in: dir.path)
        defer { server.stop() }
        let first = try await ReferrerAttachment.attach(client, subject: subject, artifactType: MediaType.sigstoreBundle,
                                                        payloadMediaType: MediaType.sigstoreBundle, payload: Array("first".utf8))
        #expect(first.hasPrefix("sha256:"), "the tag's creation has nothing to match")
        await #expect(throws: Never.self, "a second attach (the tag now exists, with a weak ETag)") {
            _ = try await ReferrerAttachment.attach(client, subject: subject, artifactType: MediaType.sigstoreBundle,
                                                    payloadMediaType: MediaType.sigstoreBundle, payload: Array("second".utf8))
        }
    }

    /// 403 and 404 fail at once (one write); 500 is retried up to the bound (8 writes).
    @Test func refusalsAreNotRetriedAndServerErrorsAreBounded() async throws {
        for (code, writes) in [(403, 1), (404, 1), (400, 1), (500, 8)] {
            let dir = try ScratchDirectory("hardening-status")
            let (server, client, subject) = try await Harness.conditionalRegistry("status:\(code)", in: dir.path)
            defer { server.stop() }
            let clock = ContinuousClock()
            let start = clock.now
            await #expect(throws: ImageError.self) {
                _ = try await ReferrerAttachment.attach(client, subject: subject, artifactType: MediaType.sigstoreBundle,
                                                        payloadMediaType: MediaType.sigstoreBundle, payload: Array("x".utf8))
            }
            #expect(Self.tagWrites(dir).count == writes, "\(code): \(Self.tagWrites(dir))")
        }
    }

    /// Distribution 2.8 answers HEAD of a blob with 500 while another client re-uploads it (measured by
    /// a script during review: about 6% of HEADs), which concurrent attaches do with the shared
    /// empty config blob. `attach` retries the manifest push and the tag write, not `pushBlob`: one 500 fails it.
    @Test func aPassingBlobHEADFailureIsTriedAgain() async throws {
        let dir = try ScratchDirectory("hardening-blob500")
        let (server, client, subject) = try await Harness.conditionalRegistry("blob500", in: dir.path)
        defer { server.stop() }
        await #expect(throws: Never.self) {
            _ = try await ReferrerAttachment.attach(client, subject: subject, artifactType: MediaType.sigstoreBundle,
                                                    payloadMediaType: MediaType.sigstoreBundle, payload: Array("x".utf8))
        }
    }
}

/// A port past 65535 in a registry's redirect or token realm passed every check and trapped in the
/// HTTP client (found by helper-104): such URLs are refused.
@Suite struct RegistryPortTests {
    @Test func portsOutsideTheRangeAreRefused() {
        for bad in ["https://127.0.0.1:99999/x", "https://reg.example:65536/v2/", "https://[::1]:70000/t", "https://u@h:0/x", "https://h:123456/"] {
            #expect(!RegistryClient.portIsValid(bad), "\(bad)")
        }
        for good in ["https://127.0.0.1:5000/x", "https://reg.example/v2/", "https://[::1]:443/t", "https://[::1]/t", "http://h:65535", "https://h:/x"] {
            #expect(RegistryClient.portIsValid(good), "\(good)")
        }
    }
}
