import Crypto
import Foundation
import Testing
import TestSupport
import ProvenantCore
@testable import Attestation

func scratch(_ tag: String) throws -> String {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("provenant-att-\(tag)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

/// Exit status and both streams together, which is what these checks read.
func run(_ exe: String, _ args: [String], env: [String: String] = [:]) throws -> (Int32, String) {
    let r = try runProcess(exe, args, env: env)
    return (r.code, r.out + r.err)
}

@Suite struct AttestationTests {
    @Test func paeIsTheDSSEEncoding() {
        #expect(DSSEEnvelope.pae("http://example.com/HelloWorld", Data("hello world".utf8))
                == Data("DSSEv1 29 http://example.com/HelloWorld 11 hello world".utf8))
    }

    @Test(arguments: SigningKey.KeyType.allCases)
    func keysRoundTripThroughPEMAndSignaturesVerify(_ type: SigningKey.KeyType) throws {
        let key = SigningKey.generate(type)
        let again = try SigningKey.load(pem: key.pkcs8PEM, password: nil)
        #expect(again.publicKey.spki == key.publicKey.spki)
        let pub = try VerifyingKey.load(pem: key.publicKey.pem)
        let env = try DSSEEnvelope.sign(payload: Data("{}".utf8), type: DSSEEnvelope.inTotoType, with: key)
        #expect(env.verified(by: pub))
        var tampered = env
        tampered.payload = Data("{\"x\":1}".utf8)
        #expect(!tampered.verified(by: pub))
        #expect(!env.verified(by: SigningKey.generate(type).publicKey), "another key must not verify")
    }

    @Test func ecdsaSignaturesAreAcceptedRawAsWellAsDER() throws {
        let key = SigningKey.generate(.ecdsaP256)
        guard case .p256(let k) = key else { return }
        let msg = DSSEEnvelope.pae(DSSEEnvelope.inTotoType, Data("{}".utf8))
        let raw = try k.signature(for: msg).rawRepresentation
        let env = DSSEEnvelope(payloadType: DSSEEnvelope.inTotoType, payload: Data("{}".utf8), signatures: [.init(keyid: "", sig: raw)])
        #expect(env.verified(by: key.publicKey))
    }

    @Test func encryptedKeysNeedTheRightPassword() throws {
        let dir = try scratch("enc")
        let key = SigningKey.generate(.ed25519)
        try key.write(to: dir + "/k", password: "correct horse")
        let pem = try String(contentsOfFile: dir + "/k.key", encoding: .utf8)
        #expect(pem.contains("BEGIN PROVENANT ENCRYPTED PRIVATE KEY") && !pem.contains("BEGIN PRIVATE KEY"))
        let attrs = try FileManager.default.attributesOfItem(atPath: dir + "/k.key")
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
        #expect(try SigningKey.load(pem: pem, password: "correct horse").publicKey.spki == key.publicKey.spki)
        #expect(throws: (any Error).self) { try SigningKey.load(pem: pem, password: "wrong") }
        #expect(throws: (any Error).self) { try SigningKey.load(pem: pem, password: nil) }
        #expect(throws: (any Error).self, "an existing key is never overwritten") { try key.write(to: dir + "/k", password: nil) }
    }

    /// Issue 11, item 9: a key file's scrypt parameters are read before any password check, so
    /// a crafted file must not be able to demand gigabytes or hours.
    @Test func encryptedKeysWithExcessiveScryptParametersAreRefused() throws {
        let dir = try scratch("scrypt")
        try SigningKey.generate(.ed25519).write(to: dir + "/k", password: "pw")
        let pem = try String(contentsOfFile: dir + "/k.key", encoding: .utf8)
        let blob = try #require(PEM.decode(pem, label: KeyEncryption.label))
        func with(_ logN: UInt8, _ r: UInt8, _ p: UInt8) -> String {
            var b = [UInt8](blob); b[4] = logN; b[5] = r; b[6] = p
            return PEM.encode(Data(b), label: KeyEncryption.label)
        }
        for (logN, r, p) in [(22, 8, 1), (16, 64, 1), (15, 8, 200), (18, 16, 1), (9, 8, 1), (15, 0, 1), (255, 255, 255)] as [(UInt8, UInt8, UInt8)] {
            do { _ = try SigningKey.load(pem: with(logN, r, p), password: "pw"); Issue.record("accepted \(logN) \(r) \(p)") } catch {
                #expect(error.message.contains("scrypt N = 2^\(logN), r = \(r), p = \(p)") && error.message.contains("refused"), "\(error.message)")
            }
        }
        #expect(try SigningKey.load(pem: with(15, 8, 1), password: "pw").publicKey.spki.count > 0, "the parameters Provenant writes still load")
    }

    @Test func badEnvelopesAreRefusedWithReasons() {
        func reason(_ obj: [String: Any]) -> String {
            do { _ = try DSSEEnvelope.parse(obj); return "accepted" } catch { return error.message }
        }
        #expect(reason(["payload": "e30="]).contains("payloadType"))
        #expect(reason(["payloadType": "x", "payload": "!!!", "signatures": [["sig": "AA=="]]]).contains("base64"))
        #expect(reason(["payloadType": "x", "payload": "e30=", "signatures": []]).contains("no signatures"))
        #expect(reason(["payloadType": "x", "payload": String(repeating: "A", count: (64 << 20) / 3 * 4 + 8), "signatures": [["sig": "AA=="]]]).contains("64 MiB"))
    }

    /// Found by helper-121: a signed statement with `predicateType` twice, or as `predicateType` and
    /// `PredicateType` (one field to Go's readers, two here), verified as whichever this reader kept.
    /// Such statements, envelopes and bundles are refused; distinct keys at different depths are not.
    @Test func statementsAndDocumentsWithAmbiguousKeysAreRefused() throws {
        let digest = String(repeating: "a", count: 64)
        func statement(_ middle: String, predicate: String = "{}") -> Data {
            Data(#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"\#(digest)"}}],\#(middle),"predicate":\#(predicate)}"#.utf8)
        }
        let slsa = #""predicateType":"https://slsa.dev/provenance/v1""#
        #expect(throws: Never.self) { try Statement.parse(statement(slsa)) }
        for (bad, predicate) in [(#""predicateType":"https://spdx.dev/Document","predicateType":"https://slsa.dev/provenance/v1""#, "{}"),
                                 (#""predicateType":"https://spdx.dev/Document","PredicateType":"https://slsa.dev/provenance/v1""#, "{}"),
                                 (#""predicateType":"https://spdx.dev/Document","\#u{17F}ubject":[]"#, "{}"),
                                 (slsa, #"{"runDetails":{"builder":{"id":"https://good"},"Builder":{"id":"https://evil"}}}"#),
                                 (slsa, #"{"buildDefinition":{"externalParameters":{"a":1,"a":2}}}"#)] {
            do { _ = try Statement.parse(statement(bad, predicate: predicate)); Issue.record("accepted: \(bad) \(predicate)") } catch {
                #expect(error.message.contains("twice"), "\(error.message)")
            }
        }
        // Maps keep keys apart by case in Go too: real provenance records `http_proxy` and `HTTP_PROXY`
        // (found by helper-123, after the first version of this check refused them).
        let environment = #"{"buildDefinition":{"buildType":"x","externalParameters":{"Ref":"a","ref":"b"},"internalParameters":{"environment":{"http_proxy":"p","HTTP_PROXY":"p"}}},"runDetails":{"builder":{"id":"b","version":{"Go":"1","go":"2"}}}}"#
        #expect(throws: Never.self) { try Statement.parse(statement(slsa, predicate: environment)) }
        #expect(JSONValue.object([("a", .object([("b", .null)])), ("b", .object([("a", .null)]))]).ambiguousKey() == nil)
        #expect(JSONValue.array([.object([("k", .null), ("K", .null)])]).ambiguousKey() == nil)
        #expect(JSONValue.array([.object([("k", .null), ("K", .null)])]).ambiguousKey(folds: { $0 == ["[]"] }) == "K")
        #expect(JSONValue.array([.object([("k", .null), ("k", .null)])]).ambiguousKey() == "k")
        // The file around it: a bundle with its media type twice is refused before it is read.
        let bundle = #"{"mediaType":"application/vnd.dev.sigstore.bundle.v9.9+json","mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#
        do { _ = try AttestationDocument.parse(Data(bundle.utf8), path: "b.json"); Issue.record("accepted") } catch {
            #expect(error.message.contains("'mediaType' twice"), "\(error.message)")
        }
        let lines = #"{"payloadType":"x","payload":"e30=","signatures":[{"sig":"AA=="}]}"# + "\n" + #"{"payloadType":"x","payloadType":"y","payload":"e30=","signatures":[{"sig":"AA=="}]}"#
        do { _ = try AttestationDocument.parse(Data(lines.utf8), path: "a.jsonl"); Issue.record("accepted") } catch {
            #expect(error.location?.line == 2 && error.message.contains("twice"), "\(error.message)")
        }
    }

    /// Found by helper-130: `verify --artifact` and `attest --subject` held the whole file in memory
    /// (1 GiB took 1.08 GB). It is hashed as it streams; the digests are those of the bytes whole.
    @Test func anArtifactIsHashedAsItStreams() throws {
        let dir = try scratch("stream-hash")
        var bytes = [UInt8](repeating: 0, count: (3 << 20) + 17)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 31 &+ i >> 9) }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/a.bin"))
        let f = try ArtifactFile(path: dir + "/a.bin")
        #expect(ArtifactInput.file(f).digests == ArtifactInput.bytes(Data(bytes)).digests)
        #expect(Data(f.sha384) == Data(SHA384.hash(data: bytes)))
        #expect(throws: InputError.self) { try ArtifactFile(path: dir + "/missing") }
    }

    /// Found by helper-130: Swift's `==` holds a Kelvin sign (U+212A) equal to `K`, so a statement of
    /// type `…/\u{212A}ind/v1` passed `--type …/Kind/v1`. Types, builders, issuers and identities are
    /// compared as bytes, as Go's policy engines compare them.
    /// helper-150: a PROVENANT_KEY_PASSWORD that is set but empty wrote the key in the clear without a word.
    @Test func anEmptyKeyPasswordIsSaid() throws {
        let dir = try scratch("empty-password")
        let (code, out) = try run(provenantBinary, ["key", "generate", "-o", dir + "/k"], env: ["PROVENANT_KEY_PASSWORD": ""])
        #expect(code == 0 && out.contains("set but empty") && out.contains("unencrypted"), "\(out)")
        let (_, sealed) = try run(provenantBinary, ["key", "generate", "-o", dir + "/s"], env: ["PROVENANT_KEY_PASSWORD": "correct horse"])
        #expect(!sealed.contains("set but empty"))
    }

    @Test func typesAreComparedAsBytes() throws {
        let dir = try scratch("kelvin")
        #expect(try run(provenantBinary, ["key", "generate", "-o", dir + "/k"]).0 == 0)
        try "hi".write(toFile: dir + "/a.txt", atomically: true, encoding: .utf8)
        try "{}".write(toFile: dir + "/pred.json", atomically: true, encoding: .utf8)
        #expect(try run(provenantBinary, ["attest", "--subject", dir + "/a.txt", "--type", "https://example.com/\u{212A}ind/v1",
                                          "--predicate", dir + "/pred.json", "--key", dir + "/k.key", "-o", dir + "/env.json"]).0 == 0)
        let r = try run(provenantBinary, ["verify", dir + "/env.json", "--key", dir + "/k.pub", "--artifact", dir + "/a.txt", "--type", "https://example.com/Kind/v1"])
        #expect(r.0 == 1 && r.1.contains("predicate type"), "\(r.1)")
        #expect(PredicateTypeIs("K").expected.utf8.count == 1 && !"\u{212A}".utf8.elementsEqual("K".utf8))
    }

    /// Found by helper-130: a bundle holding a verified messageSignature and an unsigned dsseEnvelope
    /// (or two kinds of verification material) was read by its first field and passed. Protobuf's
    /// `oneof` allows one; such a bundle is refused, as sigstore-go refuses it.
    @Test func aBundleWithTwoContentsOrTwoMaterialsIsRefused() {
        let media = "application/vnd.dev.sigstore.bundle.v0.3+json"
        let signature: [String: Any] = ["messageDigest": ["algorithm": "SHA2_256", "digest": "AAAA"], "signature": "AAAA"]
        let envelope: [String: Any] = ["payloadType": "application/vnd.in-toto+json", "payload": "e30=", "signatures": [["sig": "AAAA"]]]
        let both: [String: Any] = ["mediaType": media, "verificationMaterial": ["publicKey": ["hint": "k"]], "messageSignature": signature, "dsseEnvelope": envelope]
        do { _ = try SigstoreBundle.parse(both); Issue.record("accepted") } catch {
            #expect(error.message.contains("both messageSignature and dsseEnvelope"), "\(error.message)")
        }
        // The proto field name counts as the JSON name does (found by helper-133).
        let snake: [String: Any] = ["mediaType": media, "verificationMaterial": ["publicKey": ["hint": "k"]], "messageSignature": signature, "dsse_envelope": envelope]
        do { _ = try SigstoreBundle.parse(snake); Issue.record("accepted") } catch {
            #expect(error.message.contains("both messageSignature and dsseEnvelope"), "\(error.message)")
        }
        let twoMaterials: [String: Any] = ["mediaType": media, "verificationMaterial": ["publicKey": ["hint": "k"], "certificate": ["rawBytes": "AAAA"]], "dsseEnvelope": envelope]
        do { _ = try SigstoreBundle.parse(twoMaterials); Issue.record("accepted") } catch {
            #expect(error.message.contains("certificate and publicKey"), "\(error.message)")
        }
    }

    /// Found by helper-130: an `.intoto.jsonl` whose first line was forged (another statement under a
    /// copied signature) and whose second was signed said only "verified: FILE", and a reader of the
    /// file took the first line. Every envelope is judged, and the report says which one verified.
    @Test func aJSONLinesFileSaysWhichEnvelopeVerified() throws {
        let dir = try scratch("jsonl-lines")
        #expect(try run(provenantBinary, ["key", "generate", "-o", dir + "/k"]).0 == 0)
        try "hi".write(toFile: dir + "/a.txt", atomically: true, encoding: .utf8)
        try #"{"scanner":{"result":{"critical":7}}}"#.write(toFile: dir + "/pred.json", atomically: true, encoding: .utf8)
        #expect(try run(provenantBinary, ["attest", "--subject", dir + "/a.txt", "--type", "https://cosign.sigstore.dev/attestation/vuln/v1",
                                          "--predicate", dir + "/pred.json", "--key", dir + "/k.key", "-o", dir + "/env.json"]).0 == 0)
        let env = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/env.json"))) as? [String: Any])
        var statement = try #require(try JSONSerialization.jsonObject(with: Data(base64Encoded: env["payload"] as? String ?? "") ?? Data()) as? [String: Any])
        statement["predicate"] = ["scanner": ["result": ["critical": 0]]]
        var forged = env
        forged["payload"] = try JSONSerialization.data(withJSONObject: statement).base64EncodedString()
        let line = { (o: [String: Any]) in String(decoding: try JSONSerialization.data(withJSONObject: o), as: UTF8.self) }
        try (try line(forged) + "\n" + (try line(env)) + "\n").write(toFile: dir + "/mixed.intoto.jsonl", atomically: true, encoding: .utf8)
        let text = try run(provenantBinary, ["verify", dir + "/mixed.intoto.jsonl", "--key", dir + "/k.pub", "--artifact", dir + "/a.txt"])
        #expect(text.0 == 0, "\(text.1)")
        #expect(text.1.contains("1 of 2 envelopes, the checks below for the one at line 2"), "\(text.1)")
        #expect(text.1.contains("envelope at line 1: FAILED signature"), "\(text.1)")
        let json = try run(provenantBinary, ["verify", dir + "/mixed.intoto.jsonl", "--key", dir + "/k.pub", "--artifact", dir + "/a.txt", "--format", "json"])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.1.utf8)) as? [String: Any], "\(json.1)")
        let outcomes = (doc["envelopes"] as? [[String: Any]]) ?? []
        #expect(outcomes.map { $0["verified"] as? Bool } == [false, true] && outcomes.map { $0["line"] as? Int } == [1, 2], "\(outcomes)")
        // Only forged lines: it fails, and says so per line.
        try (try line(forged) + "\n" + (try line(forged)) + "\n").write(toFile: dir + "/forged.intoto.jsonl", atomically: true, encoding: .utf8)
        let bad = try run(provenantBinary, ["verify", dir + "/forged.intoto.jsonl", "--key", dir + "/k.pub", "--artifact", dir + "/a.txt"])
        #expect(bad.0 == 1 && bad.1.contains("envelope at line 2: FAILED"), "\(bad.1)")
        // Windows line ends: the same lines, the same verdict (found by helper-142).
        try (try line(forged) + "\r\n" + (try line(env)) + "\r\n").write(toFile: dir + "/crlf.intoto.jsonl", atomically: true, encoding: .utf8)
        let crlf = try run(provenantBinary, ["verify", dir + "/crlf.intoto.jsonl", "--key", dir + "/k.pub", "--artifact", dir + "/a.txt"])
        #expect(crlf.0 == 0 && crlf.1.contains("1 of 2 envelopes, the checks below for the one at line 2"), "\(crlf.1)")
    }

    /// Found by helper-121: `key generate -o ''` wrote hidden `.key` and `.pub` files, and a private
    /// key given to `verify --key` was reported against the envelope's file.
    @Test func keyNamesAndKeyErrorsNameTheRightFiles() throws {
        let dir = try scratch("key-names")
        for bad in ["", dir + "/", dir + "/.."] {
            #expect(try run(provenantBinary, ["key", "generate", "-o", bad]).0 == 2, "'\(bad)'")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/.key"))
        #expect(try run(provenantBinary, ["key", "generate", "-o", dir + "/k"]).0 == 0)
        try "hi".write(toFile: dir + "/a.txt", atomically: true, encoding: .utf8)
        try "{}".write(toFile: dir + "/pred.json", atomically: true, encoding: .utf8)
        #expect(try run(provenantBinary, ["attest", "--subject", dir + "/a.txt", "--type", "https://slsa.dev/provenance/v1", "--predicate", dir + "/pred.json",
                                          "--key", dir + "/k.key", "-o", dir + "/env.json"]).0 == 0)
        let wrong = try run(provenantBinary, ["verify", dir + "/env.json", "--key", dir + "/k.key", "--artifact", dir + "/a.txt"])
        #expect(wrong.0 == 2 && wrong.1.contains(dir + "/k.key: not an SPKI PEM public key"), "\(wrong.1)")
        #expect(!wrong.1.contains("PRIVATE"))
    }

    @Test func theCLISignsAndVerifiesAndFailsClosed() throws {
        let dir = try scratch("cli")
        let bin = provenantBinary
        #expect(try run(bin, ["key", "generate", "-o", dir + "/k"]).0 == 0)
        // A public key that cannot be written leaves no private key behind to block a retry (helper-73).
        try FileManager.default.createDirectory(atPath: dir + "/half.pub", withIntermediateDirectories: true)
        #expect(try run(bin, ["key", "generate", "-o", dir + "/half"]).0 == 2)
        #expect(!FileManager.default.fileExists(atPath: dir + "/half.key"))
        // A FIFO where the public half goes is refused before anything is written: opening it would
        // block until a reader came, with the private key already on disk.
        #expect(mkfifo(dir + "/fifo.pub", 0o600) == 0)
        let fifo = try run(bin, ["key", "generate", "-o", dir + "/fifo"])
        #expect(fifo.0 == 2 && fifo.1.contains("fifo.pub: is not a regular file"), "\(fifo.1)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/fifo.key"))
        try "artifact\n".write(toFile: dir + "/a.bin", atomically: true, encoding: .utf8)
        try #"{"runDetails":{"builder":{"id":"https://ci.example/b"}},"buildDefinition":{"buildType":"https://provenant.dev/buildtypes/local/v1","externalParameters":{"source":"git+https://example.com/r@refs/heads/main"}}}"#
            .write(toFile: dir + "/p.json", atomically: true, encoding: .utf8)
        let signed = try run(bin, ["attest", "--subject", dir + "/a.bin", "--predicate-type", "slsaprovenance1", "--predicate", dir + "/p.json", "--key", dir + "/k.key", "-o", dir + "/a.intoto.json"])
        #expect(signed.0 == 0, "\(signed.1)")
        let ok = try run(bin, ["verify", dir + "/a.intoto.json", "--artifact", dir + "/a.bin", "--key", dir + "/k.pub", "--type", "slsaprovenance1",
                               "--builder-id", "https://ci.example/b", "--source-uri", "git+https://example.com/r"])
        #expect(ok.0 == 0 && ok.1.contains("✓ signature") && ok.1.contains("✓ builder id") && ok.1.contains("not checked: transparency log"))
        let wrongType = try run(bin, ["verify", dir + "/a.intoto.json", "--artifact", dir + "/a.bin", "--key", dir + "/k.pub", "--type", "spdx"])
        #expect(wrongType.0 == 1 && wrongType.1.contains("predicate type: expected https://spdx.dev/Document"))
        let wrongDigest = try run(bin, ["verify", dir + "/a.intoto.json", "--digest", "sha256:" + String(repeating: "0", count: 64), "--key", dir + "/k.pub"])
        #expect(wrongDigest.0 == 1 && wrongDigest.1.contains("subject digest"))
        try "{not json".write(toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
        let bad = try run(bin, ["verify", dir + "/bad.json", "--artifact", dir + "/a.bin", "--key", dir + "/k.pub"])
        #expect(bad.0 == 2 && bad.1.contains("malformed JSON") && !bad.1.contains("verified:"))
        let keyless = try run(bin, ["verify", dir + "/a.intoto.json", "--artifact", dir + "/a.bin"])
        #expect(keyless.0 == 2 && !keyless.1.contains("verified:") && keyless.1.contains("a.intoto.json: a bare envelope has no certificate"), "\(keyless.1)")
        // A predicate that is not an object is refused when signing, and when verifying one signed
        // elsewhere; a key that does not load is named (helper-158).
        try "[1,2]\n".write(toFile: dir + "/arr.json", atomically: true, encoding: .utf8)
        let arr = try run(bin, ["attest", "--subject", dir + "/a.bin", "--type", "slsaprovenance1", "--predicate", dir + "/arr.json", "--key", dir + "/k.key", "-o", dir + "/arr.intoto.json"])
        #expect(arr.0 == 2 && arr.1.contains("arr.json: the predicate must be a JSON object") && !FileManager.default.fileExists(atPath: dir + "/arr.intoto.json"), "\(arr.1)")
        let signer = try SigningKey.load(pem: try String(contentsOfFile: dir + "/k.key", encoding: .utf8), password: nil)
        let listed = Statement(subjects: try Statement.subjects(files: [dir + "/a.bin"]), predicateType: "https://slsa.dev/provenance/v1", predicate: [1, 2])
        try DSSEEnvelope.sign(payload: try listed.payload(), type: DSSEEnvelope.inTotoType, with: signer).json.write(toFile: dir + "/list.intoto.json", atomically: true, encoding: .utf8)
        let list = try run(bin, ["verify", dir + "/list.intoto.json", "--artifact", dir + "/a.bin", "--key", dir + "/k.pub", "--type", "slsaprovenance1"])
        #expect(list.0 != 0 && list.1.contains("predicate is not a JSON object") && !list.1.contains("verified:"), "\(list.1)")
        let pubAsKey = try run(bin, ["attest", "--subject", dir + "/a.bin", "--type", "slsaprovenance1", "--predicate", dir + "/p.json", "--key", dir + "/k.pub"])
        #expect(pubAsKey.0 == 2 && pubAsKey.1.contains("k.pub: "), "\(pubAsKey.1)")
    }

    @Test func envelopesInteroperateWithPythonInToto() throws {
        let script = FileManager.default.currentDirectoryPath + "/scripts/dsse_interop.py"
        let dir = try scratch("interop")
        // Provenant signs, securesystemslib verifies.
        for type in SigningKey.KeyType.allCases {
            let key = SigningKey.generate(type)
            try key.write(to: dir + "/\(type.rawValue)", password: nil)
            try "bits".write(toFile: dir + "/x.bin", atomically: true, encoding: .utf8)
            let stmt = Statement(subjects: try Statement.subjects(files: [dir + "/x.bin"]), predicateType: "https://slsa.dev/provenance/v1", predicate: ["a": 1])
            let env = try DSSEEnvelope.sign(payload: try stmt.payload(), type: DSSEEnvelope.inTotoType, with: key)
            try env.json.write(toFile: dir + "/\(type.rawValue).intoto.json", atomically: true, encoding: .utf8)
            let r = try run("python3", [script, "verify", dir + "/\(type.rawValue).intoto.json", dir + "/\(type.rawValue).pub"])
            #expect(r.0 == 0, "securesystemslib rejected Provenant's \(type.rawValue) envelope: \(r.1)")
        }
        // securesystemslib signs, Provenant verifies (one envelope uses URL-safe base64).
        let py = dir + "/py"
        let s = try run("python3", [script, "sign", py])
        #expect(s.0 == 0, "\(s.1)")
        for name in ["ecdsa", "ed25519"] {
            let v = try run(provenantBinary, ["verify", py + "/\(name).intoto.json", "--artifact", py + "/artifact.bin", "--key", py + "/\(name).pub",
                                              "--type", "slsaprovenance1", "--builder-id", "https://python.example/builder"])
            #expect(v.0 == 0, "\(name): \(v.1)")
        }
    }
}

