import Crypto
import Foundation
import Testing
import Catalog
import ProvenantCore
import TestSupport

/// `attest --image --push` and `verify registry:…` against the real distribution registry (2.8, no
/// referrers API: the referrers tag is what is written and read).
@Suite(.serialized) struct ImageAttestationTests {
    struct Setup {
        let dir: ScratchDirectory
        let registry: ServerProcess
        let host: String
        let client: RegistryClient
        let images: TestImages
        func stop() { registry.stop() }

        /// `provenant ARGS --insecure-registry HOST`, with a HOME of the test's own.
        func cli(_ args: [String]) throws -> (code: Int32, out: String, err: String) {
            try runProcess(provenantBinary, args + ["--insecure-registry", host],
                           env: ["HOME": dir.path, "DOCKER_CONFIG": "", "PROVENANT_REGISTRY_AUTH": "", "PROVENANT_KEY_PASSWORD": ""])
        }
        func key(_ name: String) throws -> String {
            let r = try runProcess(provenantBinary, ["key", "generate", "-o", dir.path + "/" + name], env: ["PROVENANT_KEY_PASSWORD": ""])
            guard r.code == 0 else { throw HarnessError("key generate: \(r.err)") }
            return dir.path + "/" + name
        }
        var predicate: String { dir.path + "/predicate.json" }
        func attest(_ image: String, key: String) throws -> (code: Int32, out: String, err: String) {
            try cli(["attest", "--image", image, "--push", "--key", key + ".key", "--type", "slsaprovenance1", "--predicate", predicate])
        }
        func verify(_ image: String, _ more: [String]) throws -> (code: Int32, out: String, err: String) {
            try cli(["verify", image] + more)
        }
    }

