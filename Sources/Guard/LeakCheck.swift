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
    /// A `multipart/…` body (a `contentTypes` value names its boundary; every one given is read, as
    /// servers differ on which of two they take) is read part by part, each as a file of its bytes: a
    /// gzip or UTF-16 file uploaded as a form field passed (helper-143).
    public static func request(_ whole: UnsafeRawBufferPointer, _ engine: SecretEngine, bodyFrom: Int = 0, contentTypes: [String] = []) -> Verdict {
        let (hit, complete) = raw(whole, engine)
        if let hit { return Verdict(rule: hit.ruleID, complete: complete) }
        guard bodyFrom >= 0, bodyFrom < whole.count else { return Verdict(rule: nil, complete: complete) }
        let boundaries = Set(contentTypes.compactMap(multipartBoundary))
        // Most bodies are text no reader opens, told by their first 8 KiB: the body is copied out of
        // the request only when it or its parts may need opening.
        guard !boundaries.isEmpty || SecretsScanner.mayNeedOpening(head: Array(whole[bodyFrom..<min(whole.count, bodyFrom + 8192)])) else {
            return Verdict(rule: nil, complete: complete)
        }
        let body = Array(whole[bodyFrom...])
        var options = SecretsScanOptions()
        options.scanBinary = true
        let scanner = SecretsScanner(engine: engine, options: options)
        func opened(_ piece: ArraySlice<UInt8>) -> Verdict? {
            guard SecretsScanner.mayNeedOpening(head: Array(piece.prefix(8192))) else { return nil }
            let bytes = Array(piece)
            guard SecretsScanner.needsOpening(bytes) else { return nil }
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
        guard split else { return Verdict(rule: nil, complete: false, unchecked: "the multipart body has more than \(maxParts) parts; nothing was sent") }
        return Verdict(rule: nil, complete: complete)
    }

    static let maxParts = 1000

    /// The `boundary` parameter of a `multipart/…` content type, quotes removed.
    static func multipartBoundary(_ contentType: String) -> String? {
        let fields = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let type = fields.first, type.lowercased().hasPrefix("multipart/") else { return nil }
        for f in fields.dropFirst() {
            let kv = f.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else { continue }
            var v = kv[1].trimmingCharacters(in: .whitespaces)
            if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            return v.isEmpty ? nil : v
        }
        return nil
    }

    /// Each part's content (after its headers' blank line, before the line break ahead of the next
    /// delimiter), handed to `visit` in order until it returns false. Delimiters count only where a
    /// line begins, as RFC 2046 writes them, so the search is linear. False past `maxParts`.
    static func multipartParts(_ body: [UInt8], boundary: String, visit: (ArraySlice<UInt8>) -> Bool) -> Bool {
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
            guard let c = contentStart else { continue }
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
        if let known = engine.known, let joined = LeakView.unwrapped(whole),
           let h = joined.withUnsafeBytes({ known.scan($0).first }) { return (h, complete) }
        guard let decoded = LeakView.decoded(whole) else { return (nil, complete) }
        if let h = decoded.withUnsafeBytes({ engine.scan($0, complete: &complete).first }) { return (h, complete) }
        // Wrapped base64 sent form-encoded: its breaks are `%0A` until decoded (found by review),
        // and its indentation may be `+`, a form's space.
        guard let known = engine.known else { return (nil, complete) }
        if let joined = decoded.withUnsafeBytes({ LeakView.unwrapped($0) }), let h = joined.withUnsafeBytes({ known.scan($0).first }) { return (h, complete) }
        return (decoded.withUnsafeBytes { LeakView.unwrapped($0, plusIsSpace: true) }.flatMap { j in j.withUnsafeBytes { known.scan($0).first } }, complete)
    }
}
