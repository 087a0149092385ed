import Foundation

/// An HTTP/1.1 request head as a forward proxy receives it, parsed strictly: anything two parsers
/// could read differently (bare LF, folded or space-before-colon headers, two lengths, a length beside
/// a transfer coding) is refused rather than guessed at.
public struct ProxyRequest: Sendable, Equatable {
    public var method: String
    /// The request target as sent: absolute-form (`http://host/path`) or authority-form (`host:port`).
    public var target: String
    public var version: String
    public var headers: [(name: String, value: String)]
    /// Bytes of the head, request line to the blank line included.
    public var headLength: Int

    public static func == (a: ProxyRequest, b: ProxyRequest) -> Bool {
        a.method == b.method && a.target == b.target && a.version == b.version && a.headLength == b.headLength
            && a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
    }

    /// The values of every header called `name` (given in lowercase), in order.
    public func header(_ name: String) -> [String] {
        var out: [String] = []
        for h in headers where Self.equalsLowercased(h.name, name) { out.append(h.value) }
        return out
    }

    /// Whether `a` lowercased is `lower`: ASCII names compared byte by byte, anything else as `lowercased()` does.
    static func equalsLowercased(_ a: String, _ lower: String) -> Bool {
        let x = a.utf8, y = lower.utf8
        if x.count == y.count, x.allSatisfy({ $0 < 0x80 }) {
            return zip(x, y).allSatisfy { ($0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0) == $1 }
        }
        return a.lowercased() == lower
    }

    /// `s` without leading and trailing spaces and tabs (ASCII `.whitespaces`).
    static func trimmed(_ s: Substring) -> String {
        let u = s.utf8
        guard u.contains(where: { $0 >= 0x80 }) == false else { return s.trimmingCharacters(in: .whitespaces) }
        var lo = u.startIndex, hi = u.endIndex
        while lo < hi, u[lo] == 32 || u[lo] == 9 { lo = u.index(after: lo) }
        while hi > lo, u[u.index(before: hi)] == 32 || u[u.index(before: hi)] == 9 { hi = u.index(before: hi) }
        return String(s[lo..<hi])
    }

    /// Whether `parse` has something to decide in `b`: the head's end (CRLF CRLF), a bare LF, or more
    /// than `maxHead` bytes. `scanned` carries where the last call stopped, so a head arriving in pieces
    /// is searched once, not from its start on every read.
    static func headMayBeReady(_ b: [UInt8], scanned: inout Int) -> Bool {
        if b.count > maxHead { return true }
        var i = max(0, min(scanned, b.count))
        while i < b.count {
            if b[i] == 10 {
                if i == 0 || b[i - 1] != 13 { return true }
                if i >= 3, b[i - 2] == 10, b[i - 3] == 13 { return true }
            }
            i += 1
        }
        scanned = b.count
        return false
    }

    public enum ParseOutcome: Sendable, Equatable {
        case needMore
        case request(ProxyRequest)
        /// The status to answer with and why.
        case invalid(status: Int, reason: String)
    }

    public static let maxHead = 64 << 10

