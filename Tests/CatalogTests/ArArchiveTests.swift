import Catalog
import Foundation
import Testing

/// `ar` archives as `.deb` packages and static libraries write them: GNU and BSD long names, the
/// padding byte after an odd-sized member, and damage that keeps the members before it.
@Suite struct ArArchiveTests {
    static func header(_ name: String, size: Int) -> [UInt8] {
        func field(_ s: String, _ n: Int) -> String { s.padding(toLength: n, withPad: " ", startingAt: 0) }
        return Array((field(name, 16) + field("0", 12) + field("0", 6) + field("0", 6) + field("100644", 8) + field(String(size), 10) + "`\n").utf8)
    }
    static func member(_ name: String, _ data: [UInt8]) -> [UInt8] {
        header(name, size: data.count) + data + (data.count % 2 == 1 ? [10] : [])
    }

    @Test func membersAndLongNamesAreRead() throws {
        let table = Array("a-rather-long-member-name.o/\nsecond-long-member-name.o/\n".utf8)
        var bytes = ArArchive.magic
        bytes += Self.member("debian-binary", Array("2.0\n".utf8))
        bytes += Self.member("//", table)
        bytes += Self.member("/0", Array("odd".utf8))
        bytes += Self.member("/29", Array("even".utf8))
        bytes += Self.member("short.o/", Array("x".utf8))
        // BSD: `#1/N`, the name the first N bytes of the data.
        bytes += Self.member("#1/12", Array("bsd-name.txtbody".utf8))
        let ar = ArArchive(bytes)
        #expect(ar.problem == nil)
        #expect(ar.members.map(\.name) == ["debian-binary", "//", "a-rather-long-member-name.o", "second-long-member-name.o", "short.o", "bsd-name.txt"])
        #expect(ar.members.map { String(decoding: bytes[$0.data], as: UTF8.self) } == ["2.0\n", String(decoding: table, as: UTF8.self), "odd", "even", "x", "body"])
    }

    @Test func damageKeepsWhatCameBefore() {
        let good = ArArchive.magic + Self.member("a", Array("one\n".utf8))
        let cases: [([UInt8], String)] = [
            (good + Self.header("b", size: 100) + Array("short".utf8), "member 2 (100 bytes) runs past the end of the file"),
            (good + Self.header("b", size: 1).dropLast(2) + Array("xx".utf8), "the header of member 2 does not end with its magic"),
            (good + Array(Self.header("b", size: 1)[0..<30]), "the header of member 2 runs past the end of the file"),
            (good + Self.header("b", size: 1).enumerated().map { $0.offset == 48 ? UInt8(ascii: "-") : $0.element } + [0x41], "the header of member 2 has no decimal size"),
            (good + Self.header("#1/9", size: 2) + [0x41, 0x42], "the name of member 2 runs past its data"),
        ]
        for (bytes, said) in cases {
            let ar = ArArchive(bytes)
            #expect(ar.members.map(\.name) == ["a"], "\(said)")
            #expect(ar.problem.map { String(describing: $0) } == said)
        }
        let outside = ArArchive(good + Self.member("//", Array("x/\n".utf8)) + Self.header("/99", size: 1) + [0x41])
        #expect(outside.members.map(\.name) == ["a", "//"])
        #expect(outside.problem.map { String(describing: $0) } == "the long name of member 3 lies outside the name table")
        // Without a name table, `/99` is the name itself.
        #expect(ArArchive(good + Self.header("/99", size: 1) + [0x41]).members.map(\.name) == ["a", "/99"])
        // A size of 19 digits would overflow; it is no size.
        let huge = ArArchive(good + Array(Self.header("b", size: 0)[0..<48]) + Array("9999999999`\n".utf8))
        #expect(huge.problem.map { String(describing: $0) } == "member 2 (9999999999 bytes) runs past the end of the file")
        #expect(ArArchive(Array("!<arch>".utf8)).problem != nil)
    }
}
