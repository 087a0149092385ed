/// Qualitative severity, ordered so `--fail-on` can compare levels.
public enum SeverityLevel: Int, Sendable, Codable, Comparable, CaseIterable, CustomStringConvertible {
    case unknown = 0, none, low, medium, high, critical

    public static func < (a: SeverityLevel, b: SeverityLevel) -> Bool { a.rawValue < b.rawValue }
    public var description: String {
        switch self {
        case .unknown: "unrated"
        case .none: "none"
        case .low: "low"
        case .medium: "medium"
        case .high: "high"
        case .critical: "critical"
        }
    }

    /// CVSS bands: 0.1–3.9 low, 4.0–6.9 medium, 7.0–8.9 high, 9.0–10 critical.
    public init(score: Double) {
        switch score {
        case ..<0.05: self = .none
        case ..<4.0: self = .low
        case ..<7.0: self = .medium
        case ..<9.0: self = .high
        default: self = .critical
        }
    }

    /// Database words: GHSA's `MODERATE` is medium.
    public init?(word: String) {
        switch word.uppercased() {
        case "LOW": self = .low
        case "MODERATE", "MEDIUM": self = .medium
        case "HIGH", "IMPORTANT": self = .high
        case "CRITICAL": self = .critical
        case "NONE", "NEGLIGIBLE": self = .none
        default: return nil
        }
    }
}

extension SeverityLevel {
    /// The `--fail-on` argument: low, medium, high or critical.
    public init?(threshold: String) {
        switch threshold.lowercased() {
        case "low": self = .low
        case "medium": self = .medium
        case "high": self = .high
        case "critical": self = .critical
        default: return nil
        }
    }
}
