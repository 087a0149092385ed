@preconcurrency import Crypto
import Foundation
import Testing
import ProvenantCore
import TestSupport
@testable import Attestation
import SwiftASN1
import X509

/// The sigstore-conformance `bundle-verify` cases (Apache-2.0, see Fixtures/sigstore-conformance/NOTICE).
enum Conformance {
    static var dir: String { Bundle.module.resourceURL?.appendingPathComponent("Fixtures/sigstore-conformance").path ?? "" }
    static var cases: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/bundle-verify")) ?? [])
            .filter { FileManager.default.fileExists(atPath: dir + "/bundle-verify/\($0)/bundle.sigstore.json") }.sorted()
    }
    static let identity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
    static let issuer = "https://token.actions.githubusercontent.com"

    /// The CLI arguments the suite's README prescribes for one case.
    static func arguments(_ name: String) -> [String] {
        let c = dir + "/bundle-verify/" + name
        func file(_ f: String) -> String? { FileManager.default.fileExists(atPath: c + "/" + f) ? c + "/" + f : nil }
        func text(_ f: String) -> String? { file(f).flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }?.trimmingCharacters(in: .whitespacesAndNewlines) }
        var args = ["verify", c + "/bundle.sigstore.json", "--artifact", file("artifact") ?? dir + "/a.txt"]
        if let key = file("key.pub") { args += ["--key", key] } else {
            args += ["--certificate-identity", text("identity") ?? identity, "--certificate-oidc-issuer", text("issuer") ?? issuer]
        }
        if let root = file("trusted_root.json") { args += ["--trusted-root", root] }
        return args
    }
}

@Suite struct SigstoreConformanceTests {
    @Test func theSuiteHasAllSeventyCases() {
        #expect(Conformance.cases.count == 70)
        #expect(Conformance.cases.filter { $0.hasSuffix("_fail") }.count == 49)
    }

    /// Cases named `*_fail` must fail (exit 1 or 2, never "verified"); all others must verify.
    @Test(arguments: Conformance.cases)
    func bundleVerifiesAsTheSuiteExpects(_ name: String) throws {
        let r = try runProcess(provenantBinary, Conformance.arguments(name))
        if name.hasSuffix("_fail") {
            #expect(r.code == 1 || r.code == 2, "\(name) exited \(r.code): \(r.out)")
            #expect(!r.out.contains("verified:"))
            #expect((r.out + r.err).split(separator: "\n").count == 1, "a failure is one line: \(r.out)\(r.err)")
        } else {
            #expect(r.code == 0, "\(name): \(r.out)\(r.err)")
            #expect(r.out.contains("verified:") && r.out.contains("✓ transparency log") && r.out.contains("✓ signature"))
        }
    }

    @Test func keylessSuccessNamesEveryCheckAndJSONSaysTheSame() throws {
        let d = Conformance.dir + "/bundle-verify/happy-path-intoto-in-dsse-v3"
        let base = ["verify", d + "/bundle.sigstore.json", "--artifact", Conformance.dir + "/a.txt",
                    "--certificate-identity-regexp", "^https://github\\.com/sigstore-conformance/", "--certificate-oidc-issuer", Conformance.issuer]
        let text = try runProcess(provenantBinary, base)
        #expect(text.code == 0)
        for check in ["transparency log", "verified time", "certificate chain", "certificate transparency", "signature", "identity", "OIDC issuer", "statement", "subject digest"] {
            #expect(text.out.contains("✓ \(check):"), "missing \(check)")
        }
        #expect(text.out.contains("not checked: predicate type") && text.out.contains("not checked: RFC 3161 timestamps (none in the bundle)"))
        let json = try runProcess(provenantBinary, base + ["--format", "json", "--type", "https://example.com/other"])
        #expect(json.code == 1)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        #expect(obj["verified"] as? Bool == false)
        let failure = try #require(obj["failure"] as? [String: String])
        #expect(failure["check"] == "predicate type" && failure["reason"]?.contains("expected https://example.com/other") == true)
    }

