import Foundation
import NIOCore
import Testing
import TestSupport
@testable import Guard
@testable import Secrets
import Permissions

/// The shortcuts the proxy takes on its hot path give the answers of the long way round.
@Suite struct FastPathTests {
    /// The decoded view is skipped only when nothing could be escaped; an escaped secret is still caught.
    @Test func theDecodedViewIsSkippedOnlyWithoutEscapes() throws {
        #expect(LeakView.decoded(ArraySlice(Array("GET http://a.test/x HTTP/1.1\r\nHost: a.test\r\n\r\n".utf8))) == nil)
        #expect(LeakView.decoded(ArraySlice(Array("100% sure, a\\q".utf8))) == nil)
        #expect(LeakView.decoded(ArraySlice(Array("a%41b".utf8))) == Array("aAb".utf8))
        #expect(LeakView.decoded(ArraySlice(Array("x\\/y\\u0041".utf8))) == Array("x/yA".utf8))
        // A slice that does not start at 0 decodes the same.
        let whole = Array("zzz%2Fq".utf8)
        #expect(LeakView.decoded(whole[3...]) == Array("/q".utf8))

        let secret = "agent-Secret-Value-123/xyz"
        let known = try KnownSecrets([.init(name: .init(source: "creds", key: "AGENT_KEY"), bytes: Array(secret.utf8))])
        let engine = try SecretEngine.standard(known: known, minimumConfidence: .high)
        let escaped = secret.replacingOccurrences(of: "S", with: "%53").replacingOccurrences(of: "/", with: "%2F")
        let request = Array("POST http://a.test/x HTTP/1.1\r\nHost: a.test\r\nContent-Length: \(escaped.utf8.count)\r\n\r\n\(escaped)".utf8)
        #expect(request.withUnsafeBytes { engine.scan($0) }.isEmpty)
        let decoded = try #require(request.withUnsafeBytes { LeakView.decoded($0) })
        #expect(decoded.withUnsafeBytes { engine.scan($0) }.contains { $0.ruleID.hasPrefix("known:") })

        // Found by review: a token after a JSON `\n` or `\t` escape passed, since a pattern opening
        // with \b saw the `n` before it. JSON's one-character escapes are decoded in the view too.
        #expect(LeakView.decoded(ArraySlice(Array(#"a\nb\tc\"d\\e"#.utf8))) == Array("a\nb\tc\"d\\e".utf8))
        for escape in [#"\n"#, #"\t"#, #"\r"#, #"\""#] {
            let body = Array(#"{"t":"x\#(escape)ghp_R7wQ2bX9kLm4Np8sT1vY6zC3dF5gH0jK2mQe"}"#.utf8)
            let verdict = body.withUnsafeBytes { LeakCheck.request($0, engine) }
            #expect(verdict.rule?.hasPrefix("github") == true && verdict.complete, "\(escape): \(String(describing: verdict.rule))")
        }
    }

    /// Found by helper-141: a token `secrets scan` finds in a gzipped, zipped, tarred or UTF-16 file
    /// went through the proxy in a body of the same bytes. Such a body is opened as `scan` opens the
    /// file; one in a format nothing here opens is not checked, so not sent.
    @Test func bodiesAreReadAsScanReadsTheSameBytes() throws {
        let engine = try SecretEngine.standard(minimumConfidence: .high)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("proxy-bodies-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let token = "ghp_" + "R7wQ2bX9kLm4Np8sT1vY6zC3dF5gH0jK2mQe"
        let made = try runProcess("python3", ["-c", #"""
            import gzip, io, sys, tarfile, zipfile
            d, t = sys.argv[1], sys.argv[2]
            text = ("token=" + t + "\n").encode()
            open(d + "/body.gz", "wb").write(gzip.compress(text, mtime=0))
            z = io.BytesIO(); zf = zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED); zf.writestr("c.env", b"# c\n" * 20 + text); zf.close()
            open(d + "/body.zip", "wb").write(z.getvalue())
            tb = io.BytesIO(); tf = tarfile.open(fileobj=tb, mode="w")
            info = tarfile.TarInfo("c.env"); info.size = len(text); tf.addfile(info, io.BytesIO(text)); tf.close()
            open(d + "/body.tar", "wb").write(tb.getvalue())
            open(d + "/body.u16", "wb").write(b"\xff\xfe" + ("token=" + t + "\n").encode("utf-16-le"))
            open(d + "/body.u16be", "wb").write(('{"token":"' + t + '"}').encode("utf-16-be"))
            open(d + "/body.xz", "wb").write(bytes([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) + b"\x00" * 64)
            open(d + "/clean.gz", "wb").write(gzip.compress(b"nothing to see here\n" * 50, mtime=0))
            # Binary bodies holding the token: its raw bytes are refused, so the same bytes compressed
            # or archived must be too (helper-156).
            blob = bytes(range(256)) * 8 + ("token=" + t).encode() + b"\x00\x01\x02" * 200
            open(d + "/bin.gz", "wb").write(gzip.compress(blob, mtime=0))
            z = io.BytesIO(); zf = zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED); zf.writestr("blob.bin", blob); zf.close()
            open(d + "/bin.zip", "wb").write(z.getvalue())
            open(d + "/bin.raw", "wb").write(blob)
            # zlib streams (HTTP deflate without the header) at each level's header, a 16 KiB window,
            # and one whose checksum is wrong (helper-165); text that starts like a zlib header.
            import zlib
            for level in (1, 3, 6, 9): open(d + "/body%d.zlib" % level, "wb").write(zlib.compress(text, level))
            c = zlib.compressobj(6, zlib.DEFLATED, 14); open(d + "/window.zlib", "wb").write(c.compress(text) + c.flush())
            bad = zlib.compress(text); open(d + "/badsum.zlib", "wb").write(bad[:-4] + bytes(4))
            open(d + "/hk.txt", "wb").write(b"HKEY_LOCAL_MACHINE\\Software: nothing here\n" * 20)
            open(d + "/math.txt", "wb").write(b"x^2 + y^2 = z^2\n" * 20)
            open(d + "/colour.txt", "wb").write(b"x^2 + y^2\n\x1b[31mred\x1b[0m\n" * 20)
            open(d + "/section.txt", "wb").write(b"]] end of section: nothing here\n" * 20)
            """#, dir.path, token])
        try #require(made.code == 0, "\(made.err)")
        func verdict(_ name: String) throws -> LeakCheck.Verdict {
            let body = try Array(Data(contentsOf: dir.appendingPathComponent(name)))
            let head = Array("POST http://a.test/up HTTP/1.1\r\nHost: a.test\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
            return (head + body).withUnsafeBytes { LeakCheck.request($0, engine, bodyFrom: head.count) }
        }
        for name in ["body.gz", "body.zip", "body.tar", "body.u16", "body.u16be", "bin.raw", "bin.gz", "bin.zip",
                     "body1.zlib", "body3.zlib", "body6.zlib", "body9.zlib", "window.zlib"] {
            let v = try verdict(name)
            #expect(v.rule?.hasPrefix("github") == true, "\(name): \(String(describing: v.rule)) \(v.complete)")
        }
        // The same files uploaded as form fields (helper-143).
        for name in ["body.gz", "body.u16", "bin.gz"] {
            let file = try Array(Data(contentsOf: dir.appendingPathComponent(name)))
            let body = Array("--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8) + file + Array("\r\n--XyZ--\r\n".utf8)
            let head = Array("POST http://a.test/up HTTP/1.1\r\nHost: a.test\r\nContent-Type: multipart/form-data; boundary=\"XyZ\"\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
            let v = (head + body).withUnsafeBytes { LeakCheck.request($0, engine, bodyFrom: head.count, contentTypes: ["multipart/form-data; boundary=\"XyZ\""]) }
            #expect(v.rule?.hasPrefix("github") == true, "multipart \(name): \(String(describing: v.rule))")
        }
        #expect(LeakCheck.multipartBoundaries("Multipart/Form-Data; charset=x; Boundary=abc") == ["abc"] && LeakCheck.multipartBoundaries("text/plain; boundary=x").isEmpty)
        // Parameters as RFC 2045 writes them: a quoted boundary may hold `;` and an escaped quote; two
        // boundary parameters in one header are both seen (helper-183).
        #expect(LeakCheck.multipartBoundaries(#"multipart/form-data; boundary="xx;yy""#) == ["xx;yy"])
        #expect(LeakCheck.multipartBoundaries(#"multipart/mixed; boundary="a\"b"; x=1"#) == [#"a"b"#])
        #expect(LeakCheck.multipartBoundaries("multipart/form-data; boundary=AAA; boundary=BBB") == ["AAA", "BBB"])
        let gz = try Array(Data(contentsOf: dir.appendingPathComponent("body.gz")))
        let cleanGz = try Array(Data(contentsOf: dir.appendingPathComponent("clean.gz")))
        func form(_ boundary: String, _ contentType: String, file: [UInt8]? = nil) -> LeakCheck.Verdict {
            let gz = file ?? gz
            let body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.gz\"\r\n\r\n".utf8) + gz + Array("\r\n--\(boundary)--\r\n".utf8)
            return body.withUnsafeBytes { LeakCheck.request($0, engine, bodyFrom: 0, contentTypes: [contentType]) }
        }
        let semicolon = form("xx;yy", #"multipart/form-data; boundary="xx;yy""#)
        #expect(semicolon.rule?.hasPrefix("github") == true, "\(semicolon)")
        // Refused when the split is in doubt and nothing was found; a token in the gzip is found anyway.
        let twice = form("BBB", "multipart/form-data; boundary=AAA; boundary=BBB", file: cleanGz)
        #expect(twice.rule == nil && !twice.complete && twice.unchecked?.contains("several boundaries") == true, "\(twice)")
        let undelimited = form("BBB", "multipart/form-data; boundary=CCC", file: cleanGz)
        #expect(undelimited.rule == nil && !undelimited.complete && undelimited.unchecked?.contains("no part delimited") == true, "\(undelimited)")
        #expect(form("BBB", "multipart/form-data; boundary=AAA; boundary=BBB").rule?.hasPrefix("github") == true)
        // Bodies a server splits where this check does not: RFC 2231's `boundary*`, a first delimiter
        // mid-line, headers ending `\r\r`, carriage returns alone; and a gzip after text (helper-184).
        // The archive is opened where it starts, whatever the split.
        let part = Array("Content-Disposition: form-data; name=\"f\"; filename=\"a.gz\"\r\n\r\n".utf8) + gz
        for (body, type) in [(Array("--abc\r\n".utf8) + part + Array("\r\n--abc--\r\n".utf8), "multipart/form-data; boundary*=utf-8''abc"),
                             (Array("junk--abc\r\n".utf8) + part + Array("\r\n--abc--\r\n".utf8), "multipart/form-data; boundary=abc"),
                             (Array("--abc\rContent-Disposition: form-data; name=\"f\"\r\r".utf8) + gz + Array("\r--abc--\r".utf8), "multipart/form-data; boundary=abc"),
                             (Array("note: the log follows\n".utf8) + gz, "application/octet-stream")] {
            let v = body.withUnsafeBytes { LeakCheck.request($0, engine, bodyFrom: 0, contentTypes: [type]) }
            #expect(v.rule?.hasPrefix("github") == true, "\(type): \(v)")
        }
        // UTF-16 after 9,000 bytes of UTF-8, in either byte order, and at an odd offset (helper-183).
        for order in [String.Encoding.utf16LittleEndian, .utf16BigEndian] {
            for lead in ["", "x"] {
                let body = Array((String(repeating: "A", count: 9000) + "\n" + lead).utf8) + Array(("token=" + token + "\r\n").data(using: order)!)
                let v = body.withUnsafeBytes { LeakCheck.request($0, engine, bodyFrom: 0) }
                #expect(v.rule?.hasPrefix("github") == true, "\(order) \(lead): \(v)")
            }
        }
        // Text around and inside the value need not be ASCII: a known secret with umlauts, in UTF-16
        // after 9,000 bytes of UTF-8, was not seen by a reader of ASCII runs alone.
        let umlauts = "Zürich-Kennwort-9qR7tLm2"
        let knownEngine = try SecretEngine.standard(known: try KnownSecrets([.init(name: .init(source: "known", key: "K"), bytes: Array(umlauts.utf8))]), minimumConfidence: .high)
        for order in [String.Encoding.utf16LittleEndian, .utf16BigEndian] {
            let body = Array((String(repeating: "A", count: 9000) + "\n{\"log\": \"").utf8) + Array(("Passwort für das Konto: «" + umlauts + "»\n").data(using: order)!)
            let v = body.withUnsafeBytes { LeakCheck.request($0, knownEngine, bodyFrom: 0) }
            #expect(v.rule != nil, "\(order): \(v)")
        }
        // RFC 2231's `boundary*` is refused when nothing is found (helper-184), in any case and spacing.
        let cleanForm = Array("--abc\r\n".utf8) + Array("Content-Disposition: form-data; name=\"f\"; filename=\"a.gz\"\r\n\r\n".utf8) + cleanGz + Array("\r\n--abc--\r\n".utf8)
        for type in ["multipart/form-data; boundary*=utf-8''abc", "Multipart/Mixed;BOUNDARY *=us-ascii'en'abc", "multipart/form-data; boundary=abc; boundary*0=abc"] {
            let v = cleanForm.withUnsafeBytes { LeakCheck.request($0, engine, bodyFrom: 0, contentTypes: [type]) }
            #expect(v.rule == nil && !v.complete && v.unchecked?.contains("boundary*") == true, "\(type): \(v)")
        }
        #expect(!LeakCheck.namesExtendedBoundary("multipart/form-data; xboundary*=a") && !LeakCheck.namesExtendedBoundary("text/plain; boundary*=a"))
        // A part whose headers never end is opened as it stands, as a lenient reader takes it.
        let headless = Array("--BBB\r\n".utf8) + gz + Array("\r\n--BBB--\r\n".utf8)
        let lenient = headless.withUnsafeBytes { LeakCheck.request($0, engine, bodyFrom: 0, contentTypes: ["multipart/form-data; boundary=BBB"]) }
        #expect(lenient.rule?.hasPrefix("github") == true, "\(lenient)")
        // A boundary past RFC 2046's 70 characters, or two, are refused, not split at their cost (helper-144).
        let dashes = Array(repeating: UInt8(ascii: "-"), count: 1 << 20)
        let long = dashes.withUnsafeBytes { LeakCheck.request($0, engine, contentTypes: ["multipart/form-data; boundary=" + String(repeating: "-", count: 100) + "X"]) }
        #expect(long.rule == nil && !long.complete && long.unchecked?.contains("70 characters") == true)
        let two = dashes.withUnsafeBytes { LeakCheck.request($0, engine, contentTypes: ["multipart/form-data; boundary=a", "multipart/form-data; boundary=b"]) }
        #expect(!two.complete && two.unchecked?.contains("several boundaries") == true)
        let xz = try verdict("body.xz")
        #expect(xz.rule == nil && !xz.complete && xz.unchecked?.contains("cannot be opened") == true)
        let clean = try verdict("clean.gz")
        #expect(clean.rule == nil && clean.complete && clean.unchecked == nil)
        let badsum = try verdict("badsum.zlib")
        #expect(badsum.rule == nil && !badsum.complete && badsum.unchecked?.contains("cannot be opened") == true, "a damaged zlib stream is not checked")
        for name in ["hk.txt", "math.txt", "section.txt", "colour.txt"] {
            let text = try verdict(name)
            #expect(text.rule == nil && text.complete && text.unchecked == nil, "\(name): text that begins like a zlib or LZMA header is text")
        }
    }

    /// A known secret sent as a host name is masked in the audit's reason too, which quotes the name
    /// lowercased, where the engine alone no longer finds it (found by helper-101).
    @Test func theReasonQuotingAMaskedHostIsMaskedToo() throws {
        let secret = "Zx9qR7tLm2Wv8KpN4sYj"
        let known = try KnownSecrets([.init(name: .init(source: "known", key: "K"), bytes: Array(secret.utf8))])
        let engine = try SecretEngine.standard(known: known, minimumConfidence: .high)
        let host = secret + ".evil.com"
        var manifest = AgentManifest(name: "a")
        manifest.egress = [.init(host: "allowed.test", cidr: nil, ports: [], proto: "tcp")]
        let policy = EgressPolicy(manifest: manifest)
        let decision = policy.check(try Destination.parse(host), port: 80)
        #expect(!decision.allowed && decision.reason.contains(secret.lowercased()))
        // The engine finds the lowercased copy too, and the reason is masked either way.
        #expect(LeakView.masked(decision.reason, engine) != decision.reason)
        let masked = LeakView.masked(host, engine)
        #expect(masked != host)
        for h in [host, host + "."] {
            let reason = ProxyConnection.hidingHost(h, masked: LeakView.masked(h, engine), in: LeakView.masked(decision.reason, engine))
            #expect(!reason.lowercased().contains(secret.lowercased()) && reason.contains("[REDACTED:known:known/K].evil.com is not"), "\(reason)")
        }
        #expect(ProxyConnection.hidingHost("api.test", masked: "api.test", in: "x api.test y") == "x api.test y")
        // Sent in other case than its own, all upper or all lower, the value is still found in the
        // host and in the reason (helper-103): case-exact matching let it through unmasked.
        for h in [secret.uppercased() + ".evil.com", secret.lowercased() + ".EVIL.com"] {
            let masked = LeakView.masked(h, engine)
            #expect(masked == "[REDACTED:known:known/K].evil.com" || masked == "[REDACTED:known:known/K].EVIL.com", "\(masked)")
            let d = policy.check(try Destination.parse(h), port: 80)
            let reason = ProxyConnection.hidingHost(h, masked: masked, in: LeakView.masked(d.reason, engine))
            #expect(!reason.lowercased().contains(secret.lowercased()), "\(reason)")
        }
    }

    /// Breaks inside base64 text are taken out however the lines were joined or indented; text without
    /// base64 on both sides of a break is left as it is.
    @Test func wrappedBase64IsJoinedBack() {
        func joined(_ s: String, plus: Bool = false) -> String? {
            Array(s.utf8).withUnsafeBytes { LeakView.unwrapped($0, plusIsSpace: plus) }.map { String(decoding: $0, as: UTF8.self) }
        }
        let a = "QUJDREVGR0hJSktMTU5P", b = "UFFSU1RVVldYWVo="   // a wrapped line's end (20), the next line
        #expect(joined(a + "\n" + b) == a + b)
        #expect(joined(a + "\r\n  " + b) == a + b)
        #expect(joined(a + " " + b) == a + b, "tr '\\n' ' '")
        #expect(joined("> " + a + "\n> " + b) == "> " + a + b, "a quoted reply")
        #expect(joined(a + "\\n" + b) == a + b, "a JSON string's escape")
        #expect(joined(a + "\n++" + b) == a + "++" + b, "+ is base64 unless in a form")
        #expect(joined(a + "\n++" + b, plus: true) == a + b)
        #expect(joined(a + " ++" + b, plus: true) == a + "++" + b, "+ is a space only after a break")
        #expect(joined("{ }") == nil && joined("a.\n.b") == nil)
        #expect(joined(a + String(repeating: " ", count: 40) + b) == nil, "a gap of more than 32 bytes without a break is no wrapping")
        #expect(joined(a + "\n" + String(repeating: " ", count: 40) + b) == a + b, "indentation after a break may be deep (found by review)")
        // Prose split at a space is not one word: the run before a break must be a wrapped line's (found by review).
        #expect(joined("Super Secret Project") == nil && joined("say hello world") == nil && joined("1234 5678") == nil)
        #expect(joined("see https://example.com/docs/guides/setup for the Super Secret Project") == "see https://example.com/docs/guides/setupfor the Super Secret Project",
                "after a join the next segment must be a wrapped line's length again (found by review)")
        // Lines of 12 across breaks are joined, as rel11 did (found by review).
        #expect(joined("QUJDREVGR0hJ\n  SktMTU5PUFFS\n  U1RVVldY") == "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY")
    }

    /// The head is looked for from where the last read stopped; it is ready at its end or at a bare LF.
    @Test func theHeadScanResumes() {
        var scanned = 0
        let head = Array("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n".utf8)
        var pending: [UInt8] = []
        var readyAt: Int?
        for (i, b) in head.enumerated() {
            pending.append(b)
            if ProxyRequest.headMayBeReady(pending, scanned: &scanned) { readyAt = i; break }
        }
        #expect(readyAt == head.count - 1)
        guard case .request = ProxyRequest.parse(pending) else { Issue.record("not parsed"); return }
        scanned = 0
        #expect(ProxyRequest.headMayBeReady(Array("GET / HTTP/1.1\n".utf8), scanned: &scanned))
        scanned = 0
        #expect(!ProxyRequest.headMayBeReady(Array("GET / HTTP/1.1\r\nHost: a\r\n".utf8), scanned: &scanned))
        #expect(ProxyRequest.headMayBeReady(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8), scanned: &scanned))
        #expect(ProxyRequest.headMayBeReady([UInt8](repeating: 65, count: ProxyRequest.maxHead + 1), scanned: &scanned))
    }

    @Test func headerLookupIgnoresCase() {
        let r = ProxyRequest(method: "GET", target: "http://a/", version: "HTTP/1.1",
                             headers: [("Content-Length", "1"), ("HOST", "a"), ("content-length", "2"), ("X-Ä", "u")], headLength: 10)
        #expect(r.header("content-length") == ["1", "2"] && r.header("host") == ["a"] && r.header("x-ä") == ["u"])
        #expect(ProxyRequest.trimmed(" \t a b \t") == "a b" && ProxyRequest.trimmed("\u{3000}x\u{3000}") == "x")
    }

    /// The byte path for ASCII heads and the text path give the same output and framing.
    @Test func asciiHeadsFrameAsTheTextPathDoes() throws {
        let heads = [
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive, X-A\r\nX-A: 1\r\nX-B:  two  \r\n\r\nabc",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked,\r\n\r\n0\r\n\r\n",
            "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 204 No Content\r\nConnection: , close\r\nKeep-Alive: 5\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
            "HTTP/1.1 200 OK\r\n: empty\r\nContent-Length: 1\r\n\r\nx",
        ]
        for text in heads {
            for keep in [true, false] {
                for split in [1, 5, 1000] {
                    let bytes = Self.frame(text, keep: keep, split: split, textPath: false)
                    let text = Self.frame(text, keep: keep, split: 1000, textPath: true)
                    #expect(bytes.out == text.out && bytes.phase == text.phase && bytes.reusable == text.reusable && bytes.error == text.error,
                            "\(text) \(bytes)")
                }
            }
        }
    }

    /// Many generated ASCII heads, built from the pieces framing turns on (Connection naming other
    /// headers, codings, repeated and conflicting lengths, stray commas and blanks, HTTP/1.0, 1xx and
    /// odd status lines), split at every kind of boundary: the byte path agrees with the text path.
    @Test func generatedHeadsFrameAsTheTextPathDoes() {
        var rng = SplitMix(state: 0x5EED)
        let statuses = ["HTTP/1.1 200 OK", "HTTP/1.0 200 OK", "HTTP/1.1 204 No Content", "HTTP/1.1 304", "HTTP/1.1 101 Switching",
                        "HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1  200", "HTTP/2 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 5x0 Bad"]
        let names = ["Connection", "connection", "CONNECTION", "Transfer-Encoding", "transfer-encoding", "Content-Length", "content-length",
                     "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "X-Drop", "x-drop", "X-Keep", "Close", "Server", " Folded", "NoColon",
                     "Transfer-Encoding ", "Content-Length\t"]
        let values = ["keep-alive", "close", "x-drop", "X-Drop, close", ", close", "a, ,b", " close ,", "chunked", "gzip, chunked", "chunked, gzip",
                      "gzip, chunked,", "CHUNKED", "0", "12", "3", " 5 ", "5x", "", "\t7\t", "123456789012345678", "1234567890123456789", "proxy-connection, server",
                      "content-length", "Transfer-Encoding, close", "a\nTransfer-Encoding: chunked", "b\rc", "n\u{0}ul", "gzip"]
        for _ in 0..<3000 {
            var text = statuses[Int(rng.next() % UInt64(statuses.count))] + "\r\n"
            for _ in 0..<Int(rng.next() % 6) {
                let name = names[Int(rng.next() % UInt64(names.count))]
                let value = values[Int(rng.next() % UInt64(values.count))]
                text += name == "NoColon" ? "NoColon\r\n" : "\(name):\(rng.next() % 2 == 0 ? " " : "")\(value)\r\n"
            }
            text += "\r\n" + String(repeating: "b", count: Int(rng.next() % 14))
            let keep = rng.next() % 2 == 0
            let split = [1, 3, 7, 1000][Int(rng.next() % 4)]
            let bytes = Self.frame(text, keep: keep, split: split, textPath: false)
            let reference = Self.frame(text, keep: keep, split: 1000, textPath: true)
            #expect(bytes.out == reference.out && bytes.phase == reference.phase && bytes.reusable == reference.reusable && bytes.error == reference.error,
                    "\(text.debugDescription) split \(split): \(bytes) vs \(reference)")
        }
    }

    /// A head with bytes beyond ASCII is framed on its bytes too: a Kelvin sign in "chunked" is not
    /// chunked to the client, so not to the proxy either, and an invalid UTF-8 byte is relayed as it came.
    @Test func headsBeyondASCIIFrameOnTheirBytes() throws {
        let kelvin = Self.frame("HTTP/1.1 200 OK\r\nTransfer-Encoding: chun\u{212A}ed\r\n\r\n", keep: true, split: 1000, textPath: false)
        #expect(kelvin.phase == .untilClose && kelvin.out.contains("chun\u{212A}ed"), "\(kelvin)")
        var f = ResponseFramer(requestMethod: "GET", clientKeepsAlive: true)
        let out = try f.feed(Array("HTTP/1.1 200 OK\r\nX-A: ".utf8) + [0xFF, 0xFE] + Array("\r\nContent-Length: 0\r\n\r\n".utf8)).emit
        #expect(out.starts(with: Array("HTTP/1.1 200 OK\r\nX-A: ".utf8) + [0xFF, 0xFE, 13, 10]), "\(out)")
    }

    static func frame(_ text: String, keep: Bool, split: Int, textPath: Bool) -> (out: String, phase: ResponseFramer.Phase, reusable: [Bool], error: String?) {
        var f = ResponseFramer(requestMethod: "GET", clientKeepsAlive: keep)
        f.textPathOnly = textPath
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        do {
            var i = 0
            while i < bytes.count {
                out += try f.feed(Array(bytes[i..<min(bytes.count, i + split)])).emit
                i += split
            }
            return (String(decoding: out, as: UTF8.self), f.phase, [f.reusable, f.upstreamReusable], nil)
        } catch { return ("", f.phase, [], error.reason) }
    }

    /// The audit time is what ISO8601DateFormatter writes.
    @Test func auditTimeMatchesTheFormatter() {
        for t in [0.0, 1.5, 1_764_529_641.25, 1_798_761_599.999, 951_782_400.042] {
            let d = Date(timeIntervalSince1970: t)
            let f = ISO8601DateFormatter.string(from: d, timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withInternetDateTime, .withFractionalSeconds])
            #expect(AuditTime.iso8601(d) == f, "\(t)")
        }
    }
}
