/// The server name a TLS ClientHello asks for (RFC 8446 §4.1.2, RFC 6066 §3), read from the first
/// bytes a client sends into a CONNECT tunnel. Nothing is decrypted: the ClientHello is plaintext.
public enum TLSClientHello {
    public enum Outcome: Sendable, Equatable {
        /// More bytes are needed to see the whole ClientHello.
        case needMore
        /// The hello carries this server name (lowercase, as sent).
        case serverName(String)
        /// A well-formed hello with no server_name extension.
        case noServerName
        /// Not a TLS ClientHello, or a malformed one.
        case invalid(String)
        /// The hello carries an encrypted_client_hello extension (ECH): the name it really asks for is
        /// encrypted, and only the outer name (if any) can be read.
        case encrypted(outerName: String?)
    }

    /// The extension type of encrypted_client_hello (draft-ietf-tls-esni).
    static let echExtension: UInt16 = 0xfe0d

    /// The largest ClientHello read: a hello split over several records is reassembled up to this.
    public static let maxHello = 64 << 10
    /// The most records a ClientHello may be split over. Clients send one, or a few when it is large
    /// or fragmented on purpose; 256 leave room for both.
    public static let maxRecords = 256

    public static func parse(_ bytes: [UInt8]) -> Outcome { parseCounting(bytes).outcome }

    /// The outcome, and how many bytes the records holding a whole ClientHello took (0 until it is
    /// whole): what follows them is not part of the hello.
    public static func parseCounting(_ bytes: [UInt8]) -> (outcome: Outcome, length: Int) {
        // Reassemble handshake bytes from consecutive handshake records (type 22). Until the records
        // hold the whole message only its first four bytes (type and length) are copied: the hello is
        // looked at again on every read, and copying what had arrived each time cost about 1 GB for a
        // 64 KB hello sent a byte at a time (found by review).
        var head: [UInt8] = []
        var spans: [Range<Int>] = []
        var total = 0
        var at = 0, records = 0
        while true {
            guard bytes.count >= at + 5 else { return (.needMore, 0) }
            // The hello is parsed again from its start as each read adds to it: split into thousands of
            // one-byte records, that cost seconds of CPU for 66 KB (found by helper-126).
            records += 1
            guard records <= maxRecords else { return (.invalid("ClientHello split over more than \(maxRecords) records"), 0) }
            guard bytes[at] == 22 else { return (.invalid(at == 0 ? "not a TLS handshake record" : "a non-handshake record inside the ClientHello"), 0) }
            guard bytes[at + 1] == 3 else { return (.invalid("unknown TLS record version"), 0) }
            let length = Int(bytes[at + 3]) << 8 | Int(bytes[at + 4])
            guard length > 0, length <= 16_384 + 256 else { return (.invalid("bad TLS record length"), 0) }
            guard bytes.count >= at + 5 + length else { return (.needMore, 0) }
            let payload = (at + 5)..<(at + 5 + length)
            spans.append(payload)
            if head.count < 4 { head += bytes[payload].prefix(4 - head.count) }
            total += length
            at += 5 + length
            guard total <= maxHello else { return (.invalid("ClientHello larger than \(maxHello) bytes"), 0) }
            if head.count == 4, total >= 4 + (Int(head[1]) << 16 | Int(head[2]) << 8 | Int(head[3])) {
                var handshake: [UInt8] = []
                handshake.reserveCapacity(total)
                for s in spans { handshake += bytes[s] }
                return (finish(handshake), at)
            }
        }
    }