    @Test func keylessBundlesNeedIdentityAndIssuer() throws {
        let d = Conformance.dir + "/bundle-verify/happy-path-v0.3"
        let none = try runProcess(provenantBinary, ["verify", d + "/bundle.sigstore.json", "--artifact", Conformance.dir + "/a.txt"])
        #expect(none.code == 2 && none.err.contains("--certificate-identity"))
        let wrong = try runProcess(provenantBinary, ["verify", d + "/bundle.sigstore.json", "--artifact", Conformance.dir + "/a.txt",
                                                     "--certificate-identity", "https://example.com/someone-else", "--certificate-oidc-issuer", Conformance.issuer])
        #expect(wrong.code == 1 && wrong.out.contains("identity: expected https://example.com/someone-else"))
        let sha = SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: Conformance.dir + "/a.txt"))).map { String(format: "%02x", $0) }.joined()
        let digestOnly = try runProcess(provenantBinary, ["verify", d + "/bundle.sigstore.json", "--digest", "sha256:" + sha,
                                                          "--certificate-identity", Conformance.identity, "--certificate-oidc-issuer", Conformance.issuer])
        // A usage error, exit 2, as flags that do not apply to the bundle are (helper-158).
        #expect(digestOnly.code == 2 && digestOnly.err.contains("pass --artifact, not --digest") && !digestOnly.out.contains("verified"), "\(digestOnly)")
    }
}

@Suite struct SigstorePartsTests {
    /// RFC 6962 tree hash and audit path, written from the RFC's recursive definitions.
    static func mth(_ d: ArraySlice<Data>) -> Data {
        if d.count == 1 { return Merkle.leafHash(d[d.startIndex]) }
        var k = 1; while k * 2 < d.count { k *= 2 }
        return Merkle.node(mth(d.prefix(k)), mth(d.dropFirst(k)))
    }
    static func path(_ m: Int, _ d: ArraySlice<Data>) -> [Data] {
        if d.count == 1 { return [] }
        var k = 1; while k * 2 < d.count { k *= 2 }
        return m < k ? path(m, d.prefix(k)) + [mth(d.dropFirst(k))] : path(m - k, d.dropFirst(k)) + [mth(d.prefix(k))]
    }

    @Test func inclusionProofsCheckEveryLeafOfEveryTreeSize() {
        let leaves = (0..<13).map { Data("leaf \($0)".utf8) }
        for n in 1...leaves.count {
            let tree = leaves.prefix(n)
            let root = Self.mth(tree)
            for i in 0..<n {
                let p = Self.path(i, tree)
                #expect(Merkle.root(leaf: Merkle.leafHash(leaves[i]), index: Int64(i), size: Int64(n), proof: p) == root)
                if !p.isEmpty {
                    var bad = p; bad[0][0] ^= 1
                    #expect(Merkle.root(leaf: Merkle.leafHash(leaves[i]), index: Int64(i), size: Int64(n), proof: bad) != root)
                }
                #expect(Merkle.root(leaf: Merkle.leafHash(leaves[i]), index: Int64(i), size: Int64(n), proof: p + [root]) == nil)
            }
        }
        #expect(Merkle.root(leaf: Data(), index: 5, size: 5, proof: []) == nil)
    }

    @Test func checkpointsNeedTheLogsOwnSignatureAndIgnoreWitnesses() throws {
        let logKey = Curve25519.Signing.PrivateKey(), witness = Curve25519.Signing.PrivateKey()
        let log = LogKey(baseURL: "https://log.example", logID: Data(SHA256.hash(data: Data("log".utf8))),
                         key: Certificate.PublicKey(logKey.publicKey), validFor: TimeRange(start: .distantPast, end: nil))
        let note = "log.example\n42\n\(Data(repeating: 7, count: 32).base64EncodedString())\n"
        func line(_ name: String, _ hint: Data, _ key: Curve25519.Signing.PrivateKey) throws -> String {
            "\u{2014} \(name) \((hint.prefix(4) + (try key.signature(for: Data(note.utf8)))).base64EncodedString())\n"
        }
        let witnessLine = try line("witness.example", Data([1, 2, 3, 4]), witness)
        let good = try Checkpoint.parse(note + "\n" + witnessLine + (try line("log.example", log.logID, logKey)))
        #expect(good.size == 42 && good.signed(by: log))
        #expect(try !Checkpoint.parse(note + "\n" + witnessLine).signed(by: log))
        #expect(try !Checkpoint.parse(note + "\n" + (try line("other.example", log.logID, logKey))).signed(by: log), "the signer must be the origin")
        #expect(try !Checkpoint.parse(note + "\n" + (try line("log.example", Data([9, 9, 9, 9]), logKey))).signed(by: log), "the key hint must be the log's")
        #expect(throws: Checkpoint.Malformed.self) { try Checkpoint.parse("42\n\(Data(count: 32).base64EncodedString())\n\n" + witnessLine) }
        #expect(throws: Checkpoint.Malformed.self) { try Checkpoint.parse(note + "\n") }
        // Each line naming the log costs a signature check: their number is bounded (found by helper-100).
        let bogus = try line("log.example", log.logID, witness)
        #expect(try Checkpoint.parse(note + "\n" + String(repeating: bogus, count: 15) + (try line("log.example", log.logID, logKey))).signed(by: log))
        #expect(throws: Checkpoint.Malformed.self) { try Checkpoint.parse(note + "\n" + String(repeating: bogus, count: 16) + (try line("log.example", log.logID, logKey))) }
    }

