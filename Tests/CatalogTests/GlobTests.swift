import Foundation
import Testing
@testable import Catalog
import TestSupport

/// `--exclude` globs: what each kind of star matches, and the single-pass matcher giving the answers of
/// the plain definition (try every way a star can stretch, and every trailing part of a path).
@Suite struct GlobTests {
    /// The definition, by trying every choice: slow (exponential in stars, quadratic in depth), plain.
    static func defined(_ p: [UInt8], _ s: [UInt8]) -> Bool {
        guard let c = p.first else { return s.isEmpty }
        let star = UInt8(ascii: "*"), slash = UInt8(ascii: "/")
        if c == star {
            let double = p.count > 1 && p[1] == star
            let rest = Array(p.dropFirst(double ? 2 : 1))
            if double, rest.first == slash, defined(Array(rest.dropFirst()), s) { return true }
            for n in 0...s.count {
                if n > 0, !double, s[n - 1] == slash { return false }
                if defined(rest, Array(s.dropFirst(n))) { return true }
            }
            return false
        }
        guard let h = s.first else { return false }
        let ok = c == UInt8(ascii: "?") ? h != slash : c == h
        return ok && defined(Array(p.dropFirst()), Array(s.dropFirst()))
    }

    static func definedAnywhere(_ pattern: String, _ path: String) -> Bool {
        var pat = pattern
        var anchored = false
        while pat.hasPrefix("./") || pat.hasPrefix("/") { pat.removeFirst(pat.hasPrefix("/") ? 1 : 2); anchored = true }
        let p = Array(pat.utf8), s = Array(path.utf8)
        if defined(p, s) { return true }
        guard !anchored, !p.contains(UInt8(ascii: "/")) || pat.hasPrefix("**/") else { return false }
        return s.indices.contains { s[$0] == UInt8(ascii: "/") && defined(p, Array(s[($0 + 1)...])) }
    }

    @Test func randomPatternsMatchAsDefined() {
        var rng = SplitMix(state: 11)
        let patternParts = ["a", "b", "/", "*", "**", "**/", "?", "./", "ab"]
        let pathParts = ["a", "b", "ab", "ba", "a.b"]
        var matched = 0
        for _ in 0..<3_000 {
            let pattern = (0..<Int(rng.next() % 6 + 1)).map { _ in patternParts[Int(rng.next() % UInt64(patternParts.count))] }.joined()
            let glob = Glob(pattern)
            for _ in 0..<8 {
                let path = (0..<Int(rng.next() % 5 + 1)).map { _ in pathParts[Int(rng.next() % UInt64(pathParts.count))] }.joined(separator: "/")
                let expected = Self.definedAnywhere(pattern, path)
                if expected { matched += 1 }
                #expect(glob.matches(path) == expected, "\(pattern) \(path)")
                // The bit table and the step-by-step loop (for patterns of 64 steps or more) agree.
                #expect(glob.runSteps(Array(path.utf8), restartAtSlashes: true) == glob.runBits(Array(path.utf8), restartAtSlashes: true), "\(pattern) \(path)")
                #expect(glob.matchesWhole(path) == Self.defined(Array(glob.pattern.utf8), Array(path.utf8)), "\(pattern) \(path)")
            }
        }
        // Both answers are well represented, so the comparison says something.
        #expect(matched > 2_000 && matched < 22_000, "\(matched)")
    }

    @Test func eachStarMatchesWhatItShould() {
        #expect(Glob("*.log").matches("var/log/app/x.log"))
        #expect(!Glob("*.log").matches("var/log/app/x.log.gz"))
        #expect(Glob("node_modules").matches("a/b/node_modules"))
        // A trailing slash names a directory, as in .gitignore (it matched nothing before; helper-75).
        #expect(Glob(excluding: "vendor/").matches("a/vendor") && Glob(excluding: "/vendor/").matches("vendor") && !Glob(excluding: "vendor/").matches("a/vendors"))
        #expect(!Glob("a/*").matches("a/b/c"))
        #expect(Glob("a/**").matches("a/b/c"))
        #expect(Glob("a/**/c").matches("a/c") && Glob("a/**/c").matches("a/x/y/c"))
        #expect(!Glob("a/**/c").matches("b/a/c"))
        #expect(Glob("**/c").matches("c") && Glob("**/c").matches("x/y/c"))
        #expect(Glob("?b").matches("x/ab") && !Glob("?b").matches("x/b") && !Glob("a?b").matches("a/b"))
        #expect(!Glob("").matches("a") && Glob("").matchesWhole(""))
        // A deep path is one pass: this would try every trailing part, each against every split.
        let deep = Array(repeating: "d", count: 3_000).joined(separator: "/") + "/x.log"
        #expect(Glob("**/d/*/*/*.log").matches(deep))
        #expect(!Glob("**/e/**/*.log").matches(deep))
        // A pattern of 64 steps or more is matched step by step.
        let long = Glob(String(repeating: "d/", count: 40) + "**/x.log")
        #expect(long.matches(deep) && !long.matches("e/" + deep) && Glob("**/" + long.pattern).matches("e/" + deep))
    }
}
