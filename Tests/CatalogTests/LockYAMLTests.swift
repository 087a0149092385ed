import Foundation
import Testing
import TestSupport
import Yams
@testable import Catalog
@testable import ProvenantCore

/// `LockYAML` reads the block YAML pnpm writes without Yams, and declines anything else; where it
/// reads, its tree must be Yams' tree, and pnpm-lock's packages the same either way.
@Suite struct LockYAMLTests {
    /// Every pnpm-lock fixture, read both ways: the same packages, edges, scopes, lines and
    /// diagnostics, or the same error. The large lockfiles are the ones read without Yams.
    @Test func pnpmFixturesGiveTheSameExtractionBothWays() throws {
        let dir = Fixture.root + "/lockfiles/javascript-pnpmlock"
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".yaml") }.sorted()
            .map { "lockfiles/javascript-pnpmlock/" + $0 } + ["large-lockfiles/pnpm-lock9a.yaml", "large-lockfiles/pnpm-lock9b.yaml"]
        var readFast = 0, packages = 0
        for rel in names {
            let full = Fixture.root + "/" + rel
            let text = try String(contentsOfFile: full, encoding: .utf8)
            if LockYAML.read(text) != nil { readFast += 1 }
            let index = FileIndex(root: (full as NSString).deletingLastPathComponent)
            let file = try #require(index.file((full as NSString).lastPathComponent))
            for includeDev in [false, true] {
                let input = ExtractInput(file: file, index: index, context: ExtractContext(mode: .source, includeDev: includeDev))
                let fast = Result { try PnpmLockExtractor().extract(input, text: text, fast: true) }
                let yams = Result { try PnpmLockExtractor().extract(input, text: text, fast: false) }
                switch (fast, yams) {
                case let (.success(a), .success(b)):
                    #expect(a.packages == b.packages, "\(rel)")
                    #expect(a.diagnostics == b.diagnostics, "\(rel)")
                    packages += a.packages.count
                case let (.failure(a), .failure(b)):
                    #expect("\(a)" == "\(b)", "\(rel)")
                default:
                    Issue.record("\(rel): one reading failed and the other did not")
                }
            }
        }
        #expect(LockYAML.read(try String(contentsOfFile: Fixture.root + "/large-lockfiles/pnpm-lock9b.yaml", encoding: .utf8)) != nil)
        // As written: 30 of 35 files read without Yams, 2,557 packages over both runs.
        #expect(readFast >= 25 && packages > 2_000, "\(readFast) of \(names.count) read without Yams, \(packages) packages")
    }

    /// `dev: 'true'` is text to Yams, so the package stays a production package either way (found by
    /// helper-197: read as a bool, it was marked dev and dropped from the SBOM).
    @Test func aQuotedTrueDoesNotMakeADevPackage() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lockyaml-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = "lockfileVersion: '6.0'\n\npackages:\n\n  /quoted@1.0.0:\n    resolution: {integrity: sha512-AAAA}\n    dev: 'true'\n\n  /plain@2.0.0:\n    resolution: {integrity: sha512-BBBB}\n    dev: true\n"
        try text.write(toFile: dir + "/pnpm-lock.yaml", atomically: true, encoding: .utf8)
        #expect(LockYAML.read(text) != nil)
        let index = FileIndex(root: dir)
        let input = ExtractInput(file: try #require(index.file("pnpm-lock.yaml")), index: index, context: ExtractContext(mode: .source, includeDev: false))
        let fast = try PnpmLockExtractor().extract(input, text: text, fast: true)
        let yams = try PnpmLockExtractor().extract(input, text: text, fast: false)
        #expect(fast.packages == yams.packages)
        #expect(fast.packages.map(\.name) == ["quoted"])
    }

    /// Random documents of pnpm's shapes with things YAML reads otherwise mixed in (comments, tabs,
    /// anchors, tags, block scalars, escapes, odd indents, empty values, long keys, duplicate keys):
    /// whatever `LockYAML` reads, Yams reads to the same tree; and it declines often enough that
    /// both branches are exercised.
    @Test func whatItReadsYamsReadsTheSame() {
        var rng = SplitMix(state: 0x9A1)
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        let keys = ["lockfileVersion", "'@babel/core@7.0.0'", "/a/1.0.0", "a@1.0.0(b@2.0.0)", "\"q\"", "dev", "resolution", "x",
                    "'it''s'", "-a", ":b", "?c", "a:b", "@bad", "k ", "a #b", "'a' ", "!t", "&x", "*y", "[a]", "a,b", String(repeating: "k", count: 1_100)]
        let scalars = ["1.0.0", "'9.0'", "\"6.0\"", "true", "no", "https://x.org/a.tgz", "sha512-AbC+/==", "^1 || >=2", "a: b", "a #c", "a#c",
                       "'unclosed", "\"esc\\n\"", "|", ">-", "&a v", "*a", "!!str x", "- x", "-1", "x  ", "''", "\"\"", "'a''b'", "~", "v # c", "[x]", "a]", "'true'", "\"on\""]
        let flows = ["{integrity: sha512-x==}", "{integrity: sha512-x==, tarball: https://a/b.tgz}", "{}", "[]", "[arm64]", "[a, 'b', \"c\"]",
                     "{node: '>=6', npm: ^7 || >=8}", "{a: {b: c}}", "[a, [b]]", "{a: b,}", "{a:b}", "{'a': b}", "{a}", "[a: b]", "{a: b} x", "{ a: b }", "[a:?b]", "{k: x:?y}", "[x?]", "{a: 'true', b: on}"]
        // Half the documents keep to what pnpm writes (the first few choices of each list, keys
        // unique within a mapping); the others mix in everything.
        let cleanKeys = 9, cleanScalars = 8, cleanFlows = 7
        var read = 0, declined = 0, agreedWithNesting = 0, readMixed = 0
        for _ in 0..<3_000 {
            var text = ""
            let clean = rng.next() % 2 == 0
            func some<T>(_ xs: [T], _ cleanCount: Int) -> T { clean ? xs[Int(rng.next() % UInt64(cleanCount))] : pick(xs) }
            func block(_ indent: Int, _ depth: Int) {
                var used = Set<String>()
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    let pad = String(repeating: " ", count: indent)
                    var k = some(keys, cleanKeys)
                    if clean {
                        while used.contains(k) { k = some(keys, cleanKeys) + "x" }
                        used.insert(k)
                    }
                    switch rng.next() % (clean ? 9 : 10) {
                    case 0, 1, 2, 3: text += pad + k + ": " + some(scalars, cleanScalars) + "\n"
                    case 4, 5: text += pad + k + ": " + some(flows, cleanFlows) + "\n"
                    case 6, 7 where depth < 4:
                        text += pad + k + ":\n"
                        if rng.next() % 12 == 0 { text += clean ? "\n" : pick(["\n", "  # c\n", "\t\n", "   \n"]) }
                        block(indent + (clean ? 2 : pick([2, 2, 2, 4, 1])), depth + 1)
                    case 6, 7, 8:
                        text += pad + k + ":\n"
                        for _ in 0..<(1 + rng.next() % 3) { text += pad + (clean ? "  - " : pick(["  - ", "  - ", "  -", "- ", "   - "])) + some(scalars, cleanScalars) + "\n" }
                    default:
                        text += pick(["", "\n", pad + "# note\n", pad + k + ":\n", pad + k + ":" + pick(scalars) + "\n", pad + "\t" + k + ": x\n", "---\n", "... x: y\n", "--- x: y\n", pad + k + ": x\r\n"])
                    }
                }
            }
            block(0, 0)
            if rng.next() % 10 == 0 { text = text.replacingOccurrences(of: "\n", with: "\r\n") }
            guard let mine = LockYAML.read(text) else { declined += 1; continue }
            read += 1
            if !clean { readMixed += 1 }
            guard let node = try? Yams.compose(yaml: text, .basic) else {
                Issue.record("LockYAML read what Yams refuses: \(text.debugDescription)")
                continue
            }
            let theirs = LockYAML(yams: node)
            #expect(mine == theirs, "\(text.debugDescription)")
            if mine == theirs, text.contains(":\n ") { agreedWithNesting += 1 }
        }
        // As written: 1,246 read (487 nested; 113 of the mixed documents), 1,754 declined.
        #expect(read > 1_000 && agreedWithNesting > 350 && readMixed > 60 && declined > 1_200,
                "\(read) read (\(agreedWithNesting) nested, \(readMixed) mixed), \(declined) declined")
    }

    /// The shapes it declines, each on its own: Yams reads (or refuses) them.
    @Test func declinesWhatItDoesNotRead() {
        for text in ["a: b # c\n", "a:\n\tb: c\n", "a: &x b\nc: *x\n", "a: !!str 1\n", "a: |\n  x\n", "a: \"x\\ty\"\n",
                     "a:\n  b\n", "a: b\n  c\n", "a:\n", "a:\n- b\n", "a: b\n b: c\n", "# c\na: b\n", "---\na: b\n", "a: é\n",
                     "- a\n", "a: [b, [c]]\n", "a: {b: {c: d}}\n", "'a':b\n", "a: b\rc: d\n", String(repeating: "k", count: 1_100) + ": v\n",
                     // Found by helper-197: document markers after the first line, `:?` in a flow.
                     "a: b\n--- c: d\n", "a: b\n... c: d\n", "a: [a:?b]\n", "a: {k: x:?y}\n",
                     "a: {b: 1, 'b': 2}\n", "a: 1\n'a': 2\n"] {
            #expect(LockYAML.read(text) == nil, "\(text.debugDescription)")
        }
        // A quoted scalar is text, never a bool, as Yams tags it `!!str` (found by helper-197).
        let bools = LockYAML.read("a: 'true'\nb: true\nc: \"yes\"\nd: Off\n")
        #expect(bools?.value("a")?.bool == nil && bools?.value("b")?.bool == true && bools?.value("c")?.bool == nil && bools?.value("d")?.bool == false)
        #expect(bools?.value("a")?.string == "true")
        // A `?` inside a flow's scalar is text: a tarball URL with a query string (helper-198).
        #expect(LockYAML.read("a: [x?]\nb: {tarball: https://r/x.tgz?a=1&b=2}\n") == .mapping([
            .init(key: .scalar("a"), line: 1, value: .sequence([.scalar("x?")])),
            .init(key: .scalar("b"), line: 2, value: .mapping([.init(key: .scalar("tarball"), line: 2, value: .scalar("https://r/x.tgz?a=1&b=2"))])),
        ]))
        #expect(LockYAML.read("a: b\n'c''d':\n  - e\n  - 'f'\ng: {h: i, 'j': \"k\"}\n") == .mapping([
            .init(key: .scalar("a"), line: 1, value: .scalar("b")),
            .init(key: .scalar("c'd", quoted: true), line: 2, value: .sequence([.scalar("e"), .scalar("f", quoted: true)])),
            .init(key: .scalar("g"), line: 5, value: .mapping([.init(key: .scalar("h"), line: 5, value: .scalar("i")),
                                                                .init(key: .scalar("j", quoted: true), line: 5, value: .scalar("k", quoted: true))])),
        ]))
    }
}
