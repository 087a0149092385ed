import Foundation
import ProvenantCore

/// How sure a rule is that what it matched is a live credential rather than a look-alike.
public enum Confidence: Int, Sendable, Comparable, CustomStringConvertible {
    case low = 0, medium, high
    public static func < (a: Confidence, b: Confidence) -> Bool { a.rawValue < b.rawValue }
    public var description: String { ["low", "medium", "high"][rawValue] }
    public init?(word: String) {
        switch word { case "low": self = .low; case "medium": self = .medium; case "high": self = .high; default: return nil }
    }
}

/// One credential type: where to look (keywords), what it looks like (pattern), and its own examples.
public struct Rule: Sendable {
    public var id: String
    public var title: String
    public var severity: SeverityLevel
    public var confidence: Confidence
    /// Case-insensitive literals; the pattern runs only near one of them.
    public var keywords: [String]
    public var pattern: String
    /// Minimum Shannon entropy of the value, in bits per character.
    public var minEntropy: Double
    /// Bytes after a keyword hit that a match may reach.
    public var window: Int
    /// A rule whose match nearby confirms this one (an AWS secret beside its key id).
    public var pair: String?
    /// A literal every match contains: a keyword hit with no such literal in its window is dropped
    /// before the pattern runs (`@` for credentials in URLs, which logs are full of).
    public var near: String?
    public var positives: [String]
    public var negatives: [String]
    /// Where the rule was written, for error messages: `CloudRules.swift:12`.
    public var origin: String

    public init(id: String, title: String, severity: SeverityLevel, confidence: Confidence = .high, keywords: [String],
                pattern: String, minEntropy: Double = 0, window: Int = 256, pair: String? = nil, near: String? = nil,
                positives: [String] = [], negatives: [String] = [], origin: String = "") {
        self.id = id; self.title = title; self.severity = severity; self.confidence = confidence
        self.keywords = keywords; self.pattern = pattern; self.minEntropy = minEntropy; self.window = window
        self.pair = pair; self.near = near; self.positives = positives; self.negatives = negatives; self.origin = origin
    }
}
