import Crypto
import ProvenantCore

/// A secret as it may be shown: its first 4 characters, its length, and a SHA-256 fingerprint.
/// The value itself is never kept.
public struct MaskedSecret: Sendable, Hashable, CustomStringConvertible {
    public var prefix: String
    public var length: Int
    /// SHA-256 of the value, hex; reports show its first 16 characters.
    public var fingerprint: String

    public init<C: Collection>(_ value: C) where C.Element == UInt8 {
        let bytes = Array(value)
        // The first 4 characters, but never more than a quarter of the value, so a short one keeps most
        // of its characters hidden.
        let head = bytes.prefix(min(4, bytes.count / 4)).map { $0 >= 0x20 && $0 < 0x7f ? $0 : UInt8(ascii: "?") }
        prefix = String(decoding: head, as: UTF8.self)
        length = bytes.count
        fingerprint = Hex.encode(SHA256.hash(data: bytes))
    }

    public var shortFingerprint: String { String(fingerprint.prefix(16)) }
    public var description: String { "\(prefix)… (\(length) chars, sha256:\(shortFingerprint))" }
}

/// One finding of `secrets scan`.
public struct SecretFinding: Sendable, Hashable {
    public var ruleID: String
    public var title: String
    public var severity: SeverityLevel
    public var confidence: Confidence
    /// The file as the user named it, with `!entry` for a file inside an archive.
    public var path: String
    public var line: Int
    public var column: Int
    public var secret: MaskedSecret
    /// The commit that added the line, with `--git`.
    public var commit: String?
    public var pairedWith: String?
    /// In an image: where the file came from, the layer's digest, and whether a later layer removed or
    /// replaced it (the secret is then still in the layer's blob, for anyone who pulls the image).
    public var layer: String?
    public var removedLater = false

    public init(ruleID: String, title: String, severity: SeverityLevel, confidence: Confidence, path: String, line: Int,
                column: Int, secret: MaskedSecret, commit: String? = nil, pairedWith: String? = nil) {
        self.ruleID = ruleID; self.title = title; self.severity = severity; self.confidence = confidence
        self.path = path; self.line = line; self.column = column; self.secret = secret; self.commit = commit; self.pairedWith = pairedWith
    }

    /// Sorted by place, then rule: the report order.
    public static func order(_ a: SecretFinding, _ b: SecretFinding) -> Bool {
        if a.path != b.path { return a.path < b.path }
        if (a.commit ?? "") != (b.commit ?? "") { return (a.commit ?? "") < (b.commit ?? "") }
        if a.line != b.line { return a.line < b.line }
        if a.column != b.column { return a.column < b.column }
        return a.ruleID < b.ruleID
    }
}
