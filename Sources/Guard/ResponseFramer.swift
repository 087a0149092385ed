import Foundation

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

    static let maxHead = 64 << 10
    static let maxLine = 4096

    public init(requestMethod: String, clientKeepsAlive: Bool) {
        self.requestMethod = requestMethod
        self.clientKeepsAlive = clientKeepsAlive
    }

    public mutating func feed(_ bytes: [UInt8]) throws(Failure) -> Output {
        var out = Output()
        var i = 0
        while i < bytes.count {
            switch phase {
            case .head:
                head.append(bytes[i]); i += 1
                if head.count > Self.maxHead { throw Failure(reason: "response head larger than 64 KiB") }
                if head.count >= 4, head[head.count - 4] == 13, head[head.count - 3] == 10, head[head.count - 2] == 13, head[head.count - 1] == 10 {
                    out.emit += try finishHead()
                }
            case .fixed(let remaining):
                let n = min(remaining, bytes.count - i)
                out.emit += bytes[i..<(i + n)]; i += n
                phase = remaining - n == 0 ? .done : .fixed(remaining: remaining - n)
            case .chunkSize(var line):
                let c = bytes[i]; i += 1; out.emit.append(c)
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
                let n = min(remaining, bytes.count - i)
                out.emit += bytes[i..<(i + n)]; i += n
                phase = remaining - n == 0 ? .chunkDataEnd(seen: 0) : .chunkData(remaining: remaining - n)
            case .chunkDataEnd(let seen):
                let c = bytes[i]; i += 1; out.emit.append(c)
                guard c == (seen == 0 ? 13 : 10) else { throw Failure(reason: "chunk data not followed by CRLF") }
                phase = seen == 0 ? .chunkDataEnd(seen: 1) : .chunkSize(line: [])
            case .trailers(var line):
                let c = bytes[i]; i += 1; out.emit.append(c)
                if let whole = try Self.extend(&line, with: c, tooLong: "trailer line too long", bareLF: "bare LF in trailers") {
                    phase = whole.count == 2 ? .done : .trailers(line: [])
                } else {
                    phase = .trailers(line: line)
                }
            case .untilClose:
                out.emit += bytes[i...]; i = bytes.count
            case .done:
                throw Failure(reason: "the upstream sent bytes after its response")
            }
        }
        out.done = phase == .done
        return out
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

    /// Parses the status line and headers, decides the framing, and returns the head to send on.
    private mutating func finishHead() throws(Failure) -> [UInt8] {
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
            headers.append((String(l[..<colon]), l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        func values(_ name: String) -> [String] { headers.filter { $0.0.lowercased() == name }.map(\.1) }
        let connection = Set(values("connection").flatMap { $0.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } })
        let upstreamCloses = connection.contains("close") || status.hasPrefix("HTTP/1.0")
        let chunked = values("transfer-encoding").contains { $0.lowercased().split(separator: ",").last?.trimmingCharacters(in: .whitespaces) == "chunked" }
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
}
