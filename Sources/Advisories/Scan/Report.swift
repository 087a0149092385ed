import Catalog
import Foundation
import ProvenantCore
import SBOM

/// The outcome of one scan after suppression, ready to render.
public struct ScanReport: Sendable {
    public var target: String
    public var database: AdvisoryStore.Status
    public var findings: [Finding]
    public var suppressed: [Suppressed]
    /// Ignore entries past their expiry date: they no longer suppress anything.
    public var expiredIgnores: [IgnoreFile.Entry]
    public var packagesScanned: Int
    /// Packages whose purl no advisory database covers; they are in `notChecked` too.
    public var packagesNotCovered: Int
    /// Packages that could not be judged, by ecosystem or purl type: never reported as clean.
    public var notChecked: [Scanner.NotChecked]
    public var diagnostics: [Diagnostic]
    /// Findings kept because the VEX statements about them disagree and cannot be ordered.
    public var suppressionWarnings: [String] = []
    /// How current the advisories of each ecosystem the scan used were.
    public var ages: [Scanner.EcosystemAge] = []

    public var packagesNotChecked: Int { notChecked.reduce(0) { $0 + $1.packages } }

    /// What went unchecked, counted in its own words and with its verb: "1 package was",
    /// "3 packages and 1 input file were".
    public var notCheckedPhrase: String {
        var counts: [(noun: String, n: Int)] = []
        for g in notChecked {
            if let i = counts.firstIndex(where: { $0.noun == g.noun }) { counts[i].n += g.packages } else { counts.append((g.noun, g.packages)) }
        }
        let parts = counts.map { "\($0.n) \(Scanner.NotChecked.plural($0.noun, $0.n))" }
        let list = parts.count <= 1 ? parts.joined() : parts.dropLast().joined(separator: ", ") + " and " + parts.last!
        return list + (parts.count == 1 && counts[0].n == 1 ? " was" : " were")
    }

    /// `subject` is what the scan is of: VEX statements about a package inside one product apply only there.
    public init(target: String, database: AdvisoryStore.Status, result: Scanner.Result, vex: [VEXDocument],
                ignore: IgnoreFile?, today: String, diagnostics: [Diagnostic], subject: VEXDocument.Subject = .unnamed) {
        self.target = target; self.database = database
        packagesScanned = result.packagesScanned; packagesNotCovered = result.packagesNotCovered
        ages = result.ages
        // Fail closed: input files that could not be read and SBOM components without a usable purl
        // yielded no packages to match, so they are not checked, never clean.
        notChecked = result.notChecked + UnscannedInputs.groups(diagnostics)
        self.diagnostics = diagnostics
        if vex.isEmpty && ignore == nil {
            findings = result.findings; suppressed = []   // nothing can suppress: share, don't copy
        } else {
            var kept: [Finding] = [], out: [Suppressed] = [], warnings: [String] = []
            // Statements scoped to another product, with the findings they were not applied to: one
            // line per statement, not per finding (helper-218).
            var notApplied: [VEXDocument.NotApplied: [Finding]] = [:], notAppliedOrder: [VEXDocument.NotApplied] = []
            let index = VEXDocument.Index(vex, subject: subject)
            for f in result.findings {
                let decision = vex.isEmpty ? VEXDocument.Decision(suppressing: nil, conflict: nil) : VEXDocument.decide(f, in: index)
                if let c = decision.conflict { warnings.append(Redactor.redact(c)) }   // and no VEX statement suppresses it
                for n in decision.notApplied {
                    if notApplied[n] == nil { notAppliedOrder.append(n) }
                    notApplied[n, default: []].append(f)
                }
                // The reason and justification are input, echoed through the redactor: a token pasted
                // into one was printed in full in the table, JSON and SARIF (found by helper-148).
                if let s = decision.suppressing {
                    out.append(Suppressed(finding: f, by: Redactor.redact("VEX \(s.origin) (\(s.status)\(s.justification.map { ": " + $0 } ?? ""))")))
                } else {
                    switch ignore?.judge(f, today: today) {
                    case .suppressed(let e)?:
                        out.append(Suppressed(finding: f, by: Redactor.redact("ignore \(e.origin) (\(e.reason))")))
                    case .unjudged?:
                        warnings.append(Redactor.redact("\(f.quotedName) was not judged against the ignore file: more than "
                            + "\(VEXDocument.Index.budget) groups of its entries may name it; the finding is kept"))
                        kept.append(f)
                    case .kept?, nil:
                        kept.append(f)
                    }
                }
            }
            for n in notAppliedOrder {
                let fs = notApplied[n] ?? []
                // A BOM-Link's scope is a BOM and its version: the scan is told apart by the same.
                var of = subject.description
                if case .bom = n.scope { of = subject.bomDescription }
                let named = fs.prefix(3).map { "\($0.id) in \($0.purl)" }.joined(separator: ", ") + (fs.count > 3 ? ", …" : "")
                warnings.append(Redactor.quote("VEX \(n.origin) (\(n.status)) speaks of packages inside \(n.scope) only, and this scan is of \(of); "
                    + "not applied to \(fs.count) finding\(fs.count == 1 ? "" : "s"): \(named)", max: 1000))
            }
            findings = kept; suppressed = out; suppressionWarnings = warnings
        }
        // Judged by what the advisories say; shown through the redactor.
        findings = findings.map(\.echoed)
        suppressed = suppressed.map { Suppressed(finding: $0.finding.echoed, by: $0.by) }
        // Echoed in every format: an id, a reason or a path of the ignore file passes the redactor as any input does.
        expiredIgnores = (ignore?.expired(today: today) ?? []).map { e in
            var e = e
            e.id = Redactor.redactField(e.id); e.reason = Redactor.redact(e.reason); e.file = Redactor.redact(e.file)
            e.package = e.package.map(Redactor.redactField)
            return e
        }
    }

