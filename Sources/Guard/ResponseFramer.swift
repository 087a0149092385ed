import Foundation
import NIOCore

/// Finds where an upstream's HTTP/1.1 response ends, so the client's connection (and the upstream's)
/// can carry the next request: the head is parsed and its hop-by-hop headers rewritten, then the body
/// is passed through as it comes, counted by `Content-Length` or followed chunk by chunk.
public struct ResponseFramer: Sendable {
    public enum Phase: Equatable, Sendable {
        case head
        case fixed(remaining: Int)
        case chunkSize(line: [UInt8])
        case chunkData(remaining: Int)
        case chunkDataEnd(seen: Int)
        case trailers(line: [UInt8])
        /// No length: the body runs to the upstream's end of stream, and the client's connection closes then.
        case untilClose
        case done
    }

    /// What one `feed` produced: bytes for the client, and whether the response is now complete.
    public struct Output: Sendable { public var emit: [UInt8] = []; public var done = false }

    public struct Failure: Error, Equatable, Sendable { public var reason: String }

    public let requestMethod: String
    /// Whether the client asked to keep its connection (HTTP/1.1 without `Connection: close`).
    public let clientKeepsAlive: Bool
    public private(set) var phase = Phase.head
    private var head: [UInt8] = []
    /// Whether both sides may carry another request once this response is done.
    public private(set) var reusable = false
    /// Whether the upstream connection may carry another request.
    public private(set) var upstreamReusable = false

    /// Tests set this to compare the byte path every head takes with the text path heads once took,
    /// kept only as that reference: on ASCII heads the two must agree.
    var textPathOnly = false

    static let maxHead = 64 << 10
    static let maxLine = 4096

    public init(requestMethod: String, clientKeepsAlive: Bool) {
        self.requestMethod = requestMethod
        self.clientKeepsAlive = clientKeepsAlive
    }

