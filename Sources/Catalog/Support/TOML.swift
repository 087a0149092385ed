import ProvenantCore

/// A TOML value. Tables remember the line they were opened on so packages can cite it.
indirect enum TOMLValue: Sendable {
    case string(String), integer(Int64), float(Double), bool(Bool), datetime(String)
    case array([TOMLValue]), table(TOMLTable)

    var string: String? { if case .string(let s) = self { return s }; return nil }
    var table: TOMLTable? { if case .table(let t) = self { return t }; return nil }
    var array: [TOMLValue]? { if case .array(let a) = self { return a }; return nil }
    var tables: [TOMLTable] { array?.compactMap(\.table) ?? [] }
}

struct TOMLTable: Sendable {
    var line: Int
    var keys: [String] = []
    var values: [String: TOMLValue] = [:]
    /// Set for tables created by a header or as an inline value; implicit parents may be redefined once.
    var defined = false

    subscript(_ key: String) -> TOMLValue? { values[key] }
    func str(_ k: String) -> String? { values[k]?.string }
    func table(_ k: String) -> TOMLTable? { values[k]?.table }
    func tables(_ k: String) -> [TOMLTable] { values[k]?.tables ?? [] }

    mutating func set(_ k: String, _ v: TOMLValue) {
        if values[k] == nil { keys.append(k) }
        values[k] = v
    }
}

/// A TOML 1.0 reader sufficient for every lockfile format, with errors that carry the line.
struct TOMLParser {
    /// Arrays and inline tables nest at most this deep, and a dotted key or table header has at most
    /// this many parts: the reader and the table walks recurse once per level, so hostile input such as
    /// `a = [[[[…` must stop with an error instead of exhausting the stack. Real lockfiles use under ten.
    static let maxDepth = 128

    private let s: [UInt8]
    private var i = 0
    private var line = 1

    static func parse(_ text: String) throws -> TOMLTable {
        var p = TOMLParser(bytes: Array(text.utf8))
        return try p.document()
    }

    private init(bytes: [UInt8]) { s = bytes }

    private func fail(_ msg: String) -> ParseError { ParseError("invalid TOML: \(msg)", line: line) }
    private var peek: UInt8? { i < s.count ? s[i] : nil }
    private func peek(_ k: Int) -> UInt8? { i + k < s.count ? s[i + k] : nil }

    private mutating func skipSpace() { while let c = peek, c == 32 || c == 9 { i += 1 } }
    private mutating func skipComment() {
        if peek == UInt8(ascii: "#") { while let c = peek, c != 10 { i += 1 } }
    }
    /// Skips blank lines and comments, including across newlines (inside arrays).
    private mutating func skipAll() {
        while let c = peek {
            if c == 32 || c == 9 || c == 13 { i += 1 }
            else if c == 10 { i += 1; line += 1 }
            else if c == UInt8(ascii: "#") { skipComment() }
            else { break }
        }
    }
    private mutating func endOfLine() throws {
        skipSpace(); skipComment()
        if peek == 13 { i += 1 }
        if let c = peek {
            guard c == 10 else { throw fail("expected end of line, found '\(Character(Unicode.Scalar(c)))'") }
            i += 1; line += 1
        }
    }

    /// A table while the document is read: a reference, so headers and keys edit it in place. Values
    /// were first kept in the final value types, and every header or key then copied the whole array
    /// or table it edited: quadratic over a file of many `[[package]]` entries.
    private final class Builder {
        enum Slot { case value(TOMLValue), table(Builder), tables(TableArray) }
        final class TableArray { var items: [Builder] = [] }
        var line: Int
        var defined: Bool
        var keys: [String] = []
        var slots: [String: Slot] = [:]
        init(line: Int, defined: Bool) { self.line = line; self.defined = defined }

        func set(_ k: String, _ v: Slot) {
            if slots.updateValue(v, forKey: k) == nil { keys.append(k) }
        }

        /// The finished value. Recursion is bounded: headers and keys have at most `maxDepth` parts.
        func freeze() -> TOMLTable {
            var t = TOMLTable(line: line, defined: defined)
            t.keys = keys
            t.values.reserveCapacity(keys.count)
            for (k, slot) in slots {
                switch slot {
                case .value(let v): t.values[k] = v
                case .table(let b): t.values[k] = .table(b.freeze())
                case .tables(let a): t.values[k] = .array(a.items.map { .table($0.freeze()) })
                }
            }
            return t
        }
    }

