@preconcurrency import Crypto
import Foundation
import ProvenantCore
import SwiftASN1
import X509

/// An RFC 3161 timestamp response, verified against the timestamp authorities of a trusted root.
public struct RFC3161Timestamp: Sendable {
    public var time: Date
    public var authority: String

    enum OID {
        static let signedData = "1.2.840.113549.1.7.2"
        static let tstInfo = "1.2.840.113549.1.9.16.1.4"
        static let contentType = "1.2.840.113549.1.9.3"
        static let messageDigest = "1.2.840.113549.1.9.4"
        static let sha256 = "2.16.840.1.101.3.4.2.1", sha384 = "2.16.840.1.101.3.4.2.2", sha512 = "2.16.840.1.101.3.4.2.3"
    }

    static func digest(_ oid: String, _ data: some DataProtocol) -> Data? {
        switch oid {
        case OID.sha256: return Data(SHA256.hash(data: Data(data)))
        case OID.sha384: return Data(SHA384.hash(data: Data(data)))
        case OID.sha512: return Data(SHA512.hash(data: Data(data)))
        default: return nil
        }
    }

    static func signatureAlgorithm(_ oid: String, digest: String) -> Certificate.SignatureAlgorithm? {
        switch oid {
        case "1.2.840.10045.4.3.2": return .ecdsaWithSHA256
        case "1.2.840.10045.4.3.3": return .ecdsaWithSHA384
        case "1.2.840.10045.4.3.4": return .ecdsaWithSHA512
        case "1.2.840.113549.1.1.11": return .sha256WithRSAEncryption
        case "1.2.840.113549.1.1.12": return .sha384WithRSAEncryption
        case "1.2.840.113549.1.1.13": return .sha512WithRSAEncryption
        case "1.3.101.112": return .ed25519
        // Bare key algorithms: the digest algorithm names the hash.
        case "1.2.840.10045.2.1": return [OID.sha256: .ecdsaWithSHA256, OID.sha384: .ecdsaWithSHA384, OID.sha512: .ecdsaWithSHA512][digest]
        case "1.2.840.113549.1.1.1": return [OID.sha256: .sha256WithRSAEncryption, OID.sha384: .sha384WithRSAEncryption, OID.sha512: .sha512WithRSAEncryption][digest]
        default: return nil
        }
    }

    /// Whether a SignerInfo's sid (issuer and serial, or [0] subject key identifier) names `cert`.
    static func names(_ sid: ASN1Node, _ cert: Certificate) throws(DERNode.Malformed) -> Bool {
        if DERNode.tagged(sid, 0) {
            guard let ski = try? cert.extensions.subjectKeyIdentifier else { return false }
            return Array(try DERNode.primitive(sid, "subjectKeyIdentifier")) == Array(ski.keyIdentifier)
        }
        let parts = try DERNode.sequence(sid, "IssuerAndSerialNumber")
        guard parts.count == 2, parts[1].identifier == .integer else { throw DERNode.Malformed(what: "IssuerAndSerialNumber is malformed") }
        guard let issuer = try? DistinguishedName(derEncoded: parts[0]) else { throw DERNode.Malformed(what: "the SignerInfo issuer is not a Name") }
        let serial = Array(try DERNode.primitive(parts[1], "serialNumber"))
        return issuer == cert.issuer && serial == Array(cert.serialNumber.bytes)
    }

