@preconcurrency import Crypto
import _CryptoExtras
import Foundation
import ProvenantCore
import SwiftASN1
import X509

/// A closed time interval from a trusted root: both ends count as inside.
public struct TimeRange: Sendable, Equatable {
    public var start: Date
    public var end: Date?
    public func contains(_ t: Date) -> Bool { t >= start && (end.map { t <= $0 } ?? true) }
}

/// A transparency-log or CT-log key, named by its log id.
public struct LogKey: Sendable {
    public var baseURL: String
    public var logID: Data
    public var key: Certificate.PublicKey
    public var validFor: TimeRange
}

/// A certificate authority or timestamp authority: its chain, leaf first, and when it may be used.
public struct Authority: Sendable {
    public var uri: String
    public var chain: [Certificate]
    public var validFor: TimeRange
}

/// Sigstore's trusted root (`application/vnd.dev.sigstore.trustedroot+json`).
public struct TrustedRoot: Sendable {
    public var tlogs: [LogKey]
    public var ctlogs: [LogKey]
    public var certificateAuthorities: [Authority]
    public var timestampAuthorities: [Authority]
    /// Entries left out because they could not be used, with the reason.
    public var skipped: [String]

    /// The Sigstore public-good production root shipped with Provenant.
    public static func production() throws(InputError) -> TrustedRoot {
        guard let url = Bundle.module.url(forResource: "trusted_root.production", withExtension: "json", subdirectory: "Resources"),
              let data = try? Data(contentsOf: url) else { throw InputError("the embedded Sigstore trusted root is missing from this build") }
        return try parse(data, path: "embedded trusted_root.production.json")
    }

    /// The largest trusted root read; the production root is about 10 KiB.
    public static let maxBytes = 8 << 20

    public static func load(_ path: String) throws(InputError) -> TrustedRoot {
        try parse(Data(try NamedInputFile.read(path, limit: maxBytes, what: "trusted root")), path: path)
    }

    public static func parse(_ data: Data, path: String) throws(InputError) -> TrustedRoot {
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw InputError("trusted root is not a JSON object", at: Location(path))
        }
        var skipped: [String] = []
        // A key or authority that cannot be read is left out, never trusted; only an empty set of log keys is fatal.
        func logs(_ field: String) -> [LogKey] {
            ((obj[field] as? [[String: Any]]) ?? []).enumerated().compactMap { i, t in
                let name = "\(field)[\(i)] \(t["baseUrl"] as? String ?? "")"
                let pk = t["publicKey"] as? [String: Any]
                guard let raw = (pk?["rawBytes"] as? String).flatMap(Base64.decode) else { skipped.append("\(name): no publicKey.rawBytes"); return nil }
                guard let key = try? Certificate.PublicKey(derEncoded: raw) else {
                    skipped.append("\(name): key (\(pk?["keyDetails"] as? String ?? "?")) is not a usable SPKI public key"); return nil
                }
                guard let range = timeRange(pk?["validFor"]) else { skipped.append("\(name): publicKey.validFor has no valid start"); return nil }
                guard let id = ((t["logId"] as? [String: Any])?["keyId"] as? String).flatMap(Base64.decode) else { skipped.append("\(name): no logId.keyId"); return nil }
                return LogKey(baseURL: t["baseUrl"] as? String ?? "", logID: Data(id), key: key, validFor: range)
            }
        }
        func authorities(_ field: String) -> [Authority] {
            ((obj[field] as? [[String: Any]]) ?? []).enumerated().compactMap { i, a in
                let name = "\(field)[\(i)] \(a["uri"] as? String ?? "")"
                let raws = ((a["certChain"] as? [String: Any])?["certificates"] as? [[String: Any]]) ?? []
                let chain = raws.compactMap { ($0["rawBytes"] as? String).flatMap(Base64.decode).flatMap { try? Certificate(derEncoded: $0) } }
                guard !chain.isEmpty, chain.count == raws.count else { skipped.append("\(name): certificate chain is empty or does not parse"); return nil }
                guard let range = timeRange(a["validFor"]) else { skipped.append("\(name): validFor has no valid start"); return nil }
                return Authority(uri: a["uri"] as? String ?? "", chain: chain, validFor: range)
            }
        }
        let root = TrustedRoot(tlogs: logs("tlogs"), ctlogs: logs("ctlogs"), certificateAuthorities: authorities("certificateAuthorities"),
                               timestampAuthorities: authorities("timestampAuthorities"), skipped: skipped)
        guard !root.tlogs.isEmpty else {
            throw InputError("trusted root has no valid transparency log key\(skipped.isEmpty ? "" : " (" + skipped.joined(separator: "; ") + ")")", at: Location(path))
        }
        return root
    }

    static func timeRange(_ v: Any?) -> TimeRange? {
        guard let d = v as? [String: Any], let s = (d["start"] as? String).flatMap(RFC3339.date(from:)) else { return nil }
        if let e = d["end"], !(e is NSNull) { guard let end = (e as? String).flatMap(RFC3339.date(from:)) else { return nil }; return TimeRange(start: s, end: end) }
        return TimeRange(start: s, end: nil)
    }
}

extension Certificate.PublicKey {
    /// Verifies `signature` over `message` with the hash this key type uses in Sigstore.
    func verifies(_ signature: some DataProtocol, over message: some DataProtocol) -> Bool {
        let alg: Certificate.SignatureAlgorithm
        if P256.Signing.PublicKey(self) != nil { alg = .ecdsaWithSHA256 }
        else if P384.Signing.PublicKey(self) != nil { alg = .ecdsaWithSHA384 }
        else if P521.Signing.PublicKey(self) != nil { alg = .ecdsaWithSHA512 }
        else if Curve25519.Signing.PublicKey(self) != nil { alg = .ed25519 }
        else { alg = .sha256WithRSAEncryption }
        return isValidSignature(signature, for: message, signatureAlgorithm: alg)
    }

    /// Verifies `signature` over a streamed file by the digest this key type signs (ECDSA, and RSA
    /// with PKCS #1 v1.5 over SHA-256, as in `verifies(_:over:)`); nil for Ed25519, which signs the
    /// message itself and so needs the artifact's bytes.
    func verifies(_ signature: Data, overDigestsOf f: ArtifactFile) -> Bool? {
        if let k = _RSA.Signing.PublicKey(self) {
            return k.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: f.sha256, padding: .insecurePKCS1v1_5)
        }
        if let k = P256.Signing.PublicKey(self) {
            return (try? P256.Signing.ECDSASignature(derRepresentation: signature)).map { k.isValidSignature($0, for: f.sha256) } ?? false
        }
        if let k = P384.Signing.PublicKey(self) {
            return (try? P384.Signing.ECDSASignature(derRepresentation: signature)).map { k.isValidSignature($0, for: f.sha384) } ?? false
        }
        if let k = P521.Signing.PublicKey(self) {
            return (try? P521.Signing.ECDSASignature(derRepresentation: signature)).map { k.isValidSignature($0, for: f.sha512) } ?? false
        }
        return nil
    }

    /// SHA-256 of the whole SubjectPublicKeyInfo DER (`subjectPublicKeyInfoBytes` is only the key bits).
    var spkiSHA256: Data? {
        var ser = DER.Serializer()
        guard (try? ser.serialize(self)) != nil else { return nil }
        return Data(SHA256.hash(data: ser.serializedBytes))
    }
}
