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

    /// Whether undeclared scripts are refused here. `prod` is production too: a short name must not
    /// open what the long one closes.
    public var isProduction: Bool { ["production", "prod"].contains(name.lowercased()) }

    public init(name: String, source: String, note: String? = nil) { self.name = name; self.source = source; self.note = note }

    /// Empty values count as unset (an empty `PROVENANT_ENVIRONMENT=` in a pod spec names nothing).
    public static func resolve(option: String?, variable: String?, labelsFile: String?) -> ExecEnvironment {
        if let option, !option.isEmpty { return ExecEnvironment(name: option, source: "--environment") }
        if let variable, !variable.isEmpty {
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
        guard let name = labels.labels["environment"], !name.isEmpty else {
            return ExecEnvironment(name: production, source: "default", note: "\(labelsFile) has no readable environment label")
        }
        return ExecEnvironment(name: name, source: source)
    }
}