    /// How many expired ignore entries the table and stderr name before counting the rest: a file of
    /// 65,000 wrote 65,000 lines, each through the redactor. The JSON lists every one.
    public static let expiredListed = 20

    /// Whether any reported finding is at or above `level` (for `--fail-on`).
    public func reaches(_ level: SeverityLevel) -> Bool { findings.contains { $0.severity != .unknown && $0.severity >= level } }

    /// Findings whose advisory gives no severity: their level could not be judged, so a threshold
    /// cannot clear them (fail closed), whatever it is.
    public var unrated: [Finding] { findings.filter { $0.severity == .unknown } }

    public var summaryLine: String {
        let counts = SeverityLevel.allCases.reversed().compactMap { l -> String? in
            let n = findings.filter { $0.severity == l }.count
            return n == 0 ? nil : "\(n) \(l)"
        }
        let pkgs = Set(findings.map(\.purl)).count
        var s = "\(findings.count) finding\(findings.count == 1 ? "" : "s")"
        if !counts.isEmpty { s += " (" + counts.joined(separator: ", ") + ")" }
        s += " in \(pkgs) package\(pkgs == 1 ? "" : "s") of \(packagesScanned) scanned"
        let unknown = findings.filter { $0.status == .unknown }.count
        if unknown > 0 { s += "; \(unknown) unknown (version not placed)" }
        if !suppressed.isEmpty { s += "; \(suppressed.count) suppressed" }
        if packagesNotChecked > 0 {
            s += "; \(packagesNotChecked) NOT CHECKED (" + notChecked.map { "\($0.ecosystem): \($0.packages)" }.joined(separator: ", ") + ")"
        }
        return s
    }
}

public enum ScanFormat: String, CaseIterable, Sendable {
    case table, json, sarif, cyclonedxJSON = "cyclonedx-json"
}

extension ScanReport {
    public func render(_ format: ScanFormat, info: DocumentInfo, inventory: Inventory) -> String {
        var out: [UInt8] = []
        write(format, info: info, inventory: inventory) { out += $0 }
        return String(decoding: out, as: UTF8.self)
    }

    /// Streams the report in chunks, so a large one is never held whole in memory.
    public func write(_ format: ScanFormat, info: DocumentInfo, inventory: Inventory, to flush: ([UInt8]) -> Void) {
        switch format {
        case .table: flush(Array(table().utf8))
        case .json: json(info: info).write(to: flush)
        case .sarif: sarif(info: info, to: flush)
        case .cyclonedxJSON: cyclonedx(inventory, info: info).write(to: flush)
        }
    }

    // MARK: table

