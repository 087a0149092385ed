import Foundation
import Testing
@testable import Secrets

/// How `--git` reads `git log -p` output: lines too long to hold and files too large for one piece
/// (found by helper-132).
@Suite struct GitDiffParserTests {
    static let token = "ghp_R7wQ2bX9kLm4Np8sT1vY6zC3dF5gH0jK2mQe"

    func parse(_ chunks: [[UInt8]]) -> [GitHistory.Addition] {
        var out: [GitHistory.Addition] = []
        var p = GitHistory.DiffParser { out.append($0) }
        for c in chunks { p.feed(Data(c)) }
        p.finish()
        return out
    }

    static let header = Array("\u{1}0123456789abcdef0123456789abcdef01234567\ndiff --git a/f b/f\n+++ b/f\n@@ -0,0 +1,3 @@\n".utf8)

    /// The rest of a line cut at `maxLine` is more of the same added line, not dropped.
    @Test func aLineLongerThanTheCutKeepsItsRest() {
        let long = [UInt8]("+".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: GitHistory.DiffParser.maxLine + 100) + Array(" t=\(Self.token)\n".utf8)
        let chunks = [Self.header] + stride(from: 0, to: long.count, by: 1 << 20).map { Array(long[$0..<min($0 + (1 << 20), long.count)]) } + [Array("+next\n".utf8)]
        let pieces = parse(chunks)
        #expect(pieces.contains { String(decoding: $0.text.suffix(200), as: UTF8.self).contains(Self.token) }, "the token after the cut is read")
        #expect(pieces.last.map { String(decoding: $0.text.suffix(5), as: UTF8.self) } == "next\n")
        #expect(pieces.last?.lines.last == 2, "the line after the long one is line 2")
    }

    /// A block across the 8 MiB piece mark is read whole in the next piece, which repeats the last
    /// whole lines of the one before and says how many bytes that is.
    @Test func aKeyAcrossThePieceMarkIsReadWhole() {
        let filler = Array(("+" + String(repeating: "y", count: 99) + "\n").utf8)
        var body: [UInt8] = []
        let before = GitHistory.DiffParser.maxPiece / 100 - 2
        for _ in 0..<before { body += filler }
        let key = (["-----BEGIN RSA PRIVATE KEY-----"] + (0..<25).map { _ in String(repeating: "QUJD", count: 16) } + ["-----END RSA PRIVATE KEY-----"])
        for l in key { body += Array(("+" + l + "\n").utf8) }
        let pieces = parse([Self.header, body])
        #expect(pieces.count == 2)
        let second = pieces[1]
        let text = String(decoding: second.text, as: UTF8.self)
        #expect(text.contains("BEGIN RSA PRIVATE KEY") && text.contains("END RSA PRIVATE KEY"), "the whole key is in the second piece")
        #expect(second.overlap > 0 && second.overlap <= GitHistory.DiffParser.overlapBytes)
        // Its lines are numbered as in the file: the key's first line follows the filler.
        let keyLine = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix("-----BEGIN") }!
        #expect(second.lines[keyLine] == before + 1)
        #expect(second.text.filter { $0 == 10 }.count == second.lines.count)
    }
}
