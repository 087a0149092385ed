import Catalog
import Foundation
import ProvenantCore
import Yams

/// The parts of an OSV record (schema 1.x) that matching and reporting use.
public struct OSVRecord: Codable, Sendable, Equatable {
    public var id: String
    public var modified: String
    public var published: String?
    public var withdrawn: String?
    public var aliases: [String]?
    public var summary: String?
    public var details: String?
    public var severity: [Severity]?
    public var affected: [Affected]?
    public var references: [Reference]?
    /// GHSA and others put a word (`HIGH`) here when there is no vector.
    public var databaseSeverity: String?

    public struct Severity: Codable, Sendable, Equatable {
        public var type: String
        public var score: String
    }
    public struct Package: Codable, Sendable, Equatable {
        public var ecosystem: String
        public var name: String
        public var purl: String?
    }
    public struct Event: Codable, Sendable, Equatable {
        public var introduced: String?
        public var fixed: String?
        public var lastAffected: String?
        public var limit: String?
        public init(introduced: String? = nil, fixed: String? = nil, lastAffected: String? = nil, limit: String? = nil) {
            self.introduced = introduced; self.fixed = fixed; self.lastAffected = lastAffected; self.limit = limit
        }
        enum CodingKeys: String, CodingKey { case introduced, fixed, lastAffected = "last_affected", limit }
    }
    public struct Range: Codable, Sendable, Equatable {
        public var type: String
        public var repo: String?
        public var events: [Event]
    }
    public struct Affected: Codable, Sendable, Equatable {
        public var package: Package?
        public var severity: [Severity]?
        public var ranges: [Range]?
        public var versions: [String]?
    }
    public struct Reference: Codable, Sendable, Equatable {
        public var type: String
        public var url: String
    }

    enum CodingKeys: String, CodingKey {
        case id, modified, published, withdrawn, aliases, summary, details, severity, affected, references
        case databaseSpecific = "database_specific", databaseSeverity = "database_severity"
    }
    private struct DatabaseSpecific: Decodable { var severity: String? }

    public init(from d: Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        modified = try c.decode(String.self, forKey: .modified)
        published = try c.decodeIfPresent(String.self, forKey: .published)
        withdrawn = try c.decodeIfPresent(String.self, forKey: .withdrawn)
        aliases = try c.decodeIfPresent([String].self, forKey: .aliases)
        summary = try c.decodeIfPresent(String.self, forKey: .summary)
        details = try c.decodeIfPresent(String.self, forKey: .details)
        severity = try c.decodeIfPresent([Severity].self, forKey: .severity)
        affected = try c.decodeIfPresent([Affected].self, forKey: .affected)
        // References and database_specific are free-form in practice; a bad one costs the field only.
        references = try? c.decodeIfPresent([Reference].self, forKey: .references)
        databaseSeverity = try c.decodeIfPresent(String.self, forKey: .databaseSeverity)
            ?? (try? c.decodeIfPresent(DatabaseSpecific.self, forKey: .databaseSpecific))?.severity
    }

    public func encode(to e: Encoder) throws {
        var c = e.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(modified, forKey: .modified)
        try c.encodeIfPresent(published, forKey: .published)
        try c.encodeIfPresent(withdrawn, forKey: .withdrawn)
        try c.encodeIfPresent(aliases, forKey: .aliases)
        try c.encodeIfPresent(summary, forKey: .summary)
        try c.encodeIfPresent(details, forKey: .details)
        try c.encodeIfPresent(severity, forKey: .severity)
        try c.encodeIfPresent(affected, forKey: .affected)
        try c.encodeIfPresent(references, forKey: .references)
        try c.encodeIfPresent(databaseSeverity, forKey: .databaseSeverity)
    }

