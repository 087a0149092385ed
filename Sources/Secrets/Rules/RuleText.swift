import ProvenantCore

/// A rule record that could not be read, with the rule file and line.
public struct RuleTextError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var reason: String
    public var description: String { "\(file):\(line): \(reason)" }
}

/// Reads the rule text format (`Catalog/FORMAT.md`): records of `field: value` lines separated by a
/// blank line, `#` comments, repeated `positive:`/`negative:` lines whose `\n`, `\t`, `\\` are unescaped.
public enum RuleText {
    static let fields: Set<String> = ["id", "title", "severity", "keywords", "pattern", "entropy", "window",
                                      "confidence", "pair", "near", "positive", "negative"]

    /// `examples: false` skips the `positive:` and `negative:` lines, more than half the catalog's
    /// bytes: only the rule tests read them, and the engine is built at every start.
    public static func parse(_ text: String, file: String, examples: Bool = true) throws(RuleTextError) -> [Rule] {
        var rules: [Rule] = []
        var record: [String: String] = [:]
        var positives: [String] = [], negatives: [String] = []
        var start = 0
        /// Whether the record so far had examples, when they are skipped.
        var skipped = false
        func fail(_ line: Int, _ reason: String) -> RuleTextError { RuleTextError(file: file, line: line, reason: reason) }
        func finish() throws(RuleTextError) {
            defer { record = [:]; positives = []; negatives = []; skipped = false }
            guard !record.isEmpty || !positives.isEmpty || !negatives.isEmpty || skipped else { return }
            for f in ["id", "title", "severity", "keywords", "pattern"] where record[f] == nil {
                throw fail(start, "rule has no \(f)")
            }
            let id = record["id"]!
            guard id.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }), !id.isEmpty else {
                throw fail(start, "rule id '\(id)' is not lowercase letters, digits and '-'")
            }
            guard let severity = SeverityLevel(threshold: record["severity"]!) else { throw fail(start, "\(id): unknown severity") }
            let confidence: Confidence
            if let c = record["confidence"] {
                guard let parsed = Confidence(word: c) else { throw fail(start, "\(id): unknown confidence '\(c)'") }
                confidence = parsed
            } else { confidence = .high }
            let keywords = record["keywords"]!.split(separator: " ").map { String($0).lowercased() }
            guard !keywords.isEmpty, keywords.allSatisfy({ $0.utf8.count >= 3 }) else { throw fail(start, "\(id): each keyword needs 3 characters or more") }
            var entropy = 0.0
            if let e = record["entropy"] {
                guard let v = Double(e), v >= 0, v <= 8 else { throw fail(start, "\(id): entropy must be a number from 0 to 8") }
                entropy = v
            }
            var window = 256
            if let w = record["window"] {
                guard let v = Int(w), v >= 16, v <= 32768 else { throw fail(start, "\(id): window must be 16 to 32768 bytes") }
                window = v
            }
            rules.append(Rule(id: id, title: record["title"]!, severity: severity, confidence: confidence, keywords: keywords,
                              pattern: record["pattern"]!, minEntropy: entropy, window: window, pair: record["pair"], near: record["near"],
                              positives: positives, negatives: negatives, origin: "\(file):\(start)"))
        }
        var number = 0
        // Lines are split on UTF-8 bytes: the catalog is parsed at every start, and splitting a String
        // by Characters cost most of that.
        for raw in text.utf8.split(separator: 10, omittingEmptySubsequences: false) {
            number += 1
            let line = raw.last == 13 ? raw.dropLast() : raw
            if line.first == UInt8(ascii: "#") { continue }
            if !examples, line.starts(with: "positive:".utf8) || line.starts(with: "negative:".utf8) {
                if record.isEmpty && !skipped { start = number }
                skipped = true
                continue
            }
            if line.allSatisfy({ $0 == 32 || $0 == 9 }) { try finish(); continue }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw fail(number, "expected 'field: value'") }
            let key = String(decoding: line[..<colon], as: UTF8.self)
            var value = line[line.index(after: colon)...]
            if value.first == 32 { value = value.dropFirst() }
            guard fields.contains(key) else { throw fail(number, "unknown field '\(key)'") }
            if record.isEmpty && positives.isEmpty && negatives.isEmpty && !skipped { start = number }
            let text = String(decoding: value, as: UTF8.self)
            switch key {
            case "positive": positives.append(value.contains(92) ? unescape(text[...]) : text)
            case "negative": negatives.append(value.contains(92) ? unescape(text[...]) : text)
            default:
                guard record[key] == nil else { throw fail(number, "field '\(key)' repeated") }
                record[key] = text
            }
        }
        try finish()
        return rules
    }

    static func unescape(_ s: Substring) -> String {
        var out = ""
        var escaping = false
        for c in s {
            if escaping {
                switch c {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "\\": out.append("\\")
                default: out.append("\\"); out.append(c)
                }
                escaping = false
            } else if c == "\\" { escaping = true } else { out.append(c) }
        }
        if escaping { out.append("\\") }
        return out
    }
}
