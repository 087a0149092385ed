import Testing
import TestSupport
@testable import Secrets

/// The keyword pass's prefilter lets a position through on four folded bytes (three for keywords of
/// three); it must never hide a keyword, in any case, nor an extra slot's position.
@Suite struct KeywordPrefilterTests {
    /// Every hit, compared with a naive search for every keyword at every position, over random text
    /// built from the standard engine's 1,427 keywords in random case, cut, glued and mixed with
    /// punctuation, digits and bytes that fold onto letters (`@`, `[`, `_`, 0xC1).
    @Test func findsWhatANaiveSearchFinds() throws {
        let engine = try SecretEngine.standard()
        let a = engine.automaton
        let words = a.keywords
        var byFirst = [[Int]](repeating: [], count: 256)
        for (id, w) in words.enumerated() { byFirst[Int(w[0])].append(id) }
        func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }
        var rng = SplitMix(state: 0x4B57)
        let noise = Array("@[_`{/.-: \n\t0123456789=\"'\u{0}".utf8) + [0xC1, 0xE1, 0x7F, 0x40, 0x60]
        var total = 0, texts = 0
        for _ in 0..<120 {
            var text: [UInt8] = []
            while text.count < 1_500 {
                switch rng.next() % 4 {
                case 0, 1:
                    var w = words[Int(rng.next() % UInt64(words.count))]
                    if rng.next() % 4 == 0 { w = Array(w.prefix(Int(rng.next() % UInt64(w.count)) + 1)) }
                    for c in w { text.append(rng.next() % 2 == 0 && c >= 97 && c <= 122 ? c - 32 : c) }
                case 2: text.append(noise[Int(rng.next() % UInt64(noise.count))])
                default: text.append(UInt8(truncatingIfNeeded: rng.next()))
                }
            }
            text = Array(text.prefix(Int(rng.next() % 1_500) + 1))
            var found: [[Int]] = []
            text.withUnsafeBytes { b in a.scan(b) { kw, end in found.append([end - words[kw].count, kw]) } }
            var expected: [[Int]] = []
            for i in text.indices {
                for id in byFirst[Int(lower(text[i]))] where i + words[id].count <= text.count {
                    let w = words[id]
                    if w.indices.allSatisfy({ lower(text[i + $0]) == w[$0] }) { expected.append([i, id]) }
                }
            }
            #expect(found.sorted { ($0[0], $0[1]) < ($1[0], $1[1]) } == expected, "text \(texts)")
            total += expected.count
            texts += 1
        }
        // As written: 9,667 keyword occurrences over the 120 texts.
        #expect(total > 7_000, "\(total) occurrences")
    }

    /// A known secret's form may start at any position whose raw three bytes are an extra slot: each
    /// such position reaches `candidate`, including the last three bytes of the text.
    @Test func extraSlotsReachTheCandidateCallback() {
        var rng = SplitMix(state: 0xE57A)
        let forms = ["AbC", "x9Z", "q_Q", "Zz1", "012"].map { Array($0.utf8) }
        let slots = forms.map { KeywordAutomaton.prefilterSlot(UInt32($0[0]) | UInt32($0[1]) << 8 | UInt32($0[2]) << 16) }
        let a = KeywordAutomaton(keywords: ["token", "key"], extraSlots: slots)
        var reached = 0
        for _ in 0..<400 {
            var text: [UInt8] = []
            for _ in 0..<(Int(rng.next() % 60) + 1) {
                if rng.next() % 3 == 0 { text += forms[Int(rng.next() % UInt64(forms.count))] } else { text.append(UInt8(truncatingIfNeeded: rng.next())) }
            }
            var candidates = Set<Int>()
            text.withUnsafeBytes { b in a.scan(b, candidate: { candidates.insert($0) }) { _, _ in } }
            for i in 0..<max(0, text.count - 2) {
                let slot = KeywordAutomaton.prefilterSlot(UInt32(text[i]) | UInt32(text[i + 1]) << 8 | UInt32(text[i + 2]) << 16)
                if slots.contains(slot) {
                    #expect(candidates.contains(i), "position \(i) of \(text)")
                    reached += 1
                }
            }
        }
        #expect(reached > 1_000, "\(reached)")
    }
}