    /// Reads one record from OSV JSON or PyPA-style YAML, checking what matching relies on.
    public static func decode(_ data: Data, yaml: Bool) throws(ParseError) -> OSVRecord {
        var r: OSVRecord
        do {
            if yaml {
                guard let text = String(data: data, encoding: .utf8) else { throw ParseError("not UTF-8 text") }
                // OSV records use no aliases; each is expanded in full, so 7.5 KB of them took 14 s and
                // 442 MB (found by helper-74). Nesting is bounded before the node builder recurses.
                try YAMLNesting.check(text, maxAliases: 0)
                r = try YAMLDecoder().decode(OSVRecord.self, from: text)
            } else {
                r = try JSONDecoder().decode(OSVRecord.self, from: data)
            }
        } catch let e as ParseError { throw e } catch {
            // A file that does not parse at all is named with the line its parser stopped at, in the
            // format its name gives (found by helper-155).
            if case DecodingError.dataCorrupted(let ctx) = error, ctx.codingPath.isEmpty {
                if yaml, let mark = (ctx.underlyingError as? YamlError).flatMap(Self.line) {
                    throw ParseError("not valid YAML", line: mark)
                }
                if !yaml {
                    do { _ = try JSONParser.parse(data) } catch { throw ParseError("not valid JSON: \(error.reason)", line: error.line) }
                }
            }
            if yaml, let e = error as? YamlError, let line = Self.line(e) { throw ParseError("not valid YAML", line: line) }
            throw ParseError(Self.describe(error))
        }
        guard !r.id.isEmpty else { throw ParseError("empty id") }
        // An id or alias is a key (of findings, suppressions, the fleet's stored rows) and is shown
        // through the redactor: one the redactor would change holds what looks like a credential, and
        // is refused rather than kept under a masked key (found by review).
        if Redactor.redactField(r.id) != r.id { throw ParseError("the record's id holds what looks like a credential") }
        if (r.aliases ?? []).contains(where: { Redactor.redactField($0) != $0 }) {
            throw ParseError("\(r.id): an alias holds what looks like a credential")
        }
        guard Timestamp.valid(r.modified) else { throw ParseError("\(r.id): 'modified' is not an RFC 3339 time: '\(Redactor.quote(r.modified, max: 40))'") }
        // A withdrawn record is never matched: a `withdrawn` that is no time must not switch one off
        // silently (found by helper-72). The record is refused, and the import says so.
        if let w = r.withdrawn, !Timestamp.valid(w) {
            throw ParseError("\(r.id): 'withdrawn' is not an RFC 3339 time: '\(Redactor.quote(w, max: 40))'")
        }
        // An ecosystem spelt in another case (`pypi`) went into a bucket no lookup reads, while PyPI
        // still counted as covered: its packages came out clean (found by helper-131). OSV's names are
        // restored, the release after `:` kept.
        if let affected = r.affected {
            r.affected = affected.map { a in
                var a = a
                if let e = a.package?.ecosystem { a.package?.ecosystem = Self.canonicalEcosystem(e) }
                return a
            }
        }
        for a in r.affected ?? [] {
            for range in a.ranges ?? [] where range.type != "GIT" {
                guard ["SEMVER", "ECOSYSTEM"].contains(range.type) else { throw ParseError("\(r.id): unknown range type '\(range.type)'") }
                guard !range.events.isEmpty else { throw ParseError("\(r.id): range without events") }
                for e in range.events where [e.introduced, e.fixed, e.lastAffected, e.limit].compactMap({ $0 }).count != 1 {
                    throw ParseError("\(r.id): each range event needs exactly one of introduced, fixed, last_affected, limit")
                }
            }
        }
        return r
    }

    /// OSV's ecosystem names, as the schema spells them.
    static let ecosystems = ["AlmaLinux", "Alpine", "Android", "Azure Linux", "Bioconductor", "Bitnami", "Chainguard", "ConanCenter", "CRAN",
                             "crates.io", "Debian", "Echo", "GHC", "GitHub Actions", "Go", "Hackage", "Hex", "Julia", "Linux", "Mageia", "Maven",
                             "MinimOS", "npm", "NuGet", "openEuler", "openSUSE", "OSS-Fuzz", "Packagist", "Photon OS", "Pub", "PyPI", "Red Hat",
                             "Rocky Linux", "RubyGems", "SUSE", "SwiftURL", "Ubuntu", "VSCode", "Wolfi"]
    static let ecosystemByFolded = Dictionary(ecosystems.map { ($0.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })

    /// `pypi` → `PyPI`, `debian:12` → `Debian:12`; a name OSV does not know is left as it is.
    static func canonicalEcosystem(_ e: String) -> String {
        let parts = e.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let base = parts.first, let known = ecosystemByFolded[base.lowercased()], known != base else { return e }
        return parts.count == 2 ? known + ":" + parts[1] : known
    }

    /// Decoding errors as one line: which field, and what was wrong with it.
    /// The line a YAML error names, counted from 1.
    static func line(_ e: YamlError) -> Int? {
        switch e {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return nil
        }
    }

    static func describe(_ error: Error) -> String {
        func path(_ ctx: DecodingError.Context) -> String {
            ctx.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingPrefix(".").description
        }
        switch error {
        case DecodingError.keyNotFound(let k, let ctx): return "missing field '\(path(ctx).isEmpty ? "" : path(ctx) + ".")\(k.stringValue)'"
        case DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx):
            return "field '\(path(ctx))' has the wrong type"
        case DecodingError.dataCorrupted(let ctx):
            return path(ctx).isEmpty ? "not valid JSON or YAML" : "field '\(path(ctx))' is malformed"
        default: return "\(error)".split(separator: "\n").first.map(String.init) ?? "unreadable"
        }
    }
}