    private mutating func document() throws -> TOMLTable {
        let root = Builder(line: 1, defined: true)
        var current = root
        var currentDepth = 0
        while true {
            skipAll()
            guard let c = peek else { break }
            if c == UInt8(ascii: "[") {
                let isArray = peek(1) == UInt8(ascii: "[")
                i += isArray ? 2 : 1
                skipSpace()
                let key = try keyPath()
                skipSpace()
                guard peek == UInt8(ascii: "]") else { throw fail("expected ']' after table name") }
                i += 1
                if isArray {
                    guard peek == UInt8(ascii: "]") else { throw fail("expected ']]' after array-of-tables name") }
                    i += 1
                }
                let hdrLine = line
                try endOfLine()
                current = try Self.open(root, key, isArray: isArray, line: hdrLine, err: { ParseError("invalid TOML: \($0)", line: hdrLine) })
                currentDepth = key.count
            } else {
                let key = try keyPath()
                skipSpace()
                guard peek == UInt8(ascii: "=") else { throw fail("expected '=' after key") }
                i += 1; skipSpace()
                let valueLine = line
                // Depth counts every table the value sits in, header and dotted key included.
                let v = try value(depth: currentDepth + key.count)
                try endOfLine()
                try Self.assign(current, key, v, line: valueLine, err: { ParseError("invalid TOML: \($0)", line: valueLine) })
            }
        }
        return root.freeze()
    }

    /// The table `path` names below `t`, creating implicit tables on the way. A table header may walk
    /// into the last element of an array of tables (`intoArrays`); a dotted key may not.
    private static func descend(_ t: Builder, _ path: ArraySlice<String>, intoArrays: Bool, line: Int,
                                err: (String) -> ParseError) throws -> Builder {
        var t = t
        for head in path {
            switch t.slots[head] {
            case nil:
                let sub = Builder(line: line, defined: false)
                t.set(head, .table(sub)); t = sub
            case .table(let sub)?: t = sub
            case .tables(let arr)? where intoArrays:
                guard let last = arr.items.last else { throw err("'\(head)' is not a table") }
                t = last
            default: throw err("'\(head)' is already defined as a value")
            }
        }
        return t
    }

    /// Opens `[a.b]` or `[[a.b]]` and returns the table that keys below it fill, walking into the
    /// last element of arrays of tables on the way.
    private static func open(_ root: Builder, _ key: [String], isArray: Bool, line: Int,
                             err: (String) -> ParseError) throws -> Builder {
        let t = try descend(root, key.dropLast(), intoArrays: true, line: line, err: err)
        guard let head = key.last else { throw err("empty table name") }
        let opened = Builder(line: line, defined: true)
        if isArray {
            switch t.slots[head] {
            case nil:
                let arr = Builder.TableArray()
                arr.items.append(opened)
                t.set(head, .tables(arr))
            case .tables(let arr)?: arr.items.append(opened)
            default: throw err("'\(head)' is already defined as a non-array")
            }
            return opened
        }
        switch t.slots[head] {
        case nil:
            t.set(head, .table(opened))
            return opened
        case .table(let sub)?:
            if sub.defined { throw err("table '\(head)' is defined twice") }
            sub.defined = true; sub.line = line
            return sub
        default: throw err("'\(head)' is already defined as a value")
        }
    }

    /// Sets `a.b.c = v` in `t`, creating the tables a dotted key implies.
    private static func assign(_ t: Builder, _ key: [String], _ v: TOMLValue, line: Int, err: (String) -> ParseError) throws {
        let t = try descend(t, key.dropLast(), intoArrays: false, line: line, err: err)
        guard let k = key.last else { return }
        if t.slots[k] != nil { throw err("key '\(k)' is defined twice") }
        t.set(k, .value(v))
    }

    private mutating func keyPath() throws -> [String] {
        var parts: [String] = []
        while true {
            guard parts.count < Self.maxDepth else { throw fail("key has more than \(Self.maxDepth) dotted parts") }
            skipSpace()
            guard let c = peek else { throw fail("unexpected end of file in key") }
            if c == UInt8(ascii: "\"") { parts.append(try basicString()) }
            else if c == UInt8(ascii: "'") { parts.append(try literalString()) }
            else {
                let start = i
                while let d = peek, Self.isBare(d) { i += 1 }
                guard i > start else { throw fail("invalid character in key") }
                parts.append(String(decoding: s[start..<i], as: UTF8.self))
            }
            skipSpace()
            if peek == UInt8(ascii: ".") { i += 1 } else { return parts }
        }
    }

