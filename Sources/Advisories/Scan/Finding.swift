import ProvenantCore

/// One advisory that applies, or may apply, to one package.
public struct Finding: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable { case affected, unknown }

    public var id: String
    public var aliases: [String]
    public var summary: String
    public var severity: SeverityLevel
    /// The CVSS base score computed from `vector`, when the advisory has one.
    public var score: Double?
    public var vector: String?
    /// `CVSS_V4`, `CVSS_V3`, `database` (the advisory's own word) or `none`.
    public var severitySource: String
    public var package: String
    /// The OSV ecosystem, with its release for distributions (`Debian:12`).
    public var ecosystem: String
    public var version: String
    public var purl: String
    public var locations: [String]
    public var fixed: [String]
    public var status: Status
    /// Why the status is unknown: an unparsable version on either side.
    public var note: String?
    public var published: String?
    public var modified: String
    /// When advisories were merged into this finding by alias: each merged advisory's id and the CVEs
    /// it stands for; empty when the finding is one advisory. Not written out.
    public var mergedCVEs: [String: [String]] = [:]

    enum CodingKeys: String, CodingKey {
        case id, aliases, summary, severity, score, vector, severitySource, package, ecosystem, version, purl, locations, fixed, status, note, published, modified
    }

    /// The finding as reports show it: what the advisory says (its id, aliases, summary, fixed
    /// versions, vector and the note quoting its versions) through the redactor. An advisory is input
    /// like any other: a token in a summary was printed whole in every format (found by helper-155).
    public var echoed: Finding {
        var f = self
        f.id = Redactor.redactField(id)
        f.aliases = aliases.map(Redactor.redactField)
        f.summary = Redactor.redact(summary)
        f.fixed = fixed.map(Redactor.redactField)
        f.vector = vector.map(Redactor.redactField)
        f.note = note.map(Redactor.redact)
        return f
    }

    /// Severity first, so sorting puts the worst at the top.
    var sortKey: (Int, String, String, String) { (-severity.rawValue, package, version, id) }

    /// The finding as warnings name it: its id and its purl, quoted to 200 characters (a purl of any
    /// length was repeated once per finding a warning touched).
    var quotedName: String { "\(id) in \(Redactor.quote(purl, max: 200))" }

    /// Whether `name` is this finding's id or one of its aliases.
    public func isKnownAs(_ name: String) -> Bool { id == name || aliases.contains(name) }

    /// What a suppression must clear: the finding as one when it stands for at most one CVE (nil);
    /// else each CVE it stands for (GO-2022-0536 is both CVE-2019-9512 and CVE-2019-9514), so a
    /// statement about one of them does not hide the other.
    public var suppressionParts: [String?] {
        let cves = Self.cves(id, aliases)
        return cves.count > 1 ? cves : [nil]
    }

    /// The CVEs an advisory with this id and these aliases stands for.
    static func cves(_ id: String, _ aliases: [String]) -> [String] {
        Array(Set(([id] + aliases).filter { $0.hasPrefix("CVE-") })).sorted()
    }

    /// Whether a statement or entry that names `names` speaks about `part` of this finding: any of
    /// its names for the whole finding; for one of several CVEs, that CVE or the id of an advisory
    /// that stands for it. Once advisories are merged, the surviving id speaks only for its own CVEs:
    /// a statement about a GHSA merged with a PYSEC that names one more CVE cleared both (found by
    /// helper-131).
    public func names(_ names: [String], cover part: String?) -> Bool {
        guard let part else { return names.contains(where: isKnownAs) }
        if names.contains(part) { return true }
        guard !mergedCVEs.isEmpty else { return names.contains(id) }
        return names.contains { mergedCVEs[$0]?.contains(part) == true }
    }

    /// Merges `other`, an advisory known by one of this finding's names, into this finding.
    mutating func merge(_ other: Finding) {
        if mergedCVEs.isEmpty { mergedCVEs = [id: Self.cves(id, aliases)] }
        if other.mergedCVEs.isEmpty {
            mergedCVEs[other.id, default: []] = Array(Set(mergedCVEs[other.id, default: []] + Self.cves(other.id, other.aliases))).sorted()
        } else {
            mergedCVEs.merge(other.mergedCVEs) { Array(Set($0 + $1)).sorted() }
        }
        aliases = Array(Set(aliases + other.aliases + [other.id]).subtracting([id])).sorted()
        fixed = Array(Set(fixed + other.fixed)).sorted()
        if other.severity > severity {
            severity = other.severity; score = other.score; vector = other.vector; severitySource = other.severitySource
        }
    }
}

/// A finding that a VEX statement or an ignore entry took out of the results, and which one.
public struct Suppressed: Sendable, Codable, Equatable {
    public var finding: Finding
    public var by: String
}
