import ProvenantCore

/// The package database that vouches for a file.
public enum PackageSource: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case dpkg, apk, python
    public static func < (a: PackageSource, b: PackageSource) -> Bool { a.rawValue < b.rawValue }
}

/// One file a package database says differs or is gone, or an executable no package claims.
public struct FileDrift: Sendable, Hashable {
    /// The rule and the file's path (as the database names it, absolute inside the root) as `subject`.
    public var finding: DriftFinding
    /// nil for an unowned file.
    public var source: PackageSource?
    /// The package that installed it: `name` (dpkg, apk) or `name version` (Python).
    public var package: String?
    /// `dpkg --verify`'s nine result characters (`??5??????`: the digest differs; `?M???????`: not a
    /// regular file where one was installed), `missing  `, or `unowned  `.
    public var check: String
    public var conffile: Bool
    /// What the system said when the file could not be looked at (`Not a directory`), or why its
    /// digest could not be computed; for an unowned file, what makes it one (executable, shared library).
    public var note: String?

    public var path: String { finding.subject }
    public var rule: DriftRule { finding.rule }

    public init(rule: DriftRule, path: String, source: PackageSource?, package: String?, check: String, conffile: Bool, note: String?, message: String) {
        finding = DriftFinding(rule: rule, subject: path, message: message, location: Location(path))
        self.source = source
        self.package = package.map { Redactor.escapeControls(Redactor.redact($0)) }
        self.check = check
        self.conffile = conffile
        self.note = note.map { Redactor.escapeControls(Redactor.redact($0)) }
    }

    /// The report line: for a dpkg file exactly the line `dpkg --verify` prints, so the two can be
    /// compared; other databases' files carry their package after it in brackets.
    public var line: String {
        let code = check.count >= 9 ? check : check + String(repeating: " ", count: 9 - check.count)
        var s = code + " " + (conffile ? "c" : " ") + " " + path
        if let note, source == .dpkg { s += " (\(note))" }
        switch source {
        case .dpkg: break
        case .apk, .python: s += " [\(source!.rawValue) \(package ?? "?")\(note.map { ": " + $0 } ?? "")]"
        case nil: s += " [\(note ?? "unowned")]"
        }
        return s
    }

    /// Most severe first, then rule, path and package, so a report reads the same every run.
    public static func order(_ a: FileDrift, _ b: FileDrift) -> Bool {
        if a.finding != b.finding { return DriftFinding.order(a.finding, b.finding) }
        if a.source != b.source { return (a.source?.rawValue ?? "") < (b.source?.rawValue ?? "") }
        return (a.package ?? "") < (b.package ?? "")
    }
}

/// What one `verify-files` run found and what it could not check.
public struct VerifyFilesReport: Sendable {
    /// The root as given on the command line.
    public var root: String
    public var findings: [FileDrift]
    /// Files and inputs that could not be read or were refused: not checked, so never clean.
    public var notChecked: [Diagnostic]
    /// Problems in the databases that did not stop the run (a malformed line, skipped).
    public var diagnostics: [Diagnostic]
    /// Files whose digest was compared with the one their package records.
    public var filesChecked: Int
    /// Installed paths looked at for presence only (directories, links, files without a recorded digest).
    public var pathsPresent: Int
    /// Packages read per database.
    public var packages: [PackageSource: Int]
    /// Regular files under the bin, sbin and lib directories that were examined for an owner.
    public var filesWalked: Int

    public init(root: String, findings: [FileDrift], notChecked: [Diagnostic], diagnostics: [Diagnostic], filesChecked: Int,
                pathsPresent: Int, packages: [PackageSource: Int], filesWalked: Int) {
        self.root = root; self.findings = findings; self.notChecked = notChecked; self.diagnostics = diagnostics
        self.filesChecked = filesChecked; self.pathsPresent = pathsPresent; self.packages = packages; self.filesWalked = filesWalked
    }

    /// Whether any finding is at or above `level` (for `--fail-on`).
    public func reaches(_ level: SeverityLevel) -> Bool { findings.contains { $0.finding.severity >= level } }

    public func count(_ rule: DriftRule) -> Int { findings.filter { $0.rule == rule }.count }

    public var summaryLine: String {
        let pkgs = PackageSource.allCases.compactMap { s in packages[s].map { "\(s.rawValue) \($0)" } }
        let total = packages.values.reduce(0, +)
        var s = "verify-files: \(filesChecked) file\(filesChecked == 1 ? "" : "s") checked in \(total) package\(total == 1 ? "" : "s")"
        if !pkgs.isEmpty { s += " (" + pkgs.joined(separator: ", ") + ")" }
        s += ", \(filesWalked) in bin and lib directories examined for an owner; "
        s += "\(findings.count) finding\(findings.count == 1 ? "" : "s")"
        let parts = [(DriftRule.fileModified, "modified"), (.conffileModified, "conffile modified"), (.fileMissing, "missing"), (.fileUnowned, "unowned")]
            .compactMap { rule, word in count(rule) == 0 ? nil : "\(count(rule)) \(word)" }
        if !parts.isEmpty { s += " (" + parts.joined(separator: ", ") + ")" }
        s += notChecked.isEmpty ? "; all checked" : "; \(notChecked.count) NOT CHECKED"
        return s
    }
}