    /// Grouped by package, the package with the most severe finding first.
    public func table() -> String {
        var groups: [String: [Finding]] = [:]
        for f in findings { groups[f.purl, default: []].append(f) }
        let ordered = groups.values.map { $0.sorted { $0.sortKey < $1.sortKey } }
            .sorted { ($0[0].sortKey.0, $0[0].package, $0[0].purl) < ($1[0].sortKey.0, $1[0].package, $1[0].purl) }
        var rows: [[String]] = [["PACKAGE", "VERSION", "ECOSYSTEM", "ID", "SEVERITY", "SCORE", "FIXED IN", "SUMMARY"]]
        for g in ordered {
            for (i, f) in g.enumerated() {
                let sev = f.status == .unknown ? "\(f.severity) (unknown: version not placed)" : f.severity.description
                rows.append([i == 0 ? f.package : "", i == 0 ? f.version : "", i == 0 ? f.ecosystem : "", f.id, sev,
                             f.score.map { String(format: "%.1f", $0) } ?? "-", f.fixed.isEmpty ? "-" : f.fixed.joined(separator: ", "),
                             f.summary.count > 70 ? String(f.summary.prefix(67)) + "..." : f.summary].map(Redactor.escapeTableCell))
            }
        }
        var out = ""
        if findings.isEmpty {
            // Only as strong as what was checked: never "none" when some packages were not.
            out += notChecked.isEmpty ? "No known vulnerabilities.\n"
                : "No known vulnerabilities in the checked packages; \(notCheckedPhrase) NOT CHECKED.\n"
        } else {
            // Widths in scalars, padded by hand: Foundation's padding was most of a large table.
            let widths = (0..<rows[0].count).map { c in rows.map { $0[c].unicodeScalars.count }.max() ?? 0 }
            for r in rows {
                out += r.enumerated().map { c, v in
                    c == r.count - 1 ? v : v + String(repeating: " ", count: max(0, widths[c] - v.unicodeScalars.count))
                }.joined(separator: "  ").trimmingTrailingSpaces() + "\n"
            }
        }
        out += "\n" + summaryLine + "\n"
        for n in notChecked { out += n.message + "\n" }
        for w in suppressionWarnings { out += "warning: \(w)\n" }
        for s in suppressed { out += "suppressed: \(s.finding.id) in \(s.finding.package) \(s.finding.version) by \(s.by)\n" }
        for e in expiredIgnores.prefix(Self.expiredListed) { out += "expired ignore: \(e.id) at \(e.origin) expired on \(e.expires ?? "") and no longer suppresses\n" }
        if expiredIgnores.count > Self.expiredListed { out += "expired ignore: \(expiredIgnores.count - Self.expiredListed) more (the JSON report lists every one)\n" }
        out += "advisories: \(database.records) records, newest \(database.newestModified ?? "none"), \(database.path)\n"
        if !ages.isEmpty { out += "advisories as of: " + ages.map { "\($0.ecosystem) \($0.day)" }.joined(separator: ", ") + "\n" }
        // Ignore-file ids, origins and suppression notes quote the target's files too.
        return Redactor.escapeControlsPerLine(out)
    }

    // MARK: json

    /// One finding, written straight to bytes: a report holds thousands.
    static func write(_ f: Finding, to w: inout JSONWriter) {
        w.object { w in
            w.field("id", f.id)
            w.field("aliases", strings: f.aliases)
            w.field("summary", f.summary)
            w.field("severity", f.severity.description)
            w.key("score"); w.value(f.score.map { .double($0) } ?? .null)
            w.field("vector", f.vector)
            w.field("severitySource", f.severitySource)
            w.field("status", f.status.rawValue)
            if let n = f.note { w.field("note", n) }
            w.key("package")
            w.object { w in
                w.field("name", f.package)
                w.field("ecosystem", f.ecosystem)
                w.field("version", f.version)
                w.field("purl", f.purl)
                w.field("locations", strings: f.locations)
            }
            w.field("fixedVersions", strings: f.fixed)
            w.field("published", f.published)
            w.field("modified", f.modified)
        }
    }

