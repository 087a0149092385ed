import Foundation
import Secrets

/// The proxy's leak check of one plain request, held whole: what it found, and whether every
/// candidate could be checked.
public enum LeakCheck {
    public struct Verdict: Sendable {
        /// The rule of the first secret found.
        public var rule: String?
        /// Whether every candidate could be checked.
        public var complete: Bool
        /// Why not, when it is not the engine's budget.
        public var unchecked: String?
    }

    /// The whole request, as sent and as a server would decode it (%XX, \uXXXX, \/), since a secret
    /// written with one character escaped is the secret. The decoded view exists only when the request
    /// holds a `%` or a `\`. The body from `bodyFrom` on is also read as `secrets scan` reads a file of
    /// the same bytes when it is a gzip, zip or tar archive or UTF-16 text: a token in a gzipped or
    /// UTF-16 upload passed (found by helper-141). One that cannot be opened (xz, a damaged or
    /// over-budget archive) is not checked, so not sent.
    /// A `multipart/…` body (a `contentTypes` value names its boundary) is read part by part, each as a
    /// file of its bytes: a gzip or UTF-16 file uploaded as a form field passed (helper-143). Two
    /// boundaries, a body no delimiter splits, or more than `maxParts` parts are refused; and an
    /// archive that starts anywhere in the body is opened where it starts (helper-184).
    public static func request(_ whole: UnsafeRawBufferPointer, _ engine: SecretEngine, bodyFrom: Int = 0, contentTypes: [String] = []) -> Verdict {
        let (hit, complete) = raw(whole, engine)
        if let hit { return Verdict(rule: hit.ruleID, complete: complete) }
        guard bodyFrom >= 0, bodyFrom < whole.count else { return Verdict(rule: nil, complete: complete) }
        // Where the body or a part was opened already, an archive start is not opened again.
        var opened = Set<Int>()
        let verdict = body(whole, engine, from: bodyFrom, contentTypes: contentTypes, complete: complete, opened: &opened)
        guard verdict.rule == nil, let rule = embeddedArchiveFinding(whole, from: bodyFrom + 1, engine, skipping: opened) else { return verdict }
        return Verdict(rule: rule, complete: complete)
    }

    /// The body read whole and, when multipart, part by part; `opened` gets where each piece that was
    /// opened as an archive or UTF-16 starts in `whole`.
    static func body(_ whole: UnsafeRawBufferPointer, _ engine: SecretEngine, from bodyFrom: Int, contentTypes: [String], complete: Bool,
                     opened starts: inout Set<Int>) -> Verdict {
        // Every boundary named, in every content type: servers differ on which of two they take (Python's
        // readers the last), so a body with two is refused below (helper-183).
        let boundaries = Set(contentTypes.flatMap(multipartBoundaries))
        // Most bodies are text no reader opens, told by their first 8 KiB: the body is copied out of
        // the request only when it or its parts may need opening.
        guard !boundaries.isEmpty || SecretsScanner.mayNeedOpening(head: Array(whole[bodyFrom..<min(whole.count, bodyFrom + 8192)])) else {
            return Verdict(rule: nil, complete: complete)
        }
        let body = Array(whole[bodyFrom...])
        let scanner = bodyScanner(engine)
        func opened(_ piece: ArraySlice<UInt8>) -> Verdict? {
            guard SecretsScanner.mayNeedOpening(head: Array(piece.prefix(8192))) else { return nil }
            let bytes = Array(piece)
            guard SecretsScanner.needsOpening(bytes) else { return nil }
            starts.insert(bodyFrom + piece.startIndex)
            let r = scanner.scanPayload(bytes, display: "the request body")
            if let f = r.findings.first { return Verdict(rule: f.ruleID, complete: complete) }
            guard r.partial == 0, r.unreadable == 0 else {
                return Verdict(rule: nil, complete: false, unchecked: "the request body is compressed or archived in a way that cannot be opened and checked for secrets; nothing was sent")
            }
            return nil
        }
        if let v = opened(body[...]) { return v }
        // One boundary at most, of at most 70 characters (RFC 2046): several, or a long one, made the
        // split cost the body's size times theirs (helper-144). Refused rather than read partly.
        // RFC 2231's `boundary*` names a boundary this check does not read, and a server that does
        // splits parts it never saw: refused, as two boundaries are (helper-184).
        if contentTypes.contains(where: namesExtendedBoundary) {
            return Verdict(rule: nil, complete: false, unchecked: "the multipart body names its boundary in RFC 2231's extended form (boundary*), which this check does not read; nothing was sent")
        }
        guard let boundary = boundaries.first else { return Verdict(rule: nil, complete: complete) }
        guard boundaries.count == 1, boundary.utf8.count <= 70 else {
            return Verdict(rule: nil, complete: false, unchecked: "the multipart body names several boundaries, or one longer than 70 characters; nothing was sent")
        }
        var verdict: Verdict?
        let split = multipartParts(body, boundary: boundary) { part in
            verdict = opened(part)
            return verdict == nil
        }
        if let verdict { return verdict }
        guard let split else {
            // No delimiter where a line begins: the body is no multipart this check can split, and a
            // server that reads it otherwise would find the parts it holds (helper-183).
            return Verdict(rule: nil, complete: false, unchecked: "the multipart body has no part delimited by its boundary; nothing was sent")
        }
        guard split else { return Verdict(rule: nil, complete: false, unchecked: "the multipart body has more than \(maxParts) parts; nothing was sent") }
        return Verdict(rule: nil, complete: complete)
    }

