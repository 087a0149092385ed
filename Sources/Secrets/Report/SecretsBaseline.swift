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
    /// The random salt weak values' digests were made with (`MaskedSecret.baselineDigest`); nil in a
    /// version 1 baseline, whose weak entries then match nothing (they were plain SHA-256s).
    public var salt: [UInt8]?

    /// `salt` must be the one the findings were scanned with.
    public init(findings: [SecretFinding], salt: [UInt8]?) {
        entries = Set(findings.map { Entry(rule: $0.ruleID, path: $0.path, fingerprint: $0.fingerprint) })
        self.salt = salt
    }

    /// 16 random bytes for a new baseline.
    public static func newSalt() -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    /// The largest baseline read: a report of a few hundred thousand findings.
    public static let maxBytes = 256 << 20

    public static func read(path: String) throws(InputError) -> SecretsBaseline {
        let data: [UInt8]
        do { data = try NamedInputFile.read(path, limit: maxBytes, what: "the baseline") } catch {
            throw InputError("--baseline \(Redactor.quote(path, max: 200)): \(error.message)")
        }
        let doc: JSONValue
        do { doc = try JSONParser.parse(Array(data)) } catch {
            throw InputError("--baseline \(Redactor.quote(path, max: 200)): not valid JSON: \(error)")
        }
        guard case .object(let top) = doc, let list = top.first(where: { $0.0 == "findings" })?.1, case .array(let items) = list else {
            throw InputError("--baseline \(Redactor.quote(path, max: 200)): expected an object with a \"findings\" array")
        }
        var salt: [UInt8]?
        if let s = top.first(where: { $0.0 == "salt" })?.1 {
            guard case .string(let hex) = s, let bytes = Hex.decode(hex), bytes.count == 16 else {
                throw InputError("--baseline \(Redactor.quote(path, max: 200)): \"salt\" must be 32 hex digits")
            }
            salt = bytes
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
        return SecretsBaseline(entries: entries, salt: salt)
    }

    init(entries: Set<Entry>, salt: [UInt8]? = nil) { self.entries = entries; self.salt = salt }

    public var json: JSONValue {
        .object([
            ("version", .int(salt == nil ? 1 : 2)),
            ("salt", salt.map { .string(Hex.encode($0)) } ?? .null),
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
