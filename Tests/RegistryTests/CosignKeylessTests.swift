import Attestation
import Crypto
import Foundation
import Testing
import Catalog
import ProvenantCore
import TestSupport
import X509

/// Keyless cosign attestations in the `sha256-<hex>.att` tag, verified offline against a trusted root of
/// the tests' own (`TestSigstore`): every part cosign puts in the layer's annotations is checked, and a
/// wrong or missing one fails the layer.
@Suite(.serialized) struct CosignKeylessTests {
    struct Case {
        let s: ImageAttestationTests.Setup
        let sigstore: TestSigstore
        let root: String
        let image: FetchedManifest
        var attTag: String { RegistryClient.referrersTag(image.digest) + ".att" }

        /// Pushes `layers` as the image's `.att` manifest (replacing any before).
        func push(_ layers: [TestSigstore.Layer]) async throws {
            var descriptors: [[String: Any]] = []
            for l in layers {
                let digest = try await s.client.pushBlob(Array(l.envelope))
                descriptors.append(["mediaType": "application/vnd.dsse.envelope.v1+json", "digest": digest, "size": l.envelope.count,
                                    "annotations": l.annotations])
            }
            let config = try await s.client.pushBlob(Array("{}".utf8))
            let att = try JSONSerialization.data(withJSONObject: [
                "schemaVersion": 2, "mediaType": MediaType.ociManifest,
                "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2],
                "layers": descriptors,
            ] as [String: Any], options: [.sortedKeys])
            try await s.client.pushManifest(Array(att), mediaType: MediaType.ociManifest, reference: attTag)
        }

        func verify(identity: String = TestSigstore.identity, issuer: String = TestSigstore.issuer, _ more: [String] = []) throws -> (code: Int32, out: String, err: String) {
            try s.verify("registry:\(s.host)/team/app:1", ["--certificate-identity", identity, "--certificate-oidc-issuer", issuer,
                                                          "--trusted-root", root] + more)
        }

        /// A good leaf, issued a minute ago, and the time it was logged.
        func leaf() throws -> (TestSigstore.Leaf, Date) {
            (try sigstore.leaf(from: sigstore.now - 120), sigstore.now - 60)
        }
    }

    static func setup(_ label: String) async throws -> Case {
        let s = try ImageAttestationTests.setup(label)
        try Harness.push(s.images.layout, tag: "amd", to: "\(s.host)/team/app:1")
        let image = try await s.client.fetchManifest("1")
        let sigstore = try TestSigstore()
        let root = s.dir.path + "/trusted_root.json"
        try sigstore.trustedRoot().write(to: URL(fileURLWithPath: root))
        return Case(s: s, sigstore: sigstore, root: root, image: image)
    }