    @Test func trustedRootTimesAndUnusableEntries() throws {
        let fractional = try #require(RFC3339.date(from: "2022-12-31T23:59:59.999000Z"))
        #expect(abs(fractional.timeIntervalSince1970 - 1_672_531_199.999) < 0.000_01)
        #expect(RFC3339.date(from: "2023-07-12T15:56:36Z") == Date(timeIntervalSince1970: 1_689_177_396))
        #expect(RFC3339.date(from: "2023-07-12T15:56:36+02:00") == nil)
        let range = try #require(TrustedRoot.timeRange(["start": "2023-01-01T00:00:00Z", "end": NSNull()]))
        #expect(range.end == nil && range.contains(.distantFuture))
        #expect(TrustedRoot.timeRange(["end": "2023-01-01T00:00:00Z"]) == nil, "a missing start is not an open range")
        let closed = TimeRange(start: Date(timeIntervalSince1970: 10), end: Date(timeIntervalSince1970: 20))
        #expect(closed.contains(Date(timeIntervalSince1970: 20)) && closed.contains(Date(timeIntervalSince1970: 10)) && !closed.contains(Date(timeIntervalSince1970: 20.001)))

        let root = try TrustedRoot.production()
        #expect(root.tlogs.count == 2 && root.certificateAuthorities.count == 2 && root.ctlogs.count == 2 && root.timestampAuthorities.count == 1)
        let noKeys = #"{"tlogs":[{"baseUrl":"x","publicKey":{"rawBytes":"AAAA","validFor":{"start":"2021-01-01T00:00:00Z"}},"logId":{"keyId":"AAAA"}}]}"#
        #expect(throws: InputError.self) { try TrustedRoot.parse(Data(noKeys.utf8), path: "root.json") }
        do { _ = try TrustedRoot.parse(Data(noKeys.utf8), path: "root.json") } catch { #expect(error.description.contains("root.json: trusted root has no valid transparency log key")) }
    }

    @Test func badBundlesGetReasonsNeverAVerdict() throws {
        let happy = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Conformance.dir + "/bundle-verify/happy-path-v0.3/bundle.sigstore.json"))) as? [String: Any])
        func reason(_ edit: (inout [String: Any]) -> Void) -> String {
            var b = happy; edit(&b)
            do { _ = try SigstoreBundle.parse(b); return "accepted" } catch { return error.message }
        }
        #expect(reason { _ in } == "accepted")
        #expect(reason { $0["mediaType"] = "application/vnd.dev.sigstore.bundle.v9.9+json" }.contains("unknown bundle media type"))
        // Only the exact spellings: a version parameter on the v0.3 form was read as 0.1, which needs
        // no inclusion proof, and any prefix was taken (found by helper-121).
        for media in ["application/vnd.dev.sigstore.bundle.v0.3+json;version=0.1", "application/vnd.dev.sigstore.bundleEVIL+json;version=0.3",
                      "application/vnd.dev.sigstore.bundle+json;version=0.3;x=1", "application/vnd.dev.sigstore.bundle+json; version=0.3"] {
            #expect(reason { $0["mediaType"] = media }.contains("unknown bundle media type"), "\(media)")
        }
        #expect(reason { $0["verificationMaterial"] = nil }.contains("no verificationMaterial"))
        #expect(reason { $0["messageSignature"] = nil }.contains("neither messageSignature nor dsseEnvelope"))
        #expect(reason { $0["verificationMaterial"] = ["certificate": ["rawBytes": Data("not a certificate".utf8).base64EncodedString()], "tlogEntries": []] }
            .contains("does not parse as an X.509 certificate"))
        #expect(reason { $0["messageSignature"] = ["signature": "@@@"] }.contains("not valid base64"))
        let noKind = reason { b in
            var vm = b["verificationMaterial"] as? [String: Any] ?? [:]
            var e = (vm["tlogEntries"] as? [[String: Any]])?.first ?? [:]
            e["kindVersion"] = nil; vm["tlogEntries"] = [e]; b["verificationMaterial"] = vm
        }
        #expect(noKind.contains("kindVersion is missing"))
        // Each entry and timestamp is verified: their number is bounded (found by helper-73).
        let many = reason { b in
            var vm = b["verificationMaterial"] as? [String: Any] ?? [:]
            let e = (vm["tlogEntries"] as? [[String: Any]])?.first ?? [:]
            vm["tlogEntries"] = Array(repeating: e, count: 17); b["verificationMaterial"] = vm
        }
        #expect(many.contains("17 transparency log entries") && many.contains("more than 16"), "\(many)")
        // A chain, each self-issued certificate of which costs a signature check, is bounded as cosign's
        // annotation chains are (235,000 appended took five minutes: found by helper-100).
        let chained = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Conformance.dir + "/bundle-verify/happy-path-v0.2/bundle.sigstore.json"))) as? [String: Any])
        func withChain(_ n: Int) -> String {
            var b = chained
            var vm = b["verificationMaterial"] as? [String: Any] ?? [:]
            let certs = ((vm["x509CertificateChain"] as? [String: Any])?["certificates"] as? [[String: Any]]) ?? []
            vm["x509CertificateChain"] = ["certificates": Array((0..<n).map { certs[$0 % max(1, certs.count)] })]; b["verificationMaterial"] = vm
            do { _ = try SigstoreBundle.parse(b); return "accepted" } catch { return error.message }
        }
        #expect(withChain(10) == "accepted")
        #expect(withChain(11).contains("11 certificates; more than 10 are refused"), "\(withChain(11))")
        let envelope: [String: Any] = ["payloadType": "application/vnd.in-toto+json", "payload": "e30=",
                                       "signatures": Array(repeating: ["keyid": "", "sig": "AAAA"], count: 17)]
        #expect(throws: InputError.self) { try DSSEEnvelope.parse(envelope) }
        var few = envelope; few["signatures"] = Array(repeating: ["keyid": "", "sig": "AAAA"], count: 16)
        #expect(throws: Never.self) { try DSSEEnvelope.parse(few) }
        #expect(reason { $0["messageSignature"] = nil; $0["dsseEnvelope"] = ["payloadType": "x", "payload": String(repeating: "A", count: (64 << 20) / 3 * 4 + 8), "signatures": [["sig": "AA=="]]] }
            .contains("64 MiB"))
    }
}

