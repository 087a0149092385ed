import Crypto
import Foundation
import ProvenantCore
import SwiftASN1
import X509

/// A Sigstore of the tests' own, offline: a Fulcio (root and intermediate CA), a CT log and a Rekor,
/// each a P-256 key, and the trusted root naming them. It issues Fulcio-style leaves (SAN identity,
/// OIDC issuer extension, codeSigning, an embedded SCT) and makes keyless cosign `.att` layers: a DSSE
/// envelope signed by the leaf, and the annotations cosign writes beside it, with an intoto 0.0.2
/// Rekor body and the SET over it. Each part can be made wrong on purpose, for the failure cases.
struct TestSigstore {
    static let identity = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
    static let issuer = "https://token.actions.githubusercontent.com"

    let now: Date
    let rootKey = P256.Signing.PrivateKey()
    let intermediateKey = P256.Signing.PrivateKey()
    let ctKey = P256.Signing.PrivateKey()
    let rekorKey = P256.Signing.PrivateKey()
    let root: Certificate
    let intermediate: Certificate

    init() throws {
        now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let rootName = try DistinguishedName { OrganizationName("sigstore.test"); CommonName("test fulcio root") }
        root = try Certificate(version: .v3, serialNumber: .init(), publicKey: .init(rootKey.publicKey),
                               notValidBefore: now - 86_400, notValidAfter: now + 365 * 86_400, issuer: rootName, subject: rootName,
                               signatureAlgorithm: .ecdsaWithSHA256,
                               extensions: try Certificate.Extensions([
                                   try .init(BasicConstraints.isCertificateAuthority(maxPathLength: 1), critical: true),
                                   try .init(KeyUsage(keyCertSign: true, cRLSign: true), critical: true),
                               ]), issuerPrivateKey: .init(rootKey))
        intermediate = try Self.ca("test fulcio intermediate", key: intermediateKey, issuer: root, issuerKey: rootKey, from: now - 86_400)
    }

    /// A CA certificate signed by `issuer`.
    static func ca(_ name: String, key: P256.Signing.PrivateKey, issuer: Certificate, issuerKey: P256.Signing.PrivateKey, from: Date) throws -> Certificate {
        try Certificate(version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: from,
                        notValidAfter: from + 365 * 86_400, issuer: issuer.subject,
                        subject: try DistinguishedName { OrganizationName("sigstore.test"); CommonName(name) },
                        signatureAlgorithm: .ecdsaWithSHA256,
                        extensions: try Certificate.Extensions([
                            try .init(BasicConstraints.isCertificateAuthority(maxPathLength: 0), critical: true),
                            try .init(KeyUsage(keyCertSign: true, cRLSign: true), critical: true),
                        ]), issuerPrivateKey: .init(issuerKey))
    }

    /// A log's id: SHA-256 of its key's SubjectPublicKeyInfo, as Rekor and CT logs name themselves.
    static func logID(_ key: P256.Signing.PublicKey) -> Data { Data(SHA256.hash(data: key.derRepresentation)) }

    static func der(_ cert: Certificate) throws -> [UInt8] {
        var s = DER.Serializer()
        try s.serialize(cert)
        return s.serializedBytes
    }

    static func pem(_ certs: [Certificate]) throws -> String { try certs.map { try $0.serializeAsPEM().pemString + "\n" }.joined() }

