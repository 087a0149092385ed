import Foundation
import ProvenantCore

/// Policy findings as a SARIF 2.1.0 log, one rule per rule id.
public enum PolicySARIF {
    public static func render(_ findings: [PolicyFinding], toolVersion: String) -> String {
        var seen = Set<String>()
        let rules: [SARIF.Rule] = findings.compactMap { f in
            seen.insert(f.rule).inserted ? SARIF.Rule(id: f.rule, description: f.rule, help: f.fix, properties: ["tags": .array([.string("security"), .string("least-privilege")])]) : nil
        }
        let results: [SARIF.Result] = findings.map { f in
            let where_ = "\(f.kind)/\(f.name)" + (f.container.map { " container \($0)" } ?? "")
            return SARIF.Result(ruleID: f.rule, level: SARIF.level(forSeverity: f.severity),
                                message: "\(where_): \(f.found). Allowed: \(f.allowed). Fix: \(f.fix)." + (f.because.map { " Because: \($0)." } ?? ""),
                                locations: [(f.location.path, f.location.line)], properties: ["severity": f.severity])
        }
        return SARIF.render(toolVersion: toolVersion, rules: rules, results: results)
    }
}
