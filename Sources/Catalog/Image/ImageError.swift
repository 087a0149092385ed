import ProvenantCore

/// Why an image could not be read: one line naming the blob or entry (already redacted) and what is
/// wrong with it. Reading an image stops at the first one; the command exits 2.
public struct ImageError: Error, Sendable, CustomStringConvertible, Equatable {
    public var subject: String
    public var message: String
    /// The HTTP status a registry answered with, when that is why; nil for every other reason.
    public var status: UInt? = nil
    /// The registry's error code (`DIGEST_INVALID`, `UNKNOWN`, …) from its JSON error body, when it sent one.
    public var registryCode: String? = nil

    public init(_ subject: String, _ message: String) {
        self.subject = Redactor.escapeControls(Redactor.redact(subject))
        self.message = Redactor.escapeControls(Redactor.redact(message))
    }

    public var description: String { "\(subject): \(message)" }
}
