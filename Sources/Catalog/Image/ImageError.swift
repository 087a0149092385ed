import ProvenantCore

/// Why an image could not be read: one line naming the blob or entry (already redacted) and what is
/// wrong with it. Reading an image stops at the first one; the command exits 2.
public struct ImageError: Error, Sendable, CustomStringConvertible, Equatable {
    public var subject: String
    public var message: String

    public init(_ subject: String, _ message: String) {
        self.subject = Redactor.escapeControls(Redactor.redact(subject))
        self.message = Redactor.escapeControls(Redactor.redact(message))
    }

    public var description: String { "\(subject): \(message)" }
}