@Suite struct ProvenanceTests {
    @Test func githubActionsVariablesFillTheSLSAFields() throws {
        let env = ["GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/agent",
                   "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567", "GITHUB_REF": "refs/heads/main",
                   "GITHUB_WORKFLOW_REF": "acme/agent/.github/workflows/release.yml@refs/heads/main", "GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "2"]
        let b = ProvenanceBuilder(subjects: [.init(name: "agent", digest: ["sha256": "ab"])], builderID: nil, sourceDir: nil,
                                  dependencies: [.init(uri: "pkg:pypi/requests@2.31.0", digest: [:])], environment: env, now: Date(timeIntervalSince1970: 1_700_000_000))
        let p = try b.predicate()
        let bd = try #require(p["buildDefinition"] as? [String: Any])
        #expect(bd["buildType"] as? String == "https://provenant.dev/buildtypes/github-actions/v1")
        let ext = try #require(bd["externalParameters"] as? [String: Any])
        #expect(ext["source"] as? String == "git+https://github.com/acme/agent@refs/heads/main")
        #expect(ext["commit"] as? String == "0123456789abcdef0123456789abcdef01234567")
        let deps = try #require(bd["resolvedDependencies"] as? [[String: Any]])
        #expect((deps.first?["digest"] as? [String: String])?["gitCommit"] == "0123456789abcdef0123456789abcdef01234567")
        #expect(deps.contains { $0["uri"] as? String == "pkg:pypi/requests@2.31.0" })
        let run = try #require(p["runDetails"] as? [String: Any])
        #expect((run["builder"] as? [String: Any])?["id"] as? String == "https://github.com/acme/agent/.github/workflows/release.yml@refs/heads/main")
        let meta = try #require(run["metadata"] as? [String: Any])
        #expect(meta["invocationId"] as? String == "https://github.com/acme/agent/actions/runs/42/attempts/2")
        #expect(meta["finishedOn"] as? String == "2023-11-14T22:13:20Z")
        // The builder and source read back through the verifier's SLSA accessors.
        #expect(SLSA.builderID(p) == "https://github.com/acme/agent/.github/workflows/release.yml@refs/heads/main")
        #expect(SLSA.sourceURIs(p).contains("git+https://github.com/acme/agent@refs/heads/main"))
    }

    /// Issue 11, item 6: `git remote get-url origin` and CI URLs can carry `user:token@`; no
    /// URL in a provenance keeps it.
    @Test func gitCredentialsNeverReachTheProvenance() throws {
        let dir = try scratch("creds")
        for args in [["init", "-q", "-b", "main"], ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x"],
                     ["remote", "add", "origin", "https://ci-bot:ghp_SECRET0123456789@example.com/acme/agent.git"]] {
            #expect(try run("git", ["-C", dir] + args).0 == 0)
        }
        try "bin".write(toFile: dir + "/out.bin", atomically: true, encoding: .utf8)
        let p = try run(provenantBinary, ["provenance", "--subject", dir + "/out.bin", "--source", dir, "-o", dir + "/prov.json"])
        #expect(p.0 == 0, "\(p.1)")
        let written = try String(contentsOfFile: dir + "/prov.json", encoding: .utf8)
        #expect(!written.contains("ghp_SECRET") && !written.contains("ci-bot"), "\(written)")
        #expect(written.contains("\"source\" : \"git+https://example.com/acme/agent.git@refs/heads/main\""), "\(written)")

        let env = ["GITLAB_CI": "true", "CI_PROJECT_URL": "https://gitlab-ci-token:glpat-SECRET@gitlab.com/acme/agent", "CI_COMMIT_SHA": "abc",
                   "CI_COMMIT_REF_NAME": "main", "CI_SERVER_URL": "https://u:glpat-SECRET@gitlab.com", "CI_RUNNER_ID": "7",
                   "CI_JOB_URL": "https://u:glpat-SECRET@gitlab.com/acme/agent/-/jobs/1"]
        let b = ProvenanceBuilder(subjects: [.init(name: "agent", digest: ["sha256": "ab"])], builderID: nil, sourceDir: nil,
                                  dependencies: [.init(uri: "git+https://x:y@example.com/dep.git", digest: [:]),
                                                 .init(uri: "pkg:npm/dep@1.0.0?vcs_url=git%2Bhttps://bot:npm_SECRET%40github.com/acme/dep.git", digest: [:])],
                                  environment: env, now: Date(timeIntervalSince1970: 0))
        let json = String(decoding: try JSONSerialization.data(withJSONObject: try b.predicate(), options: [.sortedKeys]), as: UTF8.self)
        // The start time is a timestamp, or the predicate is refused naming the variable (helper-158).
        for (variable, value, ok) in [("CI_JOB_STARTED_AT", "2026-11-30T08:00:00Z", true), ("CI_JOB_STARTED_AT", "garbage; not a time", false),
                                      ("PROVENANT_BUILD_STARTED_ON", "2026-11-30t08:00:00.25z", true), ("PROVENANT_BUILD_STARTED_ON", "not a date", false)] {
            var withStart = variable == "CI_JOB_STARTED_AT" ? env : [:]
            withStart[variable] = value
            let built = ProvenanceBuilder(subjects: [.init(name: "agent", digest: ["sha256": "ab"])], builderID: nil, sourceDir: nil, dependencies: [],
                                          environment: withStart, now: Date(timeIntervalSince1970: 0))
            do {
                let metadata = (try built.predicate()["runDetails"] as? [String: Any])?["metadata"] as? [String: Any]
                // Written in the canonical form Go's parser takes: upper-case T and Z, whole seconds.
                #expect(ok && metadata?["startedOn"] as? String == "2026-11-30T08:00:00Z", "\(variable)=\(value): \(String(describing: metadata))")
            } catch {
                #expect(!ok && error.message.contains("\(variable) '\(value)' is not an RFC 3339 UTC time"), "\(variable)=\(value): \(error.message)")
            }
        }
        #expect(!json.contains("SECRET") && !json.contains("x:y@") && !json.contains("bot:"), "\(json)")
        let uris = (((try b.predicate()["buildDefinition"] as? [String: Any])?["resolvedDependencies"] as? [[String: Any]]) ?? []).compactMap { $0["uri"] as? String }
        #expect(uris.contains("pkg:npm/dep@1.0.0?vcs_url=git%2Bhttps:%2F%2Fgithub.com%2Facme%2Fdep.git"), "the purl stays, without its credentials: \(uris)")
        #expect(SLSA.sourceURIs(try b.predicate()) == ["git+https://gitlab.com/acme/agent@refs/heads/main"])
        // A tag pipeline builds a tag, and a token in a URL's query is no more written than user info (helper-106).
        var tagged = env
        tagged["CI_COMMIT_REF_NAME"] = "v1.2.3"; tagged["CI_COMMIT_TAG"] = "v1.2.3"
        tagged["CI_PROJECT_URL"] = "https://gitlab.com/acme/agent"
        tagged["CI_JOB_URL"] = "https://gitlab.com/acme/agent/-/jobs/1?private_token=glpat-abcdefghijklmnopqrst"
        let t = ProvenanceBuilder(subjects: [.init(name: "agent", digest: ["sha256": "ab"])], builderID: nil, sourceDir: nil,
                                  dependencies: [.init(uri: "https://example.com/dep.tgz?access_token=glpat-zyxwvutsrqponmlkjihg", digest: ["sha256": "cd"])],
                                  environment: tagged, now: Date(timeIntervalSince1970: 0))
        let tagJSON = String(decoding: try JSONSerialization.data(withJSONObject: try t.predicate(), options: [.sortedKeys]), as: UTF8.self)
        #expect(SLSA.sourceURIs(try t.predicate()) == ["git+https://gitlab.com/acme/agent@refs/tags/v1.2.3"])
        #expect(!tagJSON.contains("glpat-") && tagJSON.contains("\"sha256\":\"cd\""), "\(tagJSON)")
        // Server URLs are taken from the surroundings too: the builder id and invocation carry them (review).
        let servers = ProvenanceBuilder(subjects: [.init(name: "agent", digest: ["sha256": "ab"])], builderID: nil, sourceDir: nil, dependencies: [],
                                        environment: ["GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": "abc", "GITHUB_RUN_ID": "5",
                                                      "GITHUB_SERVER_URL": "https://ghe.corp/?private_token=glpat-AAAAbbbbCCCCdddd1234",
                                                      "GITHUB_WORKFLOW_REF": "o/r/.github/workflows/x.yml@refs/heads/main"], now: Date(timeIntervalSince1970: 0))
        let serverJSON = String(decoding: try JSONSerialization.data(withJSONObject: try servers.predicate(), options: [.sortedKeys]), as: UTF8.self)
        #expect(!serverJSON.contains("glpat-") && serverJSON.contains("invocationId"), "\(serverJSON)")
        var gitlabServer = env
        gitlabServer["CI_SERVER_URL"] = "https://gl.corp?private_token=glpat-AAAAbbbbCCCCdddd1234"
        let gl = ProvenanceBuilder(subjects: [.init(name: "agent", digest: ["sha256": "ab"])], builderID: nil, sourceDir: nil, dependencies: [],
                                   environment: gitlabServer, now: Date(timeIntervalSince1970: 0))
        #expect(!String(decoding: try JSONSerialization.data(withJSONObject: try gl.predicate(), options: [.sortedKeys]), as: UTF8.self).contains("glpat-"))
        // A ref is kept as written, whatever it reads like (review: `secret=rotation` lost its name).
        var branch = env
        branch["CI_PROJECT_URL"] = "https://gitlab.com/acme/agent"; branch["CI_COMMIT_REF_NAME"] = "feature/secret=rotation"
        let br = ProvenanceBuilder(subjects: [.init(name: "agent", digest: ["sha256": "ab"])], builderID: nil, sourceDir: nil,
                                   dependencies: [], environment: branch, now: Date(timeIntervalSince1970: 0))
        #expect(SLSA.sourceURIs(try br.predicate()) == ["git+https://gitlab.com/acme/agent@refs/heads/feature/secret=rotation"])
    }

    @Test func urlUserinfoIsStrippedAndNothingElse() {
        #expect(URLUserinfo.stripped("https://u:p@github.com/acme/agent.git") == "https://github.com/acme/agent.git")
        #expect(URLUserinfo.stripped("git+https://ghp_x@github.com/acme/agent@refs/heads/main") == "git+https://github.com/acme/agent@refs/heads/main")
        #expect(URLUserinfo.stripped("ssh://git@host:22/r") == "ssh://host:22/r")
        #expect(URLUserinfo.stripped("https://a:b@c@host") == "https://host")
        #expect(URLUserinfo.stripped("see https://u:p@h/x and http://v@k?q=@") == "see https://h/x and http://k?q=@")
        // `'` and `)` are user-info characters (helper-121: the password was kept up to them).
        #expect(URLUserinfo.stripped("https://ci:Tr0ub4dor'3x@github.com/acme/agent.git") == "https://github.com/acme/agent.git")
        #expect(URLUserinfo.stripped("https://deploy:p)w@gitlab.com/job/1") == "https://gitlab.com/job/1")
        #expect(URLUserinfo.stripped("url: 'https://ci:a'b@h.example/x'") == "url: 'https://h.example/x'")
        #expect(Redactor.redact("remote https://ci:Tr0ub4dor'3x@github.com/acme") == "remote https://REDACTED@github.com/acme")
        for same in ["git@github.com:acme/agent.git", "pkg:npm/%40scope/x@1.0", "https://github.com/acme/agent@refs/heads/main", "file:///tmp/x", ""] {
            #expect(URLUserinfo.stripped(same) == same)
        }
    }

    @Test func sbomComponentsWithoutPurlsOrWithConflictingDigestsAreListedAndSaid() throws {
        let dir = try scratch("prov-sbom")
        #expect(try run("git", ["-C", dir, "init", "-q", "-b", "main"]).0 == 0)
        #expect(try run("git", ["-C", dir, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x"]).0 == 0)
        try "bin".write(toFile: dir + "/out.bin", atomically: true, encoding: .utf8)
        let a = String(repeating: "a", count: 64), b = String(repeating: "b", count: 64), c = String(repeating: "c", count: 64)
        let cdx = """
        {"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[
          {"type":"library","name":"left-pad","version":"1.3.0","purl":"pkg:npm/left-pad@1.3.0","hashes":[{"alg":"SHA-256","content":"\(a)"}]},
          {"type":"library","name":"left-pad","version":"1.3.0","purl":"pkg:npm/left-pad@1.3.0","hashes":[{"alg":"SHA-256","content":"\(b)"}]},
          {"type":"library","name":"vendored-zlib","version":"1.3","hashes":[{"alg":"SHA-256","content":"\(c)"}]},
          {"type":"library","name":"vendored-lz4","version":"1.9"}
        ]}
        """
        try cdx.write(toFile: dir + "/bom.json", atomically: true, encoding: .utf8)
        let p = try run(provenantBinary, ["provenance", "--subject", dir + "/out.bin", "--source", dir, "--sbom", dir + "/bom.json", "-o", dir + "/prov.json"])
        #expect(p.0 == 0, "\(p.1)")
        #expect(p.1.contains("2 components without a usable purl: listed by name only, where they carry a digest"), "\(p.1)")
        #expect(p.1.contains("1 component without a usable purl or a digest is left out") && p.1.contains("vendored-lz4@1.9"), "\(p.1)")
        #expect(p.1.contains("pkg:npm/left-pad@1.3.0") && p.1.contains("more than one sha256 digest"), "\(p.1)")
        let predicate = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/prov.json"))) as? [String: Any])
        let deps = try #require((predicate["buildDefinition"] as? [String: Any])?["resolvedDependencies"] as? [[String: Any]])
        let leftPad = deps.filter { $0["uri"] as? String == "pkg:npm/left-pad@1.3.0" }.compactMap { ($0["digest"] as? [String: String])?["sha256"] }
        #expect(leftPad.sorted() == [a, b], "both copies' digests, each on its own entry: \(deps)")
        let zlib = deps.first { $0["name"] as? String == "vendored-zlib@1.3" }
        #expect((zlib?["digest"] as? [String: String])?["sha256"] == c && zlib?["uri"] == nil, "\(deps)")
        // Every entry is a valid ResourceDescriptor: a uri or a digest.
        #expect(deps.allSatisfy { $0["uri"] != nil || !(($0["digest"] as? [String: String]) ?? [:]).isEmpty }, "\(deps)")
    }

    @Test func aLocalBuildReadsGitAndSignsEndToEnd() throws {
        let dir = try scratch("prov")
        for args in [["init", "-q", "-b", "main"], ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x"],
                     ["remote", "add", "origin", "https://example.com/acme/agent.git"]] {
            #expect(try run("git", ["-C", dir] + args).0 == 0)
        }
        try "bin".write(toFile: dir + "/out.bin", atomically: true, encoding: .utf8)
        let bin = provenantBinary
        let p = try run(bin, ["provenance", "--subject", dir + "/out.bin", "--source", dir, "-o", dir + "/prov.json"])
        #expect(p.0 == 0, "\(p.1)")
        #expect(try run(bin, ["key", "generate", "--type", "ed25519", "-o", dir + "/k"]).0 == 0)
        #expect(try run(bin, ["attest", "--subject", dir + "/out.bin", "--predicate-type", "slsaprovenance1", "--predicate", dir + "/prov.json", "--key", dir + "/k.key", "-o", dir + "/out.intoto.json"]).0 == 0)
        let v = try run(bin, ["verify", dir + "/out.intoto.json", "--artifact", dir + "/out.bin", "--key", dir + "/k.pub", "--type", "slsaprovenance1",
                              "--builder-id", "https://provenant.dev/builders/local", "--source-uri", "git+https://example.com/acme/agent.git", "--format", "json"])
        #expect(v.0 == 0, "\(v.1)")
        #expect(v.1.contains("\"verified\" : true"))
        let notGit = try run(bin, ["provenance", "--subject", dir + "/out.bin", "--source", FileManager.default.temporaryDirectory.path])
        #expect(notGit.0 == 2 && notGit.1.contains("not a git checkout"))
    }
}
