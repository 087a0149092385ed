/// The package ecosystems Provenant catalogs. Raw values are the purl types.
public enum Ecosystem: String, Sendable, Codable, CaseIterable, Comparable {
    case deb, apk, golang, pypi, npm, maven, cargo, gem, composer, nuget, swift, generic

    /// The spelling OSV uses, so later matching can key on it directly.
    public var osvName: String {
        switch self {
        case .deb: return "Debian"
        case .apk: return "Alpine"
        case .golang: return "Go"
        case .pypi: return "PyPI"
        case .npm: return "npm"
        case .maven: return "Maven"
        case .cargo: return "crates.io"
        case .gem: return "RubyGems"
        case .composer: return "Packagist"
        case .nuget: return "NuGet"
        case .swift: return "SwiftURL"
        case .generic: return "generic"
        }
    }

    public static func < (a: Ecosystem, b: Ecosystem) -> Bool { a.rawValue < b.rawValue }
}

/// How a package takes part in the build. Dev and test are left out unless asked for.
public enum Scope: String, Sendable, Codable, Comparable {
    case required, optional, dev

    public static func < (a: Scope, b: Scope) -> Bool { a.rank < b.rank }
    private var rank: Int { switch self { case .required: 0; case .optional: 1; case .dev: 2 } }
}
