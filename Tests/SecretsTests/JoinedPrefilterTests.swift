import Foundation
import ProvenantCore
import Testing
@testable import Secrets
import TestSupport

/// An image's package databases list 140,000 file paths, and each is input the redactor must see. The
/// catalog looks for the redactor's byte rules and the spotter's keywords once, in a package's paths
/// joined by NUL, and asks only the paths where something lies. These tests hold the two facts that
/// rests on: a path the spotter could find something in is touched by a keyword span of the join, and
/// the byte rules fire in the join exactly where they fire in each path alone.
@Suite struct JoinedPrefilterTests {
    static func fillers(_ n: Int) -> [String] {
        (0..<n).map { "usr/lib/python3/dist-packages/pkg\($0 % 97)/module_\($0).py" }
    }

    /// Every labelled example, secret or not, hidden among ordinary paths: wherever `mayMatch` says the
    /// engine could find something in an example alone, a keyword span of the join touches it.
    @Test func keywordSpansOfAJoinTouchEveryTextTheEngineMayMatch() throws {
        let engine = try SecretEngine.standard()
        let examples = try RecallTests.examples().map(\.text)
        var texts: [String] = []
        for (i, e) in examples.enumerated() { texts.append(e); texts += Self.fillers(3).map { "\(i)/\($0)" } }
        var joined: [UInt8] = [], starts: [Int] = []
        for t in texts { starts.append(joined.count); joined += t.utf8; joined.append(0) }
        let spans = try #require(joined.withUnsafeBytes { engine.keywordSpans($0) })
        var touched = Set<Int>()
        for s in spans {
            let first = starts.lastIndex { $0 <= s.lowerBound }!, last = starts.lastIndex { $0 <= s.upperBound - 1 }!
            touched.formUnion(first...last)
        }
        var mayMatch = 0
        for (i, t) in texts.enumerated() {
            let bytes = Array(t.utf8)
            let low = bytes.withUnsafeBytes { engine.mayMatch($0, minimumConfidence: .low) }
            let high = bytes.withUnsafeBytes { engine.mayMatch($0, minimumConfidence: .high) }
            if low || high { mayMatch += 1; #expect(touched.contains(i), "the join's spans miss \(t.prefix(60))") }
        }
        #expect(mayMatch > 1000, "the examples the engine may match: \(mayMatch)")
        // Ordinary paths hold no keyword: the join spares asking them.
        #expect(texts.indices.filter { $0 % 4 != 0 && touched.contains($0) }.count < texts.count / 8)
    }

    /// With known secrets set, any text may hold one: no span can rule a path out.
    @Test func knownSecretsRuleNothingOut() throws {
        let known = try KnownSecrets([.init(name: .init(source: "env", key: "S1"), bytes: Array("correct-horse-battery-staple".utf8))])
        let engine = try SecretEngine.standard(known: known)
        #expect(Array("usr/bin/x".utf8).withUnsafeBytes { engine.keywordSpans($0) } == nil)
    }

    /// The byte rules as they were written per path, before they were run over joins.
    static func referenceFires(_ b: [UInt8]) -> Bool {
        let prefixes = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "gldt-", "glrt-", "glptt-",
                        "xoxb-", "xoxp-", "xoxa-", "xoxs-", "xoxr-", "xapp-", "sk-", "sk_live_", "rk_live_", "pk_live_",
                        "AKIA", "ASIA", "AIza", "npm_", "pypi-", "hf_", "dop_v1_", "shpat_", "SG.", "eyJ", "pvt_"].map { Array($0.utf8) }
        var dashes = 0
        for i in b.indices {
            let c = b[i]
            if "@:=%".utf8.contains(c) { return true }
            dashes = c == UInt8(ascii: "-") ? dashes + 1 : 0
            if dashes >= 5 { return true }
            let rest = Array(b[i...])
            if prefixes.contains(where: { rest.starts(with: $0) }) { return true }
            let folded = rest.prefix(4).map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
            if folded == Array("akia".utf8) || folded == Array("asia".utf8) { return true }
        }
        return false
    }

    @Test func byteRulesFireInAJoinWhereTheyFireInEachPathAlone() throws {
        var rng = SplitMix(state: 0x5eed)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzAKISG_-.@:=%/0123456789eyJ".utf8)
        var texts = ["a-----b", "x----", "-----", "docs/AkIa.txt", "ASIA", "sk-", "pvt_x", "eyJhbGci", "plain/path.py", "", "a", "SG.",
                     "user:pass@host", "100%", "k=v", "lib/ghp_x", "desk-top", "hf_", "dop_v1_", "github_pat_1"]
        for _ in 0..<3000 {
            let n = Int(rng.next() % 24)
            texts.append(String(decoding: (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }, as: UTF8.self))
        }
        let prefilter = Redactor.FieldPrefilter()
        var joined: [UInt8] = [], starts: [Int] = []
        for t in texts { starts.append(joined.count); joined += t.utf8; joined.append(0) }
        var fired = Set<Int>()
        joined.withUnsafeBufferPointer { b in prefilter.byteRules(b, stopAtFirst: false) { o in fired.insert(starts.lastIndex { $0 <= o }!) } }
        var count = 0
        for (i, t) in texts.enumerated() {
            let expected = Self.referenceFires(Array(t.utf8))
            var alone = false
            Array(t.utf8).withUnsafeBufferPointer { b in prefilter.byteRules(b, stopAtFirst: true) { _ in alone = true } }
            #expect(alone == expected, "alone, \(t.debugDescription)")
            #expect(fired.contains(i) == expected, "in the join, \(t.debugDescription)")
            if expected { count += 1 }
        }
        #expect(count > 500 && count < texts.count - 500, "both answers are tried: \(count) of \(texts.count)")
    }
}