@Suite struct SigstoreTamperingTests {
    static func load(_ name: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Conformance.dir + "/bundle-verify/\(name)/bundle.sigstore.json"))) as? [String: Any])
    }

    static func verdict(_ obj: [String: Any], root: String?) -> Bool {
        guard let b = try? SigstoreBundle.parse(obj), let a = FileManager.default.contents(atPath: Conformance.dir + "/a.txt") else { return false }
        let req = BundleVerificationRequest(artifact: .bytes(a), trustedRootPath: root, identity: .exact(Conformance.identity), issuer: Conformance.issuer)
        return (try? req.verify(b))?.verified ?? false
    }

    /// Every truncation and many bit flips of an RFC 3161 token, and of the SET and inclusion hashes,
    /// end in a reasoned failure: never a crash, never "verified".
    @Test func damagedBytesNeverVerify() throws {
        let root = Conformance.dir + "/bundle-verify/rekor2-happy-path/trusted_root.json"
        let happy = try Self.load("rekor2-happy-path")
        #expect(Self.verdict(happy, root: root), "the untouched bundle verifies")
        var vm = try #require(happy["verificationMaterial"] as? [String: Any])
        var tvd = try #require(vm["timestampVerificationData"] as? [String: Any])
        let encoded = try #require((tvd["rfc3161Timestamps"] as? [[String: String]])?.first?["signedTimestamp"])
        let token = try #require(Data(base64Encoded: encoded))
        func with(_ t: Data) -> [String: Any] {
            tvd["rfc3161Timestamps"] = [["signedTimestamp": t.base64EncodedString()]]
            vm["timestampVerificationData"] = tvd
            var b = happy; b["verificationMaterial"] = vm; return b
        }
        var tried = 0
        for cut in stride(from: 0, to: token.count, by: 7) { #expect(!Self.verdict(with(token.prefix(cut)), root: root)); tried += 1 }
        // Offsets from `openssl asn1parse`: status 0 and 1 both grant (8), the digestAlgorithms SET (35..<50) is
        // advisory and the embedded certificates (247..<782) are never trusted, so flips there may still verify.
        // Everything else is signed or checked.
        let unsigned = Set([8]).union(35..<50).union(247..<782)
        var passedFlips: [Int] = []
        for i in 0..<token.count {
            var t = token; t[t.startIndex + i] ^= 0x01
            if Self.verdict(with(t), root: root) { passedFlips.append(i) }
            tried += 1
        }
        #expect(passedFlips.allSatisfy { unsigned.contains($0) }, "flips that still verified: \(passedFlips.filter { !unsigned.contains($0) })")
        #expect(tried > 300)

        let v1 = try Self.load("happy-path-v0.3")
        #expect(Self.verdict(v1, root: nil))
        var entries = try #require((v1["verificationMaterial"] as? [String: Any])?["tlogEntries"] as? [[String: Any]])
        for field in ["integratedTime", "logIndex"] {
            var e = entries[0]; e[field] = "1700000000"
            var b = v1; var m = b["verificationMaterial"] as? [String: Any] ?? [:]; m["tlogEntries"] = [e]; b["verificationMaterial"] = m
            #expect(!Self.verdict(b, root: nil), "a changed \(field) breaks the SET")
        }
        var hinted = v1
        hinted["messageSignature"] = ["messageDigest": ["algorithm": "MD5", "digest": "AAAA"], "signature": (v1["messageSignature"] as? [String: Any])?["signature"] ?? ""]
        #expect(!Self.verdict(hinted, root: nil), "an unknown message digest algorithm is refused, not skipped")
        var v2 = happy
        var v2m = try #require(v2["verificationMaterial"] as? [String: Any])
        var v2e = try #require((v2m["tlogEntries"] as? [[String: Any]])?.first)
        v2e["logIndex"] = "734"; v2m["tlogEntries"] = [v2e]; v2["verificationMaterial"] = v2m
        #expect(!Self.verdict(v2, root: root), "a Rekor v2 entry's index must be the one its proof is for")
        var proof = try #require(entries[0]["inclusionProof"] as? [String: Any])
        var hashes = try #require(proof["hashes"] as? [String])
        hashes.removeLast(); proof["hashes"] = hashes; entries[0]["inclusionProof"] = proof
        var b = v1; var m = b["verificationMaterial"] as? [String: Any] ?? [:]; m["tlogEntries"] = entries; b["verificationMaterial"] = m
        #expect(!Self.verdict(b, root: nil), "a shortened inclusion proof fails")
    }
}

