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
}
