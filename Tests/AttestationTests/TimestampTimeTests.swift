@preconcurrency import Crypto
import Foundation
import Testing
import ProvenantCore
@testable import Attestation
import SwiftASN1

/// An RFC 3161 token is parsed as far as its genTime before any signature is checked, so a token
/// nobody signed must still fail with a reason, whatever its GeneralizedTime holds.
@Suite struct TimestampTimeTests {
    static func der(_ v: some DERSerializable) throws -> [UInt8] {
        var s = DER.Serializer()
        try s.serialize(v)
        return s.serializedBytes
    }
    static func oid(_ parts: [UInt]) throws -> [UInt8] { try der(ASN1ObjectIdentifier(elements: parts)) }
    static func seq(_ parts: [UInt8]...) -> [UInt8] { DERNode.tlv(0x30, parts.flatMap { $0 }) }
    static func set(_ parts: [UInt8]...) -> [UInt8] { DERNode.tlv(0x31, parts.flatMap { $0 }) }
    static func ctx0(_ parts: [UInt8]...) -> [UInt8] { DERNode.tlv(0xA0, parts.flatMap { $0 }) }
    static func int(_ v: UInt8) -> [UInt8] { [0x02, 0x01, v] }
    static func octets(_ b: [UInt8]) -> [UInt8] { DERNode.tlv(0x04, b) }

    /// A TimeStampResp whose TSTInfo carries `genTime` verbatim, bound by its (unsigned) attributes to
    /// the TSTInfo and imprinting `signature`, so parsing reaches genTime before the signature check.
    static func unsignedToken(genTime: String, signature: [UInt8]) throws -> Data {
        let sha256 = try seq(oid([2, 16, 840, 1, 101, 3, 4, 2, 1]))
        let tst = try seq(int(1), oid([1, 2, 3, 4]), seq(sha256, octets(Array(SHA256.hash(data: signature)))), int(7),
                          DERNode.tlv(0x18, Array(genTime.utf8)))
        let attrs = try [seq(oid([1, 2, 840, 113549, 1, 9, 3]), set(oid([1, 2, 840, 113549, 1, 9, 16, 1, 4]))),
                         seq(oid([1, 2, 840, 113549, 1, 9, 4]), set(octets(Array(SHA256.hash(data: tst)))))]
        let signer = try seq(int(1), seq(seq(), int(1)), sha256, DERNode.tlv(0xA0, attrs.flatMap { $0 }),
                             seq(oid([1, 2, 840, 10045, 4, 3, 2])), octets([UInt8](repeating: 1, count: 64)))
        let signed = try seq(int(3), set(sha256), seq(oid([1, 2, 840, 113549, 1, 9, 16, 1, 4]), ctx0(octets(tst))), set(signer))
        return Data(try seq(seq(int(0)), seq(oid([1, 2, 840, 113549, 1, 7, 2]), ctx0(signed))))
    }

    @Test func longFractionsInGenTimeNeverTrap() throws {
        let root = try TrustedRoot.production()
        let signature = Array("a signature".utf8)
        // 25 fraction digits overflowed an Int when the time was rewritten into RFC 3339 and summed by hand.
        for genTime in ["20240101000000.1234567890123456789012345Z", "20240101000000.4444444444444444444Z", "20240101000000Z"] {
            let token = try Self.unsignedToken(genTime: genTime, signature: signature)
            do {
                _ = try RFC3161Timestamp.verify(token, signature: Data(signature), root: root)
                Issue.record("an unsigned token verified")
            } catch {
                #expect(error.reason == "not signed by any timestamp authority in the trusted root", "\(genTime): \(error)")
            }
        }
        // Times that are not valid DER GeneralizedTime are malformed, named as such.
        // Nineteen nines round to a whole second, which swift-asn1 refuses as a fraction: an error, not a trap.
        for genTime in ["20240101000000.9999999999999999999Z", "20241301000000Z", "20240101000000.10Z", "20240101000000+0100", "2024010100000Z"] {
            let token = try Self.unsignedToken(genTime: genTime, signature: signature)
            do {
                _ = try RFC3161Timestamp.verify(token, signature: Data(signature), root: root)
                Issue.record("\(genTime) was accepted")
            } catch {
                #expect(error.reason.contains("genTime") && error.reason.contains("is not a valid UTC GeneralizedTime"), "\(genTime): \(error)")
            }
        }
    }

    @Test func generalizedTimeIsReadBySwiftASN1() throws {
        func date(_ s: String) throws -> Date {
            try DERNode.generalizedTime(try DERNode.parse(DERNode.tlv(0x18, Array(s.utf8))), "t")
        }
        #expect(try date("20231114221320Z") == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(try date("20231114221320.25Z") == Date(timeIntervalSince1970: 1_700_000_000.25))
        let long = try date("20231114221320.1234567890123456789012345Z").timeIntervalSince1970
        #expect(abs(long - 1_700_000_000.123_456_789) < 0.001)
    }
}