    static let maxParts = 1000

    /// How a body and its parts are read: as `secrets scan` reads a file, binary-looking bytes included.
    static func bodyScanner(_ engine: SecretEngine) -> SecretsScanner {
        var options = SecretsScanOptions()
        options.scanBinary = true
        return SecretsScanner(engine: engine, options: options)
    }

    /// Archive starts opened wherever they stand after the body's first byte, at most this many.
    static let maxEmbedded = 16

    /// The rule of a secret in a gzip, zip, zstd or xz stream that starts anywhere in `whole` from
    /// `from` on but at `skipping`, opened from its magic as `secrets scan` opens a file of those bytes. Servers split a
    /// multipart body in ways this check does not (RFC 2231's `boundary*`, a first delimiter mid-line,
    /// headers ending in `\r\r`), and a gzip part then passed (found by helper-184); wherever a server
    /// finds a part, its archive starts at one of these offsets. What cannot be opened from there (an
    /// archive's inside, bytes that look like a start by chance) says nothing, so it refuses nothing.
    static func embeddedArchiveFinding(_ whole: UnsafeRawBufferPointer, from: Int, _ engine: SecretEngine, skipping: Set<Int> = []) -> String? {
        guard from >= 0, whole.count >= from + 4 else { return nil }
        let scanner = bodyScanner(engine)
        var tried = 0
        var i = from
        while i + 4 <= whole.count, tried < maxEmbedded {
            let b0 = whole[i], b1 = whole[i + 1], b2 = whole[i + 2], b3 = whole[i + 3]
            let start = (b0 == 0x1F && b1 == 0x8B && b2 == 8) || (b0 == 0x50 && b1 == 0x4B && b2 == 3 && b3 == 4)
                || (b0 == 0x28 && b1 == 0xB5 && b2 == 0x2F && b3 == 0xFD) || (b0 == 0xFD && b1 == 0x37 && b2 == 0x7A && b3 == 0x58)
            if start, !skipping.contains(i) {
                tried += 1
                let piece = Array(whole[i...])
                if SecretsScanner.needsOpening(piece), let f = scanner.scanPayload(piece, display: "the request body").findings.first { return f.ruleID }
            }
            i += 1
        }
        return nil
    }

    /// Every `boundary` parameter of a `multipart/…` content type, as RFC 2045 writes parameters: a
    /// quoted value may hold `;` and `\"`, which split the value where the quotes were ignored
    /// (`boundary="xx;yy"` was read as `"xx`, found by helper-183). An empty value is kept, as no
    /// boundary a body can be split by.
    static func multipartBoundaries(_ contentType: String) -> [String] {
        let c = Array(contentType.utf8)
        var fields: [[UInt8]] = [[]]
        var i = 0, quoted = false
        while i < c.count {
            let b = c[i]
            if quoted, b == 92, i + 1 < c.count { fields[fields.count - 1] += [b, c[i + 1]]; i += 2; continue }
            if b == 34 { quoted.toggle() }
            if b == 59, !quoted { fields.append([]) } else { fields[fields.count - 1].append(b) }
            i += 1
        }
        func trimmed(_ f: [UInt8]) -> [UInt8] { Array(f.drop { $0 == 32 || $0 == 9 }.reversed().drop { $0 == 32 || $0 == 9 }.reversed()) }
        guard let type = fields.first, String(decoding: trimmed(type), as: UTF8.self).lowercased().hasPrefix("multipart/") else { return [] }
        var out: [String] = []
        for f in fields.dropFirst() {
            guard let eq = f.firstIndex(of: 61), String(decoding: trimmed(Array(f[..<eq])), as: UTF8.self).lowercased() == "boundary" else { continue }
            var v = trimmed(Array(f[(eq + 1)...]))
            if v.count >= 2, v.first == 34, v.last == 34 {
                var unquoted: [UInt8] = []
                var k = 1
                while k < v.count - 1 {
                    if v[k] == 92, k + 1 < v.count - 1 { k += 1 }
                    unquoted.append(v[k]); k += 1
                }
                v = unquoted
            }
            out.append(String(decoding: v, as: UTF8.self))
        }
        return out
    }