    static func findingJSON(_ f: Finding, by: String? = nil) -> JSONValue {
        .raw { o, indent, pretty in
            JSONWriter.write(into: &o, indent: indent, pretty: pretty) { w in
                guard let by else { return write(f, to: &w) }
                w.object { w in
                    w.field("by", by)
                    w.key("finding"); write(f, to: &w)
                }
            }
        }
    }

    public func json(info: DocumentInfo) -> JSONValue {
        var o = ObjectBuilder()
        o.add("tool", .object([("name", .string(info.toolName)), ("version", .string(info.toolVersion))]))
        o.add("timestamp", .string(info.isoTimestamp))
        o.add("target", .string(target))
        o.add("database", .object([("path", .string(database.path)), ("records", .int(database.records)),
                                   ("newestModified", database.newestModified.map { .string($0) } ?? .null),
                                   ("asOf", .object(ages.map { ($0.ecosystem, $0.asOf.map { .string(String($0.prefix(10))) } ?? .null) }))]))
        o.add("summary", .object([("packagesScanned", .int(packagesScanned)), ("packagesNotCovered", .int(packagesNotCovered)),
                                  ("findings", .int(findings.count)), ("suppressed", .int(suppressed.count)),
                                  ("unknown", .int(findings.filter { $0.status == .unknown }.count)),
                                  ("packagesNotChecked", .int(packagesNotChecked))]))
        o.add("notChecked", .array(notChecked.map { n in
            .object([("ecosystem", .string(n.ecosystem)), ("packages", .int(n.packages)), ("reason", .string(n.reason)),
                     ("command", n.command.map { .string($0) } ?? .null),
                     ("purls", .array(n.purls.map { .string($0) }))])
        }))
        let all = findings
        o.add("findings", .generated(count: all.count) { Self.findingJSON(all[$0]) })
        o.add("suppressed", .array(suppressed.map { Self.findingJSON($0.finding, by: $0.by) }))
        o.add("expiredIgnores", .array(expiredIgnores.map { .object([("id", .string($0.id)), ("expires", .string($0.expires ?? "")), ("at", .string($0.origin))]) }))
        o.add("warnings", .array(diagnostics.map { .string($0.description) } + suppressionWarnings.map { .string($0) }))
        return o.value
    }

    // MARK: SARIF 2.1.0

    public func sarif(info: DocumentInfo, to flush: ([UInt8]) -> Void) {
        var seen = Set<String>()
        // Suppressed findings are listed too, each with its suppression, as SARIF viewers expect.
        let listed = findings.map { ($0, nil as String?) } + suppressed.map { ($0.finding, $0.by as String?) }
        let rules: [SARIF.Rule] = listed.map(\.0).compactMap { f in
            guard seen.insert(f.id).inserted else { return nil }
            var props: [String: JSONValue] = ["tags": .array([.string("security"), .string("vulnerability")])]
            // GitHub code scanning reads this number to rank alerts.
            if let s = f.score { props["security-severity"] = .string(String(format: "%.1f", s)) }
            return SARIF.Rule(id: f.id, description: f.summary.isEmpty ? f.id : f.summary, helpURI: "https://osv.dev/vulnerability/" + f.id, properties: props)
        }
        let results: [SARIF.Result] = listed.map { f, by in
            var text = "\(f.package) \(f.version) (\(f.ecosystem)) is affected by \(f.id)"
            if !f.aliases.isEmpty { text += " (\(f.aliases.joined(separator: ", ")))" }
            text += f.fixed.isEmpty ? "; no fixed version is known." : "; fixed in \(f.fixed.joined(separator: ", "))."
            if let n = f.note { text += " Status \(n)." }
            // An unknown status is at least a warning, whatever the advisory's severity. An advisory
            // without a severity may be of any, as `--fail-on` takes it: an error, not a note (every Go
            // advisory is unrated, and a note ranks lowest in code scanning; found by helper-214).
            let level = f.severity == .unknown ? "error"
                : f.status == .unknown && f.severity < .medium ? "warning" : SARIF.level(forSeverity: f.severity.description)
            return SARIF.Result(ruleID: f.id, level: level, message: text,
                                locations: f.locations.prefix(10).map { Self.splitLocation($0) },
                                fingerprint: UUIDv5.make("\(f.id)|\(f.purl)"),
                                properties: ["purl": f.purl, "severity": f.severity.description, "status": f.status.rawValue],
                                suppression: by)
        }
        let notifications = notChecked.map { n in
            SARIF.Notification(id: "provenant/not-checked", level: "error", message: n.message,
                               properties: ["ecosystem": n.ecosystem, "packages": String(n.packages), "reason": n.reason,
                                            "command": n.command ?? "none"])
        }
        SARIF.write(toolVersion: info.toolVersion, rules: rules, results: results, notifications: notifications, to: flush)
    }