extension SigstoreTamperingTests {
    /// A v0.1 bundle whose entry has neither a SET nor a checkpoint, only an inclusion proof up to a root
    /// hash the bundle itself gives, proves nothing about the log: it fails, as v0.2 does (helper-73).
    @Test func anInclusionProofWithoutACheckpointOrSETIsNotALogEntry() throws {
        let name = "intoto-with-custom-trust-root"
        var b = try Self.load(name)
        b["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1"
        var vm = try #require(b["verificationMaterial"] as? [String: Any])
        var e = try #require((vm["tlogEntries"] as? [[String: Any]])?.first)
        e["inclusionPromise"] = nil
        var proof = try #require(e["inclusionProof"] as? [String: Any])
        proof["checkpoint"] = nil
        let encodedBody = try #require(e["canonicalizedBody"] as? String)
        let decodedBody = try #require(Data(base64Encoded: encodedBody))
        var body = try #require(try JSONSerialization.jsonObject(with: decodedBody) as? [String: Any])
        body["never"] = "logged"
        let raw = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        e["canonicalizedBody"] = raw.base64EncodedString()
        proof["rootHash"] = Data(SHA256.hash(data: Data([0]) + raw)).base64EncodedString()
        proof["hashes"] = []; proof["treeSize"] = "1"; proof["logIndex"] = "0"
        e["inclusionProof"] = proof; e["logIndex"] = "0"
        vm["tlogEntries"] = [e]; b["verificationMaterial"] = vm
        let dir = try scratch("unlogged-bundle")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/bundle.json"
        try JSONSerialization.data(withJSONObject: b).write(to: URL(fileURLWithPath: path))
        var args = Conformance.arguments(name)
        args[1] = path
        let r = try runProcess(provenantBinary, args)
        #expect(r.code == 1 && r.out.contains("neither a signed entry timestamp nor an inclusion proof under a signed checkpoint"), "\(r.out) \(r.err)")
        #expect(!r.out.contains("verified:"))
    }
}

@Suite struct FulcioIdentityTests {
    static func certificate(_ extensions: [Certificate.Extension], sans: [GeneralName] = []) throws -> Certificate {
        let key = P256.Signing.PrivateKey()
        var all = extensions
        if !sans.isEmpty { all.append(try Certificate.Extension(SubjectAlternativeNames(sans), critical: true)) }
        let name = try DistinguishedName { CommonName("test") }
        return try Certificate(version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: Date(timeIntervalSince1970: 0),
                               notValidAfter: Date(timeIntervalSince1970: 4_000_000_000), issuer: name, subject: name,
                               signatureAlgorithm: .ecdsaWithSHA256, extensions: try Certificate.Extensions(all), issuerPrivateKey: .init(key))
    }

