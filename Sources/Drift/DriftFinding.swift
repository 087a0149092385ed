import ProvenantCore

/// The rules `diff` and `verify-files` report, each with its fixed severity.
public enum DriftRule: String, Sendable, CaseIterable, Codable, Comparable {
    // `diff`: one SBOM against its approved baseline.
    case tampered = "drift:tampered"
    case added = "drift:added"
    case removed = "drift:removed"
    case upgraded = "drift:upgraded"
    case downgraded = "drift:downgraded"
    case newTransitive = "drift:new-transitive"
    case sourceChanged = "drift:source-changed"
    case installScript = "drift:install-script"
    case licenseChanged = "drift:license-changed"
    case lookalike = "drift:lookalike"
    case configChanged = "drift:config-changed"
    // `diff` of images: how the image runs.
    case imageUser = "drift:image-user"
    case imageCommand = "drift:image-command"
    case imagePort = "drift:image-port"
    case imageEnv = "drift:image-env"
    // `verify-files`: installed files against their package database.
    case fileModified = "files:modified"
    case conffileModified = "files:conffile-modified"
    case fileMissing = "files:missing"
    case fileUnowned = "files:unowned"

    public static func < (a: DriftRule, b: DriftRule) -> Bool { a.rawValue < b.rawValue }

    /// Same content under the same version, a downgrade, a changed configuration, a moved source or a
    /// patched file are what an attacker's change looks like; a plain addition or upgrade is routine.
    public var severity: SeverityLevel {
        switch self {
        case .tampered: .critical
        case .downgraded, .configChanged, .sourceChanged, .lookalike, .fileModified, .fileUnowned, .imageUser, .imageCommand: .high
        case .newTransitive, .installScript, .fileMissing, .imagePort: .medium
        case .added, .removed, .upgraded, .licenseChanged, .conffileModified, .imageEnv: .low
        }
    }

    public var summary: String {
        switch self {
        case .tampered: "same package and version, different content"
        case .added: "a package appeared"
        case .removed: "a package went away"
        case .upgraded: "the version went up"
        case .downgraded: "the version went down"
        case .newTransitive: "a new package reached only through an existing dependency"
        case .sourceChanged: "the resolved registry, host or commit changed"
        case .installScript: "a new or changed install-time script"
        case .licenseChanged: "the license changed"
        case .lookalike: "a new package's name is one edit from a known one"
        case .configChanged: "a configuration file changed, appeared or went away"
        case .imageUser: "the user the image runs as changed"
        case .imageCommand: "the image's entrypoint, command or working directory changed"
        case .imagePort: "a port the image exposes appeared or went away"
        case .imageEnv: "an environment variable of the image appeared or went away"
        case .fileModified: "an installed file differs from the digest its package records"
        case .conffileModified: "a configuration file differs from the digest its package shipped"
        case .fileMissing: "a file its package installed is missing"
        case .fileUnowned: "an executable, shared library or Python module no package claims"
        }
    }
}

/// One change, with what it is about and why it matters. Every text field quotes input, so it is
/// redacted once, here.
public struct DriftFinding: Sendable, Hashable, Codable {
    public var rule: DriftRule
    /// The package key (purl without qualifiers), or the file path for file and configuration rules.
    public var subject: String
    public var message: String
    /// Where the current side says the subject is (a lockfile, an installed file).
    public var location: Location?
    /// The policy rule that approves this change, when one does.
    public var approvedBy: String?

    public var severity: SeverityLevel { rule.severity }

    public init(rule: DriftRule, subject: String, message: String, location: Location? = nil, approvedBy: String? = nil) {
        self.rule = rule
        self.subject = Redactor.escapeControls(Redactor.redact(subject))
        self.message = Redactor.escapeControls(Redactor.redact(message))
        self.location = location
        self.approvedBy = approvedBy
    }

    /// Most severe first, then by rule and subject, so a report reads the same every run.
    public static func order(_ a: DriftFinding, _ b: DriftFinding) -> Bool {
        if a.severity != b.severity { return a.severity > b.severity }
        if a.rule != b.rule { return a.rule < b.rule }
        if a.subject != b.subject { return a.subject < b.subject }
        return a.message < b.message
    }
}
