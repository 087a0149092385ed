import Testing
@testable import Guard

@Suite struct ResponseFramerTests {
    static func frame(_ text: String, method: String = "GET", keep: Bool = true, split: Int = 1) throws -> (String, ResponseFramer) {
        var f = ResponseFramer(requestMethod: method, clientKeepsAlive: keep)
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let piece = Array(bytes[i..<min(bytes.count, i + split)])
            out += try f.feed(piece).emit
            i += split
        }
        return (String(decoding: out, as: UTF8.self), f)
    }

    @Test func chunkedAndLengthBodiesEndWhereTheySayWhateverTheSplit() throws {
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\n\r\n5;ext=1\r\nhello\r\n0\r\nTrailer: t\r\n\r\n"
        for split in [1, 3, 7, 1000] {
            let (out, f) = try Self.frame(chunked, split: split)
            #expect(f.phase == .done && f.reusable && !f.upstreamReusable, "split \(split)")
            // Hop-by-hop headers (and those Connection names) go; the proxy says what it will do itself.
            #expect(out.hasPrefix("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n5;ext=1\r\nhello"))
        }
        let (_, fixed) = try Self.frame("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab")
        #expect(fixed.phase == .fixed(remaining: 1))
        #expect(try Self.frame("HTTP/1.1 204 No Content\r\n\r\n").1.phase == .done)
        #expect(try Self.frame("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", method: "HEAD").1.phase == .done)
        // No length: the body runs to the end, and the client's connection closes after it.
        let (out, open) = try Self.frame("HTTP/1.1 200 OK\r\n\r\nrest")
        #expect(open.phase == .untilClose && !open.reusable && out.contains("Connection: close"))
    }

    @Test func ambiguousOrTrailingBytesAreRefused() {
        #expect(throws: ResponseFramer.Failure.self) { try Self.frame("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n") }
        #expect(throws: ResponseFramer.Failure.self) { try Self.frame("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") }
        #expect(throws: ResponseFramer.Failure.self) { try Self.frame("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab") }
        #expect(throws: ResponseFramer.Failure.self) { try Self.frame("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") }
        #expect(throws: ResponseFramer.Failure.self) { try Self.frame("HTTP/1.1 100 Continue\r\n\r\n") }
    }
}
