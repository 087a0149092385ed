import Foundation
import Guard

/// What `provenant guard` reads from clients: a destination host as written in a URL, a `Host`
/// header or a CONNECT authority; and what `guard exec` reads: a downward-API labels file, a command line.
enum GuardTargets {
    static let all: [FuzzTarget] = [
        FuzzTarget("guard-destination", "a destination host: names (IDN too), IPv4 in every form, bracketed IPv6 with zones") { bytes in
            guard let host = String(validating: bytes, as: UTF8.self), let d = try? Destination.parse(host) else { return }
            if case .address(let a) = d { _ = a.classification; _ = a.description }
        },
        FuzzTarget("guard-downward-labels", "a Kubernetes downward-API labels file (key=\"Go-quoted value\" lines), and the environment read from it") { bytes in
            let labels = DownwardAPILabels(parsing: bytes)
            _ = labels.labels["environment"]
        },
        FuzzTarget("guard-exec-argv", "the command line `guard exec` finds the script in (NUL-separated words): interpreters' options, env") { bytes in
            let words = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard let first = words.first else { return }
            let name = String(first.split(separator: "/").last ?? "")
            if case .file(let i, _) = ScriptReference.of(words, names: [name]) { precondition(words.indices.contains(i)) }
        },
        FuzzTarget("guard-request", "a proxy request head and its target: request line, headers, Content-Length, absolute-form URL, CONNECT authority") { bytes in
            guard case .request(let r) = ProxyRequest.parse(bytes) else { return }
            precondition(r.headLength <= bytes.count)
            _ = r.bodyLength()
            if case .success(let t) = ProxyTarget.of(r) { precondition((0...65535).contains(t.port)) }
            // The leak check of the whole request, its body opened as `secrets scan` opens a file.
            if let engine = SecretTargets.engine {
                let v = bytes.withUnsafeBytes { LeakCheck.request($0, engine, bodyFrom: r.headLength, contentTypes: r.header("content-type")) }
                precondition(v.unchecked == nil || !v.complete)
            }
        },
        FuzzTarget("guard-response", "an upstream's response as the proxy frames it for keep-alive, whole and byte by byte") { bytes in
            var whole = ResponseFramer(requestMethod: "GET", clientKeepsAlive: true)
            let all = try? whole.feed(bytes)
            var split = ResponseFramer(requestMethod: "GET", clientKeepsAlive: true)
            var emitted: [UInt8] = []
            var failed = false
            for b in bytes { do { emitted += try split.feed([b]).emit } catch { failed = true; break } }
            // Framing must not depend on how the bytes were split.
            if let all, !failed { precondition(all.emit == emitted && whole.phase == split.phase) }
        },
        FuzzTarget("guard-client-hello", "the first bytes of a CONNECT tunnel: TLS records holding a ClientHello and its server name; as a server's first flight, a HelloRetryRequest; as a client's bytes after one, change_cipher_spec records then the second ClientHello") { bytes in
            _ = TLSClientHello.parse(bytes)
            _ = TLSClientHello.isHelloRetryRequest(bytes)
            if let start = TLSClientHello.afterChangeCipherSpec(bytes) { _ = TLSClientHello.parse(Array(bytes[start...])) }
        },
    ]
}
