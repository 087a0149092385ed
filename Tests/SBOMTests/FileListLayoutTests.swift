import Foundation
import Testing
import ProvenantCore
@testable import SBOM

/// A package's file list is written straight to bytes; what comes out must be what the tree of
/// `{type, name, hashes}` objects gives, at any depth: the same bytes when compact, and when pretty
/// the same document with each record compact on a line of its own.
@Suite struct FileListLayoutTests {
    static func files(_ n: Int) -> [PackageFile] {
        (0..<n).map { i in
            // Paths that need escaping, non-ASCII ones, and files without a digest, spread through the list.
            let path = i % 7 == 3 ? "usr/share/q\"uote\\d/\(i)\n\u{1}" : i % 5 == 1 ? "usr/lib/ünï/\(i).so" : "usr/bin/tool-\(i)"
            // Digests held inline (MD5, SHA-1, SHA-256) and ones kept as given (SHA-512, text to escape).
            let hexDigit = String(i % 16, radix: 16)
            let digest: Digest? = i % 4 == 2 ? nil
                : i % 11 == 5 ? Digest(.sha1, "Q\"1/\\\(i)")
                : i % 13 == 7 ? Digest(.sha1, hex: String(repeating: hexDigit, count: 40))
                : i % 17 == 9 ? Digest(.sha512, hex: String(repeating: hexDigit, count: 128))
                : Digest(i % 3 == 0 ? .md5 : .sha256, hex: String(repeating: hexDigit, count: i % 3 == 0 ? 32 : 64))
            return PackageFile(path: path, digest: digest)
        }
    }

    static func tree(_ files: [PackageFile]) -> JSONValue {
        .array(files.map { f in
            var fields: [(String, JSONValue)] = [("type", .string("file")), ("name", .string(f.path))]
            if let d = f.digest { fields.append(("hashes", .array([.object([("alg", .string(d.algorithm.rawValue)), ("content", .string(d.value))])]))) }
            return .object(fields)
        })
    }

    @Test(arguments: [0, 1, 2, 9, 8191, 8192, 20001])
    func theDirectBytesAreTheTreesBytes(count: Int) {
        let files = Self.files(count)
        #expect(files.filter { $0.digest == nil }.count == (count + 1) / 4)
        for pretty in [true, false] {
            // At depth inside a component, as the writer places it.
            let raw: JSONValue = .object([("components", .array([.object([("name", .string("p")), ("components", .raw { o, indent, pretty in
                CycloneDXWriter.writeFiles(files, into: &o, indent: indent, pretty: pretty)
            })])]))])
            let plain: JSONValue = .object([("components", .array([.object([("name", .string("p")), ("components", Self.tree(files))])]))])
            Self.expectSame(raw.serialized(pretty: pretty), plain.serialized(pretty: pretty), files: files, pretty: pretty, "count \(count), pretty \(pretty)")
        }
    }

    /// Compact: the very bytes. Pretty: the same document, and one line for each record, which is its
    /// compact rendering at the list's indent.
    static func expectSame(_ direct: String, _ reference: String, files: [PackageFile], pretty: Bool, _ what: String) {
        guard pretty else { #expect(direct == reference, "\(what)"); return }
        #expect((try? JSONParser.parse(Array(direct.utf8))) == (try? JSONParser.parse(Array(reference.utf8))), "\(what)")
        #expect((try? JSONParser.parse(Array(direct.utf8))) != nil, "\(what)")
        let records = direct.split(separator: "\n").filter { $0.contains("{\"type\":\"file\",\"name\":") }
        #expect(records.count == files.count, "\(what)")
        for (line, f) in zip(records, files) {
            let body = line.drop { $0 == " " }
            let one = String(body.hasSuffix(",") ? body.dropLast() : body)
            #expect(one == Self.tree([f]).serialized(pretty: false).dropFirst().dropLast().description, "\(what): \(one)")
        }
    }

    /// The JSONWriter rendering this replaced, kept as the second reference, at indents 0 to 6 and with
    /// the strings escaping treats specially.
    static func writerRendering(_ files: [PackageFile], into o: inout [UInt8], indent: Int, pretty: Bool) {
        JSONWriter.write(into: &o, indent: indent, pretty: pretty) { w in
            w.array { w in
                for f in files {
                    w.object { w in
                        w.field("type", "file")
                        w.field("name", f.path)
                        if let d = f.digest {
                            w.key("hashes")
                            w.array { w in w.object { w in w.field("alg", d.algorithm.rawValue); w.field("content", d.value) } }
                        }
                    }
                }
            }
        }
    }

    @Test func theDirectBytesAreTheWritersBytes() {
        let paths = ["", "a", "q\"u\\o/te", "\u{7f}\u{1f}\u{0}\t\r\n", "\u{2028}\u{2029}", "ünï/é\u{301}", "😀/x", String(repeating: "p", count: 5000)]
        var files: [PackageFile] = []
        for (i, p) in paths.enumerated() {
            files.append(PackageFile(path: p, digest: nil))
            files.append(PackageFile(path: p, digest: Digest(i % 2 == 0 ? .sha256 : .md5, hex: String(repeating: "a", count: i % 2 == 0 ? 64 : 32))))
            files.append(PackageFile(path: p, digest: Digest(.sha1, "\(i)\"\u{1}é")))
        }
        for n in [0, 1, 2, files.count] {
            for indent in 0...6 {
                for pretty in [true, false] {
                    var direct: [UInt8] = [], written = direct
                    CycloneDXWriter.writeFiles(Array(files.prefix(n)), into: &direct, indent: indent, pretty: pretty)
                    Self.writerRendering(Array(files.prefix(n)), into: &written, indent: indent, pretty: pretty)
                    Self.expectSame(String(decoding: direct, as: UTF8.self), String(decoding: written, as: UTF8.self), files: Array(files.prefix(n)),
                                    pretty: pretty, "n \(n) indent \(indent) pretty \(pretty)")
                }
            }
        }
    }
}