    /// Whether a `multipart/…` content type has a `boundary*` parameter (RFC 2231), in any case.
    static func namesExtendedBoundary(_ contentType: String) -> Bool {
        let lower = contentType.lowercased()
        guard lower.drop(while: { $0 == " " || $0 == "\t" }).hasPrefix("multipart/") else { return false }
        var rest = lower[...]
        while let r = rest.range(of: "boundary") {
            let after = rest[r.upperBound...].drop { $0 == " " || $0 == "\t" }
            let before = rest[..<r.lowerBound].reversed().drop { $0 == " " || $0 == "\t" }.first
            if after.first == "*", before == nil || before == ";" { return true }
            rest = rest[r.upperBound...]
        }
        return false
    }

    /// Each part's content (after its headers' blank line, before the line break ahead of the next
    /// delimiter), handed to `visit` in order until it returns false; a part whose headers never end,
    /// whole. Delimiters count only where a line begins, as RFC 2046 writes them, so the search is
    /// linear. False past `maxParts`, nil when no delimiter is found in a body that is not empty.
    static func multipartParts(_ body: [UInt8], boundary: String, visit: (ArraySlice<UInt8>) -> Bool) -> Bool? {
        guard !boundary.isEmpty else { return body.isEmpty ? true : nil }
        let delimiter = Array(("--" + boundary).utf8)
        var starts: [Int] = []
        var i = 0
        while i + delimiter.count <= body.count {
            if body[i..<(i + delimiter.count)].elementsEqual(delimiter) {
                starts.append(i)
                guard starts.count <= maxParts + 1 else { return false }
            }
            guard let nl = body[i...].firstIndex(of: 10) else { break }
            i = nl + 1
        }
        // The preamble before the first delimiter is no part; an archive there starts the body, which is
        // opened whole before it is split.
        guard !starts.isEmpty else { return body.isEmpty ? true : nil }
        for (k, s) in starts.enumerated() {
            let end = k + 1 < starts.count ? starts[k + 1] : body.count
            let part = body[(s + delimiter.count)..<end]
            // Headers end at the first blank line (CRLF CRLF, or LF LF).
            var contentStart: Int?
            var j = part.startIndex
            while j + 1 < part.endIndex {
                if part[j] == 10, part[j + 1] == 10 { contentStart = j + 2; break }
                if j + 3 < part.endIndex, part[j] == 13, part[j + 1] == 10, part[j + 2] == 13, part[j + 3] == 10 { contentStart = j + 4; break }
                j += 1
            }
            // Headers that never end: what a lenient reader takes for content, from the line after the
            // delimiter's, is opened as it stands.
            guard let c = contentStart ?? part.firstIndex(of: 10).map({ $0 + 1 }) else { continue }
            var e = part.endIndex
            if e > c, part[e - 1] == 10 { e -= 1 }
            if e > c, part[e - 1] == 13 { e -= 1 }
            if !visit(part[c..<e]) { return true }
        }
        return true
    }

    /// The bytes as sent and as decoded: the first secret found, and whether every candidate was checked.
    static func raw(_ whole: UnsafeRawBufferPointer, _ engine: SecretEngine) -> (SecretMatch?, complete: Bool) {
        var complete = true
        if let h = engine.scan(whole, complete: &complete).first { return (h, complete) }
        // UTF-16 anywhere, not only a body that starts as UTF-16: text after a UTF-8 head, a header or
        // a part read as UTF-8 passed (helper-183). Its stretches are read as `secrets scan` and
        // `redact` read them, past non-ASCII characters too (only a request with a NUL holds any).
        // One budget for every stretch, as `ChunkedScan` gives a buffer's: each with its own let a
        // request of many short stretches cost far more than its size.
        var wide: SecretMatch?
        var budget = SecretEngine.workBudget(whole.count)
        UTF16Runs.find(whole, lead: nil) { run in
            guard wide == nil else { return }
            wide = run.text.withUnsafeBytes { engine.scan($0, complete: &complete, budget: &budget).first }
        }
        if let wide { return (wide, complete) }
        guard let decoded = LeakView.decoded(whole) else { return (nil, complete) }
        if let h = decoded.withUnsafeBytes({ engine.scan($0, complete: &complete).first }) { return (h, complete) }
        // Wrapped base64 (which the engine joins for known values, `WrappedBase64`) sent form-encoded:
        // its breaks are `%0A` until decoded (found by review), and its indentation may be `+`, a form's space.
        guard let known = engine.known else { return (nil, complete) }
        return (decoded.withUnsafeBytes { LeakView.unwrapped($0, plusIsSpace: true) }.flatMap { j in j.withUnsafeBytes { known.scan($0).first } }, complete)
    }
}
