import Foundation
import ProvenantCore

/// One decision of `provenant guard exec`, as a JSON line. Command-line words pass through the
/// redactor (a token in an argument is not copied into the log) and removed variables are named,
/// never shown.
public struct ExecAuditRecord: Sendable, Equatable {
    public var time = Date()
    /// `allow` or `refuse`.
    public var decision = "refuse"
    public var command: [String]
    /// The file executed, once resolved on PATH.
    public var program: String?
    public var script: String?
    /// The manifest key that declared the script.
    public var declaredAs: String?
    /// The script's SHA-256, when the manifest asked for it to be checked.
    public var sha256: String?
    /// How an interpreter was given inline code (`sh -c`), when it was.
    public var inline: String?
    public var environment: String
    public var environmentSource: String
    public var reason = ""
    public var removedEnvironment: [String] = []
    public var capabilities: [String] = []
    /// `landlock ABI 7`, or `unconfined: <why>` with --allow-unconfined.
    public var confinement: String?
    public var notes: [String] = []

    public init(command: [String], environment: ExecEnvironment) {
        self.command = command
        self.environment = environment.name
        self.environmentSource = environment.source
        if let n = environment.note { notes.append("environment: \(n)") }
    }

    public var jsonLine: [UInt8] {
        var out: [UInt8] = []
        JSONWriter.write(into: &out, indent: 0, pretty: false) { w in
            w.object { w in
                w.field("time", RFC3339.string(from: time))
                w.field("decision", decision)
                w.field("command", strings: Redactor.redactArguments(command))
                w.field("program", program)
                w.field("script", script)
                w.field("declaredAs", declaredAs)
                w.field("sha256", sha256)
                w.field("inline", inline)
                w.field("environment", environment)
                w.field("environmentSource", environmentSource)
                w.field("reason", Redactor.redact(reason))
                w.field("removedEnvironment", strings: removedEnvironment)
                w.field("capabilities", strings: capabilities)
                w.field("confinement", confinement)
                w.field("notes", strings: notes)
            }
        }
        out.append(UInt8(ascii: "\n"))
        return out
    }
}
