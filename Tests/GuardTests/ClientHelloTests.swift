import Foundation
import Testing
@testable import Guard

@Suite struct ClientHelloTests {
    /// A real ClientHello (Python's ssl module, SNI api.example.test).
    static let hello: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "Fixtures/proxy/hello", withExtension: "bin"),
              let d = try? Data(contentsOf: url) else { return [] }
        return Array(d)
    }()

    @Test func theServerNameIsReadOnlyOnceTheHelloIsWhole() {
        #expect(Self.hello.count > 100)
        for cut in [0, 1, 4, 5, 6, 50, Self.hello.count - 1] {
            #expect(TLSClientHello.parse(Array(Self.hello.prefix(cut))) == .needMore, "cut at \(cut)")
        }
        #expect(TLSClientHello.parse(Self.hello) == .serverName("api.example.test"))
    }

    @Test func aHelloSplitOverTwoRecordsIsReassembled() {
        let body = Array(Self.hello[5...])
        let (a, b) = (Array(body.prefix(40)), Array(body.dropFirst(40)))
        func record(_ p: [UInt8]) -> [UInt8] { [22, 3, 1, UInt8(p.count >> 8), UInt8(p.count & 255)] + p }
        #expect(TLSClientHello.parse(record(a) + record(b)) == .serverName("api.example.test"))
        #expect(TLSClientHello.parse(record(a)) == .needMore)
    }

    @Test func otherBytesAreNotAHello() {
        guard case .invalid = TLSClientHello.parse(Array("GET / HTTP/1.1\r\n\r\n".utf8)) else { Issue.record("plain HTTP read as TLS"); return }
        // An application-data record where the hello should continue.
        let body = Array(Self.hello[5...])
        let first = [22, 3, 1, 0, 40] + body.prefix(40)
        guard case .invalid = TLSClientHello.parse(first + [23, 3, 3, 0, 5, 1, 2, 3, 4, 5]) else { Issue.record("a non-handshake record accepted"); return }
    }

    /// A HelloRetryRequest is told from a ServerHello by its random, also when the server splits its
    /// first bytes over records; an ECH extension is seen wherever it stands among the extensions.
    @Test func helloRetryRequestsAndECHAreRecognised() {
        let random = TLSClientHello.helloRetryRandom
        let body: [UInt8] = [3, 3] + random + [0, 0x13, 0x01, 0, 0, 6, 0, 0x2b, 0, 2, 3, 4]
        let handshake: [UInt8] = [2, 0, 0, UInt8(body.count)] + body
        func record(_ p: [UInt8]) -> [UInt8] { [22, 3, 3, UInt8(p.count >> 8), UInt8(p.count & 255)] + p }
        #expect(TLSClientHello.isHelloRetryRequest(record(handshake)) == true)
        #expect(TLSClientHello.isHelloRetryRequest(record(Array(handshake.prefix(10))) + record(Array(handshake.dropFirst(10)))) == true)
        #expect(TLSClientHello.isHelloRetryRequest(Array(record(handshake).prefix(30))) == nil)
        var other = handshake
        other[20] ^= 1
        #expect(TLSClientHello.isHelloRetryRequest(record(other)) == false)
        #expect(TLSClientHello.isHelloRetryRequest([21, 3, 3, 0, 2, 2, 40]) == false)
        // change_cipher_spec records before a second hello are stepped over; an incomplete one waits.
        #expect(TLSClientHello.afterChangeCipherSpec([20, 3, 3, 0, 1, 1] + Self.hello) == 6)
        #expect(TLSClientHello.afterChangeCipherSpec([20, 3, 3, 0, 1]) == nil)
        // An ECH extension appended after the server name.
        var hello = Self.hello
        let extStart = Self.extensionsOffset(hello)
        let extLength = Int(hello[extStart]) << 8 | Int(hello[extStart + 1])
        let ech: [UInt8] = [0xfe, 0x0d, 0, 3, 0, 0, 0]
        hello += ech
        let newExt = extLength + ech.count
        hello[extStart] = UInt8(newExt >> 8); hello[extStart + 1] = UInt8(newExt & 255)
        let hsLength = hello.count - 9
        hello[6] = UInt8(hsLength >> 16); hello[7] = UInt8((hsLength >> 8) & 255); hello[8] = UInt8(hsLength & 255)
        let recLength = hello.count - 5
        hello[3] = UInt8(recLength >> 8); hello[4] = UInt8(recLength & 255)
        #expect(TLSClientHello.parse(hello) == .encrypted(outerName: "api.example.test"))
    }

    /// Where the extensions' length stands in a one-record ClientHello.
    static func extensionsOffset(_ h: [UInt8]) -> Int {
        var at = 9 + 2 + 32
        at += 1 + Int(h[at])
        at += 2 + (Int(h[at]) << 8 | Int(h[at + 1]))
        at += 1 + Int(h[at])
        return at
    }

    /// Found by helper-126: a hello split into thousands of one-byte records was parsed again from its
    /// start on every read. Past 256 records it is refused.
    @Test func aHelloSplitIntoTooManyRecordsIsRefused() {
        let header: [UInt8] = [1, 0, 0xFD, 0xE8]   // a ClientHello announcing 65,000 bytes
        var bytes: [UInt8] = []
        for b in header + [UInt8](repeating: 0, count: 300) { bytes += [22, 3, 1, 0, 1, b] }
        guard case .invalid(let why) = TLSClientHello.parse(bytes) else { Issue.record("not refused"); return }
        #expect(why.contains("records"), "\(why)")
        // Split over a few records, the same bytes are still read (here: more are needed).
        #expect(TLSClientHello.parse(Array(bytes.prefix(6 * 200))) == .needMore)
        // The real hello, split into records of 7 bytes and fed a byte at a time: more is needed until
        // the last byte, then it reads as it does whole, and takes every byte.
        let payload = Array(Self.hello.dropFirst(5))
        var split: [UInt8] = []
        for start in stride(from: 0, to: payload.count, by: 7) {
            let piece = payload[start..<min(payload.count, start + 7)]
            split += [22, 3, 1, UInt8(piece.count >> 8), UInt8(piece.count & 0xFF)] + piece
        }
        #expect(payload.count / 7 + 1 <= TLSClientHello.maxRecords)
        for n in stride(from: 1, to: split.count, by: 97) { #expect(TLSClientHello.parseCounting(Array(split.prefix(n))).outcome == .needMore) }
        let whole = TLSClientHello.parseCounting(split)
        #expect(whole.outcome == TLSClientHello.parse(Self.hello) && whole.length == split.count, "\(whole)")
    }
}