/// What a finding shows of its advisory. The store keeps it in columns beside the record.
public struct AdvisoryBrief: Sendable, Equatable {
    public var id: String
    public var modified: String
    public var published: String?
    /// The summary, else the first line of the details, cut at 160 characters.
    public var summary: String
    /// Sorted.
    public var aliases: [String]
    public var severity: [OSVRecord.Severity]
    public var databaseSeverity: String?

    public init(id: String, modified: String, published: String?, summary: String, aliases: [String], severity: [OSVRecord.Severity], databaseSeverity: String?) {
        self.id = id; self.modified = modified; self.published = published; self.summary = summary
        self.aliases = aliases; self.severity = severity; self.databaseSeverity = databaseSeverity
    }

    public init(_ r: OSVRecord) {
        var summary = r.summary?.trimmed ?? ""
        if summary.isEmpty {
            let details = r.details ?? ""
            let firstLine = String(details[..<(details.firstIndex(of: "\n") ?? details.endIndex)]).trimmed
            summary = firstLine.count > 160 ? String(firstLine.prefix(157)) + "..." : firstLine
        }
        self.init(id: r.id, modified: r.modified, published: r.published, summary: summary, aliases: (r.aliases ?? []).sorted(),
                  severity: r.severity ?? [], databaseSeverity: r.databaseSeverity)
    }
}

enum Timestamp {
    /// RFC 3339 as OSV writes it: `2023-11-07T20:24:23.946863Z` or with an offset, naming a day and
    /// a time that exist (a time that merely starts like one could be stored, never to be replaced).
    static func valid(_ s: String) -> Bool { parsed(s) != nil }

    /// The instant `s` names; a space may stand for the `T`, as RFC 3339 allows.
    static func parsed(_ s: String) -> VEXTimestamp? {
        var u = Array(s.utf8)
        guard u.count >= 20 else { return nil }
        if u[10] == 32 { u[10] = 84 }
        return VEXTimestamp(String(decoding: u, as: UTF8.self))
    }
}

extension Timestamp {
    /// A key that sorts RFC 3339 times by the instant they name, whatever their offset, case and
    /// fractional digits: each is written in UTC as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`. An offset was
    /// compared as text, so `09:00:00+10:00` (23:00 the day before) replaced a record of 00:00Z, and
    /// a lowercase `t` sorted after every `T`. Nil for a time that is not `valid`.
    static func sortKey(_ s: String) -> String? {
        guard let t = parsed(s) else { return nil }
        let (days, second) = t.seconds.quotientAndRemainder(dividingBy: 86_400)
        let (d, sec) = second < 0 ? (days - 1, second + 86_400) : (days, second)
        let (y, m, day) = RFC3339.civil(d)
        // An offset can carry 9999-12-31 into a fifth digit, which would sort first.
        guard (0...9999).contains(y) else { return y < 0 ? "0000-01-01T00:00:00.000000000Z" : "9999-12-31T23:59:59.999999999Z" }
        func pad(_ n: Int, _ w: Int) -> String { let s = String(n); return String(repeating: "0", count: max(0, w - s.count)) + s }
        let frac = t.fraction.prefix(9)
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(day, 2))T\(pad(sec / 3600, 2)):\(pad(sec / 60 % 60, 2)):\(pad(sec % 60, 2))."
            + frac + String(repeating: "0", count: 9 - frac.count) + "Z"
    }
}