    /// `app/poetry.lock:12` → (`app/poetry.lock`, 12).
    static func splitLocation(_ l: String) -> (String, Int?) {
        if let c = l.lastIndex(of: ":"), let n = Int(l[l.index(after: c)...]) { return (String(l[..<c]), n) }
        return (l, nil)
    }

    // MARK: CycloneDX

    /// The inventory's BOM with a `vulnerabilities` section whose `affects` name its components.
    public func cyclonedx(_ inv: Inventory, info: DocumentInfo) -> JSONValue {
        guard case .object(var fields) = CycloneDXWriter.document(inv, info: info) else { return .null }
        var vulns: [JSONValue] = []
        var byID: [String: [Finding]] = [:]
        for f in findings { byID[f.id, default: []].append(f) }
        for id in byID.keys.sorted() {
            guard let group = byID[id], let f = group.first else { continue }
            var v = ObjectBuilder()
            v.add("bom-ref", .string("vuln:" + id))
            v.add("id", .string(id))
            let url = "https://osv.dev/vulnerability/" + id
            v.add("source", .object([("name", .string("OSV"))] + (CycloneDXWriter.isIRI(url) ? [("url", .string(url))] : [])))
            v.add("references", array: f.aliases.map { a in
                .object([("id", .string(a)), ("source", .object([("name", .string(a.hasPrefix("CVE-") ? "NVD" : a.hasPrefix("GHSA-") ? "GitHub" : "OSV"))]))])
            })
            var rating = ObjectBuilder()
            if let s = f.score { rating.add("score", .double(s)) }
            rating.add("severity", .string(f.severity == .unknown ? "unknown" : f.severity.description))
            if let vec = f.vector { rating.add("method", .string(vec.hasPrefix("CVSS:4") ? "CVSSv4" : vec.hasPrefix("CVSS:3.0") ? "CVSSv3" : "CVSSv31")); rating.add("vector", .string(vec)) }
            else { rating.add("method", .string("other")) }
            v.add("ratings", .array([rating.value]))
            v.add("description", f.summary.isEmpty ? nil : f.summary)
            let fixes = Set(group.flatMap(\.fixed)).sorted()
            v.add("recommendation", fixes.isEmpty ? nil : "Upgrade to a fixed version: " + fixes.joined(separator: ", "))
            v.add("published", f.published)
            v.add("updated", f.modified)
            v.add("affects", .array(group.map { g in
                .object([("ref", .string(g.purl)), ("versions", .array([.object([("version", .string(g.version)), ("status", .string(g.status == .unknown ? "unknown" : "affected"))])]))])
            }))
            vulns.append(v.value)
        }
        fields.append(("vulnerabilities", .array(vulns)))
        // What was not checked goes into the BOM's metadata, one count per ecosystem, so a reader
        // of the BOM alone cannot mistake an empty vulnerabilities list for a clean bill.
        if !notChecked.isEmpty, let m = fields.firstIndex(where: { $0.0 == "metadata" }), case .object(var meta) = fields[m].1 {
            let at = meta.firstIndex { $0.0 == "properties" }
            var props: [JSONValue] = []
            if let at, case .array(let existing) = meta[at].1 { props = existing }
            for n in notChecked {
                props.append(.object([("name", .string("provenant:not-checked:" + n.ecosystem)), ("value", .string(String(n.packages)))]))
                props.append(.object([("name", .string("provenant:not-checked-reason:" + n.ecosystem)), ("value", .string(n.reason))]))
                props.append(.object([("name", .string("provenant:not-checked-fix:" + n.ecosystem)), ("value", .string(n.command ?? "none"))]))
            }
            if let at { meta[at].1 = .array(props) } else { meta.append(("properties", .array(props))) }
            fields[m].1 = .object(meta)
        }
        return .object(fields)
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
