import Foundation

/// Policy findings as a SARIF 2.1.0 log, one rule per rule id.
public enum PolicySARIF {
    public static func render(_ findings: [PolicyFinding], toolVersion: String) -> String {
        var ruleIndex: [String: Int] = [:]
        var rules: [[String: Any]] = []
        for f in findings where ruleIndex[f.rule] == nil {
            ruleIndex[f.rule] = rules.count
            rules.append(["id": f.rule, "shortDescription": ["text": f.rule], "help": ["text": f.fix],
                          "properties": ["tags": ["security", "least-privilege"]]])
        }
        let results: [[String: Any]] = findings.map { f in
            var phys: [String: Any] = ["artifactLocation": ["uri": f.location.path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? f.location.path]]
            if let l = f.location.line { phys["region"] = ["startLine": l] }
            let where_ = "\(f.kind)/\(f.name)" + (f.container.map { " container \($0)" } ?? "")
            return [
                "ruleId": f.rule, "ruleIndex": ruleIndex[f.rule] ?? 0,
                "level": f.severity == "critical" || f.severity == "high" ? "error" : f.severity == "medium" ? "warning" : "note",
                "message": ["text": "\(where_): \(f.found). Allowed: \(f.allowed). Fix: \(f.fix)."],
                "locations": [["physicalLocation": phys]],
                "properties": ["severity": f.severity],
            ]
        }
        let log: [String: Any] = [
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
            "runs": [["tool": ["driver": ["name": "Provenant", "version": toolVersion, "informationUri": "https://github.com/provenant/provenant", "rules": rules]],
                      "results": results]],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: log, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