    /// The Sigstore production trusted root as the sources ship it.
    static var productionTrustedRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/Attestation/Resources/trusted_root.production.json").path
    }

    static func setup(_ label: String) throws -> Setup {
        let images = try TestImages.shared()
        let dir = try ScratchDirectory(label)
        let (registry, port) = try Harness.startRegistry(in: dir.path)
        let host = "127.0.0.1:\(port)"
        let client = try RegistryClient(host: host, repository: "team/app", options: RegistryOptions(insecureHosts: [host]))
        try #"{"buildDefinition":{"buildType":"https://example.org/build/v1","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.org/builder"}}}"#
            .write(toFile: dir.path + "/predicate.json", atomically: true, encoding: .utf8)
        return Setup(dir: dir, registry: registry, host: host, client: client, images: images)
    }

    @Test func attachThenVerifyByTag() async throws {
        let s = try Self.setup("attest-tag")
        defer { s.stop() }
        try Harness.push(s.images.layout, tag: "amd", to: "\(s.host)/team/app:1")
        let image = try await s.client.fetchManifest("1")
        let signer = try s.key("signer")

        let attested = try s.attest("registry:\(s.host)/team/app:1", key: signer)
        #expect(attested.code == 0, "\(attested.err)")
        let referrer = attested.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(referrer.hasPrefix("sha256:") && referrer.count == 71)

        // What was pushed: an OCI 1.1 artifact naming the image, found through the referrers tag.
        let found = try await s.client.referrers(of: image.digest, artifactType: MediaType.sigstoreBundle)
        #expect(found.map(\.digest) == [referrer])
        let artifact = try ImageManifest(try await s.client.fetchManifest(referrer).bytes, subject: "artifact")
        #expect(artifact.artifactType == MediaType.sigstoreBundle)
        #expect(artifact.subject?.digest == image.digest)
        #expect(artifact.config.mediaType == "application/vnd.oci.empty.v1+json")
        #expect(try await s.client.fetchBlob(artifact.config.digest, limit: 16) == Array("{}".utf8))
        #expect(artifact.layers.map(\.mediaType) == [MediaType.sigstoreBundle])
        let bundle = try await s.client.fetchBlob(artifact.layers[0].digest, limit: 1 << 20)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(bundle)) as? [String: Any])
        #expect(obj["mediaType"] as? String == MediaType.sigstoreBundle)
        let env = try #require(obj["dsseEnvelope"] as? [String: Any])
        let statement = try #require(try JSONSerialization.jsonObject(with: Data(base64Encoded: env["payload"] as? String ?? "") ?? Data()) as? [String: Any])
        let subject = try #require((statement["subject"] as? [[String: Any]])?.first)
        #expect(subject["name"] as? String == "\(s.host)/team/app")
        #expect((subject["digest"] as? [String: String])?["sha256"] == String(image.digest.dropFirst(7)))

        // Verified by tag, with the signer's key and the predicate type asked for.
        let ok = try s.verify("registry:\(s.host)/team/app:1", ["--key", signer + ".pub", "--type", "slsaprovenance1"])
        #expect(ok.code == 0, "\(ok.out) \(ok.err)")
        #expect(ok.out.contains("verified: \(s.host)/team/app@\(image.digest): referrer \(referrer)"))
        #expect(ok.out.contains("✓ subject digest"))
        let json = try s.verify("registry:\(s.host)/team/app:1", ["--key", signer + ".pub", "--format", "json"])
        #expect(json.code == 0)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        #expect(report["verified"] as? Bool == true)
        #expect((report["attestations"] as? [[String: Any]])?.first?["result"] as? String == "verified")

        // The same bundle saved to a file verifies as a file, with the key, against the image's digest.
        let bundleFile = s.dir.path + "/attached.sigstore.json"
        try Data(bundle).write(to: URL(fileURLWithPath: bundleFile))
        let asFile = try runProcess(provenantBinary, ["verify", bundleFile, "--digest", image.digest, "--key", signer + ".pub",
                                                      "--trusted-root", Self.productionTrustedRoot])
        #expect(asFile.code == 0, "\(asFile.out) \(asFile.err)")
        #expect(asFile.out.contains("not checked: the trusted root"), "a trusted root that checks nothing says so")
        let asFileOtherDigest = try runProcess(provenantBinary, ["verify", bundleFile, "--digest", "sha256:" + String(repeating: "0", count: 64), "--key", signer + ".pub"])
        #expect(asFileOtherDigest.code == 1)
        let asFileIdentity = try runProcess(provenantBinary, ["verify", bundleFile, "--digest", image.digest, "--key", signer + ".pub",
                                                              "--certificate-identity", "ci@example.org", "--certificate-oidc-issuer", "https://issuer.example"])
        #expect(asFileIdentity.code == 2 && asFileIdentity.err.contains("cannot be checked"))

        // Another predicate type than the one asked for fails.
        let otherType = try s.verify("registry:\(s.host)/team/app:1", ["--key", signer + ".pub", "--type", "cyclonedx"])
        #expect(otherType.code == 1)
        #expect(otherType.out.contains("verification FAILED") && otherType.out.contains("predicate type"))

        // The wrong key fails.
        let other = try s.key("other")
        let wrong = try s.verify("registry:\(s.host)/team/app:1", ["--key", other + ".pub"])
        #expect(wrong.code == 1, "\(wrong.out)")
        #expect(wrong.out.contains("verification FAILED") && wrong.out.contains("signature"))

        // A second attestation keeps the first in the referrers tag; one verifying is enough (as cosign).
        let second = try s.attest("\(s.host)/team/app:1", key: other)
        #expect(second.code == 0, "\(second.err)")
        let both = try await s.client.referrers(of: image.digest, artifactType: MediaType.sigstoreBundle)
        #expect(Set(both.map(\.digest)) == [referrer, second.out.trimmingCharacters(in: .whitespacesAndNewlines)])
        let mixed = try s.verify("registry:\(s.host)/team/app:1", ["--key", signer + ".pub"])
        #expect(mixed.code == 0)
        #expect(mixed.out.components(separatedBy: "verified: ").count == 2 && mixed.out.contains("verification FAILED"))

        // A tampered layer: the attestation names the manifest, whose layer digests the reader checks.
        let layer = try ImageManifest(image.bytes, subject: "image").layers[0]
        let path = Harness.storedBlob(s.dir.path + "/storage", layer.digest)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0xff
        try bytes.write(to: URL(fileURLWithPath: path))
        let sbom = try s.cli(["sbom", "registry:\(s.host)/team/app:1"])
        #expect(sbom.code == 2)
        #expect(sbom.err.contains("not the \(layer.digest) it is named by"), "\(sbom.err)")

        // A changed image under the same tag has another digest, which no attestation names.
        try Harness.push(s.images.layout, tag: "arm", to: "\(s.host)/team/app:1")
        let moved = try s.verify("registry:\(s.host)/team/app:1", ["--key", signer + ".pub"])
        #expect(moved.code == 1)
        #expect(moved.err.contains("no attestations found"))
    }

    @Test func noAttestationAndBadInput() async throws {
        let s = try Self.setup("attest-none")
        defer { s.stop() }
        try Harness.push(s.images.layout, tag: "amd", to: "\(s.host)/team/app:1")
        let signer = try s.key("signer")
        let none = try s.verify("registry:\(s.host)/team/app:1", ["--key", signer + ".pub"])
        #expect(none.code == 1)
        #expect(none.err.contains("no attestations found"))
        // Input errors exit 2: no policy, an image that is not there, --digest beside an image.
        #expect(try s.verify("registry:\(s.host)/team/app:1", []).code == 2)
        #expect(try s.verify("registry:\(s.host)/team/missing:1", ["--key", signer + ".pub"]).code == 2)
        #expect(try s.verify("registry:\(s.host)/team/app:1", ["--key", signer + ".pub", "--digest", "sha256:" + String(repeating: "a", count: 64)]).code == 2)
    }

    /// A signed attestation about image A, listed as a referrer of image B: the subject check fails.
    @Test func anAttestationOfAnotherDigestFails() async throws {
        let s = try Self.setup("attest-mismatch")
        defer { s.stop() }
        try Harness.push(s.images.layout, tag: "amd", to: "\(s.host)/team/app:a")
        try Harness.push(s.images.layout, tag: "arm", to: "\(s.host)/team/app:b")
        let b = try await s.client.fetchManifest("b")
        let signer = try s.key("signer")
        let attested = try s.attest("registry:\(s.host)/team/app:a", key: signer)
        #expect(attested.code == 0, "\(attested.err)")
        let referrer = attested.out.trimmingCharacters(in: .whitespacesAndNewlines)

        var moved = try #require(try JSONSerialization.jsonObject(with: Data(try await s.client.fetchManifest(referrer).bytes)) as? [String: Any])
        moved["subject"] = ["mediaType": b.mediaType, "digest": b.digest, "size": b.bytes.count]
        let bytes = Array(try JSONSerialization.data(withJSONObject: moved, options: [.sortedKeys]))
        let movedDigest = try await s.client.pushManifest(bytes, mediaType: MediaType.ociManifest, reference: "sha256:" + Hex.encode(SHA256.hash(data: bytes)))
        let index = try JSONSerialization.data(withJSONObject: ["schemaVersion": 2, "mediaType": MediaType.ociIndex, "manifests": [
            ["mediaType": MediaType.ociManifest, "digest": movedDigest, "size": bytes.count, "artifactType": MediaType.sigstoreBundle],
        ]])
        try await s.client.pushManifest(Array(index), mediaType: MediaType.ociIndex, reference: RegistryClient.referrersTag(b.digest))

        let onA = try s.verify("registry:\(s.host)/team/app:a", ["--key", signer + ".pub"])
        #expect(onA.code == 0, "\(onA.out)")
        let onB = try s.verify("registry:\(s.host)/team/app:b", ["--key", signer + ".pub"])
        #expect(onB.code == 1)
        #expect(onB.out.contains("verification FAILED") && onB.out.contains("subject digest"), "\(onB.out)")

        // A bundle blob changed in the registry's storage fails its digest check, and so verification.
        let artifact = try ImageManifest(try await s.client.fetchManifest(referrer).bytes, subject: "artifact")
        let path = Harness.storedBlob(s.dir.path + "/storage", artifact.layers[0].digest)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(of: "0.3", with: "0.2").write(toFile: path, atomically: false, encoding: .utf8)
        let tampered = try s.verify("registry:\(s.host)/team/app:a", ["--key", signer + ".pub"])
        #expect(tampered.code == 1)
        #expect(tampered.out.contains("verification FAILED"))
    }

    /// A referrers tag listing one referrer thousands of times made each verify fetch and check it
    /// each time (found by helper-79): it is checked once.
    @Test func aReferrerListedManyTimesIsCheckedOnce() async throws {
        let s = try Self.setup("attest-repeated")
        defer { s.stop() }
        try Harness.push(s.images.layout, tag: "amd", to: "\(s.host)/team/app:a")
        let a = try await s.client.fetchManifest("a")
        let signer = try s.key("signer")
        let attested = try s.attest("registry:\(s.host)/team/app:a", key: signer)
        #expect(attested.code == 0, "\(attested.err)")
        let tag = RegistryClient.referrersTag(a.digest)
        var index = try #require(try JSONSerialization.jsonObject(with: Data(try await s.client.fetchManifest(tag).bytes)) as? [String: Any])
        let entries = try #require(index["manifests"] as? [[String: Any]])
        #expect(entries.count == 1)
        index["manifests"] = Array(repeating: entries[0], count: 300)
        try await s.client.pushManifest(Array(try JSONSerialization.data(withJSONObject: index)), mediaType: MediaType.ociIndex, reference: tag)
        let r = try s.verify("registry:\(s.host)/team/app:a", ["--key", signer + ".pub"])
        #expect(r.code == 0, "\(r.out) \(r.err)")
        #expect(r.out.components(separatedBy: "verified: ").count - 1 == 1, "\(r.out)")
    }

    /// Cosign's convention: DSSE envelopes as layers of the `sha256-<hex>.att` tag. One signed with a key
    /// is verified with --key; keyless ones are `CosignKeylessTests`'.
    @Test func cosignAttTagIsVerifiedWithTheKey() async throws {
        let s = try Self.setup("attest-cosign")
        defer { s.stop() }
        try Harness.push(s.images.layout, tag: "amd", to: "\(s.host)/team/app:1")
        let image = try await s.client.fetchManifest("1")
        let signer = try s.key("signer")
        // A statement whose subject digest is the manifest's: the manifest's own bytes as the subject file.
        let manifestFile = s.dir.path + "/manifest.json"
        try Data(image.bytes).write(to: URL(fileURLWithPath: manifestFile))
        let env = try runProcess(provenantBinary, ["attest", "--subject", manifestFile, "--type", "slsaprovenance1",
                                                   "--predicate", s.predicate, "--key", signer + ".key"], env: ["PROVENANT_KEY_PASSWORD": ""])
        #expect(env.code == 0, "\(env.err)")
        let envelope = Array(env.out.utf8)
        let layerDigest = try await s.client.pushBlob(envelope)
        let configDigest = try await s.client.pushBlob(Array("{}".utf8))
        let att = try JSONSerialization.data(withJSONObject: [
            "schemaVersion": 2, "mediaType": MediaType.ociManifest,
            "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": configDigest, "size": 2],
            "layers": [["mediaType": "application/vnd.dsse.envelope.v1+json", "digest": layerDigest, "size": envelope.count,
                        "annotations": ["predicateType": "https://slsa.dev/provenance/v1"]]],
        ] as [String: Any], options: [.sortedKeys])
        try await s.client.pushManifest(Array(att), mediaType: MediaType.ociManifest, reference: RegistryClient.referrersTag(image.digest) + ".att")

        let ok = try s.verify("registry:\(s.host)/team/app:1", ["--key", signer + ".pub", "--type", "slsaprovenance1"])
        #expect(ok.code == 0, "\(ok.out) \(ok.err)")
        #expect(ok.out.contains("cosign \(RegistryClient.referrersTag(image.digest)).att \(layerDigest)"))
        #expect(ok.out.contains("cosign's Rekor bundle annotation is not verified"))
        let wrong = try s.verify("registry:\(s.host)/team/app:1", ["--key", try s.key("other") + ".pub"])
        #expect(wrong.code == 1)
        // Without --key, a key-signed layer is NOT CHECKED, never verified by the identity asked for.
        let keyless = try s.verify("registry:\(s.host)/team/app:1", ["--certificate-identity", "ci@example.org", "--certificate-oidc-issuer", "https://issuer.example"])
        #expect(keyless.code == 1)
        #expect(keyless.out.contains("NOT CHECKED") && keyless.out.contains("--key"), "\(keyless.out)")
        #expect(!keyless.out.contains("verified:"))
    }

    /// An identity asked for cannot be checked on a key-signed attestation: it fails, never passes unchecked.
    @Test func anIdentityAskedForFailsAKeySignedAttestation() async throws {
        let s = try Self.setup("attest-identity")
        defer { s.stop() }
        try Harness.push(s.images.layout, tag: "amd", to: "\(s.host)/team/app:1")
        let signer = try s.key("signer")
        #expect(try s.attest("registry:\(s.host)/team/app:1", key: signer).code == 0)
        let plain = try s.verify("registry:\(s.host)/team/app:1", ["--key", signer + ".pub"])
        #expect(plain.code == 0, "\(plain.out) \(plain.err)")
        let withIdentity = try s.verify("registry:\(s.host)/team/app:1", ["--key", signer + ".pub", "--certificate-identity", "ci@example.org",
                                                                          "--certificate-oidc-issuer", "https://issuer.example"])
        #expect(withIdentity.code == 1)
        #expect(withIdentity.out.contains("verification FAILED") && withIdentity.out.contains("cannot be checked"), "\(withIdentity.out)")
    }
}
