import Foundation
import ProvenantCore
import Testing
@testable import Secrets

/// Every rule of the catalog: well-formed, its pattern compiles, and its own examples behave.
@Suite struct RuleCatalogTests {
    static let rules: [Rule] = (try? RuleCatalog.load()) ?? []

    @Test func catalogParsesWithUniqueIDs() throws {
        let rules = try RuleCatalog.load()
        #expect(Set(rules.map(\.id)).count == rules.count)
    }

    /// The engine's catalog skips the examples; every rule is otherwise the one the tests check, down
    /// to the line it is named by. A record that starts with an example keeps that line.
    @Test func catalogWithoutExamplesIsTheSameRules() throws {
        let with = try RuleCatalog.load(examples: true), without = try RuleCatalog.load()
        #expect(with.count == without.count)
        for (a, b) in zip(with, without) {
            #expect(a.id == b.id && a.origin == b.origin && a.pattern == b.pattern && a.keywords == b.keywords && a.window == b.window)
            #expect(b.positives.isEmpty && b.negatives.isEmpty)
        }
        #expect(with.contains { !$0.positives.isEmpty })
        let text = "# c\n\npositive: x\nid: a\ntitle: t\nseverity: high\nkeywords: abc\npattern: abc\nnegative: y\n\nid: b\ntitle: t\nseverity: low\nkeywords: abd\npattern: abd\n"
        let full = try RuleText.parse(text, file: "x.swift"), bare = try RuleText.parse(text, file: "x.swift", examples: false)
        #expect(full.map(\.origin) == ["x.swift:3", "x.swift:11"])
        #expect(bare.map(\.origin) == full.map(\.origin))
        #expect(full[0].positives == ["x"] && bare[0].positives.isEmpty)
    }

    @Test func everyRuleFindsItsPositivesAndNotItsNegatives() throws {
        let rules = try RuleCatalog.load(examples: true)
        #expect(!rules.isEmpty)
        var failures: [String] = []
        for rule in rules {
            let engine = try SecretEngine(rules: [rule], generic: false)
            if rule.positives.isEmpty || rule.negatives.isEmpty { failures.append("\(rule.id): needs a positive and a negative example") }
            for p in rule.positives {
                let found = Array(p.utf8).withUnsafeBytes { engine.scan($0) }
                if !found.contains(where: { $0.ruleID == rule.id }) { failures.append("\(rule.id) (\(rule.origin)) misses its positive: \(p.prefix(80))") }
                // The prefilter only ever runs a pattern near a keyword, so a match must contain one.
                for m in found {
                    let text = String(decoding: Array(p.utf8)[m.match], as: UTF8.self).lowercased()
                    if !rule.keywords.contains(where: { text.contains($0) }) { failures.append("\(rule.id): match holds no keyword") }
                }
            }
            for n in rule.negatives {
                let found = Array(n.utf8).withUnsafeBytes { engine.scan($0) }
                if !found.isEmpty { failures.append("\(rule.id) (\(rule.origin)) matches its negative: \(n.prefix(80))") }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failures:\n\(failures.prefix(40).joined(separator: "\n"))")
    }

    @Test func malformedRuleTextIsRefusedWithFileAndLine() {
        #expect(throws: RuleTextError.self) { try RuleText.parse("id: a\ntitle: t\nseverity: extreme\nkeywords: abc\npattern: abc\n", file: "x.swift") }
        do {
            _ = try RuleText.parse("id: a\nbogus: 1\n", file: "x.swift")
            Issue.record("unknown field accepted")
        } catch {
            #expect(error.description == "x.swift:2: unknown field 'bogus'")
        }
    }
}