    static func finish(_ h: [UInt8]) -> Outcome {
        guard h[0] == 1 else { return .invalid("the first handshake message is not a ClientHello") }
        let length = Int(h[1]) << 16 | Int(h[2]) << 8 | Int(h[3])
        guard length <= maxHello else { return .invalid("ClientHello larger than \(maxHello) bytes") }
        var r = Reader(bytes: h, at: 4, end: 4 + length)
        // legacy_version, random, session id, cipher suites, compression methods.
        guard r.skip(2 + 32), let sid = r.u8(), r.skip(Int(sid)), let suites = r.u16(), r.skip(Int(suites)),
              let methods = r.u8(), r.skip(Int(methods)) else { return .invalid("truncated ClientHello") }
        if r.at == r.end { return .noServerName }
        guard let extLength = r.u16(), r.at + Int(extLength) <= r.end else { return .invalid("truncated extensions") }
        var ext = Reader(bytes: h, at: r.at, end: r.at + Int(extLength))
        var seen = Set<UInt16>()
        var serverName: String?
        while ext.at < ext.end {
            guard let type = ext.u16(), let len = ext.u16(), ext.at + Int(len) <= ext.end else { return .invalid("truncated extension") }
            // A repeated extension is forbidden (RFC 8446 §4.2); two server names could be read two ways.
            guard seen.insert(type).inserted else { return .invalid("extension \(type) repeated") }
            if type == 0 {
                var sni = Reader(bytes: h, at: ext.at, end: ext.at + Int(len))
                guard let listLength = sni.u16(), sni.at + Int(listLength) == sni.end else { return .invalid("bad server_name list") }
                var name: String?
                while sni.at < sni.end {
                    guard let kind = sni.u8(), let n = sni.u16(), sni.at + Int(n) <= sni.end, n > 0 else { return .invalid("bad server_name entry") }
                    if kind == 0 {
                        guard name == nil else { return .invalid("two host names in server_name") }
                        let raw = h[sni.at..<(sni.at + Int(n))]
                        guard raw.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return .invalid("server name with bytes a host name cannot hold") }
                        name = String(decoding: raw, as: UTF8.self).lowercased()
                    }
                    _ = sni.skip(Int(n))
                }
                guard let name else { return .invalid("server_name without a host name") }
                serverName = name
            }
            _ = ext.skip(Int(len))
        }
        // Every extension is read: an ECH extension after the server name still counts.
        if seen.contains(echExtension) { return .encrypted(outerName: serverName) }
        return serverName.map { .serverName($0) } ?? .noServerName
    }

    /// The random a ServerHello carries when it is a HelloRetryRequest (RFC 8446 §4.1.3): SHA-256 of
    /// "HelloRetryRequest".
    static let helloRetryRandom: [UInt8] = [
        0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
        0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
    ]
    /// The most of a server's first flight read to tell whether it is a HelloRetryRequest: its first
    /// 38 handshake bytes (header, legacy_version, random) may come in records of any size.
    public static let serverPrefix = 2048

    /// Whether the server's first bytes are a HelloRetryRequest, after which the client sends a second
    /// ClientHello that must be checked too; nil while the first 38 handshake bytes are not all there
    /// (they are reassembled across handshake records, so a server cannot hide one by fragmenting it).
    public static func isHelloRetryRequest(_ first: [UInt8]) -> Bool? {
        var handshake: [UInt8] = []
        var at = 0
        while handshake.count < 38 {
            guard at < first.count else { return nil }
            if first[at] != 22 { return false }   // not a handshake record: no HRR to follow
            guard first.count >= at + 5 else { return nil }
            let length = Int(first[at + 3]) << 8 | Int(first[at + 4])
            guard length > 0 else { return false }
            let end = min(at + 5 + length, first.count)
            handshake += first[(at + 5)..<end]
            if end < at + 5 + length { break }
            at = end
        }
        guard handshake.count >= 38 else { return nil }
        return handshake[0] == 2 && Array(handshake[6..<38]) == helloRetryRandom
    }

    /// Where a client's second ClientHello starts: after the change_cipher_spec records a TLS 1.3 client
    /// may send first (RFC 8446 §D.4); nil while a record is incomplete.
    public static func afterChangeCipherSpec(_ bytes: [UInt8]) -> Int? {
        var at = 0
        while at < bytes.count, bytes[at] == 20 {
            guard bytes.count >= at + 5 else { return nil }
            let length = Int(bytes[at + 3]) << 8 | Int(bytes[at + 4])
            guard bytes.count >= at + 5 + length else { return nil }
            at += 5 + length
        }
        return at
    }

    struct Reader {
        let bytes: [UInt8]
        var at: Int
        let end: Int
        mutating func u8() -> UInt8? { guard at < end else { return nil }; defer { at += 1 }; return bytes[at] }
        mutating func u16() -> UInt16? { guard at + 2 <= end else { return nil }; defer { at += 2 }; return UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1]) }
        mutating func skip(_ n: Int) -> Bool { guard n >= 0, at + n <= end else { return false }; at += n; return true }
    }
}