    public static func parse(_ b: [UInt8]) -> ParseOutcome {
        // Find the end of the head.
        var end = -1
        var i = 0
        while i < b.count {
            // A bare LF is refused at once, not waited on: some parsers end lines there.
            if b[i] == 10 && (i == 0 || b[i - 1] != 13) { return .invalid(status: 400, reason: "bare LF in the request head") }
            if i + 3 < b.count, b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { end = i + 4; break }
            i += 1
        }
        if end < 0 {
            return b.count > maxHead ? .invalid(status: 431, reason: "request head larger than \(maxHead >> 10) KiB") : .needMore
        }
        guard end <= maxHead else { return .invalid(status: 431, reason: "request head larger than \(maxHead >> 10) KiB") }
        // Lines, each ending in CRLF; a bare CR or LF anywhere is refused.
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        i = 0
        while i < end - 2 {
            if b[i] == 13 {
                guard b[i + 1] == 10 else { return .invalid(status: 400, reason: "bare CR in the request head") }
                lines.append(b[start..<i]); i += 2; start = i; continue
            }
            if b[i] == 10 { return .invalid(status: 400, reason: "bare LF in the request head") }
            i += 1
        }
        guard let requestLine = lines.first else { return .invalid(status: 400, reason: "empty request") }
        let parts = requestLine.split(separator: 32, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty,
              parts[0].allSatisfy(isToken), parts[1].allSatisfy({ $0 > 32 && $0 < 127 }) else {
            return .invalid(status: 400, reason: "malformed request line")
        }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { return .invalid(status: 505, reason: "only HTTP/1.1 and HTTP/1.0 are proxied") }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let first = line.first, first != 32, first != 9 else { return .invalid(status: 400, reason: "folded header line") }
            guard let colon = line.firstIndex(of: 58) else { return .invalid(status: 400, reason: "header line without a colon") }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(isToken) else { return .invalid(status: 400, reason: "malformed header name") }
            var value = line[(colon + 1)...]
            while let f = value.first, f == 32 || f == 9 { value = value.dropFirst() }
            while let l = value.last, l == 32 || l == 9 { value = value.dropLast() }
            guard value.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else { return .invalid(status: 400, reason: "control character in a header value") }
            headers.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        guard headers.count <= 200 else { return .invalid(status: 431, reason: "more than 200 header lines") }
        return .request(ProxyRequest(method: String(decoding: parts[0], as: UTF8.self), target: String(decoding: parts[1], as: UTF8.self),
                                     version: version, headers: headers, headLength: end))
    }

    static func isToken(_ c: UInt8) -> Bool {
        switch c {
        case 48...57, 65...90, 97...122: return true
        case 33, 35, 36, 37, 38, 39, 42, 43, 45, 46, 94, 95, 96, 124, 126: return true   // ! # $ % & ' * + - . ^ _ ` | ~
        default: return false
        }
    }

    /// The body length the head announces: `Content-Length` only. A transfer coding, or two different
    /// lengths, is refused: the guard must see the whole body before any byte goes upstream.
    public func bodyLength() -> Result<Int, ProxyRefusal> {
        if !header("transfer-encoding").isEmpty {
            return .failure(ProxyRefusal(status: 411, rule: "transfer-encoding", reason: "a body with a transfer coding is refused; send Content-Length"))
        }
        let lengths = Set(header("content-length").flatMap { $0.split(separator: ",").map { Self.trimmed($0) } })
        guard lengths.count <= 1 else { return .failure(ProxyRefusal(status: 400, rule: "content-length", reason: "conflicting Content-Length headers")) }
        guard let l = lengths.first else { return .success(0) }
        guard l.count <= 18, l.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = Int(l) else {
            return .failure(ProxyRefusal(status: 400, rule: "content-length", reason: "malformed Content-Length"))
        }
        return .success(n)
    }
}

/// A refusal the proxy answers with: the status, the rule (for the audit line and the reason header),
/// and why.
public struct ProxyRefusal: Error, Sendable, Equatable {
    public var status: Int
    public var rule: String
    public var reason: String
}

/// Where a proxied request goes, from its target and `Host` header.
public struct ProxyTarget: Sendable, Equatable {
    public var host: String
    public var destination: Destination
    public var port: Int
    /// The origin-form path to send upstream (`/x?y`); empty for CONNECT.
    public var path: String

