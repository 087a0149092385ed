import Foundation
import ProvenantCore

/// The report of `secrets scan` in the three formats. No format carries a secret value: only its
/// length, and for a strong value its first 4 characters and its SHA-256 (`MaskedSecret`).
public struct SecretsReport: Sendable {
    public var findings: [SecretFinding]
    public var suppressed: [SecretFinding]
    public var goneFromBaseline: [SecretsBaseline.Entry]
    public var result: SecretsScanResult
    public var rules: [Rule]

    public init(findings: [SecretFinding], suppressed: [SecretFinding] = [], goneFromBaseline: [SecretsBaseline.Entry] = [],
                result: SecretsScanResult, rules: [Rule]) {
        self.findings = findings; self.suppressed = suppressed; self.goneFromBaseline = goneFromBaseline
        self.result = result; self.rules = rules
    }

    static func findingJSON(_ f: SecretFinding) -> JSONValue {
        var o: [(String, JSONValue)] = [
            ("rule", .string(f.ruleID)), ("title", .string(f.title)), ("severity", .string(f.severity.description)),
            ("confidence", .string(f.confidence.description)), ("path", .string(f.path)), ("line", .int(f.line)),
            ("column", .int(f.column)),
            ("secret", .object([("prefix", .string(f.secret.prefix)), ("length", .int(f.secret.length)),
                                ("fingerprint", .string(f.fingerprint)),
                                ("fingerprintOf", .string(f.secret.valueDigest != nil ? "value"
                                    : f.secret.baselineDigest != nil ? "value, by PBKDF2 with the baseline's salt (the value is weak)"
                                    : "rule, path, length and line (the value is weak)"))])),
        ]
        if let c = f.commit { o.append(("commit", .string(c))) }
        if let l = f.layer { o.append(("layer", .string(l))); o.append(("removedByLaterLayer", .bool(f.removedLater))) }
        if let p = f.pairedWith { o.append(("pairedWith", .string(p))) }
        return .object(o)
    }

    public var json: JSONValue {
        .object([
            ("findings", .array(findings.map(Self.findingJSON))),
            ("suppressed", .array(suppressed.map(Self.findingJSON))),
            // Without the fingerprint, as in the table: an old baseline's entry for a weak value is the
            // value's plain SHA-256 (helper-133), which the JSON still printed (found by helper-211).
            ("baselineEntriesNotFound", .array(goneFromBaseline.map { g in
                let g = Self.shown(g)
                return .object([("rule", .string(g.rule)), ("path", .string(g.path))])
            })),
            ("summary", .object([
                ("files", .int(result.filesScanned)), ("bytes", .int(result.bytesScanned)),
                ("skippedBinary", .int(result.skippedBinary)), ("unreadable", .int(result.unreadable)),
                ("partlyScanned", .int(result.partial)),
                ("findings", .int(findings.count)), ("suppressed", .int(suppressed.count)),
            ])),
            ("warnings", .array(result.warnings.map { .string($0) })),
        ])
    }

    /// A baseline entry as it may be shown: the file is input, hand-edited or not, so its rule, path
    /// and fingerprint pass through the redactor like every other echoed field.
    static func shown(_ g: SecretsBaseline.Entry) -> SecretsBaseline.Entry {
        SecretsBaseline.Entry(rule: Redactor.redact(g.rule), path: Redactor.redact(g.path), fingerprint: Redactor.redactField(g.fingerprint))
    }

    public var table: String {
        var out = ""
        let unchecked = result.unreadable + result.partial
        if findings.isEmpty {
            // Fail closed in words too: what was not read to its end is not reported as clean.
            out += unchecked == 0 ? "No secrets found.\n"
                : "No secrets found in what was read; \(unchecked) input\(unchecked == 1 ? " was" : "s were") NOT CHECKED to the end (see the warnings).\n"
        }
        for f in findings {
            var where_ = "\(f.path):\(f.line):\(f.column)"
            if let c = f.commit { where_ += " (commit \(c.prefix(12)))" }
            if let l = f.layer { where_ += " (layer \(l.prefix(19))\(f.removedLater ? ", removed by a later layer but still in this one" : ""))" }
            out += "\(f.severity.description.uppercased().padding(toLength: 8, withPad: " ", startingAt: 0)) \(f.ruleID)  \(where_)\n"
            out += "         \(f.title); \(f.secret); confidence \(f.confidence)"
            if let p = f.pairedWith { out += "; paired with \(p)" }
            out += "\n"
        }
        if !suppressed.isEmpty { out += "\n\(suppressed.count) finding(s) suppressed by the baseline.\n" }
        // Without its fingerprint: an old baseline's entry for a weak value is the value's plain SHA-256
        // (found by helper-133).
        for g in goneFromBaseline.map(Self.shown) { out += "baseline entry no longer found: \(g.rule) in \(g.path)\n" }
        out += "\n\(result.filesScanned) file(s), \(result.bytesScanned) bytes scanned; \(result.skippedBinary) binary skipped; \(result.unreadable) unreadable; \(result.partial) partly scanned; \(findings.count) finding(s).\n"
        // Paths and baseline entries come from the input: shown with their control characters escaped.
        return Redactor.escapeControlsPerLine(out)
    }

    /// The SARIF log; the fingerprint is the value's SHA-256, so code-scanning tools track a secret across moves.
    public func sarif(toolVersion: String, to flush: ([UInt8]) -> Void) {
        let used = Set(findings.map(\.ruleID))
        var sarifRules: [SARIF.Rule] = rules.filter { used.contains($0.id) }.map {
            SARIF.Rule(id: $0.id, description: $0.title, properties: ["security-severity-level": .string($0.severity.description)])
        }
        let named = Set(sarifRules.map(\.id))
        for id in used.subtracting(named).sorted() {
            sarifRules.append(SARIF.Rule(id: id, description: findings.first { $0.ruleID == id }?.title ?? id))
        }
        sarifRules.sort { $0.id < $1.id }
        let results = findings.map { f in
            SARIF.Result(ruleID: f.ruleID, level: SARIF.level(forSeverity: f.severity.description),
                         message: "\(f.title): \(f.secret)\(f.commit.map { " in commit \($0)" } ?? "")\(f.layer.map { " in layer \($0)" } ?? "")\(f.removedLater ? " (removed by a later layer, still in this one)" : "")",
                         locations: [(f.path, f.line)], fingerprint: f.fingerprint,
                         properties: ["confidence": f.confidence.description, "column": String(f.column)])
        }
        let notes = result.warnings.prefix(1000).map { SARIF.Notification(id: "secrets/not-scanned", level: "warning", message: $0) }
        SARIF.write(toolVersion: toolVersion, rules: sarifRules, results: results, notifications: Array(notes), to: flush)
    }
}
