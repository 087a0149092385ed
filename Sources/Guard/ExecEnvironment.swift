import Foundation

/// The environment (`test`, `staging`, `production`, ...) a command is launched in, and where that
/// came from. Sources in the order: `--environment`, else `PROVENANT_ENVIRONMENT`, else the
/// `environment` label of a downward-API labels file. When none gives a name the environment is
/// production: an unknown environment must never be the permissive one.
public struct ExecEnvironment: Sendable, Equatable {
    public var name: String
    /// `--environment`, `PROVENANT_ENVIRONMENT`, `--environment-file <path>`, or `default` when unknown.
    public var source: String
    /// Why the default applied, when it did (file unreadable, label missing or ambiguous).
    public var note: String?

    public static let production = "production"
    public static let variable = "PROVENANT_ENVIRONMENT"

    /// Environments known not to be production, exactly as written (after trimming blanks).
    public static let nonProduction: Set<String> = ["test", "testing", "dev", "development", "staging", "stage", "qa", "ci", "local", "sandbox"]

    /// Whether undeclared scripts are refused here. Fails closed: every name that is not exactly a
    /// known non-production one (`prod`, `Production`, `live`, `staging2`, a typo) is production.
    public var isProduction: Bool { !Self.nonProduction.contains(name) }

    /// `name` is trimmed of blanks: `"test "` from a pod spec is `test`.
    public init(name: String, source: String, note: String? = nil) {
        self.name = name.trimmingCharacters(in: .whitespacesAndNewlines); self.source = source; self.note = note
    }

    /// Empty values count as unset (an empty `PROVENANT_ENVIRONMENT=` in a pod spec names nothing).
    public static func resolve(option: String?, variable: String?, labelsFile: String?) -> ExecEnvironment {
        if let option, !option.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return ExecEnvironment(name: option, source: "--environment") }
        if let variable, !variable.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            // The issue orders the variable before the file; say so when both were given.
            return ExecEnvironment(name: variable, source: Self.variable,
                                   note: labelsFile.map { "\(Self.variable) is set, so --environment-file \($0) was not read" })
        }
        guard let labelsFile else { return ExecEnvironment(name: production, source: "default", note: "no environment given") }
        let source = "--environment-file \(labelsFile)"
        guard let labels = DownwardAPILabels.read(labelsFile) else {
            return ExecEnvironment(name: production, source: "default", note: "\(labelsFile) cannot be read")
        }
        if labels.ambiguous.contains("environment") {
            return ExecEnvironment(name: production, source: "default", note: "\(labelsFile) sets the environment label more than once")
        }
        guard let name = labels.labels["environment"], !name.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return ExecEnvironment(name: production, source: "default", note: "\(labelsFile) has no readable environment label")
        }
        return ExecEnvironment(name: name, source: source)
    }
}