    private static func isBare(_ c: UInt8) -> Bool {
        (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 45 || c == 95
    }

    private mutating func value(depth: Int) throws -> TOMLValue {
        guard let c = peek else { throw fail("missing value") }
        if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") {
            guard depth < Self.maxDepth else { throw fail("arrays and inline tables nested deeper than \(Self.maxDepth) levels") }
        }
        switch c {
        case UInt8(ascii: "\""):
            if peek(1) == 34 && peek(2) == 34 { return .string(try multiline(quote: 34)) }
            return .string(try basicString())
        case UInt8(ascii: "'"):
            if peek(1) == 39 && peek(2) == 39 { return .string(try multiline(quote: 39)) }
            return .string(try literalString())
        case UInt8(ascii: "["):
            i += 1
            var items: [TOMLValue] = []
            while true {
                skipAll()
                if peek == UInt8(ascii: "]") { i += 1; return .array(items) }
                items.append(try value(depth: depth + 1))
                skipAll()
                if peek == UInt8(ascii: ",") { i += 1; continue }
                if peek == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw fail("expected ',' or ']' in array")
            }
        case UInt8(ascii: "{"):
            i += 1
            let t = Builder(line: line, defined: true)
            skipSpace()
            if peek == UInt8(ascii: "}") { i += 1; return .table(t.freeze()) }
            while true {
                let k = try keyPath()
                skipSpace()
                guard peek == UInt8(ascii: "=") else { throw fail("expected '=' in inline table") }
                i += 1; skipSpace()
                let v = try value(depth: depth + k.count)
                try Self.assign(t, k, v, line: line, err: { self.fail($0) })
                skipSpace()
                if peek == UInt8(ascii: ",") { i += 1; skipSpace(); continue }
                if peek == UInt8(ascii: "}") { i += 1; return .table(t.freeze()) }
                throw fail("expected ',' or '}' in inline table")
            }
        default:
            let start = i
            while let d = peek, d != 44, d != 93, d != 125, d != 10, d != 13, d != 35 { i += 1 }
            let raw = String(decoding: s[start..<i], as: UTF8.self).trimmingTrailingSpace()
            if raw == "true" { return .bool(true) }
            if raw == "false" { return .bool(false) }
            let digits = raw.replacingUnderscores()
            if let n = Int64(digits) { return .integer(n) }
            if digits.hasPrefix("0x"), let n = Int64(digits.dropFirst(2), radix: 16) { return .integer(n) }
            if digits.hasPrefix("0o"), let n = Int64(digits.dropFirst(2), radix: 8) { return .integer(n) }
            if digits.hasPrefix("0b"), let n = Int64(digits.dropFirst(2), radix: 2) { return .integer(n) }
            if let d = Double(digits) { return .float(d) }
            if ["inf", "+inf", "-inf", "nan", "+nan", "-nan"].contains(raw) { return .float(.nan) }
            if let f = raw.first, f.isNumber, raw.contains("-") || raw.contains(":") { return .datetime(raw) }
            throw fail("invalid value '\(Redactor.quote(raw, max: 40))'")
        }
    }

    private mutating func basicString() throws -> String {
        i += 1
        var out: [UInt8] = []
        while true {
            guard let c = peek else { throw fail("unterminated string") }
            if c == 10 { throw fail("newline in string") }
            i += 1
            if c == 34 { return String(decoding: out, as: UTF8.self) }
            if c == 92 { try escape(into: &out) } else { out.append(c) }
        }
    }

    private mutating func escape(into out: inout [UInt8]) throws {
        guard let e = peek else { throw fail("unterminated escape") }
        i += 1
        switch e {
        case UInt8(ascii: "n"): out.append(10)
        case UInt8(ascii: "t"): out.append(9)
        case UInt8(ascii: "r"): out.append(13)
        case UInt8(ascii: "b"): out.append(8)
        case UInt8(ascii: "f"): out.append(12)
        case 34, 92: out.append(e)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let n = e == UInt8(ascii: "u") ? 4 : 8
            guard i + n <= s.count, let v = UInt32(String(decoding: s[i..<i + n], as: UTF8.self), radix: 16),
                  let scalar = Unicode.Scalar(v) else { throw fail("invalid unicode escape") }
            i += n
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        default: throw fail("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
        }
    }

    private mutating func literalString() throws -> String {
        i += 1
        let start = i
        while let c = peek, c != 39 { if c == 10 { throw fail("newline in string") }; i += 1 }
        guard peek == 39 else { throw fail("unterminated string") }
        defer { i += 1 }
        return String(decoding: s[start..<i], as: UTF8.self)
    }

    private mutating func multiline(quote: UInt8) throws -> String {
        i += 3
        if peek == 13 { i += 1 }
        if peek == 10 { i += 1; line += 1 }
        var out: [UInt8] = []
        while true {
            guard let c = peek else { throw fail("unterminated multi-line string") }
            if c == quote && peek(1) == quote && peek(2) == quote {
                i += 3
                while peek == quote { out.append(quote); i += 1 }
                return String(decoding: out, as: UTF8.self)
            }
            i += 1
            if c == 10 { line += 1 }
            if c == 92 && quote == 34 {
                // A line-ending backslash trims the newline and following whitespace.
                var j = i
                while j < s.count, s[j] == 32 || s[j] == 9 || s[j] == 13 { j += 1 }
                if j < s.count, s[j] == 10 {
                    i = j
                    while let d = peek, d == 32 || d == 9 || d == 10 || d == 13 { if d == 10 { line += 1 }; i += 1 }
                    continue
                }
                try escape(into: &out)
            } else { out.append(c) }
        }
    }
}

private extension String {
    func trimmingTrailingSpace() -> String {
        var t = Substring(self)
        while let l = t.last, l == " " || l == "\t" { t = t.dropLast() }
        return String(t)
    }
    func replacingUnderscores() -> String { filter { $0 != "_" } }
}
