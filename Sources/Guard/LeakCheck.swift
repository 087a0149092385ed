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
    public static func request(_ whole: UnsafeRawBufferPointer, _ engine: SecretEngine, bodyFrom: Int = 0) -> Verdict {
        let (hit, complete) = raw(whole, engine)
        if let hit { return Verdict(rule: hit.ruleID, complete: complete) }
        guard bodyFrom >= 0, bodyFrom < whole.count else { return Verdict(rule: nil, complete: complete) }
        let body = Array(whole[bodyFrom...])
        guard SecretsScanner.needsOpening(body) else { return Verdict(rule: nil, complete: complete) }
        let opened = SecretsScanner(engine: engine).scanPayload(body, display: "the request body")
        if let f = opened.findings.first { return Verdict(rule: f.ruleID, complete: complete) }
        guard opened.partial == 0, opened.unreadable == 0 else {
            return Verdict(rule: nil, complete: false, unchecked: "the request body is compressed or archived in a way that cannot be opened and checked for secrets; nothing was sent")
        }
        return Verdict(rule: nil, complete: complete)
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
