@preconcurrency import Crypto
import _CryptoExtras
import Foundation
import Testing
import ProvenantCore
@testable import Attestation
import X509

/// A bundle's message signature over an artifact given as a file, for each key type a managed key
/// can be: ECDSA and RSA sign a digest, which the one streamed read gives; Ed25519 signs the bytes,
/// which are read a second time and must hash to what the first read did.
@Suite struct MessageSignatureKeyTypeTests {
    enum Signer {
        case p256(P256.Signing.PrivateKey), ed25519(Curve25519.Signing.PrivateKey), rsa(_RSA.Signing.PrivateKey)
        var publicKey: Certificate.PublicKey {
            switch self {
            case .p256(let k): return Certificate.PublicKey(k.publicKey)
            case .ed25519(let k): return Certificate.PublicKey(k.publicKey)
            case .rsa(let k): return Certificate.PublicKey(k.publicKey)
            }
        }
        func sign(_ d: Data) throws -> Data {
            switch self {
            case .p256(let k): return try k.signature(for: d).derRepresentation
            case .ed25519(let k): return try k.signature(for: d)
            case .rsa(let k): return try k.signature(for: d, padding: .insecurePKCS1v1_5).rawRepresentation
            }
        }
    }

    static let signers: [(String, Signer)] = [
        ("p256", .p256(P256.Signing.PrivateKey())),
        ("ed25519", .ed25519(Curve25519.Signing.PrivateKey())),
        ("rsa", .rsa(try! _RSA.Signing.PrivateKey(keySize: .bits2048))),
    ]

    static func check(_ signer: Signer, signed: Data, artifact: ArtifactFile) throws -> Result<String, VerificationFailure> {
        let path = Conformance.dir + "/bundle-verify/managed-key-happy-path/bundle.sigstore.json"
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        var c = BundleContext(bundle: try SigstoreBundle.parse(obj), root: try TrustedRoot.production(), artifact: .file(artifact), key: signer.publicKey)
        c.bundle.content = .messageSignature(digestAlgorithm: "SHA2_256", digest: Data(artifact.sha256), signature: try signer.sign(signed))
        do { return .success(try ContentSignature().check(&c)) } catch { return .failure(error) }
    }

    static func scratch() throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("msgsig-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    @Test(arguments: signers.map(\.0))
    func aSignatureOverTheFileVerifiesAndOneOverOtherBytesDoesNot(_ name: String) throws {
        let signer = try #require(Self.signers.first { $0.0 == name }?.1)
        let dir = try Self.scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        var bytes = Data(count: 3 << 20)
        for i in stride(from: 0, to: bytes.count, by: 4096) { bytes[i] = UInt8(truncatingIfNeeded: i >> 12) }
        try bytes.write(to: URL(fileURLWithPath: dir + "/artifact"))
        let file = try ArtifactFile(path: dir + "/artifact")
        #expect(file.isRegularFile)
        if case .failure(let f) = try Self.check(signer, signed: bytes, artifact: file) { Issue.record("\(name): \(f)") }
        var other = bytes; other[other.count - 1] ^= 1
        guard case .failure(let f) = try Self.check(signer, signed: other, artifact: file) else { Issue.record("\(name): a signature over other bytes verified"); return }
        #expect(f.reason.contains("does not verify"), "\(f)")
    }

    /// The file is replaced after its digest was taken. Ed25519 reads it again, so the new bytes
    /// must not be what is verified; RSA and ECDSA never read it again, and verify what was digested.
    @Test(arguments: signers.map(\.0))
    func aFileReplacedAfterItsDigestIsNeverVerifiedOverOtherBytes(_ name: String) throws {
        let signer = try #require(Self.signers.first { $0.0 == name }?.1)
        let dir = try Self.scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = Data("the artifact as released\n".utf8), second = Data("the artifact after a swap\n".utf8)
        try first.write(to: URL(fileURLWithPath: dir + "/artifact"))
        let file = try ArtifactFile(path: dir + "/artifact")
        try second.write(to: URL(fileURLWithPath: dir + "/artifact"))
        let signedFirst = try Self.check(signer, signed: first, artifact: file)
        let signedSecond = try Self.check(signer, signed: second, artifact: file)
        if name == "ed25519" {
            guard case .failure(let f) = signedFirst else { Issue.record("verified bytes that were not read"); return }
            #expect(f.reason.contains("changed between"), "\(f)")
            guard case .failure = signedSecond else { Issue.record("verified the swapped bytes"); return }
        } else {
            if case .failure(let f) = signedFirst { Issue.record("\(name) reads the artifact once, by digest: \(f)") }
            guard case .failure = signedSecond else { Issue.record("\(name) verified the swapped bytes"); return }
        }
    }

    /// A device is digested but not read again: only Ed25519 needs a second read, and is refused.
    @Test(arguments: signers.map(\.0))
    func anArtifactThatIsNotARegularFile(_ name: String) throws {
        let signer = try #require(Self.signers.first { $0.0 == name }?.1)
        let file = try ArtifactFile(path: "/dev/null")
        #expect(!file.isRegularFile)
        let r = try Self.check(signer, signed: Data(), artifact: file)
        if name == "ed25519" {
            guard case .failure(let f) = r else { Issue.record("verified a device read twice"); return }
            #expect(f.reason.contains("not a regular file"), "\(f)")
        } else if case .failure(let f) = r {
            Issue.record("\(name) verifies by the streamed digest: \(f)")
        }
    }
}
