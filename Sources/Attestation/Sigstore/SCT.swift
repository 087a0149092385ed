@preconcurrency import Crypto
import Foundation
import SwiftASN1
import X509

/// RFC 6962 signed certificate timestamps embedded in a precertificate-issued leaf.
enum EmbeddedSCT {
    static let extensionOID = "1.3.6.1.4.1.11129.2.4.2"

    struct SCT { var logID: Data; var timestamp: UInt64; var extensions: Data; var signature: Data }

    /// The SCT list carried by `leaf`, or an error naming what is malformed.
    static func list(in leaf: Certificate) throws(DERNode.Malformed) -> [SCT] {
        guard let ext = leaf.extensions.first(where: { $0.oid.description == extensionOID }) else { return [] }
        // extnValue holds an OCTET STRING whose content is the TLS-encoded list.
        let inner = try DERNode.primitive(try DERNode.parse(ext.value), "SCT list")
        var r = Reader(Array(inner))
        guard let total = r.u16(), total == r.remaining else { throw .init(what: "SCT list length does not match its contents") }
        var out: [SCT] = []
        while r.remaining > 0 {
            guard let len = r.u16(), var s = r.take(Int(len)).map(Reader.init) else { throw .init(what: "SCT entry is truncated") }
            guard s.u8() == 0, let id = s.take(32), let ts = s.u64(), let el = s.u16(), let exts = s.take(Int(el)),
                  s.u8() != nil, s.u8() != nil, let sl = s.u16(), let sig = s.take(Int(sl)), s.remaining == 0 else {
                throw .init(what: "SCT entry is malformed or not version 1")
            }
            out.append(SCT(logID: Data(id), timestamp: ts, extensions: Data(exts), signature: Data(sig)))
        }
        return out
    }

    /// The leaf's TBSCertificate with the SCT extension removed: what the CT log signed.
    static func precertTBS(_ leaf: Certificate) throws(DERNode.Malformed) -> [UInt8] {
        let tbs = try DERNode.parse(leaf.tbsCertificateBytes)
        var body: [UInt8] = []
        for child in try DERNode.children(tbs, "TBSCertificate") {
            guard DERNode.tagged(child, 3) else { body += child.encodedBytes; continue }
            guard let wrapper = try DERNode.children(child, "extensions").first else { throw .init(what: "empty extensions") }
            let seq = try DERNode.children(wrapper, "extensions")
            var kept: [UInt8] = []
            for e in seq {
                let fields = try DERNode.children(e, "extension")
                guard let first = fields.first else { throw .init(what: "empty extension") }
                if try DERNode.oid(first, "extension id") != extensionOID { kept += e.encodedBytes }
            }
            body += DERNode.tlv(0xA3, DERNode.tlv(0x30, kept))
        }
        return DERNode.tlv(0x30, body)
    }

    /// The bytes an SCT's signature covers (RFC 6962 §3.2, precert entry).
    static func signedData(_ sct: SCT, issuerKeyHash: Data, tbs: [UInt8]) -> Data {
        var d = Data([0, 0])
        withUnsafeBytes(of: sct.timestamp.bigEndian) { d.append(contentsOf: $0) }
        d += [0, 1]
        d += issuerKeyHash
        d += [UInt8(tbs.count >> 16 & 0xFF), UInt8(tbs.count >> 8 & 0xFF), UInt8(tbs.count & 0xFF)]
        d += tbs
        d += [UInt8(sct.extensions.count >> 8 & 0xFF), UInt8(sct.extensions.count & 0xFF)]
        d += sct.extensions
        return d
    }

    struct Reader {
        var b: [UInt8]; var i = 0
        init(_ b: [UInt8]) { self.b = b }
        var remaining: Int { b.count - i }
        mutating func take(_ n: Int) -> [UInt8]? { guard n >= 0, remaining >= n else { return nil }; defer { i += n }; return Array(b[i..<(i + n)]) }
        mutating func u8() -> UInt8? { take(1)?.first }
        mutating func u16() -> Int? { take(2).map { Int($0[0]) << 8 | Int($0[1]) } }
        mutating func u64() -> UInt64? { take(8).map { $0.reduce(0) { $0 << 8 | UInt64($1) } } }
    }
}
