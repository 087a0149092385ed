import Testing
import TestSupport
@testable import Catalog
@testable import ProvenantCore

/// yarn.lock's entries are read as bytes when the file is ASCII (`YarnLockExtractor.blocks(ascii:)`)
/// and by Characters otherwise; on ASCII both must give the same entries, fields, dependencies and
/// errors, line for line.
@Suite struct YarnLockReadingTests {
    /// Random lockfile-like lines: headers with several quoted or plain specs, fields in both
    /// formats, dependency sections, comments, blank and whitespace-only lines, tabs, carriage
    /// returns, and lines that are wrong (a header without a colon, a field before any header).
    @Test func bytesAndCharactersAgree() throws {
        var rng = SplitMix(state: 0x7A2E)
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        let specs = ["lodash@^4.17.21", "\"@babel/core@^7.0.0\"", "'a@1'", "\"x@npm:y@^2\"", "b@1, b@^1.0.0", "__metadata", "\"c@workspace:.\"", "", " d@2 ", "e@1,,e@2"]
        let keys = ["version", "resolved", "integrity", "resolution", "\"version\"", "'integrity'", "checksum", "languageName", "linkType", "#note", "dependencies", "bin"]
        let values = ["1.2.3", "\"4.5.6\"", "'7.8.9'", "sha512-AbC+/=", "\"https://registry.yarnpkg.com/a/-/a-1.tgz#abc\"", "\"lodash@npm:4.17.21\"", "", "  spaced  ", "\"", "a: b: c", "\"\"", "x y z"]
        let depsHeads = ["dependencies:", "optionalDependencies:", "peerDependencies:", "dependenciesMeta:", "dependencies :", "\"dependencies:\""]
        let ends = ["\n", "\r\n", "\r\r\n", "\n\n", " \n", "\t\n"]
        var agreed = 0, errors = 0, withEntries = 0, withFields = 0, withDeps = 0
        for _ in 0..<4_000 {
            // Mostly well-formed: a header first, and one damaged line in about four files.
            var text = rng.next() % 8 == 0 ? "" : pick(["a@1", "\"b@^2\", b@2"]) + ":\n"
            let damaged = rng.next() % 4 == 0
            for _ in 0..<(1 + Int(rng.next() % 24)) {
                let end = pick(damaged ? ends : ends.filter { $0 != "\r\r\n" })
                switch rng.next() % 12 {
                case 0: text += "# yarn lockfile v1" + end
                case 1: text += pick(["", "  ", "\t", " \t "]) + end
                case 2, 3: text += pick(specs) + (damaged && rng.next() % 4 == 0 ? "" : ":") + end
                case 4:
                    text += pick(["  ", "  ", "\t", " "]) + pick(depsHeads) + end
                    for _ in 0..<(rng.next() % 4) { text += "    " + pick(["ms", "\"@types/node\"", "'q'", "a-b"]) + pick([" ", ": "]) + pick(values) + end }
                case 5, 6, 7: text += "  " + pick(keys) + pick([" ", ": ", ":", "  "]) + pick(values) + end
                case 8, 9: text += pick(["    ", "   ", "      ", damaged ? "\t\t" : "  \t"]) + pick(keys + ["\"@types/node\"", "ms", "'q'"]) + pick([" ", ": ", ":"]) + pick(values) + end
                case 10: text += pick(keys) + ":" + end
                default: text += (damaged ? pick(["  ", ""]) : "  ") + pick(values) + end
                }
            }
            if rng.next() % 3 == 0 { text = String(text.dropLast()) }
            var bytesResult: Result<([YarnLockExtractor.Block], Bool), ParseError>?
            var copy = text
            copy.withUTF8 { b in
                do { bytesResult = .success(try YarnLockExtractor.blocks(ascii: b)) } catch { bytesResult = .failure(error as! ParseError) }
            }
            let charactersResult: Result<([YarnLockExtractor.Block], Bool), ParseError>
            do { charactersResult = .success(try YarnLockExtractor.blocks(text: text)) } catch { charactersResult = .failure(error as! ParseError) }
            switch (bytesResult!, charactersResult) {
            case let (.success(a), .success(b)):
                #expect(a.0 == b.0 && a.1 == b.1, "\(text.debugDescription)")
                if a.0 == b.0 && a.1 == b.1 { agreed += 1 }
                if !a.0.isEmpty { withEntries += 1 }
                if a.0.contains(where: { !$0.fields.isEmpty }) { withFields += 1 }
                if a.0.contains(where: { !$0.deps.isEmpty }) { withDeps += 1 }
            case let (.failure(a), .failure(b)):
                #expect(a.message == b.message && a.line == b.line, "\(text.debugDescription)")
                errors += 1
            default:
                Issue.record("one reading failed and the other did not: \(text.debugDescription)")
            }
        }
        // Both outcomes are reached often, and entries hold fields and dependencies (as written: 2,805
        // agreed, 2,793 with entries, 1,821 with fields, 688 with dependencies, 1,195 errors).
        #expect(agreed > 2_000 && withEntries > 2_000 && withFields > 1_000 && withDeps > 400 && errors > 800,
                "\(agreed) agreed, \(withEntries) with entries, \(withFields) with fields, \(withDeps) with dependencies, \(errors) errors")
    }

    /// Text that is not all ASCII goes to the reading by Characters, where a combining mark after the
    /// indent's space makes it no longer a space: the field line is then a header without a colon.
    @Test func nonASCIITextIsReadByCharacters() {
        let text = "a@1:\n \u{301} version \"1\"\n"
        #expect(throws: ParseError.self) { try YarnLockExtractor.blocks(text) }
        let plain = try? YarnLockExtractor.blocks("a@1:\n  version \"1\"\n  integrity sha1-x\n  other \"y\"\n")
        #expect(plain?.0 == [YarnLockExtractor.Block(specs: ["a@1"], line: 1, fields: ["version": "1", "integrity": "sha1-x"])])
    }
}
