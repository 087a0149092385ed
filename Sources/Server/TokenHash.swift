import Crypto
import Foundation
import ProvenantCore

/// Bearer tokens: 32 random bytes, shown once as `pvt_` and base64url, stored only as their SHA-256.
public enum TokenHash {
    public static let prefix = "pvt_"

    /// A new token's text.
    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let b64 = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return prefix + b64
    }

    /// What the database keeps: the hex SHA-256 of the token's text.
    public static func hash(_ token: String) -> String { Hex.encode(SHA256.hash(data: Data(token.utf8))) }

    /// Equality that takes the same time wherever the two differ.
    public static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in x.indices { diff |= x[i] ^ y[i] }
        return diff == 0
    }

    /// A token's text is `pvt_` and 43 base64url characters; anything else is not looked up.
    public static func isWellFormed(_ token: String) -> Bool {
        guard token.hasPrefix(prefix) else { return false }
        let rest = token.utf8.dropFirst(prefix.utf8.count)
        return rest.count == 43 && rest.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x5f
        }
    }
}

/// Requests allowed per token: a bucket of `burst` refilled at `perSecond`.
public actor RateLimiter {
    let perSecond: Double
    let burst: Double
    private var buckets: [String: (tokens: Double, at: ContinuousClock.Instant)] = [:]

    public init(perSecond: Double, burst: Double) { self.perSecond = perSecond; self.burst = burst }

    /// Takes one request from `key`'s bucket; false when it is empty.
    public func allow(_ key: String) -> Bool {
        let now = ContinuousClock.now
        var b = buckets[key] ?? (burst, now)
        let elapsed = now - b.at
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        b.tokens = min(burst, b.tokens + seconds * perSecond)
        b.at = now
        guard b.tokens >= 1 else { buckets[key] = b; return false }
        b.tokens -= 1
        buckets[key] = b
        // Bounded: buckets of tokens that have refilled completely are forgotten.
        if buckets.count > 100_000 { buckets = buckets.filter { $0.value.tokens < burst } }
        return true
    }
}