    /// Verifies that `response` timestamps `signature` and was signed by a trusted TSA valid at that time.
    public static func verify(_ response: Data, signature: Data, root: TrustedRoot) throws(VerificationFailure) -> RFC3161Timestamp {
        func fail(_ why: String) -> VerificationFailure { VerificationFailure(check: "timestamp", reason: why) }
        do {
            let resp = try DERNode.sequence(try DERNode.parse(response), "TimeStampResp")
            guard resp.count >= 2, let status = try DERNode.sequence(resp[0], "PKIStatusInfo").first else { throw DERNode.Malformed(what: "the response carries no token") }
            let code = try DERNode.int(status, "PKIStatus")
            guard code == 0 || code == 1 else { throw fail("the timestamp authority refused the request (status \(code))") }
            let ci = try DERNode.sequence(resp[1], "ContentInfo")
            guard ci.count == 2, try DERNode.oid(ci[0], "contentType") == OID.signedData, DERNode.tagged(ci[1], 0),
                  let sdNode = try DERNode.children(ci[1], "content").first else { throw DERNode.Malformed(what: "the token is not CMS SignedData") }
            let sd = try DERNode.sequence(sdNode, "SignedData")
            guard sd.count >= 4 else { throw DERNode.Malformed(what: "SignedData is truncated") }
            guard [1, 3, 4, 5].contains(try DERNode.int(sd[0], "SignedData version")) else { throw DERNode.Malformed(what: "unknown SignedData version") }
            let encap = try DERNode.sequence(sd[2], "encapContentInfo")
            guard encap.count == 2, try DERNode.oid(encap[0], "eContentType") == OID.tstInfo, DERNode.tagged(encap[1], 0),
                  let eContentNode = try DERNode.children(encap[1], "eContent").first else { throw DERNode.Malformed(what: "the token does not hold a TSTInfo") }
            let tstBytes = try DERNode.octets(eContentNode, "eContent")
            guard let signerSet = sd.last, signerSet.identifier == .set, let signer = try DERNode.children(signerSet, "signerInfos").first else {
                throw DERNode.Malformed(what: "SignedData has no SignerInfo")
            }
            let si = try DERNode.sequence(signer, "SignerInfo")
            guard si.count >= 6 else { throw DERNode.Malformed(what: "SignerInfo is truncated") }
            let sid = si[1]
            // RFC 5652: version 1 with issuer and serial, 3 with a subject key identifier.
            guard try DERNode.int(si[0], "SignerInfo version") == (DERNode.tagged(sid, 0) ? 3 : 1) else { throw DERNode.Malformed(what: "SignerInfo version does not fit its sid") }
            let digestOID = try DERNode.algorithm(si[2], "digestAlgorithm")
            guard DERNode.tagged(si[3], 0) else { throw fail("the SignerInfo has no signed attributes") }
            let attrs = try DERNode.children(si[3], "signedAttrs")
            let sigAlgOID = try DERNode.algorithm(si[4], "signatureAlgorithm")
            let sigBytes = try DERNode.octets(si[5], "signature")

            // The signed attributes must bind the TSTInfo: content type and digest.
            var sawType = false, sawDigest = false
            for a in attrs {
                let parts = try DERNode.children(a, "attribute")
                guard parts.count == 2, let v = try DERNode.children(parts[1], "attribute values").first else { continue }
                switch try DERNode.oid(parts[0], "attribute type") {
                case OID.contentType: sawType = try DERNode.oid(v, "content type") == OID.tstInfo
                case OID.messageDigest:
                    guard let want = digest(digestOID, tstBytes) else { throw fail("unsupported digest algorithm \(digestOID)") }
                    sawDigest = Data(try DERNode.octets(v, "message digest")) == want
                default: break
                }
            }
            guard sawType, sawDigest else { throw fail("the signed attributes do not bind the TSTInfo (content type or message digest mismatch)") }

            // The signed attributes are signed as a SET, not with their [0] tag.
            var signed = Array(si[3].encodedBytes)
            signed[0] = 0x31
            guard let alg = signatureAlgorithm(sigAlgOID, digest: digestOID) else { throw fail("unsupported signature algorithm \(sigAlgOID)") }

            let tst = try DERNode.sequence(try DERNode.parse(tstBytes), "TSTInfo")
            guard tst.count >= 5 else { throw DERNode.Malformed(what: "TSTInfo is truncated") }
            let imprint = try DERNode.sequence(tst[2], "messageImprint")
            guard imprint.count == 2 else { throw DERNode.Malformed(what: "messageImprint is malformed") }
            let imprintAlg = try DERNode.algorithm(imprint[0], "hashAlgorithm")
            guard let expected = digest(imprintAlg, signature) else { throw fail("unsupported message imprint algorithm \(imprintAlg)") }
            guard Data(try DERNode.octets(imprint[1], "hashedMessage")) == expected else {
                throw fail("the timestamp covers a different signature (message imprint mismatch)")
            }
            let genTime = try DERNode.generalizedTime(tst[4], "genTime")

            // Only a TSA from the trusted root may vouch; certificates embedded in the token are never trusted.
            var reasons: [String] = []
            for tsa in root.timestampAuthorities {
                guard let leaf = tsa.chain.first, leaf.publicKey.isValidSignature(sigBytes, for: signed, signatureAlgorithm: alg) else { continue }
                guard try names(sid, leaf) else { reasons.append("\(tsa.uri): the SignerInfo names a different certificate than the one whose key signed it"); continue }
                guard tsa.validFor.contains(genTime) else { reasons.append("\(tsa.uri): time \(RFC3339.string(from: genTime)) is outside the authority's validity \(describe(tsa.validFor))"); continue }
                if let why = CertificateChain.problem(tsa.chain, at: genTime) { reasons.append("\(tsa.uri): \(why)"); continue }
                if let eku = try? leaf.extensions.extendedKeyUsage, !eku.contains(.timeStamping) { reasons.append("\(tsa.uri): the TSA certificate lacks the timeStamping usage"); continue }
                return RFC3161Timestamp(time: genTime, authority: tsa.uri)
            }
            throw fail(reasons.first ?? "not signed by any timestamp authority in the trusted root")
        } catch let f as VerificationFailure {
            throw f
        } catch let m as DERNode.Malformed {
            throw fail("malformed RFC 3161 timestamp: \(m.what)")
        } catch {
            throw fail("malformed RFC 3161 timestamp: \(error)")
        }
    }
}

func describe(_ r: TimeRange) -> String { "[\(RFC3339.string(from: r.start)), \(r.end.map(RFC3339.string(from:)) ?? "open")]" }

/// Chain checks shared by Fulcio and TSA chains from the trusted root.
enum CertificateChain {
    /// Why `chain` (leaf first) does not hold at time `t`, or nil when each link is signed by the next and every certificate is valid then.
    static func problem(_ chain: [Certificate], at t: Date) -> String? {
        for (i, c) in chain.enumerated() {
            guard c.notValidBefore <= t, t <= c.notValidAfter else {
                return "certificate '\(c.subject)' is valid \(RFC3339.string(from: c.notValidBefore)) to \(RFC3339.string(from: c.notValidAfter)), not at \(RFC3339.string(from: t))"
            }
            let issuer = i + 1 < chain.count ? chain[i + 1] : c
            guard issuer.publicKey.isValidSignature(c.signature, for: c) else { return "certificate '\(c.subject)' is not signed by '\(issuer.subject)'" }
        }
        return nil
    }
}
