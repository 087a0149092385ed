import Foundation
import ProvenantCore
import Testing

/// `containsBytes` and `byteOffset` replace Foundation's `contains`/`range(of:)` on paths when pairing
/// files with extractors: they must find exactly what those found.
@Suite struct ByteSearchTests {
    @Test func findsWhatFoundationFinds() {
        let cases: [(String, String)] = [
            ("app/node_modules/x/package.json", "node_modules/"), ("node_modules/", "node_modules/"),
            ("a/node_modules", "node_modules/"), ("", "x"), ("x", ""), ("aaab", "aab"), ("ééa/b", "a/b"),
            ("var/lib/dpkg/status.d/base", "var/lib/dpkg/status.d/"), ("abc", "abcd"), ("nnnode_modules/", "node_modules/"),
        ]
        for (hay, needle) in cases {
            let expected = needle.isEmpty ? false : hay.utf8.count >= needle.utf8.count
                && (0...(hay.utf8.count - needle.utf8.count)).contains { Array(hay.utf8.dropFirst($0).prefix(needle.utf8.count)) == Array(needle.utf8) }
            #expect(hay.containsBytes(needle) == expected, "\(hay) / \(needle)")
        }
        #expect("x/node_modules/a/node_modules/b".byteOffset(of: "node_modules/", last: true) == 17)
        #expect("x/node_modules/a/node_modules/b".byteOffset(of: "node_modules/") == 2)
        #expect("aaab".byteOffset(of: "aab") == 1)
        #expect("ab".byteOffset(of: "b", last: true) == 1)
        #expect("ab".byteOffset(of: "c", last: true) == nil)
    }

    @Test func rangesAreFoundationsRanges() {
        let cases: [(String, String)] = [
            ("a/node_modules/b/node_modules/c", "node_modules/"), ("é/node_modules/ü", "/node_modules/"), ("key: value", ": "),
            ("no separator", ": "), ("x: y: z", ": "), ("ñññ", "ñ"), ("", "a"), ("abc", ""), ("", ""),
        ]
        for (hay, needle) in cases {
            #expect(hay.rangeOfBytes(needle) == hay.range(of: needle), "\(hay) / \(needle)")
            #expect(hay.rangeOfBytes(needle, last: true) == hay.range(of: needle, options: .backwards), "\(hay) / \(needle) backwards")
        }
    }
}
