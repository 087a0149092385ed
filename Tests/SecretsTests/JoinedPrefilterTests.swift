import Foundation
import ProvenantCore
import Testing
@testable import Secrets
import TestSupport

/// An image's package databases list 140,000 file paths, and each is input the redactor must see. The
/// catalog runs the redactor's byte rules and the spotter once over a package's paths joined by NUL,
/// and asks only the paths where either may find something. These tests hold the two facts that rests
/// on: the engine's answer for each text of a join is its answer for the text alone, and the byte
/// rules fire in the join exactly where they fire in each path alone.
@Suite struct JoinedPrefilterTests {
    static func fillers(_ n: Int) -> [String] {
        (0..<n).map { "usr/lib/python3/dist-packages/pkg\($0 % 97)/module_\($0).py" }
    }

    /// Every labelled example, secret or not, among ordinary paths and paths made of an example's
    /// pieces (its head, its tail, the join of two): each answer from the join is `mayMatch` of the
    /// text alone, at both confidences the callers ask.
    @Test func eachAnswerFromAJoinIsTheAnswerForTheTextAlone() throws {
        let engine = try SecretEngine.standard()
        let examples = try RecallTests.examples().map(\.text)
        var texts: [String] = []
        for (i, e) in examples.enumerated() {
            texts.append(e)
            texts += Self.fillers(2).map { "\(i)/\($0)" }
            let u = Array(e.utf8)
            texts.append(String(decoding: u.prefix(u.count / 2), as: UTF8.self))
            texts.append(String(decoding: u.suffix(u.count / 3), as: UTF8.self) + "/x y")
            texts.append("")
            texts.append(String(decoding: u.suffix(4), as: UTF8.self) + String(decoding: Array(examples[(i + 1) % examples.count].utf8).prefix(6), as: UTF8.self))
        }
        var joined: [UInt8] = [], starts: [Int] = []
        for t in texts { starts.append(joined.count); joined += t.utf8; joined.append(0) }
        for confidence in [Confidence.low, .high] {
            let each = joined.withUnsafeBytes { engine.mayMatchEach($0, starts: starts, minimumConfidence: confidence) }
            #expect(each.count == texts.count)
            var yes = 0
            for (i, t) in texts.enumerated() {
                let alone = Array(t.utf8).withUnsafeBytes { engine.mayMatch($0, minimumConfidence: confidence) }
                #expect(each[i] == alone, "\(confidence): \(t.prefix(60).debugDescription)")
                if alone { yes += 1 }
            }
            #expect(yes > 1000 && yes < texts.count - 1000, "both answers are tried: \(yes) of \(texts.count)")
        }
    }

    /// With known secrets set, any text may hold one: every text is asked.
    @Test func knownSecretsRuleNothingOut() throws {
        let known = try KnownSecrets([.init(name: .init(source: "env", key: "S1"), bytes: Array("correct-horse-battery-staple".utf8))])
        let engine = try SecretEngine.standard(known: known)
        let joined = Array("usr/bin/x\0usr/bin/y\0".utf8)
        #expect(joined.withUnsafeBytes { engine.mayMatchEach($0, starts: [0, 10]) } == [true, true])
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
