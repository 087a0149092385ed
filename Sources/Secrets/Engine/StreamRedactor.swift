import Catalog
import ProvenantCore
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
        if Zlib.isStandard(head) { return .packed("zlib-compressed") }
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
            return (try run(read: rest, write: write, incomplete: incomplete, utf16Runs: true), nil)
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
    /// `utf16Runs`: the stream was read as text, but UTF-16 may follow its head (a shell's `OK` then
    /// PowerShell's output); runs of UTF-16 code units in it are scanned as the text they encode.
    @discardableResult
    public func run<E: Error>(read: (inout [UInt8], Int) throws(E) -> Int, write: ([UInt8]) throws(E) -> Void,
                              incomplete: () -> Void = {}, utf16Runs: Bool = false) throws(E) -> Int {
        var replaced = 0
        var failure: E?
        let complete = try ChunkedScan(engine: engine, chunkSize: chunkSize).run(read: read) { buffer, _, done, matches in
            guard failure == nil else { return false }
            let within = utf16Runs ? Self.utf16Spans(buffer, engine).filter { $0.range.upperBound > done.lowerBound && $0.range.lowerBound < done.upperBound } : []
            if !within.isEmpty {
                // Both kinds of span over this round's part, masked as their union where they overlap.
                var all: [(range: Range<Int>, text: String)] = matches.map { (range: $0.redacted, text: Self.mark($0.ruleID)) }
                all += within.map { (range: $0.range, text: $0.mark) }
                var spans: [(range: Range<Int>, text: String)] = []
                for s in all {
                    let lo = Swift.max(s.range.lowerBound, done.lowerBound), hi = Swift.min(s.range.upperBound, done.upperBound)
                    if lo < hi { spans.append((range: (lo - done.lowerBound)..<(hi - done.lowerBound), text: s.text)) }
                }
                replaced += spans.count
                do throws(E) { try write(Redactor.masking(Array(buffer[done]), spans)) } catch { failure = error }
                return failure == nil
            }
            var out: [UInt8] = []
            out.reserveCapacity(done.count + matches.count * 24)
            var at = done.lowerBound
            for m in matches where m.redacted.upperBound > at {
                let r = m.redacted
                if r.lowerBound > at { out += buffer[at..<r.lowerBound] }
                out += Array(Self.mark(m.ruleID).utf8)
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

    /// What replaces a secret of `rule`.
    static func mark(_ rule: String) -> String { "[REDACTED:\(rule)]" }

    /// Code units of UTF-16 text in a stream read as text: each ASCII character with a NUL after it
    /// (little-endian) or before it (big-endian), 16 or more in a row. Text read as text holds no NUL.
    static let minimumRun = 16

    /// The secrets in the UTF-16 runs of `buffer`, found by scanning the ASCII each run encodes, as
    /// byte ranges of `buffer` and the mark that replaces each, in the run's byte order.
    static func utf16Spans(_ buffer: UnsafeRawBufferPointer, _ engine: SecretEngine) -> [(range: Range<Int>, mark: String)] {
        func ascii(_ b: UInt8) -> Bool { b == 9 || b == 10 || b == 13 || (b >= 0x20 && b < 0x7F) }
        let n = buffer.count
        var spans: [(range: Range<Int>, mark: String)] = []
        var i = 0
        while i + 1 < n {
            let little = ascii(buffer[i]) && buffer[i + 1] == 0, big = buffer[i] == 0 && ascii(buffer[i + 1])
            guard little || big else { i += 1; continue }
            let start = i
            var text: [UInt8] = []
            while i + 1 < n, little ? ascii(buffer[i]) && buffer[i + 1] == 0 : buffer[i] == 0 && ascii(buffer[i + 1]) {
                text.append(little ? buffer[i] : buffer[i + 1])
                i += 2
            }
            guard text.count >= minimumRun else { continue }
            let found: [SecretMatch] = text.withUnsafeBytes { engine.scan($0) }
            for m in found {
                var mark: [UInt8] = []
                for c in Self.mark(m.ruleID).utf8 { if little { mark += [c, 0] } else { mark += [0, c] } }
                let range: Range<Int> = (start + 2 * m.redacted.lowerBound)..<(start + 2 * m.redacted.upperBound)
                spans.append((range: range, mark: String(decoding: mark, as: UTF8.self)))
            }
        }
        return spans
    }
}