    public mutating func feed(_ bytes: [UInt8]) throws(Failure) -> Output {
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.count + 64)
        var failure: Failure?
        let done = bytes.withUnsafeBytes { raw -> Bool in
            do throws(Failure) { return try feed(raw, into: &buffer) } catch { failure = error; return false }
        }
        if let failure { throw failure }
        return Output(emit: Array(buffer.readableBytesView), done: done)
    }

    /// `bytes` framed: what goes to the client is appended to `out`; true once the response is complete.
    mutating func feed(_ bytes: UnsafeRawBufferPointer, into out: inout ByteBuffer) throws(Failure) -> Bool {
        let count = bytes.count
        var i = 0
        while i < count {
            switch phase {
            case .head:
                // Up to the end of the head (CRLF CRLF), or all of it.
                var j = i
                var ended = false
                while j < count {
                    let c = bytes[j]; j += 1
                    if c == 10, Self.endsHead(head, bytes, i, j) { ended = true; break }
                }
                if ended && head.isEmpty && !textPathOnly {
                    // The whole head came in this read (the usual case): framed where it lies, not copied first.
                    if j - i > Self.maxHead { throw Failure(reason: "response head larger than 64 KiB") }
                    try finishHead(UnsafeRawBufferPointer(rebasing: bytes[i..<j]), into: &out)
                    i = j
                    continue
                }
                head.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<j])); i = j
                if head.count > Self.maxHead { throw Failure(reason: "response head larger than 64 KiB") }
                if ended {
                    if textPathOnly { out.writeBytes(try finishHeadText()); continue }
                    let whole = head
                    head = []
                    var failure: Failure?
                    whole.withUnsafeBytes { raw in
                        do throws(Failure) { try finishHead(raw, into: &out) } catch { failure = error }
                    }
                    if let failure { throw failure }
                }
            case .fixed(let remaining):
                let n = min(remaining, count - i)
                out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[i..<(i + n)])); i += n
                phase = remaining - n == 0 ? .done : .fixed(remaining: remaining - n)
            case .chunkSize(var line):
                let c = bytes[i]; i += 1; out.writeInteger(c)
                if let whole = try Self.extend(&line, with: c, tooLong: "chunk-size line too long", bareLF: "bare LF in chunked framing") {
                    // Size in hex, then optional extensions after ';'.
                    let digits = whole.prefix { $0 != 59 && $0 != 13 && $0 != 32 && $0 != 9 }
                    guard !digits.isEmpty, digits.count <= 15 else { throw Failure(reason: "bad chunk size") }
                    var size = 0
                    for d in digits {
                        let v: Int
                        switch d {
                        case 48...57: v = Int(d - 48)
                        case 97...102: v = Int(d - 87)
                        case 65...70: v = Int(d - 55)
                        default: throw Failure(reason: "bad chunk size")
                        }
                        size = size << 4 | v
                    }
                    phase = size == 0 ? .trailers(line: []) : .chunkData(remaining: size)
                } else {
                    phase = .chunkSize(line: line)
                }
            case .chunkData(let remaining):
                let n = min(remaining, count - i)
                out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[i..<(i + n)])); i += n
                phase = remaining - n == 0 ? .chunkDataEnd(seen: 0) : .chunkData(remaining: remaining - n)
            case .chunkDataEnd(let seen):
                let c = bytes[i]; i += 1; out.writeInteger(c)
                guard c == (seen == 0 ? 13 : 10) else { throw Failure(reason: "chunk data not followed by CRLF") }
                phase = seen == 0 ? .chunkDataEnd(seen: 1) : .chunkSize(line: [])
            case .trailers(var line):
                let c = bytes[i]; i += 1; out.writeInteger(c)
                if let whole = try Self.extend(&line, with: c, tooLong: "trailer line too long", bareLF: "bare LF in trailers") {
                    phase = whole.count == 2 ? .done : .trailers(line: [])
                } else {
                    phase = .trailers(line: line)
                }
            case .untilClose:
                out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[i...])); i = count
            case .done:
                throw Failure(reason: "the upstream sent bytes after its response")
            }
        }
        return phase == .done
    }

    /// Whether the LF just before `bytes[end]` (exclusive) closes CR LF CR LF, counting the head so far
    /// followed by `bytes[from..<end]`.
    private static func endsHead(_ head: [UInt8], _ bytes: UnsafeRawBufferPointer, _ from: Int, _ end: Int) -> Bool {
        // The byte `back` places before the LF at end - 1.
        func at(_ back: Int) -> UInt8? {
            let k = end - 1 - back
            if k >= from { return bytes[k] }
            let h = head.count - (from - k)
            return h >= 0 ? head[h] : nil
        }
        return at(1) == 13 && at(2) == 10 && at(3) == 13
    }

    /// One byte of a CRLF-terminated framing line (chunk size, trailer): the whole line once its LF
    /// arrives, nil before; a line over `maxLine` or ending in a bare LF is refused.
    private static func extend(_ line: inout [UInt8], with c: UInt8, tooLong: String, bareLF: String) throws(Failure) -> [UInt8]? {
        line.append(c)
        guard line.count <= maxLine else { throw Failure(reason: tooLong) }
        guard c == 10 else { return nil }
        guard line.count >= 2, line[line.count - 2] == 13 else { throw Failure(reason: bareLF) }
        return line
    }

    /// The text path heads once took, kept only as the tests' reference for ASCII heads: every head is
    /// framed on its bytes (`finishHead(_:into:)`), as the client will read them, since a text path
    /// decodes invalid UTF-8 lossily and folds Unicode case and spaces ("chun\u{212A}ed" would read as chunked).
    private mutating func finishHeadText() throws(Failure) -> [UInt8] {
        if let why = Self.strayControl(head) { throw Failure(reason: why) }
        let text = String(decoding: head, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        while lines.last == "" { lines.removeLast() }
        guard let status = lines.first, status.hasPrefix("HTTP/1."), status.utf8.count >= 12 else { throw Failure(reason: "malformed status line") }
        let parts = status.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[1].count == 3, let code = Int(parts[1]) else { throw Failure(reason: "malformed status line") }
        guard !(100..<200).contains(code) else { throw Failure(reason: "interim (1xx) responses are not relayed") }
        var headers: [(String, String)] = []
        for l in lines.dropFirst() {
            guard let colon = l.firstIndex(of: ":"), !l.hasPrefix(" "), !l.hasPrefix("\t") else { throw Failure(reason: "malformed response header") }
            guard !l[..<colon].hasSuffix(" "), !l[..<colon].hasSuffix("\t") else { throw Failure(reason: "whitespace before a response header's colon") }
            headers.append((String(l[..<colon]), l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        func values(_ name: String) -> [String] { headers.filter { $0.0.lowercased() == name }.map(\.1) }
        let connection = Set(values("connection").flatMap { $0.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } })
        if let framing = ["content-length", "transfer-encoding"].first(where: connection.contains) {
            throw Failure(reason: "Connection names the framing header \(framing)")
        }
        let upstreamCloses = connection.contains("close") || status.hasPrefix("HTTP/1.0")
        // Several Transfer-Encoding headers read as one list, in order: the last coding decides.
        let chunked = values("transfer-encoding").flatMap { $0.lowercased().split(separator: ",") }.last?.trimmingCharacters(in: .whitespaces) == "chunked"
        let lengths = Set(values("content-length").map { $0 })
        if requestMethod == "HEAD" || code == 204 || code == 304 {
            phase = .done
        } else if chunked {
            guard lengths.isEmpty else { throw Failure(reason: "a response with both Content-Length and a transfer coding") }
            phase = .chunkSize(line: [])
        } else if !values("transfer-encoding").isEmpty {
            phase = .untilClose
        } else if let l = lengths.first {
            guard lengths.count == 1, l.utf8.count <= 18, l.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = Int(l) else {
                throw Failure(reason: "malformed or conflicting Content-Length")
            }
            phase = n == 0 ? .done : .fixed(remaining: n)
        } else {
            phase = .untilClose
        }
        upstreamReusable = !upstreamCloses && phase != .untilClose
        reusable = clientKeepsAlive && phase != .untilClose
        let hop: Set<String> = ["connection", "keep-alive", "proxy-connection", "proxy-authenticate"]
        var outHead = status + "\r\n"
        for (n, v) in headers where !hop.contains(n.lowercased()) && !connection.contains(n.lowercased()) { outHead += "\(n): \(v)\r\n" }
        outHead += reusable ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
        head = []
        return Array(outHead.utf8)
    }

    /// The head's bytes (status line, headers, the blank line) parsed, the framing decided, and the head
    /// to send on written into `out`: names compared in ASCII case only, values trimmed of spaces and tabs
    /// only, every other byte relayed as it came. Two passes over the lines (decide, then write), so
    /// nothing is collected on the way but the rare `Connection` tokens that name other headers.
    private mutating func finishHead(_ h: UnsafeRawBufferPointer, into out: inout ByteBuffer) throws(Failure) {
        let n = h.count
        /// Where the line starting at `s` ends: at its CR LF, or at the end.
        func lineEnd(_ s: Int) -> Int {
            var i = s
            while i + 1 < n { if h[i] == 13 && h[i + 1] == 10 { return i }; i += 1 }
            return n
        }
        /// Whether the bytes at `r` are `lower` (lowercase ASCII) in any case.
        func named(_ r: Range<Int>, _ lower: [UInt8]) -> Bool {
            guard r.count == lower.count else { return false }
            var k = 0
            for i in r { let c = h[i]; if (c >= 65 && c <= 90 ? c | 0x20 : c) != lower[k] { return false }; k += 1 }
            return true
        }
        /// Whether two ranges hold the same bytes, ASCII case folded.
        func sameName(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
            guard a.count == b.count else { return false }
            var j = b.lowerBound
            for i in a {
                let x = h[i], y = h[j]
                if (x >= 65 && x <= 90 ? x | 0x20 : x) != (y >= 65 && y <= 90 ? y | 0x20 : y) { return false }
                j += 1
            }
            return true
        }
        func blank(_ c: UInt8) -> Bool { c == 32 || c == 9 }
        func trimmed(_ r: Range<Int>) -> Range<Int> {
            var s = r.lowerBound, e = r.upperBound
            while s < e, blank(h[s]) { s += 1 }
            while e > s, blank(h[e - 1]) { e -= 1 }
            return s..<e
        }
        /// The comma-separated pieces of `r` that are not empty (before trimming), each trimmed.
        func pieces(_ r: Range<Int>, _ each: (Range<Int>) -> Void) {
            var s = r.lowerBound
            for i in r.lowerBound...r.upperBound where i == r.upperBound || h[i] == 44 {
                if i > s { each(trimmed(s..<i)) }
                s = i + 1
            }
        }
        /// A header line's name and trimmed value, or nil when it is not a header.
        func header(_ l: Range<Int>) -> (name: Range<Int>, value: Range<Int>)? {
            guard !blank(h[l.lowerBound]) else { return nil }
            var colon = l.lowerBound
            while colon < l.upperBound, h[colon] != 58 { colon += 1 }
            guard colon < l.upperBound else { return nil }
            return (l.lowerBound..<colon, trimmed((colon + 1)..<l.upperBound))
        }

        // A CR or LF outside a line's CR LF, or a NUL, is refused: a client may end a line there.
        if let why = Self.strayControl(h) { throw Failure(reason: why) }
        // The status line: HTTP/1.x, a space, three digits.
        let statusEnd = lineEnd(0)
        guard statusEnd >= 12, Self.statusPrefix.indices.allSatisfy({ h[$0] == Self.statusPrefix[$0] }) else { throw Failure(reason: "malformed status line") }
        var sp = 0
        while sp < statusEnd, h[sp] != 32 { sp += 1 }
        var codeEnd = sp + 1
        while codeEnd < statusEnd, h[codeEnd] != 32 { codeEnd += 1 }
        guard sp < statusEnd, codeEnd - sp - 1 == 3 else { throw Failure(reason: "malformed status line") }
        var code = 0
        for i in (sp + 1)..<codeEnd {
            guard h[i] >= 48 && h[i] <= 57 else { throw Failure(reason: "malformed status line") }
            code = code * 10 + Int(h[i] - 48)
        }
        guard !(100..<200).contains(code) else { throw Failure(reason: "interim (1xx) responses are not relayed") }

        // First pass: the framing, and the tokens of Connection that name headers to drop.
        var upstreamCloses = h[7] == 48   // HTTP/1.0
        var chunked = false, coded = false
        var length: Range<Int>?
        var lengthsConflict = false
        var dropped: [Range<Int>] = []
        var framingNamed: [UInt8]?
        var lastCoding: Range<Int>?
        var s = statusEnd + 2
        while s < n {
            let e = lineEnd(s)
            if e == s { break }   // the blank line that ends the head
            guard let hd = header(s..<e) else { throw Failure(reason: "malformed response header") }
            if let l = hd.name.last, blank(h[l]) { throw Failure(reason: "whitespace before a response header's colon") }
            if named(hd.name, Self.connectionName) {
                pieces(hd.value) { t in
                    if named(t, Self.closeToken) { upstreamCloses = true }
                    if framingNamed == nil, let f = [Self.contentLengthName, Self.transferEncodingName].first(where: { named(t, $0) }) { framingNamed = f }
                    if !Self.hopLower.contains(where: { named(t, $0) }) { dropped.append(t) }
                }
            } else if named(hd.name, Self.transferEncodingName) {
                coded = true
                // Several Transfer-Encoding headers read as one list, in order: the last coding decides.
                pieces(hd.value) { lastCoding = $0 }
            } else if named(hd.name, Self.contentLengthName) {
                if let l = length {
                    if !(l.count == hd.value.count && zip(l, hd.value).allSatisfy({ h[$0] == h[$1] })) { lengthsConflict = true }
                } else {
                    length = hd.value
                }
            }
            s = e + 2
        }
        if let f = framingNamed { throw Failure(reason: "Connection names the framing header \(String(decoding: f, as: UTF8.self))") }
        if let last = lastCoding, named(last, Self.chunkedToken) { chunked = true }
        if requestMethod == "HEAD" || code == 204 || code == 304 {
            phase = .done
        } else if chunked {
            guard length == nil else { throw Failure(reason: "a response with both Content-Length and a transfer coding") }
            phase = .chunkSize(line: [])
        } else if coded {
            phase = .untilClose
        } else if let l = length {
            guard !lengthsConflict, l.count <= 18, !l.isEmpty, l.allSatisfy({ h[$0] >= 48 && h[$0] <= 57 }) else {
                throw Failure(reason: "malformed or conflicting Content-Length")
            }
            let v = l.reduce(0) { $0 * 10 + Int(h[$1] - 48) }
            phase = v == 0 ? .done : .fixed(remaining: v)
        } else {
            phase = .untilClose
        }
        upstreamReusable = !upstreamCloses && phase != .untilClose
        reusable = clientKeepsAlive && phase != .untilClose

        // Second pass: the head as it goes on, without this hop's headers.
        out.reserveCapacity(minimumWritableBytes: n + 32)
        out.writeBytes(UnsafeRawBufferPointer(rebasing: h[0..<statusEnd]))
        out.writeStaticString("\r\n")
        s = statusEnd + 2
        while s < n {
            let e = lineEnd(s)
            if e == s { break }
            guard let hd = header(s..<e) else { break }
            s = e + 2
            if Self.hopLower.contains(where: { named(hd.name, $0) }) || dropped.contains(where: { sameName(hd.name, $0) }) { continue }
            out.writeBytes(UnsafeRawBufferPointer(rebasing: h[hd.name]))
            out.writeStaticString(": ")
            out.writeBytes(UnsafeRawBufferPointer(rebasing: h[hd.value]))
            out.writeStaticString("\r\n")
        }
        out.writeStaticString(reusable ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n")
    }

    static let statusPrefix = Array("HTTP/1.".utf8)

    /// Why a head's bytes cannot be framed as every client would: a CR not before LF, an LF not after
    /// CR, or a NUL.
    static func strayControl<C: RandomAccessCollection>(_ h: C) -> String? where C.Element == UInt8, C.Index == Int {
        for i in h.indices {
            let c = h[i]
            if c == 0 { return "a NUL in the response head" }
            if c == 13, i + 1 == h.endIndex || h[i + 1] != 10 { return "a bare CR in the response head" }
            if c == 10, i == h.startIndex || h[i - 1] != 13 { return "a bare LF in the response head" }
        }
        return nil
    }
    static let hopLower: [[UInt8]] = ["connection", "keep-alive", "proxy-connection", "proxy-authenticate"].map { Array($0.utf8) }
    static let connectionName = Array("connection".utf8)
    static let transferEncodingName = Array("transfer-encoding".utf8)
    static let contentLengthName = Array("content-length".utf8)
    static let closeToken = Array("close".utf8)
    static let chunkedToken = Array("chunked".utf8)
}
