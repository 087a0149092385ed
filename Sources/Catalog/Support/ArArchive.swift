import ProvenantCore

/// An `ar` archive held in memory (a `.deb` package: `debian-binary`, `control.tar.*`,
/// `data.tar.*`), its members located with every size checked against the bytes present. GNU long
/// names (`//` and `/N`) and BSD ones (`#1/N`) are read; the symbol table (`/`, `/SYM64/`,
/// `__.SYMDEF`) is a member like any other.
public struct ArArchive {
    public struct Member {
        public var name: String
        public var data: Range<Int>
    }
    public static let magic = Array("!<arch>\n".utf8)
    public static func isAr(_ b: some Collection<UInt8>) -> Bool { b.starts(with: magic) }

    public private(set) var members: [Member] = []
    /// What could not be read, in order: the members before it are kept.
    public private(set) var problem: ParseError?
    /// The bytes from the damage on, which no member holds: a secret scan reads them as they are.
    public private(set) var rest: Range<Int>?
    /// The header fields no extractor reads (dates, owners, modes) and the bytes between members
    /// that are not the one padding byte, and BSD names (kept in the data, where no member's content
    /// holds them): a secret scan reads them. Held in memory already, they are kept whole.
    public private(set) var unusedFields = CappedBytes(cap: .max)

    public init(_ bytes: [UInt8]) {
        guard Self.isAr(bytes) else { problem = ParseError("not an ar archive"); return }
        var at = Self.magic.count
        var longNames: Range<Int>?
        while at < bytes.count {
            // Members start on even offsets: one padding byte (a newline) after an odd-sized member.
            if at % 2 == 1 {
                if bytes[at] != 10 { unusedFields.appendPart(bytes[at..<(at + 1)]) }
                at += 1
                if at >= bytes.count { break }
            }
            let which = "member \(members.count + 1)"
            guard at + 60 <= bytes.count else { problem = ParseError("the header of \(which) runs past the end of the file"); rest = at..<bytes.count; return }
            guard bytes[at + 58] == 0x60, bytes[at + 59] == 10 else { problem = ParseError("the header of \(which) does not end with its magic"); rest = at..<bytes.count; return }
            guard let size = Self.decimal(bytes[(at + 48)..<(at + 58)]) else {
                problem = ParseError("the header of \(which) has no decimal size"); rest = at..<bytes.count; return
            }
            let start = at + 60
            guard size <= bytes.count - start else { problem = ParseError("\(which) (\(size) bytes) runs past the end of the file"); rest = at..<bytes.count; return }
            unusedFields.appendPart(Self.trimmed(bytes[(at + 16)..<(at + 48)]))
            let field = Self.trimmed(bytes[at..<(at + 16)])
            var data = start..<(start + size)
            var name = String(decoding: field, as: UTF8.self)
            if field.elementsEqual("//".utf8) {
                longNames = data
            } else if field.starts(with: "#1/".utf8), let n = Self.decimal(field.dropFirst(3)) {
                // BSD: the name is the first N bytes of the data.
                guard n <= size else { problem = ParseError("the name of \(which) runs past its data"); rest = at..<bytes.count; return }
                name = String(decoding: bytes[start..<(start + n)].prefix { $0 != 0 }, as: UTF8.self)
                unusedFields.appendPart(bytes[start..<(start + n)])
                data = (start + n)..<(start + size)
            } else if field.count > 1, field.first == UInt8(ascii: "/"), let offset = Self.decimal(field.dropFirst()), let table = longNames {
                // GNU: `/N` names the entry at offset N of the `//` member, ended by `/\n`.
                guard offset < table.count else { problem = ParseError("the long name of \(which) lies outside the name table"); rest = at..<bytes.count; return }
                let rest = bytes[(table.lowerBound + offset)..<table.upperBound]
                let end = rest.firstIndex { $0 == 10 } ?? rest.endIndex
                var n = bytes[rest.startIndex..<end]
                if n.last == UInt8(ascii: "/") { n = n.dropLast() }
                name = String(decoding: n, as: UTF8.self)
            } else if field.count > 1, field.last == UInt8(ascii: "/") {
                // GNU short names end with `/`.
                name = String(decoding: field.dropLast(), as: UTF8.self)
            }
            members.append(Member(name: name, data: data))
            at = start + size
        }
    }

    /// A right-aligned, space-padded decimal field, checked against overflow.
    static func decimal(_ field: some Collection<UInt8>) -> Int? {
        let digits = trimmed(field)
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    /// A field without the spaces that pad it.
    static func trimmed(_ field: some Collection<UInt8>) -> [UInt8] {
        Array(field.drop { $0 == 0x20 }.reversed().drop { $0 == 0x20 }.reversed())
    }
}
