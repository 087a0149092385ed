import Foundation

/// SARIF 2.1.0 logs with one run of Provenant: the skeleton every report format shares, so each
/// command only says what its rules and results are.
public enum SARIF {
    public struct Rule {
        public var id: String
        public var description: String
        public var helpURI: String?
        public var help: String?
        /// Rule properties, written with their keys sorted.
        public var properties: [String: JSONValue]
        public init(id: String, description: String, helpURI: String? = nil, help: String? = nil, properties: [String: JSONValue] = [:]) {
            self.id = id; self.description = description; self.helpURI = helpURI; self.help = help; self.properties = properties
        }
    }

    public struct Result: Sendable {
        public var ruleID: String
        public var level: String
        public var message: String
        public var locations: [(path: String, line: Int?)]
        public var fingerprint: String?
        public var properties: [String: String]
        /// Set when the result was suppressed outside the code (a VEX statement, an ignore file):
        /// written as one `suppressions` entry of kind `external`.
        public var suppression: String?
        public init(ruleID: String, level: String, message: String, locations: [(path: String, line: Int?)],
                    fingerprint: String? = nil, properties: [String: String] = [:], suppression: String? = nil) {
            self.ruleID = ruleID; self.level = level; self.message = message; self.locations = locations
            self.fingerprint = fingerprint; self.properties = properties; self.suppression = suppression
        }
    }

    /// A tool execution notification: something about the run itself (what it could not check),
    /// not about one result.
    public struct Notification: Sendable {
        public var id: String
        public var level: String
        public var message: String
        public var properties: [String: String]
        public init(id: String, level: String, message: String, properties: [String: String] = [:]) {
            self.id = id; self.level = level; self.message = message; self.properties = properties
        }
    }

    /// critical and high are errors, medium warnings, the rest notes.
    public static func level(forSeverity s: String) -> String {
        s == "critical" || s == "high" ? "error" : s == "medium" ? "warning" : "note"
    }

    /// The log as JSON with sorted keys; rules are listed in the order given and results point at them.
    public static func render(toolVersion: String, rules: [Rule], results: [Result]) -> String {
        var out: [UInt8] = []
        write(toolVersion: toolVersion, rules: rules, results: results) { out += $0 }
        return String(decoding: out, as: UTF8.self)
    }

    /// Streams the log: results are built one at a time as they are written, so a scan with a
    /// hundred thousand findings never holds the whole document.
    /// With `notifications`, the run gets one invocation that carries them.
    public static func write(toolVersion: String, rules: [Rule], results: [Result], notifications: [Notification] = [],
                             to flush: ([UInt8]) -> Void) {
        var firstIndex: [String: Int] = [:]
        for (i, r) in rules.enumerated() where firstIndex[r.id] == nil { firstIndex[r.id] = i }
        let index = firstIndex
        let ruleObjects: [JSONValue] = rules.map { r in
            object([("id", .string(r.id)), ("shortDescription", text(r.description)), ("helpUri", r.helpURI.map { .string($0) }),
                    ("help", r.help.map(text)), ("properties", props(r.properties))])
        }
        let resultValues = JSONValue.generated(count: results.count) { i in
            let r = results[i]
            let locs: [JSONValue] = r.locations.map { l in
                let uri = l.path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? l.path
                return object([("physicalLocation", object([("artifactLocation", object([("uri", .string(uri))])),
                                                           ("region", l.line.map { object([("startLine", .int($0))]) })]))])
            }
            return object([("ruleId", .string(r.ruleID)), ("ruleIndex", .int(index[r.ruleID] ?? 0)), ("level", .string(r.level)),
                           ("message", text(r.message)), ("locations", locs.isEmpty ? nil : .array(locs)),
                           ("partialFingerprints", r.fingerprint.map { .object([("provenant/v1", .string($0))]) }),
                           ("properties", props(r.properties.mapValues { .string($0) })),
                           ("suppressions", r.suppression.map { .array([object([("kind", .string("external")),
                                                                                  ("justification", .string($0))])]) })])
        }
        let invocations: JSONValue? = notifications.isEmpty ? nil : .array([object([
            ("executionSuccessful", .bool(true)),
            ("toolExecutionNotifications", .array(notifications.map { n in
                object([("descriptor", object([("id", .string(n.id))])), ("level", .string(n.level)), ("message", text(n.message)),
                        ("properties", props(n.properties.mapValues { .string($0) }))])
            })),
        ])])
        let driver = object([("name", .string("Provenant")), ("version", .string(toolVersion)),
                             ("informationUri", .string("https://github.com/provenant/provenant")), ("rules", .array(ruleObjects))])
        let log = object([("$schema", .string("https://json.schemastore.org/sarif-2.1.0.json")), ("version", .string("2.1.0")),
                          ("runs", .array([object([("tool", object([("driver", driver)])), ("invocations", invocations), ("results", resultValues)])]))])
        log.write(to: flush)
    }

    /// An object with absent fields dropped and keys sorted.
    static func object(_ fields: [(String, JSONValue?)]) -> JSONValue {
        .object(fields.compactMap { k, v in v.map { (k, $0) } }.sorted { $0.0 < $1.0 })
    }
    static func text(_ s: String) -> JSONValue { .object([("text", .string(s))]) }
    static func props(_ p: [String: JSONValue]) -> JSONValue? { p.isEmpty ? nil : .object(p.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }) }
}
