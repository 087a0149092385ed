@testable import Catalog
import Foundation
@testable import ProvenantCore
import Testing
import TestSupport

/// `ByteSearch` (glibc's `memmem`, or a loop) finds what a plain scan finds, and the two searches
/// built on it, the Go build-info screen of an image's executables and the license texts' phrase
/// search, answer as the byte loops they replaced did.
@Suite struct MemorySearchTests {
    /// The first offset of `needle` in `hay[from..<to]` by comparing at every offset.
    static func scan(_ needle: [UInt8], _ hay: [UInt8], from: Int = 0, to: Int? = nil) -> Int? {
        let stop = min(to ?? hay.count, hay.count)
        guard !needle.isEmpty, stop - max(0, from) >= needle.count else { return nil }
        return (max(0, from)...(stop - needle.count)).first { hay[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    @Test func findsWhatAScanFinds() {
        var rng = SplitMix(state: 42)
        // A small alphabet, so that needles match often, partly, and at the ends.
        let alphabet: [UInt8] = [0xFF, 0x20, 0x47, 0x6F, 0x00]
        for round in 0..<3_000 {
            let hay = (0..<Int(rng.next() % 200)).map { _ in alphabet[Int(rng.next() % 5)] }
            var needle = (0..<Int(rng.next() % 6)).map { _ in alphabet[Int(rng.next() % 5)] }
            if round % 3 == 0, hay.count > 4 {
                let at = Int(rng.next() % UInt64(hay.count - 3))
                needle = Array(hay[at..<min(hay.count, at + 1 + Int(rng.next() % 12))])
            }
            let from = Int(rng.next() % 20), to = round % 2 == 0 ? nil : Int(rng.next() % 220)
            let expected = Self.scan(needle, hay, from: from, to: to)
            #expect(ByteSearch.firstOffset(of: needle, in: hay, from: from, to: to) == expected, "round \(round)")
            let loop = hay.withUnsafeBytes { h in needle.withUnsafeBytes { n in ByteSearch.shortFirstOffset(of: n, in: h) } }
            #expect(loop == Self.scan(needle, hay), "round \(round)")
        }
        #expect(ByteSearch.firstOffset(of: [], in: [1, 2]) == nil)
        #expect(ByteSearch.firstOffset(of: [1, 2, 3], in: [1, 2]) == nil)
        #expect(ByteSearch.firstOffset(of: [2], in: [1, 2], from: 5) == nil)
    }

    @Test func theGoScreenFindsTheMagicAnywhereInAnELF() {
        let magic: [UInt8] = [0xFF] + Array(" Go buildinf:".utf8)
        let elf: [UInt8] = [0x7F, 0x45, 0x4C, 0x46] + [UInt8](repeating: 0, count: 60)
        // Machine code is full of 0xFF: the near misses come before the magic.
        let filler = (0..<5_000).flatMap { _ -> [UInt8] in [0xFF, 0x20, 0x47, 0x6F] }
        let e = GoBinaryExtractor()
        for tail in [0, 1, 15, 16, 1000] {
            let file = elf + filler + magic + [UInt8](repeating: 0xFF, count: tail)
            #expect(e.keeps(file), "tail \(tail)")
        }
        #expect(!e.keeps(elf + filler + magic.dropLast()), "a cut magic")
        #expect(!e.keeps(elf + filler), "no magic")
        #expect(!e.keeps([0x7F, 0x45, 0x4C, 0x47] + filler + magic), "not an ELF")
    }

    @Test func licensePhrasesAreFoundAsTheLoopFoundThem() {
        // The loop this replaced: matches do not overlap, at most `limit`, within from..<to.
        func loop(_ needle: String, _ hay: [UInt8], from: Int, to: Int?, limit: Int) -> [Int] {
            let n = Array(needle.utf8), stop = min(to ?? hay.count, hay.count)
            guard !n.isEmpty, stop >= n.count else { return [] }
            var out: [Int] = [], i = max(0, from)
            while i <= stop - n.count, out.count < limit {
                if hay[i..<(i + n.count)].elementsEqual(n) { out.append(i); i += n.count; continue }
                i += 1
            }
            return out
        }
        var rng = SplitMix(state: 7)
        let words = ["gpl ", "gplgpl", "version ", "or later ", "any ", "v", "2 "]
        for round in 0..<2_000 {
            let hay = Array((0..<Int(rng.next() % 30)).map { _ in words[Int(rng.next() % 7)] }.joined().utf8)
            let needle = ["gpl", "gplgpl", "gpl gpl", "version 2", "or later", "v", "", "2 v"][Int(rng.next() % 8)]
            let from = Int(rng.next() % 10), to: Int? = round % 2 == 0 ? nil : Int(rng.next() % 150), limit = 1 + Int(rng.next() % 5)
            #expect(LicenseTextMatcher.find(needle, in: hay, from: from, to: to, limit: limit) == loop(needle, hay, from: from, to: to, limit: limit),
                    "round \(round)")
        }
    }
}
