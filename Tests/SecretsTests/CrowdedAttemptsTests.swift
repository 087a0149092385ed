import Foundation
import Testing
@testable import Secrets

/// Anchored attempts that crowd together are matched in one pass over their span; what the engine
/// finds must be exactly what the attempts find one by one.
@Suite struct CrowdedAttemptsTests {
    /// Fragments that repeat keywords of anchored rules densely: placeholders the checks refuse, real
    /// values, matches that run over the next keyword, and noise between them.
    static let fragments = [
        "postgres://a:b@", "postgresql://u:Ptz8s8ksWuSH1nhu@db ", "postgres://app:", "pgsql://x:Qm9vX2kLp8Rt@h/",
        "redis://:p@", "redis://:Wq7ZtPp2LmN3@cache ", "mongodb+srv://a:Xk29dkQp3@h", "mongodb://u:",
        "tk_", "tk_Qm9vX2kL", "tk_aaaaaaaaaaaa", "_", "@", ":", "//", " ", "\n", "\"", "x", "Z9", "ghp_", "AKIA",
    ]

    /// Rule `tk-overlap`'s matches swallow the next `tk_`, so the pass skips attempts a match covers:
    /// those must be made one by one.
    static let overlapping = Rule(id: "tk-overlap", title: "test", severity: .high, keywords: ["tk_"],
                                  pattern: "tk_[A-Za-z0-9_]{8,40}", window: 64)

    @Test func crowdsFindWhatAttemptsFindOneByOne() throws {
        let rules = try RuleCatalog.load() + [Self.overlapping]
        let crowded = try SecretEngine(rules: rules, crowdMinimum: 2)
        let alone = try SecretEngine(rules: rules, crowdMinimum: .max)
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(n))
        }
        var found = 0
        for round in 0..<60 {
            // Mostly one or two fragments repeated (a crowd), sometimes a mix.
            let pool = (0..<(1 + next(3))).map { _ in Self.fragments[next(Self.fragments.count)] }
            var text = ""
            while text.utf8.count < 4000 + round * 100 { text += pool[next(pool.count)] }
            let bytes = Array(text.utf8)
            var c1 = true, c2 = true
            let a = bytes.withUnsafeBytes { crowded.scan($0, complete: &c1) }
            let b = bytes.withUnsafeBytes { alone.scan($0, complete: &c2) }
            #expect(c1 && c2, "round \(round): budget ran out")
            #expect(a == b, "round \(round), pool \(pool): \(a.count) crowded against \(b.count) one by one")
            found += b.count
        }
        // The texts hold real values: a comparison of two empty lists would prove nothing.
        #expect(found > 100, "\(found)")
    }
}
