import Crypto
import Foundation
import ProvenantCore

/// `diff` and `verify-files` findings as a table, JSON or SARIF 2.1.0. Every text was redacted when
/// its finding was made; the table escapes each column as a cell (the last one per line), for the
/// terminal.
public struct DriftReport: Sendable {
    public var findings: [DriftFinding]
    public var approved: [DriftFinding]
    public var notes: [String]
    /// What the last line says was compared (`baseline 120 packages, current 124`).
    public var summary: String

    public init(findings: [DriftFinding], approved: [DriftFinding] = [], notes: [String] = [], summary: String) {
        self.findings = findings; self.approved = approved; self.notes = notes; self.summary = summary
    }

    public init(_ d: SBOMDiff) {
        self.init(findings: d.findings, approved: d.approved, notes: d.notes,
                  summary: "baseline \(d.baselineCount) packages, current \(d.currentCount)")
    }

    public var table: String {
        var rows: [[String]] = [["SEVERITY", "RULE", "SUBJECT", "DETAIL"]]
        for f in findings { rows.append([f.severity.description, f.rule.rawValue, f.subject, f.message + (f.location.map { " [\($0)]" } ?? "")]) }
        for f in approved { rows.append(["approved", f.rule.rawValue, f.subject, f.message + " (approved by \(f.approvedBy ?? "policy"))"]) }
        // A TAB in a subject (a package's name) would shift the columns after it.
        rows = rows.map { r in r.enumerated().map { c, v in c < 3 ? Redactor.escapeTableCell(v) : v } }
        var out = ""
        if rows.count > 1 {
            let widths = (0..<3).map { c in min(60, rows.map { $0[c].count }.max() ?? 0) }
            for r in rows {
                var line = ""
                for c in 0..<3 { line += r[c].padding(toLength: max(widths[c], r[c].count), withPad: " ", startingAt: 0) + "  " }
                out += line + r[3] + "\n"
            }
            out += "\n"
        }
        for n in notes { out += "note: \(n)\n" }
        out += "\(counts); \(approved.count) approved by policy; \(summary)\n"
        // Details and notes quote package names too: C1 controls and bidirectional overrides escaped.
        return Redactor.escapeControlsPerLine(out)
    }

    var counts: String {
        guard !findings.isEmpty else { return "no unapproved changes" }
        let bySeverity = Dictionary(grouping: findings, by: \.severity)
        let parts = SeverityLevel.allCases.reversed().compactMap { s in bySeverity[s].map { "\($0.count) \(s)" } }
        return "\(findings.count) finding\(findings.count == 1 ? "" : "s") (\(parts.joined(separator: ", ")))"
    }

    public var json: JSONValue {
        func item(_ f: DriftFinding) -> JSONValue {
            var o = ObjectBuilder()
            o.add("rule", .string(f.rule.rawValue))
            o.add("severity", .string(f.severity.description))
            o.add("subject", .string(f.subject))
            o.add("message", .string(f.message))
            if let l = f.location {
                var loc = ObjectBuilder()
                loc.add("path", .string(l.path))
                if let n = l.line { loc.add("line", .int(n)) }
                loc.add("layer", l.layer)
                o.add("location", loc.value)
            }
            o.add("approvedBy", f.approvedBy)
            return o.value
        }
        return .object([("findings", .array(findings.map(item))), ("approved", .array(approved.map(item))),
                         ("notes", .array(notes.map { .string($0) })), ("summary", .string(summary))])
    }

    public func sarif(toolVersion: String, to flush: ([UInt8]) -> Void) {
        let used = Set(findings.map(\.rule)).union(approved.map(\.rule)).sorted()
        let rules = used.map { r in
            SARIF.Rule(id: r.rawValue, description: r.summary, properties: ["tags": .array([.string("security"), .string("supply-chain")]),
                                                                           "security-severity": .string(Self.securitySeverity(r.severity))])
        }
        func result(_ f: DriftFinding) -> SARIF.Result {
            SARIF.Result(ruleID: f.rule.rawValue, level: SARIF.level(forSeverity: f.severity.description), message: f.message,
                         locations: f.location.map { [($0.path, $0.line)] } ?? [],
                         fingerprint: Hex.encode(SHA256.hash(data: Array("\(f.rule.rawValue)|\(f.subject)|\(f.message)".utf8))),
                         properties: ["severity": f.severity.description, "subject": f.subject],
                         suppression: f.approvedBy.map { "approved by policy rule \($0)" })
        }
        let notifications = notes.enumerated().map { SARIF.Notification(id: "note-\($0.offset + 1)", level: "note", message: $0.element) }
        SARIF.write(toolVersion: toolVersion, rules: rules, results: findings.map(result) + approved.map(result), notifications: notifications, to: flush)
    }

    /// GitHub's numeric band for each level.
    static func securitySeverity(_ s: SeverityLevel) -> String {
        switch s { case .critical: "9.5"; case .high: "8.0"; case .medium: "5.5"; case .low: "2.0"; default: "0.0" }
    }

    /// Whether an unapproved finding reaches `threshold`.
    public func fails(at threshold: SeverityLevel?) -> Bool {
        guard let t = threshold else { return false }
        return findings.contains { $0.severity >= t }
    }
}