    /// Fulcio writes the issuer twice: 1.1 as raw bytes (deprecated) and 1.8 as a DER UTF8String. 1.8 wins.
    @Test func issuerComesFromExtensionEightElseOne() throws {
        let raw = Array("https://old.example".utf8)
        var utf8 = DER.Serializer()
        try utf8.serialize(ASN1UTF8String("https://new.example"))
        let one = Certificate.Extension(oid: [1, 3, 6, 1, 4, 1, 57264, 1, 1], critical: false, value: raw[...])
        let eight = Certificate.Extension(oid: [1, 3, 6, 1, 4, 1, 57264, 1, 8], critical: false, value: utf8.serializedBytes[...])
        #expect(FulcioIdentity.issuer(try Self.certificate([one])) == "https://old.example")
        #expect(FulcioIdentity.issuer(try Self.certificate([one, eight])) == "https://new.example")
        #expect(FulcioIdentity.issuer(try Self.certificate([])) == nil)
    }

    @Test func identityMatchesExactlyOrByRegex() throws {
        let cert = try Self.certificate([], sans: [.uniformResourceIdentifier("https://github.com/acme/agent/.github/workflows/release.yml@refs/heads/main"),
                                                   .rfc822Name("builder@example.com")])
        #expect(FulcioIdentity.sans(cert).contains("builder@example.com"))
        let bundle = try SigstoreBundle.parse(try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Conformance.dir + "/bundle-verify/happy-path-v0.3/bundle.sigstore.json"))) as? [String: Any]))
        var c = BundleContext(bundle: bundle, root: try TrustedRoot.production(), artifact: .digests([:]), key: nil)
        c.bundle.material = .certificates([cert])
        #expect(throws: Never.self) { try IdentityIs(.regex("^https://github\\.com/acme/")).check(&c) }
        #expect(throws: Never.self) { try IdentityIs(.exact("builder@example.com")).check(&c) }
        #expect(throws: VerificationFailure.self) { try IdentityIs(.exact("https://github.com/acme/agent")).check(&c) }
        #expect(throws: VerificationFailure.self) { try IdentityIs(.regex("^https://github\\.com/evil/")).check(&c) }
        #expect(throws: VerificationFailure.self) { try IdentityIs(.regex("([")).check(&c) }
        // ICU's `$` matches before a final line break; Go's, which cosign users write for, does not.
        let workflow = "https://github.com/acme/agent/.github/workflows/release.yml@refs/heads/main"
        let anchored = "^https://github\\.com/acme/agent/\\.github/workflows/release\\.yml@refs/heads/main$"
        #expect(throws: Never.self) { try IdentityIs(.regex(anchored)).check(&c) }
        for tail in ["\n", "\r\n", "\r"] {
            c.bundle.material = .certificates([try Self.certificate([], sans: [.uniformResourceIdentifier(workflow + tail)])])
            let failure = #expect(throws: VerificationFailure.self) { try IdentityIs(.regex(anchored)).check(&c) }
            #expect(failure.map { !"\($0)".contains("\n") } == true, "the SAN is quoted on one line: \(String(describing: failure))")
        }
    }
}
