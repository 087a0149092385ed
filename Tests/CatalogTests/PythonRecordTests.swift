import Foundation
import Testing
import TestSupport
import ProvenantCore
@testable import Catalog

/// RECORD rows are split on bytes; the rows must be the ones the line-and-CSV reading gave, line
/// numbers, blank and quoted lines, CRLF, unreadable hashes and all.
@Suite struct PythonRecordTests {
    /// The reading before the byte splitter, kept as the reference.
    static func reference(_ text: String) -> [PythonRecord.Row] {
        var out: [PythonRecord.Row] = []
        var n = 0
        var rest: Substring? = text[...]
        while let r = rest {
            n += 1
            var line: Substring
            if let nl = r.utf8.firstIndex(of: 10) { line = r[..<nl]; rest = r[r.utf8.index(after: nl)...] } else { line = r; rest = nil }
            if line.utf8.last == 13 { line = line[..<line.utf8.index(before: line.endIndex)] }
            let cols = CSV.row(line)
            guard let f = cols.first, !f.isEmpty else { continue }
            var row = PythonRecord.Row(path: f, digest: nil, unreadableHash: nil, line: n)
            if cols.count > 1, !cols[1].isEmpty {
                row.digest = PythonRecord.digest(cols[1])
                if row.digest == nil { row.unreadableHash = cols[1] }
            }
            out.append(row)
        }
        return out
    }

    @Test func theByteSplitterGivesTheReferenceRows() {
        let pieces = ["pkg/__init__.py", ",", ",", "sha256=", "sha512=", "md5=", "\"", "\"a,b\"", "\n", "\r\n", "\r", "=",
                      "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                      "1234", "é", "\u{301}", "ü/x.py", " ", "", "../../etc/passwd", "RECORD"]
        var rng = SplitMix(state: 0x7265636f7264)
        var compared = 0, withDigest = 0, quoted = 0
        for _ in 0..<3000 {
            var text = ""
            for _ in 0..<Int.random(in: 0...12, using: &rng) {
                switch Int.random(in: 0..<3, using: &rng) {
                case 0:   // a well-formed row
                    text += "pkg/m\(Int.random(in: 0...99, using: &rng)).py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,12"
                case 1:   // a row with a quoted path
                    text += "\"pkg/a,b.py\",sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,"
                default:  // anything
                    for _ in 0..<Int.random(in: 0...8, using: &rng) { text += pieces.randomElement(using: &rng)! }
                }
                text += ["\n", "\r\n", "", "\n\n"].randomElement(using: &rng)!
            }
            let got = PythonRecord.rows(text), want = Self.reference(text)
            #expect(got == want, "\(text.debugDescription)")
            if got != want { break }
            compared += got.count
            withDigest += got.filter { $0.digest != nil }.count
            quoted += text.contains("\"") ? 1 : 0
        }
        // The inputs reach every kind of row.
        #expect(compared > 5000 && withDigest > 100 && quoted > 500)
        let fixed = "a.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\r\n\nb.py,,\n\"c,d.py\",sha256=x,1\nRECORD,,"
        #expect(PythonRecord.rows(fixed) == Self.reference(fixed))
        #expect(PythonRecord.rows(fixed).map(\.line) == [1, 3, 4, 5])
        #expect(PythonRecord.rows(fixed)[2].path == "c,d.py" && PythonRecord.rows(fixed)[2].unreadableHash == "sha256=x")
    }

    /// Every string of up to five pieces from an alphabet that holds the grapheme traps (CR LF, a lone
    /// CR, a combining mark after a quote or a comma), and fixed edges.
    @Test func everyShortStringOfTheTrapsGivesTheReferenceRows() {
        let alphabet = ["a", ",", "\"", "\r", "\n", "\u{301}", "\r\n", "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"]
        var bad: [String] = [], checked = 0
        func go(_ s: String, _ depth: Int) {
            checked += 1
            if PythonRecord.rows(s) != Self.reference(s) { bad.append(s) }
            guard depth < 5, bad.count < 20 else { return }
            for p in alphabet { go(s + p, depth + 1) }
        }
        go("", 0)
        #expect(bad.isEmpty, "\(bad.map(\.debugDescription))")
        #expect(checked > 37_000)
        for s in ["\r\r\n", "a\r\r\n", "\"\r\r\n", "\u{301}a,b\n", "a,\u{301}b", "\"\u{301},x\",y", "a\0,b\n", "\u{FEFF}a,b", "a,b\r", "\r", "\n\r", ",\r\n,", "a,\"b\r\n"] {
            #expect(PythonRecord.rows(s) == Self.reference(s), "\(s.debugDescription)")
        }
    }
}

