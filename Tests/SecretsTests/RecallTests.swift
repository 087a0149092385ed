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
}
