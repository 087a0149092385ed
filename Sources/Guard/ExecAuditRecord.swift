import Foundation
import ProvenantCore

/// One decision of `provenant guard exec`, as a JSON line. Every text from the command line, the
/// files it names or the environment passes through the redactor (a token in an argument, a script's
/// file name or an environment label is not copied into the log; the program, script, environment and
/// notes were written whole, found by helper-165), and removed variables are named, never shown.
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
                w.field("program", program.map(Redactor.redact))
                w.field("script", script.map(Redactor.redact))
                w.field("declaredAs", declaredAs.map(Redactor.redact))
                w.field("sha256", sha256)
                w.field("inline", inline.map(Redactor.redact))
                w.field("environment", Redactor.redact(environment))
                w.field("environmentSource", Redactor.redact(environmentSource))
                w.field("reason", Redactor.redact(reason))
                w.field("removedEnvironment", strings: removedEnvironment)
                w.field("capabilities", strings: capabilities)
                w.field("confinement", confinement.map(Redactor.redact))
                w.field("notes", strings: notes.map(Redactor.redact))
            }
        }
        out.append(UInt8(ascii: "\n"))
        return out
    }
}
