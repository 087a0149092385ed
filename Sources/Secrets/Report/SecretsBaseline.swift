import Foundation
import ProvenantCore

/// Findings accepted earlier, by rule, path and value fingerprint (never the value). Lines are not part
/// of the key, so an accepted secret stays accepted when the lines above it change.
public struct SecretsBaseline: Sendable, Equatable {
    public struct Entry: Sendable, Hashable, Comparable {
        public var rule: String
        public var path: String
        public var fingerprint: String
        public static func < (a: Entry, b: Entry) -> Bool { (a.path, a.rule, a.fingerprint) < (b.path, b.rule, b.fingerprint) }
    }
    public var entries: Set<Entry>

    public init(findings: [SecretFinding]) {
        entries = Set(findings.map { Entry(rule: $0.ruleID, path: $0.path, fingerprint: $0.fingerprint) })
    }

    public static func read(path: String) throws(InputError) -> SecretsBaseline {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError("--baseline \(Redactor.quote(path, max: 200)): cannot read the file") }
        let doc: JSONValue
        do { doc = try JSONParser.parse(Array(data)) } catch {
            throw InputError("--baseline \(Redactor.quote(path, max: 200)): not valid JSON: \(error)")
        }
        guard case .object(let top) = doc, let list = top.first(where: { $0.0 == "findings" })?.1, case .array(let items) = list else {
            throw InputError("--baseline \(Redactor.quote(path, max: 200)): expected an object with a \"findings\" array")
        }
        var entries = Set<Entry>()
        for (i, item) in items.enumerated() {
            guard case .object(let f) = item,
                  case .string(let rule)? = f.first(where: { $0.0 == "rule" })?.1,
                  case .string(let p)? = f.first(where: { $0.0 == "path" })?.1,
                  case .string(let fp)? = f.first(where: { $0.0 == "fingerprint" })?.1,
                  fp.count == 64, fp.allSatisfy(\.isHexDigit) else {
                throw InputError("--baseline \(Redactor.quote(path, max: 200)): findings[\(i)] needs rule, path and a 64-hex fingerprint")
            }
            entries.insert(Entry(rule: rule, path: p, fingerprint: fp.lowercased()))
        }
        return SecretsBaseline(entries: entries)
    }

    init(entries: Set<Entry>) { self.entries = entries }

    public var json: JSONValue {
        .object([
            ("version", .int(1)),
            ("findings", .array(entries.sorted().map { .object([("rule", .string($0.rule)), ("path", .string($0.path)), ("fingerprint", .string($0.fingerprint))]) })),
        ])
    }

    /// Splits findings into new and suppressed, and names the entries that no longer occur.
    public func apply(_ findings: [SecretFinding]) -> (new: [SecretFinding], suppressed: [SecretFinding], gone: [Entry]) {
        var new: [SecretFinding] = [], suppressed: [SecretFinding] = []
        var seen = Set<Entry>()
        for f in findings {
            let e = Entry(rule: f.ruleID, path: f.path, fingerprint: f.fingerprint)
            if entries.contains(e) { suppressed.append(f); seen.insert(e) } else { new.append(f) }
        }
        return (new, suppressed, entries.subtracting(seen).sorted())
    }
}
