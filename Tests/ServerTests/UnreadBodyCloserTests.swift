import Foundation
import Testing

/// A request answered before its body was read (here `401`, without a token) closes its connection:
/// a client trickling the rest of a huge body held it open for ever (found by helper-207).
@Suite struct UnreadBodyCloserTests {
    /// A TCP connection to the server, with reads that give up after `timeout` seconds.
    final class Connection {
        let fd: Int32
        init(port: UInt16) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET); a.sin_port = port.bigEndian; a.sin_addr.s_addr = inet_addr("127.0.0.1")
            let r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard r == 0 else { throw POSIXError(.ECONNREFUSED) }
        }
        deinit { close(fd) }
        /// false once the server has closed the connection.
        @discardableResult func send(_ s: String) -> Bool { s.utf8CString.withUnsafeBufferPointer { Foundation.send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) } > 0 }
        func sendTimeout(seconds: Int) {
            var t = timeval(tv_sec: seconds, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &t, socklen_t(MemoryLayout<timeval>.size))
        }
        /// Sends all of `bytes`, blocking; false if the connection was reset or closed first.
        func sendAll(_ bytes: [UInt8]) -> Bool {
            var at = 0
            while at < bytes.count {
                let n = bytes.withUnsafeBytes { Foundation.send(fd, $0.baseAddress! + at, bytes.count - at, Int32(MSG_NOSIGNAL)) }
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { return false }
                at += n
            }
            return true
        }
        /// What arrives within `timeout` seconds, and whether the server closed the connection.
        func read(timeout: Double) -> (text: String, closed: Bool) {
            var out: [UInt8] = [], buf = [UInt8](repeating: 0, count: 4096)
            let end = Date().addingTimeInterval(timeout)
            while Date() < end {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, Int32(max(1, end.timeIntervalSinceNow * 1000))) > 0 else { continue }
                let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return (String(decoding: out, as: UTF8.self), true) }
                out += buf[0..<n]
            }
            return (String(decoding: out, as: UTF8.self), false)
        }
    }

    /// SIGTERM ends the server in bounded time: Hummingbird waits for every request in flight, so an
    /// upload that never ended kept a stopped server running for good. Past 10 s the request is
    /// cancelled and the server ends as it does after any shutdown (status 0, its files cleaned up).
    @Test func aStoppedServerEndsEvenWithARequestInFlight() throws {
        let s = try FleetServerProcess(["--body-grace-seconds", "120"], backend: .sqlite)
        let admin = try s.token("admin")
        let port = try #require(UInt16(s.base.split(separator: ":").last ?? ""))
        let c = try Connection(port: port)
        c.send("POST /v1/advisories/import HTTP/1.1\r\nHost: fleet\r\nAuthorization: Bearer \(admin)\r\nContent-Length: 100000\r\n\r\n{\"id\":")
        Thread.sleep(forTimeInterval: 1)
        let start = Date()
        s.process.terminate()
        while s.process.isRunning && Date().timeIntervalSince(start) < 40 { Thread.sleep(forTimeInterval: 0.2) }
        let took = Date().timeIntervalSince(start)
        #expect(!s.process.isRunning && took > 8 && took < 30, "ran \(took) s after SIGTERM")
        #expect(!s.process.isRunning && s.process.terminationReason == .exit && s.process.terminationStatus == 0)
    }

    @Test func aConnectionAnsweredBeforeItsBodyIsReadIsClosed() throws {
        let s = try FleetServerProcess(backend: .sqlite)
        let port = try #require(UInt16(s.base.split(separator: ":").last ?? ""))
        let c = try Connection(port: port)
        c.send("POST /v1/deployments HTTP/1.1\r\nHost: fleet\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{\"a\":")
        let answer = c.read(timeout: 3)
        #expect(answer.text.hasPrefix("HTTP/1.1 401") && answer.text.lowercased().contains("connection: close"), "\(answer.text.prefix(300))")
        // A byte a second: the connection is closed within the drain time, not kept for the trickle.
        // Its output is shut once the answer is out (the client reads an end); whether the server has
        // let go of it whole shows when a send is refused (a reset, then EPIPE).
        let start = Date()
        var gone = false
        while !gone && Date().timeIntervalSince(start) < 12 {
            gone = !c.send("x")
            if !gone { _ = c.read(timeout: 1) }
        }
        #expect(gone && Date().timeIntervalSince(start) < 9, "still open after \(Date().timeIntervalSince(start)) s")

        // The rest of a short body, sent after the answer: the connection closes once it is read.
        let rest = try Connection(port: port)
        rest.send("POST /v1/deployments HTTP/1.1\r\nHost: fleet\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"a\":")
        let r = rest.read(timeout: 2)
        #expect(r.text.hasPrefix("HTTP/1.1 401") && r.text.contains("a bearer token is required"), "\(r.text.prefix(300)) closed: \(r.closed)")
        let sent = Date()
        rest.send("1}   ")
        var restGone = false
        while !restGone && Date().timeIntervalSince(sent) < 4 { Thread.sleep(forTimeInterval: 0.2); restGone = !rest.send("x") }
        #expect(restGone && Date().timeIntervalSince(sent) < 3, "let go once the body ended, before the drain time")

        // A client that sends its whole body before it reads (as curl does) gets the answer, not a
        // reset: 16 MiB, past what the sockets buffer, is read to its end and dropped. Stopping after
        // 64 KiB reset the connection under the client's send ("Broken pipe" where a 413 was due), and
        // so did reading nothing at all when the request said `Connection: close` (helper-217).
        for header in ["", "Connection: close\r\n"] {
            let fast = try Connection(port: port)
            fast.sendTimeout(seconds: 10)   // a stalled send fails the test, not hangs it
            let size = 16 << 20
            var sentAll = fast.send("POST /v1/deployments HTTP/1.1\r\nHost: fleet\r\n\(header)Content-Type: application/json\r\nContent-Length: \(size)\r\n\r\n")
            let chunk = [UInt8](repeating: 0x61, count: 1 << 20)
            for _ in 0..<(size >> 20) where sentAll { sentAll = fast.sendAll(chunk) }
            let fastAnswer = fast.read(timeout: 3)
            #expect(sentAll && fastAnswer.text.hasPrefix("HTTP/1.1 401") && fastAnswer.closed, "\(header) sent whole: \(sentAll), \(fastAnswer.text.prefix(200))")
        }

        // A request read whole before its answer keeps its connection: the next one is answered too.
        let kept = try Connection(port: port)
        kept.send("GET /healthz HTTP/1.1\r\nHost: fleet\r\n\r\n")
        let first = kept.read(timeout: 1)
        kept.send("GET /healthz HTTP/1.1\r\nHost: fleet\r\n\r\n")
        let second = kept.read(timeout: 1)
        #expect(first.text.hasPrefix("HTTP/1.1 200") && !first.closed && second.text.hasPrefix("HTTP/1.1 200") && !second.closed, "\(first) \(second)")

        // Pipelined requests, each read whole, are each answered on a connection kept open: the next
        // request's head, read ahead, is not the one being answered (found by helper-209).
        let piped = try Connection(port: port)
        piped.send("GET /healthz HTTP/1.1\r\nHost: fleet\r\n\r\nPOST /v1/deployments HTTP/1.1\r\nHost: fleet\r\nContent-Length: 2\r\n\r\n{}GET /healthz HTTP/1.1\r\nHost: fleet\r\n\r\n")
        var got = "", pipedClosed = false
        for _ in 0..<3 where got.components(separatedBy: "HTTP/1.1 ").count - 1 < 3 {
            let r = piped.read(timeout: 1)
            got += r.text; pipedClosed = pipedClosed || r.closed
        }
        let statuses = got.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
        #expect(statuses == ["200", "401", "200"] && !pipedClosed && !got.lowercased().contains("connection: close"), "\(statuses) closed: \(pipedClosed)")
    }
}