    static func rfc3339(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: d)
    }

    /// The trusted root: this Fulcio (intermediate, then root), CT log and Rekor, valid from a day ago.
    func trustedRoot() throws -> Data {
        func log(_ url: String, _ key: P256.Signing.PrivateKey) -> [String: Any] {
            ["baseUrl": url, "hashAlgorithm": "SHA2_256",
             "publicKey": ["rawBytes": key.publicKey.derRepresentation.base64EncodedString(), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                           "validFor": ["start": Self.rfc3339(now - 86_400)]],
             "logId": ["keyId": Self.logID(key.publicKey).base64EncodedString()]]
        }
        let obj: [String: Any] = [
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log("https://rekor.sigstore.test", rekorKey)],
            "ctlogs": [log("https://ctfe.sigstore.test/test", ctKey)],
            "certificateAuthorities": [[
                "subject": ["organization": "sigstore.test", "commonName": "test fulcio"],
                "uri": "https://fulcio.sigstore.test",
                "certChain": ["certificates": [["rawBytes": Data(try Self.der(intermediate)).base64EncodedString()],
                                               ["rawBytes": Data(try Self.der(root)).base64EncodedString()]]],
                "validFor": ["start": Self.rfc3339(now - 86_400)],
            ]],
            "timestampAuthorities": [[String: Any]](),
        ]
        return try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
    }

    struct Leaf { var certificate: Certificate; var key: P256.Signing.PrivateKey }

    /// A Fulcio-style leaf for `identity` from `issuer`, valid `from` for ten minutes unless `until` says
    /// otherwise, issued by this Fulcio's intermediate (or `ca`), with an SCT from this CT log.
    func leaf(identity: String = identity, issuer: String = issuer, from: Date, until: Date? = nil,
              ca: (cert: Certificate, key: P256.Signing.PrivateKey)? = nil) throws -> Leaf {
        let key = P256.Signing.PrivateKey()
        let (caCert, caKey) = ca ?? (intermediate, intermediateKey)
        let serial = Certificate.SerialNumber()
        var issuerName = DER.Serializer()
        try issuerName.serialize(ASN1UTF8String(issuer))
        var exts: [Certificate.Extension] = [
            try .init(KeyUsage(digitalSignature: true), critical: true),
            try .init(try ExtendedKeyUsage([.codeSigning]), critical: false),
            try .init(SubjectAlternativeNames([.uniformResourceIdentifier(identity)]), critical: true),
            Certificate.Extension(oid: [1, 3, 6, 1, 4, 1, 57264, 1, 1], critical: false, value: ArraySlice(Array(issuer.utf8))),
            Certificate.Extension(oid: [1, 3, 6, 1, 4, 1, 57264, 1, 8], critical: false, value: ArraySlice(issuerName.serializedBytes)),
        ]
        func make(_ e: [Certificate.Extension]) throws -> Certificate {
            try Certificate(version: .v3, serialNumber: serial, publicKey: .init(key.publicKey), notValidBefore: from,
                            notValidAfter: until ?? from + 600, issuer: caCert.subject, subject: DistinguishedName(),
                            signatureAlgorithm: .ecdsaWithSHA256, extensions: try Certificate.Extensions(e), issuerPrivateKey: .init(caKey))
        }
        // The CT log signs the certificate without its SCT extension (RFC 6962 §3.2, a precert entry).
        let tbs = Array(try make(exts).tbsCertificateBytes)
        let timestamp = UInt64(from.timeIntervalSince1970 * 1000) + 1000
        var signed = Data([0, 0])
        withUnsafeBytes(of: timestamp.bigEndian) { signed.append(contentsOf: $0) }
        signed += [0, 1]
        signed += Data(SHA256.hash(data: caCert.publicKey.subjectPublicKeyInfoDER))
        signed += [UInt8(tbs.count >> 16 & 0xFF), UInt8(tbs.count >> 8 & 0xFF), UInt8(tbs.count & 0xFF)]
        signed += tbs
        signed += [0, 0]
        let sig = Array(try ctKey.signature(for: signed).derRepresentation)
        var sct: [UInt8] = [0] + Array(Self.logID(ctKey.publicKey))
        withUnsafeBytes(of: timestamp.bigEndian) { sct += $0 }
        sct += [0, 0, 4, 3, UInt8(sig.count >> 8), UInt8(sig.count & 0xFF)] + sig
        let list: [UInt8] = [UInt8((sct.count + 2) >> 8), UInt8((sct.count + 2) & 0xFF), UInt8(sct.count >> 8), UInt8(sct.count & 0xFF)] + sct
        var octets = DER.Serializer()
        try octets.serialize(ASN1OctetString(contentBytes: ArraySlice(list)))
        exts.append(Certificate.Extension(oid: [1, 3, 6, 1, 4, 1, 11129, 2, 4, 2], critical: false, value: ArraySlice(octets.serializedBytes)))
        return Leaf(certificate: try make(exts), key: key)
    }

    /// A keyless cosign `.att` layer: its envelope and the annotations cosign writes.
    struct Layer {
        var annotations: [String: String]
        var envelope: Data
    }

    static func statement(subject: String, digest: String, predicateType: String = "https://slsa.dev/provenance/v1") throws -> Data {
        try JSONSerialization.data(withJSONObject: [
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [["name": subject, "digest": ["sha256": String(digest.dropFirst(7))]]],
            "predicateType": predicateType,
            "predicate": ["buildDefinition": ["buildType": "https://example.org/build/v1", "externalParameters": [String: Any]()],
                          "runDetails": ["builder": ["id": "https://example.org/builder"]]],
        ] as [String: Any], options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// The statement about `digest` signed by `leaf`, logged at `integratedTime`. `setKey` signs the SET
    /// (Rekor's key unless given); `loggedPayload` is what the logged body's payload hash is of (the
    /// envelope's own unless given).
    /// `intotoVersion` "0.0.1" logs the body cosign before 2.0 wrote: the hash of the envelope's bytes
    /// (`loggedEnvelope`'s, when given), the payload hash (left out with `omitPayloadHash`) and the
    /// signer (`loggedSigner`'s certificate, when given), with no signature.
    func layer(digest: String, leaf: Leaf, integratedTime: Date, logIndex: Int = 4242, setKey: P256.Signing.PrivateKey? = nil,
               loggedPayload: Data? = nil, chain: [Certificate]? = nil, intotoVersion: String = "0.0.2",
               loggedEnvelope: Data? = nil, omitPayloadHash: Bool = false, loggedSigner: Leaf? = nil) throws -> Layer {
        let type = "application/vnd.in-toto+json"
        let payload = try Self.statement(subject: "registry.test/team/app", digest: digest)
        var pae = Data("DSSEv1 \(type.utf8.count) \(type) \(payload.count) ".utf8)
        pae += payload
        let sig = try leaf.key.signature(for: pae).derRepresentation
        let envelope = try JSONSerialization.data(withJSONObject: [
            "payloadType": type, "payload": payload.base64EncodedString(),
            "signatures": [["keyid": "", "sig": sig.base64EncodedString()]],
        ] as [String: Any], options: [.sortedKeys])

        let leafPEM = try Self.pem([leaf.certificate])
        var content001: [String: Any] = ["hash": ["algorithm": "sha256", "value": Hex.encode(SHA256.hash(data: loggedEnvelope ?? envelope))]]
        if !omitPayloadHash { content001["payloadHash"] = ["algorithm": "sha256", "value": Hex.encode(SHA256.hash(data: loggedPayload ?? payload))] }
        let body = intotoVersion == "0.0.1" ? try JSONSerialization.data(withJSONObject: [
            "apiVersion": "0.0.1", "kind": "intoto",
            "spec": ["content": content001, "publicKey": Data(try Self.pem([(loggedSigner ?? leaf).certificate]).utf8).base64EncodedString()] as [String: Any],
        ] as [String: Any], options: [.sortedKeys, .withoutEscapingSlashes]) : try JSONSerialization.data(withJSONObject: [
            "apiVersion": "0.0.2", "kind": "intoto",
            "spec": ["content": [
                "envelope": ["payloadType": type,
                             "signatures": [["publicKey": Data(leafPEM.utf8).base64EncodedString(),
                                             "sig": Data(sig.base64EncodedString().utf8).base64EncodedString()]]],
                "hash": ["algorithm": "sha256", "value": Hex.encode(SHA256.hash(data: envelope))],
                "payloadHash": ["algorithm": "sha256", "value": Hex.encode(SHA256.hash(data: loggedPayload ?? payload))],
            ]],
        ] as [String: Any], options: [.sortedKeys, .withoutEscapingSlashes])
        let time = Int64(integratedTime.timeIntervalSince1970)
        let logID = Hex.encode(Self.logID(rekorKey.publicKey))
        let setPayload = #"{"body":"\#(body.base64EncodedString())","integratedTime":\#(time),"logID":"\#(logID)","logIndex":\#(logIndex)}"#
        let set = try (setKey ?? rekorKey).signature(for: Data(setPayload.utf8)).derRepresentation
        let bundle = try JSONSerialization.data(withJSONObject: [
            "SignedEntryTimestamp": set.base64EncodedString(),
            "Payload": ["body": body.base64EncodedString(), "integratedTime": time, "logIndex": logIndex, "logID": logID] as [String: Any],
        ] as [String: Any], options: [.sortedKeys])
        return Layer(annotations: [
            "dev.sigstore.cosign/certificate": leafPEM,
            "dev.sigstore.cosign/chain": try Self.pem(chain ?? [intermediate, root]),
            "dev.sigstore.cosign/bundle": String(decoding: bundle, as: UTF8.self),
            "predicateType": "https://slsa.dev/provenance/v1",
        ], envelope: envelope)
    }
}

extension Certificate.PublicKey {
    /// The whole SubjectPublicKeyInfo, DER.
    var subjectPublicKeyInfoDER: [UInt8] {
        var s = DER.Serializer()
        try? s.serialize(self)
        return s.serializedBytes
    }
}
