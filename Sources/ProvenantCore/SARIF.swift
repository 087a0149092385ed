import Foundation

/// SARIF 2.1.0 logs with one run of Provenant: the skeleton every report format shares, so each
/// command only says what its rules and results are.
public enum SARIF {
    public struct Rule {
        public var id: String
        public var description: String
        public var helpURI: String?
        public var help: String?
        public var properties: [String: Any]
        public init(id: String, description: String, helpURI: String? = nil, help: String? = nil, properties: [String: Any] = [:]) {
            self.id = id; self.description = description; self.helpURI = helpURI; self.help = help; self.properties = properties
        }
    }

    public struct Result {
        public var ruleID: String
        public var level: String
        public var message: String
        public var locations: [(path: String, line: Int?)]
        public var fingerprint: String?
        public var properties: [String: String]
        public init(ruleID: String, level: String, message: String, locations: [(path: String, line: Int?)],
                    fingerprint: String? = nil, properties: [String: String] = [:]) {
            self.ruleID = ruleID; self.level = level; self.message = message; self.locations = locations
            self.fingerprint = fingerprint; self.properties = properties
        }
    }

    /// critical and high are errors, medium warnings, the rest notes.
    public static func level(forSeverity s: String) -> String {
        s == "critical" || s == "high" ? "error" : s == "medium" ? "warning" : "note"
    }

    /// The log as sorted-key JSON; rules are listed in the order given and results point at them.
    public static func render(toolVersion: String, rules: [Rule], results: [Result]) -> String {
        var index: [String: Int] = [:]
        for (i, r) in rules.enumerated() where index[r.id] == nil { index[r.id] = i }
        let ruleObjects: [[String: Any]] = rules.map { r in
            var o: [String: Any] = ["id": r.id, "shortDescription": ["text": r.description]]
            if let u = r.helpURI { o["helpUri"] = u }
            if let h = r.help { o["help"] = ["text": h] }
            if !r.properties.isEmpty { o["properties"] = r.properties }
            return o
        }
        let resultObjects: [[String: Any]] = results.map { r in
            var o: [String: Any] = ["ruleId": r.ruleID, "ruleIndex": index[r.ruleID] ?? 0, "level": r.level, "message": ["text": r.message]]
            let locs: [[String: Any]] = r.locations.map { l in
                var phys: [String: Any] = ["artifactLocation": ["uri": l.path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? l.path]]
                if let n = l.line { phys["region"] = ["startLine": n] }
                return ["physicalLocation": phys]
            }
            if !locs.isEmpty { o["locations"] = locs }
            if let f = r.fingerprint { o["partialFingerprints"] = ["provenant/v1": f] }
            if !r.properties.isEmpty { o["properties"] = r.properties }
            return o
        }
        let log: [String: Any] = [
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
            "runs": [["tool": ["driver": ["name": "Provenant", "version": toolVersion, "informationUri": "https://github.com/provenant/provenant",
                                          "rules": ruleObjects]],
                      "results": resultObjects]],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: log, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
