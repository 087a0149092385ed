import Foundation
import ProvenantCore
import SwiftASN1

/// Small readers over swift-asn1 nodes for the structures X509 does not model (CMS, TSTInfo, SCTs).
enum DERNode {
    struct Malformed: Error { var what: String }

    static func parse(_ bytes: some Collection<UInt8>) throws(Malformed) -> ASN1Node {
        do { return try DER.parse(Array(bytes)) } catch { throw Malformed(what: "not DER: \(error)") }
    }

    static func children(_ n: ASN1Node, _ what: String) throws(Malformed) -> [ASN1Node] {
        guard case .constructed(let c) = n.content else { throw Malformed(what: "\(what) is not a constructed value") }
        return Array(c)
    }

    /// The children of a node that must be a SEQUENCE.
    static func sequence(_ n: ASN1Node, _ what: String) throws(Malformed) -> [ASN1Node] {
        guard n.identifier == .sequence else { throw Malformed(what: "\(what) is not a SEQUENCE") }
        return try children(n, what)
    }

    /// The bytes of a node that must be an OCTET STRING.
    static func octets(_ n: ASN1Node, _ what: String) throws(Malformed) -> ArraySlice<UInt8> {
        guard n.identifier == .octetString else { throw Malformed(what: "\(what) is not an OCTET STRING") }
        return try primitive(n, what)
    }

    /// The algorithm OID of an AlgorithmIdentifier SEQUENCE.
    static func algorithm(_ n: ASN1Node, _ what: String) throws(Malformed) -> String {
        guard let f = try sequence(n, what).first else { throw Malformed(what: "\(what) is empty") }
        return try oid(f, what)
    }

    static func first(_ n: ASN1Node, _ what: String) throws(Malformed) -> ASN1Node {
        guard let f = try children(n, what).first else { throw Malformed(what: "\(what) is empty") }
        return f
    }

    static func primitive(_ n: ASN1Node, _ what: String) throws(Malformed) -> ArraySlice<UInt8> {
        guard case .primitive(let b) = n.content else { throw Malformed(what: "\(what) is not a primitive value") }
        return b
    }

    static func oid(_ n: ASN1Node, _ what: String) throws(Malformed) -> String {
        guard n.identifier == .objectIdentifier else { throw Malformed(what: "\(what) is not an object identifier") }
        do { return try ASN1ObjectIdentifier(derEncoded: n).description } catch { throw Malformed(what: "\(what): bad object identifier") }
    }

    static func int(_ n: ASN1Node, _ what: String) throws(Malformed) -> Int {
        guard n.identifier == .integer else { throw Malformed(what: "\(what) is not an integer") }
        do { return try Int(derEncoded: n) } catch { throw Malformed(what: "\(what): integer out of range") }
    }

    static func tagged(_ n: ASN1Node, _ number: UInt) -> Bool {
        n.identifier.tagClass == .contextSpecific && n.identifier.tagNumber == number
    }

    /// A TLV with a short-form tag, for re-encoding edited structures.
    static func tlv(_ tag: UInt8, _ content: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = [tag]
        let n = content.count
        if n < 0x80 { out.append(UInt8(n)) } else {
            var len: [UInt8] = []
            var v = n
            while v > 0 { len.insert(UInt8(v & 0xFF), at: 0); v >>= 8 }
            out.append(0x80 | UInt8(len.count)); out += len
        }
        out += content
        return out
    }

    /// GeneralizedTime `YYYYMMDDHHMMSS[.f*]Z`, as a Date, read and range-checked by swift-asn1: any
    /// number of fraction digits, and only the DER form (UTC, no trailing zeros in the fraction).
    static func generalizedTime(_ n: ASN1Node, _ what: String) throws(Malformed) -> Date {
        guard n.identifier == .generalizedTime else { throw Malformed(what: "\(what) is not a GeneralizedTime") }
        let t: GeneralizedTime
        do { t = try GeneralizedTime(derEncoded: n) } catch {
            let raw = String(decoding: (try? primitive(n, what))?.prefix(40) ?? [], as: UTF8.self)
            throw Malformed(what: "\(what) '\(raw.filter { $0.isASCII && !$0.isNewline })' is not a valid UTC GeneralizedTime")
        }
        return RFC3339.date(year: t.year, month: t.month, day: t.day, hour: t.hours, minute: t.minutes, second: t.seconds,
                            fraction: t.fractionalSeconds)
    }
}
