import Catalog
/// What a stream's first bytes say it is, for `secrets redact`.
public enum RedactInput: Equatable, Sendable {
    case text
    /// UTF-16 text, and whether it opened with a byte order mark.
    case utf16(UTF16Text.ByteOrder, mark: Bool)
    /// An archive or compressed stream, which redact cannot rewrite: named.
    case packed(String)

    public static func form(of head: [UInt8]) -> RedactInput {
        if let order = UTF16Text.detect(head) {
            let mark = head.count >= 2 && (order == .little ? head[0] == 0xFF && head[1] == 0xFE : head[0] == 0xFE && head[1] == 0xFF)
            return .utf16(order, mark: mark)
        }
        if Gzip.isGzip(head) { return .packed("gzip-compressed") }
        if ZipArchive.isZip(head) { return .packed("a zip archive") }
        if TarArchive.isTar(head) { return .packed("a tar archive") }
        if let format = SecretsScanner.unopenedCompression(head) { return .packed("\(format)-compressed") }
        return .text
    }
}

/// `secrets redact`: copies a stream, replacing each detected or known secret with `[REDACTED:<rule>]`.
/// Memory stays at one chunk plus the engine's overlap, and a secret split between two reads is still
/// replaced, because `ChunkedScan` only settles bytes once their trailing context has been read.
public struct StreamRedactor {
    public let engine: SecretEngine
    public var chunkSize: Int

    public init(engine: SecretEngine, chunkSize: Int = 4 << 20) { self.engine = engine; self.chunkSize = chunkSize }

    /// `run` on a stream whose first bytes tell its form (`RedactInput`): UTF-16 text is redacted as the
    /// UTF-8 it decodes to and written back in UTF-16, its byte order mark kept; an archive or
    /// compressed stream is not copied at all, and its form is returned. UTF-16 and gzipped logs came
    /// out byte for byte as they went in, secrets and all (found by helper-141).
    public func runDetecting<E: Error>(read: (inout [UInt8], Int) throws(E) -> Int, write: ([UInt8]) throws(E) -> Void,
                                       incomplete: () -> Void = {}) throws(E) -> (replaced: Int, refused: String?) {
        var head: [UInt8] = []
        var ended = false
        while head.count < 512 {
            let got = try read(&head, 512 - head.count)
            if got == 0 { ended = true; break }
            // A pause decides the form, unless what came holds a NUL and is too short to tell UTF-16
            // by its shape: `OK\r\n` in UTF-16 then a token was read as text (helper-143).
            // Nor while it is not UTF-8 either: UTF-16 of CJK text has no NUL (helper-144).
            if got < 0, !head.isEmpty, !(head.count < 64 && (head.contains(0) || String(validating: head, as: UTF8.self) == nil)) { break }
        }
        let form = RedactInput.form(of: head)
        if case .packed(let what) = form { return (0, what) }
        var given = 0
        // The head first, then the rest of the stream.
        func rest(_ buffer: inout [UInt8], _ max: Int) throws(E) -> Int {
            if given < head.count {
                let n = Swift.min(max, head.count - given)
                buffer += head[given..<(given + n)]
                given += n
                return n
            }
            return ended ? 0 : try read(&buffer, max)
        }
        guard case .utf16(let order, let mark) = form else {
            return (try run(read: rest, write: write, incomplete: incomplete), nil)
        }
        var stream = UTF16Text.Stream(order, head: [])
        var encoder = UTF16Text.Encoder(order)
        // The input's byte order mark, until it is written ahead of the first output.
        var unwritten: [UInt8] = !mark ? [] : order == .little ? [0xFF, 0xFE] : [0xFE, 0xFF]
        let replaced = try run(read: { (buffer: inout [UInt8], max: Int) throws(E) -> Int in
            try stream.read(into: &buffer, max: max, from: rest)
        }, write: { (bytes: [UInt8]) throws(E) in
            var out = unwritten
            unwritten = []
            encoder.feed(bytes, into: &out)
            if !out.isEmpty { try write(out) }
        }, incomplete: incomplete)
        var tail = unwritten
        encoder.finish(into: &tail)
        if !tail.isEmpty { try write(tail) }
        return (replaced, nil)
    }

    /// Returns how many secrets were replaced.
    /// `incomplete` is called once the stream is done if keyword hits somewhere were too dense to check
    /// them all (`ChunkedScan.run`): what passed through may then hold a secret that was not replaced.
    @discardableResult
    public func run<E: Error>(read: (inout [UInt8], Int) throws(E) -> Int, write: ([UInt8]) throws(E) -> Void,
                              incomplete: () -> Void = {}) throws(E) -> Int {
        var replaced = 0
        var failure: E?
        let complete = try ChunkedScan(engine: engine, chunkSize: chunkSize).run(read: read) { buffer, _, done, matches in
            guard failure == nil else { return false }
            var out: [UInt8] = []
            out.reserveCapacity(done.count + matches.count * 24)
            var at = done.lowerBound
            for m in matches where m.redacted.upperBound > at {
                let r = m.redacted
                if r.lowerBound > at { out += buffer[at..<r.lowerBound] }
                out += Array("[REDACTED:\(m.ruleID)]".utf8)
                at = r.upperBound
                replaced += 1
            }
            if at < done.upperBound { out += buffer[at..<done.upperBound] }
            do throws(E) { try write(out) } catch { failure = error }
            return failure == nil
        }
        if let failure { throw failure }
        if !complete { incomplete() }
        return replaced
    }
}
