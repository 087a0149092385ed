import Crypto
import ProvenantCore

extension VerifyFilesReport {
    /// One line per finding in `dpkg --verify`'s layout (a dpkg file's line is exactly dpkg's), then the
    /// summary.
    public var table: String {
        var out = ""
        for f in findings { out += f.line + "\n" }
        if !findings.isEmpty { out += "\n" }
        out += summaryLine + "\n"
        // Paths come from the tree and its package databases: C1 and bidirectional controls are
        // escaped too, as in every other table.
        return Redactor.escapeControlsPerLine(out)
    }

    public var json: JSONValue {
        .object([
            ("root", .string(Redactor.escapeControls(Redactor.redact(root)))),
            ("summary", .object([
                ("filesChecked", .int(filesChecked)),
                ("pathsPresent", .int(pathsPresent)),
                ("packages", .object(PackageSource.allCases.compactMap { s in packages[s].map { (s.rawValue, .int($0)) } })),
                ("filesWalked", .int(filesWalked)),
                ("findings", .int(findings.count)),
                ("notChecked", .int(notChecked.count)),
            ])),
            ("findings", .array(findings.map { f in
                .object([
                    ("rule", .string(f.rule.rawValue)),
                    ("severity", .string(f.finding.severity.description)),
                    ("path", .string(f.path)),
                    ("source", f.source.map { .string($0.rawValue) } ?? .null),
                    ("package", f.package.map { .string($0) } ?? .null),
                    ("check", .string(f.check)),
                    ("conffile", .bool(f.conffile)),
                    ("note", f.note.map { .string($0) } ?? .null),
                    ("message", .string(f.finding.message)),
                ])
            })),
            ("notChecked", .array(notChecked.map(Self.diagnosticJSON))),
            ("diagnostics", .array(diagnostics.map(Self.diagnosticJSON))),
        ])
    }

    static func diagnosticJSON(_ d: Diagnostic) -> JSONValue {
        .object([("path", .string(d.location.path)), ("line", d.location.line.map { .int($0) } ?? .null), ("message", .string(d.message))])
    }

    /// SARIF 2.1.0: one result per finding, its rule from `DriftRule`; what was not checked goes in as
    /// tool notifications, so a consumer sees the run was partial.
    public func sarif(toolVersion: String, to flush: ([UInt8]) -> Void) {
        let used = Set(findings.map(\.rule))
        let rules = DriftRule.allCases.filter { used.contains($0) }.map { r in
            SARIF.Rule(id: r.rawValue, description: r.summary, properties: ["security-severity-level": .string(r.severity.description)])
        }
        let results = findings.map { f in
            var props = ["check": f.check]
            if let s = f.source { props["source"] = s.rawValue }
            if let p = f.package { props["package"] = p }
            if f.conffile { props["conffile"] = "true" }
            // SARIF locations are relative URIs: the path inside the root, without its leading slash.
            let uri = String(f.path.drop(while: { $0 == "/" }))
            return SARIF.Result(ruleID: f.rule.rawValue, level: SARIF.level(forSeverity: f.finding.severity.description),
                                message: "\(f.path): \(f.finding.message)", locations: [(uri, nil)],
                                fingerprint: Hex.encode(SHA256.hash(data: Array([f.rule.rawValue, f.path, f.source?.rawValue ?? "", f.package ?? ""]
                                    .joined(separator: "\u{1f}").utf8))),
                                properties: props)
        }
        let notes = notChecked.prefix(1000).map { SARIF.Notification(id: "files/not-checked", level: "warning", message: $0.description) }
        SARIF.write(toolVersion: toolVersion, rules: rules, results: results, notifications: Array(notes), to: flush)
    }
}