    @Test func aKeylessAttestationVerifiesWithItsIdentityAndIssuer() async throws {
        let c = try await Self.setup("cosign-keyless-ok")
        defer { c.s.stop() }
        let (leaf, logged) = try c.leaf()
        let layer = try c.sigstore.layer(digest: c.image.digest, leaf: leaf, integratedTime: logged)
        try await c.push([layer])

        let ok = try c.verify(["--type", "slsaprovenance1"])
        #expect(ok.code == 0, "\(ok.out) \(ok.err)")
        #expect(ok.out.contains("verified: \(c.s.host)/team/app@\(c.image.digest): cosign \(c.attTag) sha256:"), "\(ok.out)")
        for check in ["transparency log", "verified time", "certificate chain", "certificate transparency", "signature", "identity",
                      "OIDC issuer", "subject digest", "predicate type"] {
            #expect(ok.out.contains("✓ \(check): "), "\(check) is checked: \(ok.out)")
        }
        #expect(ok.out.contains("https://rekor.sigstore.test index 4242 (intoto 0.0.2, SET)"), "\(ok.out)")
        #expect(!ok.out.contains("NOT CHECKED"))
        let regex = try c.s.verify("registry:\(c.s.host)/team/app:1", ["--certificate-identity-regexp", "^https://github\\.com/acme/app/.*$",
                                                                      "--certificate-oidc-issuer", TestSigstore.issuer, "--trusted-root", c.root])
        #expect(regex.code == 0, "\(regex.out) \(regex.err)")
        let json = try c.verify(["--format", "json"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        #expect(json.code == 0 && report["verified"] as? Bool == true)
        #expect((report["attestations"] as? [[String: Any]])?.first?["result"] as? String == "verified")

        // Each policy flag can still fail it.
        let identity = try c.verify(identity: "https://github.com/acme/other/.github/workflows/release.yml@refs/heads/main")
        #expect(identity.code == 1)
        #expect(identity.out.contains("verification FAILED") && identity.out.contains("identity: expected"), "\(identity.out)")
        let regexWrong = try c.s.verify("registry:\(c.s.host)/team/app:1", ["--certificate-identity-regexp", "^https://github\\.com/evil/",
                                                                           "--certificate-oidc-issuer", TestSigstore.issuer, "--trusted-root", c.root])
        #expect(regexWrong.code == 1)
        let issuer = try c.verify(issuer: "https://accounts.google.com")
        #expect(issuer.code == 1)
        #expect(issuer.out.contains("OIDC issuer: expected https://accounts.google.com"), "\(issuer.out)")
        let type = try c.verify(["--type", "cyclonedx"])
        #expect(type.code == 1)
        #expect(type.out.contains("predicate type"), "\(type.out)")
        // Against the production root (the default), this Fulcio and Rekor are not trusted.
        let production = try c.s.verify("registry:\(c.s.host)/team/app:1", ["--certificate-identity", TestSigstore.identity,
                                                                           "--certificate-oidc-issuer", TestSigstore.issuer])
        #expect(production.code == 1)
        #expect(production.out.contains("is not a transparency log in the trusted root"), "\(production.out)")

        // A key given instead must be the certificate's: another key fails the signature.
        let other = try c.s.key("other")
        let keyed = try c.s.verify("registry:\(c.s.host)/team/app:1", ["--key", other + ".pub", "--trusted-root", c.root])
        #expect(keyed.code == 1)
        #expect(keyed.out.contains("signing certificate's key is not the --key given"), "\(keyed.out)")
    }

    /// Each part of the layer made wrong in turn: the layer fails, with the check that caught it named.
    @Test func everyBrokenPartFailsTheLayer() async throws {
        let c = try await Self.setup("cosign-keyless-broken")
        defer { c.s.stop() }
        let sig = c.sigstore
        let (leaf, logged) = try c.leaf()
        let other = try await c.s.client.pushBlob(Array("another image".utf8))
        let untrustedCAKey = P256.Signing.PrivateKey()
        let untrustedCA = try TestSigstore.ca("test fulcio intermediate", key: untrustedCAKey, issuer: sig.root, issuerKey: P256.Signing.PrivateKey(),
                                              from: sig.now - 86_400)
        let cases: [(String, TestSigstore.Layer, String)] = [
            ("SET signed by a key the trusted root does not name",
             try sig.layer(digest: c.image.digest, leaf: leaf, integratedTime: logged, setKey: P256.Signing.PrivateKey()),
             "transparency log: entry 1 (log index 4242): the signed entry timestamp does not verify with the log key"),
            ("logged body for another envelope",
             try sig.layer(digest: c.image.digest, leaf: leaf, integratedTime: logged, loggedPayload: Data("another statement".utf8)),
             "the log entry does not match the bundle: the payload hash differs"),
            ("statement about another digest",
             try sig.layer(digest: other, leaf: leaf, integratedTime: logged),
             "subject digest"),
            ("certificate expired when the entry was logged",
             try sig.layer(digest: c.image.digest, leaf: try sig.leaf(from: sig.now - 1200), integratedTime: logged),
             "outside the signing certificate's validity"),
            ("certificate not yet valid when the entry was logged",
             try sig.layer(digest: c.image.digest, leaf: try sig.leaf(from: sig.now - 30), integratedTime: logged),
             "outside the signing certificate's validity"),
            ("certificate from a CA outside the trusted root",
             try sig.layer(digest: c.image.digest, leaf: try sig.leaf(from: sig.now - 120, ca: (untrustedCA, untrustedCAKey)), integratedTime: logged),
             "certificate chain: the signing certificate (issuer"),
        ]
        for (what, layer, reason) in cases {
            try await c.push([layer])
            let r = try c.verify()
            #expect(r.code == 1, "\(what): \(r.out)")
            #expect(r.out.contains("verification FAILED") && r.out.contains(reason), "\(what): \(r.out)")
            #expect(!r.out.contains("verified: "), "\(what)")
        }

        // One good layer beside a broken one: verified, as cosign decides, and the broken one still reported.
        try await c.push([cases[0].1, try sig.layer(digest: c.image.digest, leaf: leaf, integratedTime: logged)])
        let mixed = try c.verify()
        #expect(mixed.code == 0, "\(mixed.out)")
        #expect(mixed.out.contains("verification FAILED") && mixed.out.contains("verified: "))
    }

    /// Malformed or missing annotations: the layer fails with a one-line reason, nothing crashes.
    @Test func malformedAnnotationsFailWithAReason() async throws {
        let c = try await Self.setup("cosign-keyless-malformed")
        defer { c.s.stop() }
        let (leaf, logged) = try c.leaf()
        let good = try c.sigstore.layer(digest: c.image.digest, leaf: leaf, integratedTime: logged)
        let cases: [(String, String?, String)] = [
            ("dev.sigstore.cosign/bundle", "{not json", "dev.sigstore.cosign/bundle is not JSON"),
            ("dev.sigstore.cosign/bundle", nil, "without a dev.sigstore.cosign/bundle annotation"),
            ("dev.sigstore.cosign/certificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "does not parse as X.509"),
            ("dev.sigstore.cosign/chain", "garbage", "dev.sigstore.cosign/chain is not PEM certificates"),
        ]
        for (key, value, reason) in cases {
            var layer = good
            layer.annotations[key] = value
            try await c.push([layer])
            let r = try c.verify()
            #expect(r.code == 1, "\(key): \(r.out) \(r.err)")
            let line = r.out.split(separator: "\n").first { $0.hasPrefix("verification FAILED") } ?? ""
            #expect(line.contains(reason), "\(key): \(r.out)")
        }
        // A layer with no annotations at all is a key-signed one: NOT CHECKED without --key.
        var bare = good
        bare.annotations = [:]
        try await c.push([bare])
        let unkeyed = try c.verify()
        #expect(unkeyed.code == 1)
        #expect(unkeyed.out.contains("NOT CHECKED") && unkeyed.out.contains("--key"), "\(unkeyed.out)")
    }

    /// The translation itself, without a registry: each field of the bundle annotation damaged in turn is
    /// refused with a reason naming it, and the good layer becomes the v0.1 bundle the design says.
    @Test func theAnnotationsBecomeAVersionZeroOneBundleOrAReason() throws {
        let sig = try TestSigstore()
        let leaf = try sig.leaf(from: sig.now - 120)
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let good = try sig.layer(digest: digest, leaf: leaf, integratedTime: sig.now - 60)
        let bundle = try CosignAttestationLayer.bundle(annotations: good.annotations, envelope: good.envelope)
        #expect(bundle.version == .v01)
        guard case .certificates(let certs) = bundle.material else { Issue.record("no certificates"); return }
        #expect(certs == [leaf.certificate, sig.intermediate], "the chain's self-signed root is left to the trusted root")
        let entry = try #require(bundle.logEntries.first)
        #expect(bundle.logEntries.count == 1 && entry.kind == "intoto" && entry.kindVersion == "0.0.2" && entry.logIndex == 4242)
        #expect(entry.logID == TestSigstore.logID(sig.rekorKey.publicKey) && entry.integratedTime == Int64((sig.now - 60).timeIntervalSince1970))
        #expect(entry.inclusionProof == nil && entry.signedEntryTimestamp != nil)
        let request = BundleVerificationRequest(artifact: .digests(["sha256": String(digest.dropFirst(7))]),
                                                trustedRootPath: nil, identity: .exact(TestSigstore.identity), issuer: TestSigstore.issuer)
        let rootFile = FileManager.default.temporaryDirectory.appendingPathComponent("cosign-root-\(UUID().uuidString).json")
        try sig.trustedRoot().write(to: rootFile)
        defer { try? FileManager.default.removeItem(at: rootFile) }
        var withRoot = request
        withRoot.trustedRootPath = rootFile.path
        let report = try withRoot.verify(bundle)
        #expect(report.verified, "\(String(describing: report.failure))")

        let text = try #require(good.annotations["dev.sigstore.cosign/bundle"])
        var obj = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let payload = try #require(obj["Payload"] as? [String: Any])
        func reason(bundle edit: (inout [String: Any], inout [String: Any]) -> Void) -> String {
            var o = obj, p = payload
            edit(&o, &p)
            if o["Payload"] is [String: Any] { o["Payload"] = p }
            var a = good.annotations
            a["dev.sigstore.cosign/bundle"] = String(decoding: (try? JSONSerialization.data(withJSONObject: o)) ?? Data(), as: UTF8.self)
            do { _ = try CosignAttestationLayer.bundle(annotations: a, envelope: good.envelope); return "accepted" } catch { return error.message }
        }
        #expect(reason { o, _ in o["SignedEntryTimestamp"] = "!!" }.contains("SignedEntryTimestamp"))
        #expect(reason { o, _ in o["SignedEntryTimestamp"] = nil }.contains("SignedEntryTimestamp"))
        #expect(reason { o, _ in o["Payload"] = "x" }.contains("Payload"))
        #expect(reason { _, p in p["body"] = 5 }.contains("Payload.body"))
        #expect(reason { _, p in p["body"] = Data("{}".utf8).base64EncodedString() }.contains("kind and an apiVersion"))
        #expect(reason { _, p in p["integratedTime"] = "1700000000" }.contains("integratedTime"))
        #expect(reason { _, p in p["integratedTime"] = 1.5 }.contains("integratedTime"))
        #expect(reason { _, p in p["integratedTime"] = true }.contains("integratedTime"))
        #expect(reason { _, p in p["integratedTime"] = 0 }.contains("integratedTime"))
        #expect(reason { _, p in p["logIndex"] = -1 }.contains("logIndex"))
        #expect(reason { _, p in p["logID"] = "xyz" }.contains("logID"))
        #expect(reason { _, p in p["logID"] = nil }.contains("logID"))
        obj["unknown"] = 1
        #expect(reason { _, _ in } == "accepted", "unknown fields are ignored, as cosign does")

        func layerReason(_ edit: (inout [String: String], inout Data) -> Void) -> String {
            var a = good.annotations, e = good.envelope
            edit(&a, &e)
            do { _ = try CosignAttestationLayer.bundle(annotations: a, envelope: e); return "accepted" } catch { return error.message }
        }
        #expect(layerReason { a, _ in a["dev.sigstore.cosign/certificate"] = (a["dev.sigstore.cosign/certificate"] ?? "") + (a["dev.sigstore.cosign/certificate"] ?? "") }
            .contains("holds more than 1 certificate"))
        #expect(layerReason { a, _ in a["dev.sigstore.cosign/certificate"] = "" }.contains("holds no certificate"))
        #expect(layerReason { a, _ in a["dev.sigstore.cosign/certificate"] = "-----BEGIN CERTIFICATE-----\nAAAA" }.contains("no END line"))
        #expect(layerReason { a, _ in a["dev.sigstore.cosign/chain"] = nil } == "accepted", "the chain is optional: the trusted root has it")
        #expect(layerReason { a, _ in a["predicateType"] = "https://cyclonedx.org/bom" }.contains("predicateType annotation"))
        #expect(layerReason { _, e in e = Data("[]".utf8) }.contains("not a JSON object"))
        #expect(layerReason { _, e in e = Data(#"{"payloadType":"x","payload":"e30=","signatures":[]}"#.utf8) }.contains("no signatures"))
        #expect(layerReason { _, e in
            e = Data(#"{"payloadType":"x","payload":"e30=","signatures":[{"sig":"AAAA"},{"sig":"AAAA"}]}"#.utf8)
        }.contains("exactly one signature"))
        for reason in [reason { o, _ in o["SignedEntryTimestamp"] = "!!" }, layerReason { a, _ in a["dev.sigstore.cosign/chain"] = "x\ny" }] {
            #expect(!reason.contains("\n"), "one line: \(reason)")
        }
    }
}
