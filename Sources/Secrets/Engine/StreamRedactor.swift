#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Catalog
import ProvenantCore
/// What a stream's first bytes say it is, for `secrets redact`.
public enum RedactInput: Equatable, Sendable {
    /// Text, UTF-16 text among it: rewritten in place.
    case text
    /// An archive or compressed stream, which redact cannot rewrite: named.
    case packed(String)

    public static func form(of head: [UInt8]) -> RedactInput {
        // UTF-16 text is text, whatever its first bytes would otherwise pass for.
        if UTF16Text.detect(head) != nil { return .text }
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

    /// `run` on a stream whose first bytes tell its form (`RedactInput`): an archive or compressed
    /// stream is not copied at all, and its form is returned; text and UTF-16 are rewritten in place,
    /// ASCII written as UTF-16 anywhere in them scanned as the text it encodes (`ChunkedScan.wideMatches`).
    /// UTF-16 and gzipped logs came out byte for byte as they went in, secrets and all (found by
    /// helper-141). UTF-16 was then decoded, redacted and encoded again, and text after it (UTF-8
    /// appended to a UTF-16 log) decoded as CJK and passed, token and all (found by helper-183).
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
        if case .packed(let what) = RedactInput.form(of: head) { return (0, what) }
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
        return (try run(read: rest, write: write, incomplete: incomplete), nil)
    }

    /// Returns how many secrets were replaced.
    /// `incomplete` is called once the stream is done if keyword hits somewhere were too dense to check
    /// them all (`ChunkedScan.run`): what passed through may then hold a secret that was not replaced.
    /// Runs of UTF-16 code units in the stream are scanned as the text they encode, and a secret in
    /// them is replaced by a mark in UTF-16 of the same byte order.
    @discardableResult
    public func run<E: Error>(read: (inout [UInt8], Int) throws(E) -> Int, write: ([UInt8]) throws(E) -> Void,
                              incomplete: () -> Void = {}) throws(E) -> Int {
        var replaced = 0
        var failure: E?
        var sawZero = false
        let complete = try ChunkedScan(engine: engine, chunkSize: chunkSize).run(read: read) { buffer, _, done, matches in
            guard failure == nil else { return false }
            var out: [UInt8] = []
            out.reserveCapacity(done.count + matches.count * 24)
            var at = done.lowerBound
            var k = 0
            while k < matches.count {
                // Matches that overlap one another, as a group: one found in UTF-16 among them makes one
                // mark in UTF-16 over all of them, since a mark in bytes there (a known value's UTF-16
                // form) would shift the rest of the stream by a byte.
                var j = k + 1, upper = matches[k].redacted.upperBound
                while j < matches.count, matches[j].redacted.lowerBound < upper {
                    upper = Swift.max(upper, matches[j].redacted.upperBound)
                    j += 1
                }
                if let w = matches[k..<j].first(where: { $0.utf16LowBytes != nil }), let lowBytes = w.utf16LowBytes {
                    let lo = Swift.max(at, matches[k].redacted.lowerBound)
                    if upper > at {
                        if lo > at { out += buffer[at..<lo] }
                        out += Self.wideMark(w.ruleID, from: lo, to: upper, lowBytes: lowBytes)
                        at = upper
                        replaced += 1
                    }
                } else {
                    if !sawZero, let p = buffer.baseAddress { sawZero = memchr(p, 0, buffer.count) != nil }
                    for m in matches[k..<j] where m.redacted.upperBound > at {
                        let r = m.redacted
                        if r.lowerBound > at { out += buffer[at..<r.lowerBound] }
                        var mark = Array(Self.mark(m.ruleID).utf8)
                        // In a stream with UTF-16 in it, a mark as long as what it replaces, to a byte's
                        // parity: text between UTF-16 parts shifted all that followed by a byte, and it
                        // read as CJK (found by helper-185).
                        if sawZero, (mark.count - (r.upperBound - Swift.max(at, r.lowerBound))) & 1 != 0 { mark.append(32) }
                        out += mark
                        at = r.upperBound
                        replaced += 1
                    }
                }
                k = j
            }
            if at < done.upperBound { out += buffer[at..<done.upperBound] }
            do throws(E) { try write(out) } catch { failure = error }
            return failure == nil
        }
        if let failure { throw failure }
        if !complete { incomplete() }
        return replaced
    }

    /// The mark for bytes `from..<to` of UTF-16 whose code units' low bytes stand at offsets of parity
    /// `lowBytes`: the mark's characters at that parity with zeros between them, and a zero first or
    /// last where the bytes start or end on a unit's high byte, so that what follows keeps its place in
    /// its code units, whichever byte order the text is in.
    static func wideMark(_ rule: String, from: Int, to: Int, lowBytes: Int) -> [UInt8] {
        let parity = lowBytes & 1
        var out: [UInt8] = from & 1 != parity ? [0] : []
        out += ChunkedScan.interleaved(Array(mark(rule).utf8))
        if to & 1 == parity { out.append(0) }
        return out
    }

    /// What replaces a secret of `rule`.
    static func mark(_ rule: String) -> String { "[REDACTED:\(rule)]" }
}
