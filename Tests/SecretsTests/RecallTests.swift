import Foundation
import ProvenantCore
import Testing
@testable import Secrets

/// The shared labelled examples (kingfisher's, Apache-2.0, in Fixtures with their license): real-format
/// credentials across 749 types, and near misses that must not be flagged.
@Suite struct RecallTests {
    struct Example { var type: String; var label: String; var text: String }

    static func examples() throws -> [Example] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/kingfisher-examples", withExtension: "jsonl"))
        let data = try Data(contentsOf: url)
        return try data.split(separator: 10).map { line in
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: String])
            return Example(type: o["rule_id"] ?? "", label: o["label"] ?? "", text: o["text"] ?? "")
        }
    }

    @Test func atLeastNinetyPercentOfThePositivesAreFoundAndNoNegative() throws {
        let engine = try SecretEngine.standard()
        let all = try Self.examples()
        let positives = all.filter { $0.label == "secret" }
        #expect(positives.count == 1421)
        var missed: [String: Int] = [:]
        var found = 0
        for e in positives {
            if !Array(e.text.utf8).withUnsafeBytes({ engine.scan($0) }).isEmpty { found += 1 }
            else { missed[e.type.split(separator: ".").dropFirst().first.map(String.init) ?? e.type, default: 0] += 1 }
        }
        let recall = Double(found) / Double(positives.count)
        let report = missed.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("recall: \(found)/\(positives.count) = \(String(format: "%.1f", recall * 100))%; misses by provider: \(report)")
        #expect(recall >= 0.90, "recall \(found)/\(positives.count); misses: \(report)")
        for e in all where e.label == "not-secret" {
            let hits = Array(e.text.utf8).withUnsafeBytes { engine.scan($0) }
            #expect(hits.isEmpty, "negative \(e.type) flagged by \(hits.map(\.ruleID)): \(e.text.prefix(80))")
        }
    }

    /// Keywords repeating around a secret (a log full of a rule's keyword) merge its windows into one
    /// long one, matched in pieces: every example found alone is still found inside such a run, and
    /// the run stays within the scan's budget.
    @Test func secretsInsideARunOfTheirKeywordsAreFound() throws {
        let engine = try SecretEngine.standard()
        var checked = 0, lost: [String] = []
        for e in try Self.examples() where e.label == "secret" {
            let text = Array(e.text.utf8)
            guard let alone = text.withUnsafeBytes({ engine.scan($0) }).first,
                  let rule = engine.rules.first(where: { $0.id == alone.ruleID }), let keyword = rule.keywords.first else { continue }
            let unit = Array((keyword + String(repeating: " ", count: 60) + "\n").utf8)
            var filler: [UInt8] = []
            while filler.count < 4 * (rule.window + 512) { filler += unit }
            // The secret in the middle of the run, so a piece that is not the last must find it.
            let combined = filler + text + [10] + filler
            var complete = true
            let found = combined.withUnsafeBytes { engine.scan($0, complete: &complete) }
            checked += 1
            let inside = filler.count..<(filler.count + text.count)
            if !complete || !found.contains(where: { $0.value.overlaps(inside) }) { lost.append("\(alone.ruleID) (complete: \(complete))") }
        }
        #expect(checked > 1000)
        #expect(lost.isEmpty, "\(lost.count) lost: \(lost.prefix(20))")
    }

    /// A JWT's start repeated every 21 bytes over megabytes stops within the budget and says it did,
    /// where each of its hits would otherwise run the JWT pattern over a whole window.
    @Test func denseKeywordsAreCutShortAndSaySo() throws {
        let engine = try SecretEngine.standard()
        let dense = Array(String(repeating: "eyJhbGciOiJIUzI1NiJ9 ", count: 100_000).utf8)
        var complete = true
        _ = dense.withUnsafeBytes { engine.scan($0, complete: &complete) }
        #expect(!complete)
        // Inside one word a pattern that opens with `\b` cannot start again, and a case-sensitive
        // literal is not its lowercase: 2 MB of `a` (the Twitter bearer token's keyword is 22 of them)
        // or of `eyJeyJ…` are read whole. The guard refused such bodies as unchecked (helper-126).
        for run in ["a", "A", "eyJ"] {
            let bytes = Array(String(repeating: run, count: 2_000_000 / run.count).utf8)
            var whole = true
            #expect(bytes.withUnsafeBytes { engine.scan($0, complete: &whole) }.isEmpty)
            #expect(whole, "\(run)…")
        }
        let normal = Array("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U end\n".utf8)
        var whole = true
        #expect(!normal.withUnsafeBytes { engine.scan($0, complete: &whole) }.isEmpty)
        #expect(whole)
    }

    /// One rule's dense keyword spends its own share of the budget, not the others': a token after
    /// thousands of key headers whose END comes late is still found, and the scan says it was cut.
    @Test func oneRulesDenseKeywordLeavesOtherRulesTheirBudget() throws {
        let engine = try SecretEngine.standard()
        var text = ""
        for _ in 0..<80 { text += String(repeating: "-----BEGIN RSA PRIVATE KEY-----\n", count: 240) + "!\n-----END RSA PRIVATE KEY-----\n" }
        text += "deploy ghp_R7wQ2bX9kLm4Np8sT1vY6zC3dF5gH0jK2mQe\n"
        var complete = true
        let found = Array(text.utf8).withUnsafeBytes { engine.scan($0, complete: &complete) }
        #expect(found.contains { $0.ruleID == "github-personal-access-token" }, "\(found.map(\.ruleID))")
        #expect(!complete, "the key headers past the rule's share were skipped, and the scan says so")
    }

    /// The cache that answers "is the rule's `near` literal in this window" for hit after hit agrees
    /// with a plain search on every query, in the order hits arrive.
    @Test func nearLiteralCacheAgreesWithAPlainSearch() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let text = (0..<600).map { _ in [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "E"), UInt8(ascii: "N"), UInt8(ascii: "D")].randomElement(using: &rng)! }
            let needle = Array("END".utf8)
            var cache = SecretEngine.NearLiteralCache()
            var from = 0
            text.withUnsafeBufferPointer { b in
                while from < text.count {
                    let to = min(text.count, from + Int.random(in: 0...120, using: &rng))
                    let expected = SecretEngine.contains(b.baseAddress!, from, to, needle)
                    #expect(cache.contains(b.baseAddress!, from, to, needle) == expected, "[\(from), \(to))")
                    from += Int.random(in: 0...15, using: &rng)
                }
            }
        }
    }
}
