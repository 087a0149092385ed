import Foundation
import Testing
import TestSupport

/// The real `provenant guard proxy` over real loopback sockets, against real upstreams (Python's HTTP
/// server and a TCP echo server), probed by a client that speaks raw HTTP and real TLS ClientHellos.
@Suite(.serialized) struct ProxyTests {
    static let known = "agent-Secret-Value-123/xyz"
    /// A known value of token characters only: a valid HTTP method, and a host label.
    static let knownWord = "9f3c1a7e5b2d4f6a8c0e1b3d5f7a9c2e"

    /// A started process with its standard error collected; `line(containing:)` waits for a line.
    /// A started process whose output and errors go to a file (a pipe read on Linux could block to its
    /// end); `waitFor` polls the file for a line.
    final class Running: @unchecked Sendable {
        let process = Process()
        let log: String
        init(_ path: String, _ args: [String], log: String) throws {
            self.log = log
            FileManager.default.createFile(atPath: log, contents: nil)
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = args
            process.standardError = h
            process.standardOutput = h
            try process.run()
        }
        var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        /// The first line holding `text`, waiting up to `seconds`.
        func waitFor(_ text: String, seconds: Double = 30) -> String? {
            let end = Date().addingTimeInterval(seconds)
            while Date() < end {
                if let l = output.split(separator: "\n").first(where: { $0.contains(text) }) { return String(l) }
                usleep(50_000)
            }
            return nil
        }
        /// SIGTERM, then SIGKILL after two seconds: a child may inherit a signal mask that blocks SIGTERM.
        func stop() {
            guard process.isRunning else { return }
            process.terminate()
            let end = Date().addingTimeInterval(2)
            while process.isRunning && Date() < end { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }

    static func fixture(_ name: String) throws -> String {
        try #require(Bundle.module.url(forResource: "Fixtures/proxy/\(name)", withExtension: "py")).path
    }

    static func manifest(httpPort: Int, echoPort: Int, resetPort: Int, floodPort: Int, retryPort: Int, api: Bool = true) -> String {
        """
        apiVersion: provenant.dev/v1
        kind: Agent
        name: agent
        egress:
        \(api ? "  - host: api.example.test\n    ports: [\(httpPort), \(echoPort), \(resetPort), \(floodPort), \(retryPort)]\n" : "")\
          - host: meta.example.test
            ports: [\(httpPort)]
          - host: rebind.example.test
            ports: [\(httpPort)]
          - cidr: 127.0.0.1/32
            ports: [\(httpPort), \(echoPort), \(resetPort), \(floodPort), \(retryPort)]
        """
    }

    /// The upstreams and the proxy, started in a fresh temporary directory that `stop` removes.
    struct Harness {
        let upstream: Running, proxy: Running
        let httpPort: Int, echoPort: Int, resetPort: Int, floodPort: Int, retryPort: Int, proxyPort: Int
        let manifestPath: String, auditPath: String
        let dir: URL
        func stop() { proxy.stop(); upstream.stop(); try? FileManager.default.removeItem(at: dir) }

        /// Starts everything in a directory named after `tag`, removed again when starting fails.
        static func start(_ tag: String, headerTimeout: Int = 3, idleTimeout: Int = 300) throws -> Harness {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("guard-\(tag)-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            do { return try Harness(dir: dir, headerTimeout: headerTimeout, idleTimeout: idleTimeout) } catch {
                try? FileManager.default.removeItem(at: dir)
                throw error
            }
        }

        private init(dir: URL, headerTimeout: Int, idleTimeout: Int) throws {
            self.dir = dir
            upstream = try Running("/usr/bin/env", ["python3", "-u", try ProxyTests.fixture("upstream")], log: dir.appendingPathComponent("upstream.log").path)
            let ready = try #require(upstream.waitFor("http="), "\(upstream.output)")
            let ports = ready.split(separator: " ").compactMap { Int($0.split(separator: "=").last ?? "") }
            try #require(ports.count == 5)
            (httpPort, echoPort, resetPort, floodPort, retryPort) = (ports[0], ports[1], ports[2], ports[3], ports[4])
            manifestPath = dir.appendingPathComponent("agent.yaml").path
            try ProxyTests.manifest(httpPort: httpPort, echoPort: echoPort, resetPort: resetPort, floodPort: floodPort, retryPort: retryPort).write(toFile: manifestPath, atomically: true, encoding: .utf8)
            try "AGENT_KEY=\(ProxyTests.known)\nAGENT_WORD=\(ProxyTests.knownWord)\n".write(toFile: dir.appendingPathComponent("creds.env").path, atomically: true, encoding: .utf8)
            auditPath = dir.appendingPathComponent("audit.jsonl").path
            proxy = try Running(provenantBinary, ["guard", "proxy", "--manifest", manifestPath, "--listen", "127.0.0.1:0",
                                                  "--known", dir.appendingPathComponent("creds.env").path, "--audit", auditPath,
                                                  "--resolve", "api.example.test=127.0.0.1", "--resolve", "rebind.example.test=10.0.0.1",
                                                  "--resolve", "meta.example.test=169.254.169.254", "--header-timeout", "\(headerTimeout)",
                                                  "--idle-timeout", "\(idleTimeout)"],
                                log: dir.appendingPathComponent("proxy.log").path)
            let listening = try #require(proxy.waitFor("listening on"), "\(proxy.output)")
            proxyPort = try #require(Int(listening.split(separator: ":").last ?? ""))
        }
    }

    /// A tunnel whose client never reads from an upstream that sends as fast as it can: the proxy stops
    /// reading the upstream instead of buffering it.
    @Test func aClientThatDoesNotReadDoesNotFillTheProxy() throws {
        let h = try Harness.start("flood")
        defer { h.stop() }
        let r = try runProcess("/usr/bin/env", ["python3", "-c", """
            import socket, time
            s = socket.create_connection(('127.0.0.1', \(h.proxyPort)))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            s.sendall(b'CONNECT 127.0.0.1:\(h.floodPort) HTTP/1.1\\r\\n\\r\\n')
            print(s.recv(100).split(b'\\r\\n')[0].decode(), flush=True)
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
            i, o = ssl.MemoryBIO(), ssl.MemoryBIO(); t = ctx.wrap_bio(i, o)
            try: t.do_handshake()
            except ssl.SSLWantReadError: pass
            s.sendall(o.read())
            time.sleep(4)
            print(open('/proc/\(h.proxy.process.processIdentifier)/status').read().split('VmRSS:')[1].split()[0])
            """])
        let lines = r.out.split(separator: "\n")
        #expect(lines.first?.contains("200") == true, "\(r.out) \(r.err)")
        let rssKiB = Int(lines.last ?? "") ?? Int.max
        #expect(rssKiB < 200 * 1024, "proxy RSS \(rssKiB) KiB while a client does not read")
    }

    /// A tunnel whose client reads as fast as it can carries bulk data without stalling: the relay's
    /// batched flushes and its pausing and resuming on writability let 256 MiB through well within time.
    @Test func aTunnelCarriesBulkDataWithoutStalling() throws {
        let h = try Harness.start("bulk")
        defer { h.stop() }
        let r = try runProcess("/usr/bin/env", ["python3", "-c", """
            import socket, ssl, time
            s = socket.create_connection(('127.0.0.1', \(h.proxyPort)))
            s.settimeout(20)
            s.sendall(b'CONNECT 127.0.0.1:\(h.floodPort) HTTP/1.1\\r\\n\\r\\n')
            head = b''
            while b'\\r\\n\\r\\n' not in head:
                head += s.recv(1)
            print(head.split(b'\\r\\n')[0].decode(), flush=True)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
            i, o = ssl.MemoryBIO(), ssl.MemoryBIO(); t = ctx.wrap_bio(i, o)
            try: t.do_handshake()
            except ssl.SSLWantReadError: pass
            s.sendall(o.read())
            buf = bytearray(1 << 20); n = 0; start = time.monotonic()
            try:
                while n < (256 << 20):
                    k = s.recv_into(buf)
                    if not k: break
                    n += k
            except socket.timeout:
                pass
            print(n, round(time.monotonic() - start, 1))
            """])
        let lines = r.out.split(separator: "\n")
        #expect(lines.first?.contains("200") == true, "\(r.out) \(r.err)")
        let got = Int(lines.last?.split(separator: " ").first ?? "") ?? 0
        #expect(got >= 256 << 20, "the tunnel carried \(got) bytes, then stalled: \(r.out) \(r.err)")
    }

    /// With too few descriptors left for the signal watch (libdispatch opens one signalfd per signal
    /// after the listening socket), the proxy would ignore SIGTERM for good: it refuses to start instead.
    /// The check for its event loops' descriptors, made before any is opened, keeps room for the
    /// watch too, so it is the one that refuses here; the watch's own check stays for descriptors
    /// taken between the two.
    @Test func aProxyThatCannotWatchItsSignalsDoesNotStart() throws {
        let h = try Harness.start("signals")
        defer { h.stop() }
        let pid = h.proxy.process.processIdentifier
        let fds = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).compactMap(Int.init)
        let signalfds = fds.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) == "anon_inode:[signalfd]" }
        #expect(signalfds.count == 3, "\(fds)")
        // The same proxy, allowed every descriptor it held but the last signal watch's.
        let limit = try #require(signalfds.max())
        let log = h.dir.appendingPathComponent("short.log").path
        // Its very command line, so it opens the same descriptors in the same order.
        let cmdline = try #require(FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"))
        let args = cmdline.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
        #expect(args.first == provenantBinary && args.contains("--audit"), "\(args)")
        let short = try Running("/bin/sh", ["-c", "ulimit -n \(limit) && exec \"$0\" \"$@\""] + args, log: log)
        defer { short.stop() }
        let end = Date().addingTimeInterval(30)
        while short.process.isRunning && Date() < end { usleep(50_000) }
        #expect(!short.process.isRunning, "still running: \(short.output)")
        if !short.process.isRunning {
            #expect(short.process.terminationStatus == 2, "\(short.output)")
            #expect(short.output.contains("cannot watch SIGTERM, SIGINT and SIGHUP") || short.output.contains("the proxy needs about"), "\(short.output)")
            #expect(!short.output.contains("listening on"), "\(short.output)")
        }
    }

    /// A tunnel opened on a connection whose earlier request's upstream has ended keeps the client's
    /// half-close a half-close: what the server sends back after it still arrives. Found by review:
    /// the ended upstream's mark carried over to the tunnel, which then closed at the client's FIN.
    @Test func aTunnelAfterAKeptAliveRequestCarriesTheAnswerAfterAHalfClose() throws {
        let h = try Harness.start("halfclose")
        defer { h.stop() }
        let r = try runProcess("/usr/bin/env", ["python3", "-c", """
            import socket, ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
            i, o = ssl.MemoryBIO(), ssl.MemoryBIO(); t = ctx.wrap_bio(i, o)
            try: t.do_handshake()
            except ssl.SSLWantReadError: pass
            first = o.read()
            \(Self.getThenConnect(h))
            for run in range(5):
                s, head = get_then_connect()
                s.sendall(first)
                got = b''
                while len(got) < len(first):
                    got += s.recv(65536)
                s.sendall(b'the-last-words')
                s.shutdown(socket.SHUT_WR)
                tail = b''
                while True:
                    k = s.recv(65536)
                    if not k: break
                    tail += k
                print('run', run, head.split(b'\\r\\n')[0].decode(), tail.decode(errors='replace'), flush=True)
                s.close()
            """])
        let lines = r.out.split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "\(r.out) \(r.err)")
        for line in lines { #expect(line.contains(" 200 ") && line.hasSuffix(" the-last-words"), "\(line)") }
    }

    /// The idle timeout, over real sockets: an upstream that takes a request and does not answer gets
    /// the client a 504 once it passes, and a tunnel with no bytes either way is closed; neither before.
    @Test func idleUpstreamsAndTunnelsAreClosedAtTheIdleTimeout() throws {
        let h = try Harness.start("idle", idleTimeout: 2)
        defer { h.stop() }
        let r = try runProcess("/usr/bin/env", ["python3", "-c", """
            import socket, ssl, time
            s = socket.create_connection(('127.0.0.1', \(h.proxyPort)), timeout=15)
            start = time.monotonic()
            s.sendall(b'GET http://api.example.test:\(h.httpPort)/silent HTTP/1.1\\r\\nHost: api.example.test:\(h.httpPort)\\r\\n\\r\\n')
            data = b''
            while True:
                k = s.recv(4096)
                if not k: break
                data += k
            print('silent', data.split(b' ')[1].decode(), round(time.monotonic() - start, 1), flush=True)
            s = socket.create_connection(('127.0.0.1', \(h.proxyPort)), timeout=15)
            s.sendall(b'CONNECT 127.0.0.1:\(h.echoPort) HTTP/1.1\\r\\n\\r\\n')
            head = b''
            while b'\\r\\n\\r\\n' not in head:
                head += s.recv(1)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
            i, o = ssl.MemoryBIO(), ssl.MemoryBIO(); t = ctx.wrap_bio(i, o)
            try: t.do_handshake()
            except ssl.SSLWantReadError: pass
            hello = o.read()
            s.sendall(hello)
            echoed = b''
            while len(echoed) < len(hello):
                echoed += s.recv(65536)
            start = time.monotonic()
            rest = s.recv(1)
            print('tunnel', head.split(b' ')[1].decode(), echoed == hello, rest == b'', round(time.monotonic() - start, 1), flush=True)
            """])
        let lines = r.out.split(separator: "\n").map { $0.split(separator: " ") }
        let silent = try #require(lines.first { $0.first == "silent" }, "\(r.out) \(r.err)")
        #expect(silent.count == 3 && silent[1] == "504", "\(r.out)")
        let waited = Double(silent.last ?? "") ?? 0
        #expect(waited >= 1.5 && waited < 8, "answered after \(waited) s with a 2 s idle timeout")
        let tunnel = try #require(lines.first { $0.first == "tunnel" }, "\(r.out) \(r.err)")
        #expect(tunnel.count == 5 && tunnel[1] == "200" && tunnel[2] == "True" && tunnel[3] == "True", "\(r.out)")
        let quiet = Double(tunnel.last ?? "") ?? 0
        #expect(quiet >= 1.5 && quiet < 8, "the quiet tunnel closed after \(quiet) s with a 2 s idle timeout")
        let audit = try String(contentsOfFile: h.auditPath, encoding: .utf8)
        #expect(audit.contains("upstream-timeout"), "\(audit)")
    }

    /// Found by helper-141: a `--known` value sent as the method reached the audit line whole, and one
    /// sent as a host name came back whole in the refusal's header and body, which only the redactor
    /// (not the known values) had masked.
    @Test func knownValuesAreMaskedInTheMethodAndTheRefusal() throws {
        let h = try Harness.start("known-echo")
        defer { h.stop() }
        let word = Self.knownWord
        let r = try runProcess("/usr/bin/env", ["python3", "-c", """
            import socket
            def ask(raw):
                s = socket.create_connection(('127.0.0.1', \(h.proxyPort)), timeout=10)
                s.sendall(raw)
                data = b''
                while True:
                    k = s.recv(65536)
                    if not k: break
                    data += k
                s.close()
                return data
            print(repr(ask(b'\(word) http://127.0.0.1:\(h.httpPort)/ HTTP/1.1\\r\\nHost: 127.0.0.1:\(h.httpPort)\\r\\n\\r\\n')))
            print(repr(ask(b'GET http://\(word).example.org/ HTTP/1.1\\r\\nHost: \(word).example.org\\r\\n\\r\\n')))
            """])
        let lines = r.out.split(separator: "\n")
        #expect(lines.count == 2 && lines.allSatisfy { $0.contains("403") }, "\(r.out) \(r.err)")
        #expect(!r.out.lowercased().contains(word.lowercased()) && r.out.contains("REDACTED"), "\(r.out)")
        var audit = ""
        for _ in 0..<50 {
            audit = (try? String(contentsOfFile: h.auditPath, encoding: .utf8)) ?? ""
            if audit.split(separator: "\n").count >= 2 { break }
            usleep(100_000)
        }
        #expect(audit.split(separator: "\n").count >= 2 && !audit.lowercased().contains(word.lowercased()), "\(audit)")
    }

    /// Found by review: a plain request's kept-alive upstream was orphaned when a CONNECT followed on the
    /// same client connection (a descriptor per connection, for good). And a client that stops reading
    /// a large response is let go at the idle timeout, with its upstream, while its socket stays open.
    @Test func replacedUpstreamsAndStalledReadersAreClosed() throws {
        let h = try Harness.start("orphans", headerTimeout: 2, idleTimeout: 3)
        defer { h.stop() }
        let pid = h.proxy.process.processIdentifier
        let before = Self.openDescriptors(pid)
        let r = try runProcess("/usr/bin/env", ["python3", "-c", """
            import socket, ssl, time
            def hello():
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
                i, o = ssl.MemoryBIO(), ssl.MemoryBIO(); t = ctx.wrap_bio(i, o)
                try: t.do_handshake()
                except ssl.SSLWantReadError: pass
                return o.read()
            echoed = 0
            \(Self.getThenConnect(h))
            for _ in range(20):
                s, head = get_then_connect()
                first = hello()
                s.sendall(first)
                got = b''
                while len(got) < len(first):
                    got += s.recv(65536)
                echoed += got == first
                s.close()
            print('echoed', echoed, flush=True)
            # A client that asks for 8 MiB, does not read it, and then starts a second head.
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(('127.0.0.1', \(h.proxyPort)))
            s.sendall(b'GET http://api.example.test:\(h.httpPort)/big HTTP/1.1\\r\\nHost: api.example.test:\(h.httpPort)\\r\\n\\r\\n')
            time.sleep(1)
            s.sendall(b'GET http://api.example.test:\(h.httpPort)/x HTTP/1.1\\r\\nHo')
            # Still open here: the proxy must let go of it (and its upstream) by itself.
            import os
            def sockets():
                n = 0
                for f in os.listdir('/proc/\(pid)/fd'):
                    try: n += os.readlink('/proc/\(pid)/fd/' + f).startswith('socket:')
                    except OSError: pass
                return n
            start = time.monotonic()
            while time.monotonic() - start < 15 and sockets() > \(before):
                time.sleep(0.2)
            print('held', sockets() - \(before), round(time.monotonic() - start, 1), flush=True)
            """])
        #expect(r.out.contains("held 0 ") || r.out.contains("held -"), "the stalled reader's connection is still open: \(r.out) \(r.err)")
        #expect(r.out.contains("echoed 20"), "\(r.out) \(r.err)")
        var after = Self.openDescriptors(pid)
        let end = Date().addingTimeInterval(20)
        while after > before && Date() < end { usleep(200_000); after = Self.openDescriptors(pid) }
        #expect(after <= before, "descriptors: \(before) before, \(after) after")
    }

    /// The sockets the proxy holds: what a connection it failed to let go of keeps open. Other
    /// descriptors are not counted: libdispatch opens the signal watch's after the ready line, and a
    /// loaded machine once let a count fall between the two (three signalfds "held" for good).
    /// A Python client's function: a kept-alive GET through the proxy, then a CONNECT to the echo
    /// upstream on the same connection; gives the socket and the CONNECT's answer head.
    static func getThenConnect(_ h: Harness) -> String {
        """
        def get_then_connect():
            s = socket.create_connection(('127.0.0.1', \(h.proxyPort)), timeout=10)
            s.sendall(b'GET http://api.example.test:\(h.httpPort)/k HTTP/1.1\\r\\nHost: api.example.test:\(h.httpPort)\\r\\n\\r\\n')
            data = b''
            while b'}' not in data:
                data += s.recv(4096)
            s.sendall(b'CONNECT 127.0.0.1:\(h.echoPort) HTTP/1.1\\r\\n\\r\\n')
            head = b''
            while b'\\r\\n\\r\\n' not in head:
                head += s.recv(1)
            return s, head
        """
    }

    static func openDescriptors(_ pid: Int32) -> Int {
        let dir = "/proc/\(pid)/fd"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return -1 }
        return names.filter { ((try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/" + $0)) ?? "").hasPrefix("socket:") }.count
    }

    /// Mixed good and bad clients: every request is answered or dropped, the proxy stays up, and once
    /// the header timeouts and lingering closes have run, it holds no more descriptors than before.
    @Test func aSoakOfMixedClientsLeavesNoDescriptorsBehind() throws {
        let h = try Harness.start("soak", headerTimeout: 2)
        defer { h.stop() }
        let pid = h.proxy.process.processIdentifier
        let before = Self.openDescriptors(pid)
        let total = Int(ProcessInfo.processInfo.environment["PROVENANT_SOAK_REQUESTS"] ?? "") ?? 2000
        let soak = try runProcess("/usr/bin/env", ["python3", try Self.fixture("soak"), "\(h.proxyPort)", "\(h.httpPort)", "\(h.echoPort)", "\(h.resetPort)", "\(total)"])
        #expect(soak.code == 0, "\(soak.err)")
        let counts = try #require(try JSONSerialization.jsonObject(with: Data(soak.out.utf8)) as? [String: Int], "\(soak.out)")
        let eighth = total / 8
        #expect(counts["allowed-200"] == eighth && counts["halfclose-200"] == eighth, "\(counts)")
        #expect(counts["denied-403"] == eighth && counts["malformed-400"] == eighth && counts["huge-431"] == eighth, "\(counts)")
        #expect(h.proxy.process.isRunning)
        // Header timeouts (2 s) and lingering closes (2 s) release the last connections.
        var after = Self.openDescriptors(pid)
        let end = Date().addingTimeInterval(40)
        while after > before && Date() < end { usleep(200_000); after = Self.openDescriptors(pid) }
        #expect(after <= before, "descriptors: \(before) before, \(after) after \(total) requests")
        // And it still serves.
        let again = try runProcess("/usr/bin/env", ["python3", "-c", """
            import socket; s = socket.create_connection(('127.0.0.1', \(h.proxyPort)))
            s.sendall(b'GET http://api.example.test:\(h.httpPort)/ HTTP/1.1\\r\\nHost: api.example.test:\(h.httpPort)\\r\\n\\r\\n')
            print(s.recv(200).split(b'\\r\\n')[0].decode())
            """])
        #expect(again.out.contains("200"), "\(again.out) \(again.err)")
    }

    /// Found by helper-126, over real sockets: `Expect: 100-continue` went upstream and its interim
    /// answer broke the request; a keep-alive connection kept using an address a reload had taken
    /// away; and an egress entry declared for UDP let TCP through the proxy.
    @Test func expectReloadsOnReusedConnectionsAndUDPEntries() throws {
        let h = try Harness.start("reuse")
        defer { h.stop() }
        let withoutCIDR = h.dir.appendingPathComponent("no-cidr.yaml").path
        try "name: agent\negress:\n  - host: api.example.test\n    ports: [\(h.httpPort)]\n".write(toFile: withoutCIDR, atomically: true, encoding: .utf8)
        let udpOnly = h.dir.appendingPathComponent("udp.yaml").path
        try "name: agent\negress:\n  - cidr: 127.0.0.1/32\n    protocol: UDP\n    ports: [\(h.httpPort)]\n".write(toFile: udpOnly, atomically: true, encoding: .utf8)
        let script = """
            import json, os, shutil, signal, socket, sys, time
            proxy, port, pid, manifest, log, no_cidr, udp = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
            def response(s):
                data = b""
                while b"\\r\\n\\r\\n" not in data:
                    c = s.recv(65536)
                    if not c: return data.decode(errors="replace")
                    data += c
                head, _, body = data.partition(b"\\r\\n\\r\\n")
                n = 0
                for l in head.split(b"\\r\\n"):
                    if l.lower().startswith(b"content-length:"): n = int(l.split(b":")[1])
                while len(body) < n:
                    c = s.recv(65536)
                    if not c: break
                    body += c
                return (head + b"\\r\\n\\r\\n" + body).decode(errors="replace")
            def reload(path, k):
                shutil.copyfile(path, manifest)
                os.kill(pid, signal.SIGHUP)
                for _ in range(200):
                    if open(log).read().count("manifest reloaded") >= k: return
                    time.sleep(0.05)
            out = {}
            s = socket.create_connection(("127.0.0.1", proxy))
            target = "http://api.example.test:%d/x" % port
            s.sendall(("POST %s HTTP/1.1\\r\\nHost: api.example.test:%d\\r\\nContent-Length: 5\\r\\nExpect: 100-continue\\r\\n\\r\\n" % (target, port)).encode())
            s.settimeout(5)
            interim = s.recv(200).decode(errors="replace")
            out["interim"] = interim.split("\\r\\n")[0]
            s.sendall(b"hello")
            r = response(s)
            out["expect"] = r.split("\\r\\n")[0]
            out["expect-forwarded"] = '"expect"' in r
            s.sendall(("GET %s HTTP/1.1\\r\\nHost: api.example.test:%d\\r\\n\\r\\n" % (target, port)).encode())
            out["before"] = response(s).split("\\r\\n")[0]
            reload(no_cidr, 1)
            s.sendall(("GET %s HTTP/1.1\\r\\nHost: api.example.test:%d\\r\\n\\r\\n" % (target, port)).encode())
            out["reused-after-reload"] = response(s).split("\\r\\n")[0]
            reload(udp, 2)
            u = socket.create_connection(("127.0.0.1", proxy))
            u.sendall(("GET http://127.0.0.1:%d/ HTTP/1.1\\r\\nHost: 127.0.0.1:%d\\r\\n\\r\\n" % (port, port)).encode())
            out["udp-declared"] = response(u).split("\\r\\n")[0]
            print(json.dumps(out))
            """
        let r = try runProcess("/usr/bin/env", ["python3", "-c", script, "\(h.proxyPort)", "\(h.httpPort)", "\(h.proxy.process.processIdentifier)",
                                                h.manifestPath, h.proxy.log, withoutCIDR, udpOnly])
        let out = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.out) \(r.err)")
        #expect(out["interim"] as? String == "HTTP/1.1 100 Continue", "\(out)")
        #expect((out["expect"] as? String)?.hasPrefix("HTTP/1.1 200") == true && out["expect-forwarded"] as? Bool == false, "\(out)")
        #expect((out["before"] as? String)?.hasPrefix("HTTP/1.1 200") == true, "\(out)")
        #expect((out["reused-after-reload"] as? String)?.hasPrefix("HTTP/1.1 403") == true, "\(out)")
        #expect((out["udp-declared"] as? String)?.hasPrefix("HTTP/1.1 403") == true, "\(out)")
    }

    @Test func decisionsOverRealSocketsWithAuditLines() throws {
        let h = try Harness.start("proxy")
        defer { h.stop() }
        let (httpPort, echoPort, resetPort, proxyPort, manifestPath, auditPath, proxy) = (h.httpPort, h.echoPort, h.resetPort, h.proxyPort, h.manifestPath, h.auditPath, h.proxy)

        let client = try runProcess("/usr/bin/env", ["python3", try Self.fixture("client"), "\(proxyPort)", "\(httpPort)", "\(echoPort)", Self.known, "\(h.retryPort)"])
        #expect(client.code == 0, "\(client.err)")
        var probes: [String: [String: Any]] = [:]
        for line in client.out.split(separator: "\n") {
            if let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let p = o["probe"] as? String { probes[p] = o }
        }
        func status(_ p: String) -> Int? { probes[p]?["status"] as? Int }
        func reason(_ p: String) -> String { probes[p]?["reason"] as? String ?? "" }

        // Allowed: forwarded in origin-form, hop-by-hop headers dropped.
        #expect(status("allowed") == 200, "\(probes["allowed"] ?? [:])")
        let echoed = try #require(try JSONSerialization.jsonObject(with: Data((probes["allowed"]?["body"] as? String ?? "").utf8)) as? [String: Any])
        #expect(echoed["path"] as? String == "/v1/items?q=1")
        #expect((echoed["headers"] as? [String: String])?["proxy-connection"] == nil)
        // Denied, each with its reason.
        #expect(status("undeclared-host") == 403 && reason("undeclared-host").hasPrefix("undeclared-host"))
        #expect(status("undeclared-port") == 403 && reason("undeclared-port").hasPrefix("undeclared-port"))
        #expect(status("host-mismatch") == 403 && reason("host-mismatch").hasPrefix("host-mismatch"))
        #expect(status("http10-no-host") == 200, "\(probes["http10-no-host"] ?? [:])")
        let old = try #require(try JSONSerialization.jsonObject(with: Data((probes["http10-no-host"]?["body"] as? String ?? "").utf8)) as? [String: Any])
        #expect((old["headers"] as? [String: String])?["host"] == "api.example.test:\(httpPort)", "\(old)")
        #expect(status("http11-no-host") == 403 && reason("http11-no-host").hasPrefix("host-mismatch"))
        #expect(status("rebinding") == 403 && reason("rebinding").hasPrefix("private"), "\(reason("rebinding"))")
        #expect(status("metadata") == 403 && reason("metadata").hasPrefix("link-local"))
        #expect(status("integer-literal") == 403 && reason("integer-literal").hasPrefix("non-canonical-ipv4-literal"))
        #expect(status("userinfo") == 403 && reason("userinfo").hasPrefix("userinfo"))
        #expect(status("known-secret-base64") == 403 && reason("known-secret-base64").hasPrefix("leak:known:creds/AGENT_KEY"))
        #expect(status("known-secret-base64-wrapped") == 403 && reason("known-secret-base64-wrapped").hasPrefix("leak:known:creds/AGENT_KEY"), "\(reason("known-secret-base64-wrapped"))")
        for probe in ["known-secret-base64-wrapped-form", "known-secret-base64-wrapped-indented", "known-secret-base64-wrapped-spaces",
                      "known-secret-base64-wrapped-quoted", "known-secret-base64-wrapped-form-indented"] {
            #expect(status(probe) == 403 && reason(probe).hasPrefix("leak:known:creds/AGENT_KEY"), "\(probe): \(reason(probe))")
        }
        #expect(status("known-secret-partly-escaped") == 403 && reason("known-secret-partly-escaped").hasPrefix("leak:known:creds/AGENT_KEY"))
        #expect(status("known-secret-json-escaped") == 403 && reason("known-secret-json-escaped").hasPrefix("leak:known:creds/AGENT_KEY"))
        #expect(status("gzip-body") == 415 && status("connection-smuggle") == 400)
        #expect(status("secret-in-target") == 400)
        #expect(status("github-token-header") == 403 && reason("github-token-header").hasPrefix("leak:github"))
        #expect(status("github-token-base64-body") == 403 && reason("github-token-base64-body").hasPrefix("leak:github"), "\(reason("github-token-base64-body"))")
        #expect(!reason("known-secret-base64").contains(Self.known) && !reason("known-secret-base64").contains("REDACTED"), "\(reason("known-secret-base64"))")
        #expect(status("malformed") == 400 && status("bare-lf") == 400)
        #expect(status("huge-header") == 431)
        #expect(status("chunked") == 411)
        #expect(status("after-abuse") == 200)
        // Keep-alive and pipelining: both answered, in order, the first one kept open; a denied host after
        // an allowed one on the same connection is still denied and never reaches the upstream.
        #expect(probes["keep-alive"]?["answers"] as? Int == 2 && probes["keep-alive"]?["order"] as? Bool == true
                && probes["keep-alive"]?["kept"] as? Int == 1, "\(probes["keep-alive"] ?? [:])")
        #expect(probes["keep-alive-then-denied"]?["answers"] as? Int == 1 && probes["keep-alive-then-denied"]?["denied"] as? Int == 1,
                "\(probes["keep-alive-then-denied"] ?? [:])")
        // Tunnels: the ClientHello must name the CONNECT host; half-closed tunnels still carry the answer.
        #expect(status("tunnel-ok") == 200 && probes["tunnel-ok"]?["echo"] as? Bool == true, "\(probes["tunnel-ok"] ?? [:])")
        #expect(probes["tunnel-sni-mismatch"]?["echo"] as? Bool == false)
        #expect(probes["tunnel-no-tls"]?["echo"] as? Bool == false)
        #expect(status("tunnel-undeclared") == 403)
        // ECH hides the name a hello asks for: denied. After a HelloRetryRequest the second hello is
        // checked too: the same name passes, another name never reaches the upstream.
        #expect(status("tunnel-ech") == 200 && probes["tunnel-ech"]?["echo"] as? Bool == false, "\(probes["tunnel-ech"] ?? [:])")
        #expect(probes["retry-same-name"]?["retry"] as? Bool == true && probes["retry-same-name"]?["echo"] as? Bool == true, "\(probes["retry-same-name"] ?? [:])")
        #expect(probes["retry-other-name"]?["retry"] as? Bool == true && probes["retry-other-name"]?["echo"] as? Bool == false, "\(probes["retry-other-name"] ?? [:])")
        #expect(probes["retry-early-same-name"]?["echo"] as? Bool == true, "\(probes["retry-early-same-name"] ?? [:])")
        #expect(probes["retry-early-other-name"]?["echo"] as? Bool == false, "\(probes["retry-early-other-name"] ?? [:])")
        // Only the three allowed plain requests (one of them HTTP/1.0) reached the upstream: the
        // blocked ones sent nothing.
        let count = try #require(try JSONSerialization.jsonObject(with: Data((probes["after-abuse"]?["body"] as? String ?? "").utf8)) as? [String: Any])
        #expect(count["n"] as? Int == 3)

        // The audit log: one line per connection, the decision and rule, never the secret.
        usleep(300_000)
        let audit = try String(contentsOfFile: auditPath, encoding: .utf8)
        #expect(!audit.contains(Self.known) && !audit.contains("ghp_R7wQ2bX9"))
        // A refused second ClientHello is audited as the refusal it is, not as the tunnel it was.
        #expect(audit.components(separatedBy: "after a HelloRetryRequest").count - 1 == 2, "\(audit)")
        let lines = audit.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.count >= probes.count, "\(lines.count) audit lines for \(probes.count) probes")
        let allowed = try #require(lines.first { $0["decision"] as? String == "allow" && $0["method"] as? String == "GET" })
        #expect(allowed["address"] as? String == "127.0.0.1" && allowed["host"] as? String == "api.example.test")
        #expect((allowed["bytesDown"] as? Int ?? 0) > 0)
        #expect(lines.contains { $0["rule"] as? String == "sni-mismatch" })
        #expect(lines.contains { $0["rule"] as? String == "private" && $0["address"] as? String == "10.0.0.1" })

        // SIGHUP reloads: with api.example.test gone from the manifest, the same request is denied.
        try Self.manifest(httpPort: httpPort, echoPort: echoPort, resetPort: resetPort, floodPort: h.floodPort, retryPort: h.retryPort, api: false).write(toFile: manifestPath, atomically: true, encoding: .utf8)
        kill(proxy.process.processIdentifier, SIGHUP)
        #expect(proxy.waitFor("manifest reloaded") != nil)
        let again = try runProcess("/usr/bin/env", ["python3", "-c", """
            import socket; s = socket.create_connection(('127.0.0.1', \(proxyPort)))
            s.sendall(b'GET http://api.example.test:\(httpPort)/ HTTP/1.1\\r\\nHost: api.example.test:\(httpPort)\\r\\n\\r\\n')
            print(s.recv(200).split(b'\\r\\n')[0].decode())
            """])
        #expect(again.out.contains("403"), "\(again.out) \(again.err)")
        // SIGTERM: drains and exits 0.
        proxy.process.terminate()
        proxy.process.waitUntilExit()
        #expect(proxy.process.terminationStatus == 0)
    }
}