    /// `host:port` (CONNECT's authority-form) or `[v6]:port`; the port is required.
    public static func authority(_ a: Substring, defaultPort: Int?) -> Result<(String, Int), ProxyRefusal> {
        guard !Destination.holds(a, 64, "@") else { return .failure(ProxyRefusal(status: 403, rule: "userinfo", reason: "userinfo in the authority is refused")) }
        var host = a, portText: Substring?
        if a.hasPrefix("[") {
            guard let close = a.firstIndex(of: "]") else { return .failure(ProxyRefusal(status: 400, rule: "authority", reason: "unterminated IPv6 literal")) }
            host = a[a.startIndex...close]
            let rest = a[a.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return .failure(ProxyRefusal(status: 400, rule: "authority", reason: "malformed authority")) }
                portText = rest.dropFirst()
            }
        } else if let colon = a.lastIndex(of: ":") {
            host = a[..<colon]; portText = a[a.index(after: colon)...]
        }
        var port = defaultPort
        if let portText {
            guard (1...5).contains(portText.count), portText.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let p = Int(portText), (1...65535).contains(p) else {
                return .failure(ProxyRefusal(status: 400, rule: "authority", reason: "malformed port"))
            }
            port = p
        }
        guard let port else { return .failure(ProxyRefusal(status: 400, rule: "authority", reason: "CONNECT needs host:port")) }
        guard !host.isEmpty else { return .failure(ProxyRefusal(status: 400, rule: "authority", reason: "empty host")) }
        return .success((String(host), port))
    }

    /// Whether `t` starts with `http://` in any case (what `t.lowercased().hasPrefix("http://")` says,
    /// without lowercasing the whole target).
    static func hasHTTPScheme(_ t: String) -> Bool {
        var it = t.utf8.makeIterator()
        for c in "http://".utf8 {
            guard let x = it.next() else { return false }
            if (x >= 65 && x <= 90 ? x | 0x20 : x) != c { return false }
        }
        return true
    }

    public static func of(_ r: ProxyRequest) -> Result<ProxyTarget, ProxyRefusal> {
        func dest(_ host: String) -> Result<Destination, ProxyRefusal> {
            do throws(Destination.Invalid) { return .success(try Destination.parse(host)) }
            catch { return .failure(ProxyRefusal(status: 403, rule: error.description.hasPrefix("userinfo") ? "userinfo" : "invalid-host", reason: error.description)) }
        }
        if r.method == "CONNECT" {
            switch authority(Substring(r.target), defaultPort: nil) {
            case .failure(let e): return .failure(e)
            case .success(let (host, port)):
                return dest(host).map { ProxyTarget(host: host, destination: $0, port: port, path: "") }
            }
        }
        // Absolute-form http:// only: an https:// target would need the guard to speak TLS upstream.
        let t = r.target
        guard Self.hasHTTPScheme(t) else {
            return .failure(ProxyRefusal(status: 400, rule: "not-absolute-form", reason: t.lowercased().hasPrefix("https://")
                ? "https:// is tunnelled with CONNECT, not forwarded" : "a forward proxy needs an absolute http:// URL"))
        }
        let rest = t.dropFirst(7)
        let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let auth = rest[..<slash]
        var path = String(rest[slash...])
        if let hash = path.firstIndex(of: "#") { path = String(path[..<hash]) }
        if path.isEmpty { path = "/" } else if path.hasPrefix("?") { path = "/" + path }
        switch authority(auth, defaultPort: 80) {
        case .failure(let e): return .failure(e)
        case .success(let (host, port)):
            let d: Destination
            switch dest(host) {
            case .failure(let e): return .failure(e)
            case .success(let parsed): d = parsed
            }
            // The Host header must name the same place as the URL: one host, equal after normalization.
            let hosts = r.header("host")
            // HTTP/1.0 made Host optional; the URL alone names the place, and the guard writes its Host.
            if hosts.isEmpty, r.version == "HTTP/1.0" {
                return .success(ProxyTarget(host: host, destination: d, port: port, path: path))
            }
            // A Host header written exactly as the URL's authority parses to the same place: it is not parsed again.
            if hosts.count == 1, hosts[0].utf8.elementsEqual(auth.utf8) {
                return .success(ProxyTarget(host: host, destination: d, port: port, path: path))
            }
            guard hosts.count == 1, case .success(let (hh, hp)) = authority(Substring(hosts[0]), defaultPort: 80),
                  let hd = try? Destination.parse(hh), hd == d, hp == port else {
                return .failure(ProxyRefusal(status: 403, rule: "host-mismatch", reason: "the Host header does not match the request URL"))
            }
            return .success(ProxyTarget(host: host, destination: d, port: port, path: path))
        }
    }
}
