import ProvenantCore
import Yams

/// What a lockfile reader asks of a YAML node: its text, its truth, and a mapping's pairs, as
/// `Yams.Node` answers (the last of duplicate keys wins a lookup; iteration keeps every pair).
protocol LockYAMLNode {
    /// A scalar's text; nil for a mapping or a sequence.
    var string: String? { get }
    /// `true`/`yes`/`on` and `false`/`no`/`off` in any case, for a plain scalar; nil for a quoted one,
    /// which Yams tags `!!str` (`dev: 'true'` does not make a package a dev package).
    var bool: Bool? { get }
    /// A mapping's pairs in document order with each key's line; nil for anything else.
    var pairs: [(key: Self, line: Int?, value: Self)]? { get }
    var isMapping: Bool { get }
    /// The value of the last pair whose key is the scalar `key`, in a mapping; nil for anything else,
    /// so a lookup needs no check of what the node is first.
    func value(_ key: String) -> Self?
}

extension Node: LockYAMLNode {
    var pairs: [(key: Node, line: Int?, value: Node)]? {
        mapping.map { $0.map { (key: $0.key, line: $0.key.mark?.line, value: $0.value) } }
    }
    var isMapping: Bool { if case .mapping = self { true } else { false } }
    func value(_ key: String) -> Node? { mapping?[key] }
}

/// The block YAML that lockfile tools write (pnpm's), read without building Yams' tree: mappings
/// by indentation, `- ` sequences, plain and quoted scalars, and one-line flow mappings and
/// sequences of scalars. Anything outside that (comments, tabs, anchors, tags, block scalars,
/// multi-line scalars, escapes, non-ASCII bytes, unusual indentation, repeated keys) makes `read` return nil, and
/// the caller reads the text with Yams as before: this reading only ever agrees with Yams or
/// declines. Yams took 80 ms and most of the allocations of a 450 KB `pnpm-lock.yaml`.
indirect enum LockYAML: LockYAMLNode, Equatable, Sendable {
    /// A scalar's text, and whether it was quoted: Yams tags a quoted scalar `!!str`, and no
    /// `bool` is read from it.
    case scalar(String, quoted: Bool = false)
    case mapping([Pair])
    case sequence([LockYAML])

    struct Pair: Equatable, Sendable {
        var key: LockYAML, line: Int, value: LockYAML
    }

    var string: String? { if case .scalar(let s, _) = self { s } else { nil } }

    var bool: Bool? {
        guard case .scalar(let s, quoted: false) = self else { return nil }
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }

    var isMapping: Bool { if case .mapping = self { true } else { false } }

    var pairs: [(key: LockYAML, line: Int?, value: LockYAML)]? {
        guard case .mapping(let ps) = self else { return nil }
        return ps.map { (key: $0.key, line: $0.line, value: $0.value) }
    }

    func value(_ key: String) -> LockYAML? {
        guard case .mapping(let ps) = self else { return nil }
        return ps.last(where: { $0.key.string == key })?.value
    }

    /// Yams' tree in these terms (the scalars' text, the pairs in order with their keys' lines), for
    /// the checks that hold the two readings equal; nil for an alias or a key without a line.
    init?(yams node: Node) {
        switch node {
        case .scalar(let s): self = .scalar(s.string, quoted: s.style == .singleQuoted || s.style == .doubleQuoted)
        case .sequence(let s):
            var items: [LockYAML] = []
            for n in s { guard let t = LockYAML(yams: n) else { return nil }; items.append(t) }
            self = .sequence(items)
        case .mapping(let m):
            var pairs: [Pair] = []
            for (k, v) in m {
                guard let kt = LockYAML(yams: k), let vt = LockYAML(yams: v), let line = k.mark?.line else { return nil }
                pairs.append(Pair(key: kt, line: line, value: vt))
            }
            self = .mapping(pairs)
        case .alias: return nil
        }
    }

    /// Collections nest at most this deep here; deeper text goes to Yams and its own depth check.
    static let maxDepth = 64

    /// The document's top-level mapping, or nil where this reading declines.
    static func read(_ text: String) -> LockYAML? {
        var copy = text
        return copy.withUTF8 { bytes in
            var reader = Reader(b: bytes)
            return reader.document()
        }
    }

    /// Reads lines at a time. `number` is the current line's number from 1, `start..<end` its bytes
    /// without the line break, `indent` its leading spaces; `atEnd` is set past the last line.
    struct Reader {
        let b: UnsafeBufferPointer<UInt8>
        var start = 0, end = 0, next = 0, number = 0, indent = 0
        var atEnd = false

        /// Moves to the next line that is not blank, from `next`, or to the end of the text; false
        /// on a byte or line this reading does not take.
        mutating func advance() -> Bool {
            while next <= b.count {
                if next == b.count { atEnd = true; return true }
                start = next
                number += 1
                var e = start
                while e < b.count, b[e] != 10 {
                    let c = b[e]
                    // Tabs, other control bytes and non-ASCII: Yams reads them.
                    if c >= 0x80 || (c < 32 && c != 13) || c == 127 { return false }
                    e += 1
                }
                next = e + 1
                end = e
                if end > start, b[end - 1] == 13 { end -= 1 }
                // A carriage return anywhere else is a line break to YAML.
                if b[start..<end].contains(13) { return false }
                var i = start
                while i < end, b[i] == 32 { i += 1 }
                if i == end { continue }
                indent = i - start
                // `---` and `...` at the start of any line may mark a document's start or end.
                if indent == 0, end - start >= 3, (b[start] == 45 && b[start + 1] == 45 && b[start + 2] == 45)
                    || (b[start] == 46 && b[start + 1] == 46 && b[start + 2] == 46) { return false }
                return true
            }
            atEnd = true
            return true
        }

        mutating func document() -> LockYAML? {
            // Directives (`%`) and comments (`#`) fail as keys.
            guard advance(), !atEnd, indent == 0, let root = mapping(at: 0, depth: 1), atEnd else { return nil }
            return root
        }

        /// A block mapping whose keys sit at `column`; the reader is on its first line.
        mutating func mapping(at column: Int, depth: Int) -> LockYAML? {
            guard depth <= LockYAML.maxDepth else { return nil }
            var pairs: [Pair] = []
            var seen = Set<String>()
            while !atEnd && indent == column {
                var i = start + column
                // Yams refuses a mapping that repeats a key.
                guard let key = key(&i), seen.insert(key.string ?? "").inserted else { return nil }
                let line = number
                // After `key:`: a value on the line, or a nested block on the lines below.
                while i < end, b[i] == 32 { i += 1 }
                let value: LockYAML?
                if i < end {
                    value = inlineValue(i..<end)
                    // A more-indented line after a scalar would continue it.
                    guard value != nil, advance(), atEnd || indent <= column else { return nil }
                } else {
                    guard advance(), !atEnd, indent > column else { return nil }
                    let child = indent, dash = start + child
                    let isSequence = b[dash] == 45 && dash + 1 < end && b[dash + 1] == 32
                    value = isSequence ? sequence(at: child, depth: depth + 1) : mapping(at: child, depth: depth + 1)
                }
                guard let value else { return nil }
                pairs.append(Pair(key: key, line: line, value: value))
            }
            // A line indented between this mapping's column and its parent's is an error to YAML.
            if !atEnd && indent > column { return nil }
            return .mapping(pairs)
        }

        /// A block sequence of scalars whose dashes sit at `column`.
        mutating func sequence(at column: Int, depth: Int) -> LockYAML? {
            guard depth <= LockYAML.maxDepth else { return nil }
            var items: [LockYAML] = []
            while !atEnd && indent == column {
                let dash = start + column
                guard b[dash] == 45, dash + 1 < end, b[dash + 1] == 32 else { return nil }
                var i = dash + 2
                while i < end, b[i] == 32 { i += 1 }
                guard i < end, let item = inlineValue(i..<end) else { return nil }
                // `- a: b` is a mapping in a sequence (`- - a` fails as a plain scalar): Yams' to read.
                if case .scalar(let s, quoted: false) = item, s.utf8.contains(58) { return nil }
                items.append(item)
                // Items hold no blocks, so a deeper line continues or breaks this one.
                guard advance(), atEnd || indent <= column else { return nil }
            }
            return .sequence(items)
        }

        func isQuoted(_ i: Int) -> Bool { b[i] == 39 || b[i] == 34 }

        /// A block mapping's key and its colon, from `i`; `i` ends after the colon, which must end
        /// the line or be followed by a space.
        func key(_ i: inout Int) -> LockYAML? {
            guard i < end else { return nil }
            let text: String
            var wasQuoted = false
            if isQuoted(i) {
                guard let (s, after) = quoted(i, limit: end) else { return nil }
                text = s
                wasQuoted = true
                i = after
                guard i < end, b[i] == 58 else { return nil }
            } else {
                let from = i
                guard plainMayStart(at: i, limit: end) else { return nil }
                while i < end {
                    if b[i] == 58 && (i + 1 == end || b[i + 1] == 32) { break }
                    // A comment: Yams' to read. Flow indicators are text in a block's plain scalar.
                    if b[i] == 35 && b[i - 1] == 32 { return nil }
                    i += 1
                }
                guard i < end, i > from, b[i - 1] != 32 else { return nil }
                text = string(from..<i)
            }
            // libyaml finds a key's colon within 1,024 characters, or says it found none.
            guard i - start < 1000 else { return nil }
            i += 1
            guard i == end || b[i] == 32 else { return nil }
            return .scalar(text, quoted: wasQuoted)
        }

        /// The value after `key: `: a quoted or plain scalar, or a one-line flow collection.
        func inlineValue(_ r: Range<Int>) -> LockYAML? {
            var e = r.upperBound
            while e > r.lowerBound, b[e - 1] == 32 { e -= 1 }
            let c = b[r.lowerBound]
            if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                var i = r.lowerBound
                guard let v = flow(&i, limit: e), i == e else { return nil }
                return v
            }
            if isQuoted(r.lowerBound) {
                guard let (s, after) = quoted(r.lowerBound, limit: e), after == e else { return nil }
                return .scalar(s, quoted: true)
            }
            guard plainMayStart(at: r.lowerBound, limit: e) else { return nil }
            var i = r.lowerBound
            while i < e {
                let c = b[i]
                if c == 58 && (i + 1 == e || b[i + 1] == 32) { return nil }   // `a: b: c`
                if c == 35 && b[i - 1] == 32 { return nil }                   // a comment
                i += 1
            }
            return .scalar(string(r.lowerBound..<e))
        }

        /// `{k: v, …}` or `[v, …]` of scalars on one line, from `i` (on the bracket) to `limit`.
        func flow(_ i: inout Int, limit: Int) -> LockYAML? {
            let isMapping = b[i] == UInt8(ascii: "{")
            let close: UInt8 = isMapping ? UInt8(ascii: "}") : UInt8(ascii: "]")
            let line = number
            i += 1
            var pairs: [Pair] = [], items: [LockYAML] = []
            func skipSpaces(_ i: inout Int) { while i < limit, b[i] == 32 { i += 1 } }
            skipSpaces(&i)
            if i < limit, b[i] == close {
                i += 1
                return isMapping ? .mapping([]) : .sequence([])
            }
            while true {
                guard let first = flowScalar(&i, limit: limit, key: isMapping) else { return nil }
                skipSpaces(&i)
                if isMapping {
                    guard i < limit, i - start < 1000, b[i] == 58, i + 1 < limit, b[i + 1] == 32 else { return nil }
                    i += 1
                    skipSpaces(&i)
                    guard let value = flowScalar(&i, limit: limit, key: false),
                          !pairs.contains(where: { $0.key.string == first.string }) else { return nil }
                    pairs.append(Pair(key: first, line: line, value: value))
                    skipSpaces(&i)
                } else {
                    items.append(first)
                }
                guard i < limit else { return nil }
                if b[i] == close { i += 1; break }
                guard b[i] == 44, i + 1 < limit, b[i + 1] == 32 else { return nil }
                i += 1
                skipSpaces(&i)
            }
            return isMapping ? .mapping(pairs) : .sequence(items)
        }

        /// A scalar inside a flow collection: quoted, or plain up to `,`, `: ` (a key's), or the
        /// closing bracket.
        func flowScalar(_ i: inout Int, limit: Int, key: Bool) -> LockYAML? {
            guard i < limit else { return nil }
            if isQuoted(i) {
                guard let (s, after) = quoted(i, limit: limit) else { return nil }
                i = after
                return .scalar(s, quoted: true)
            }
            guard plainMayStart(at: i, limit: limit, flow: true) else { return nil }
            let from = i
            while i < limit {
                let c = b[i]
                if c == 44 || c == UInt8(ascii: "}") || c == UInt8(ascii: "]") { break }
                if c == 58 {
                    // A key ends at `: `; libyaml refuses `:` before `,?[]{}` in a flow. A `?` later
                    // in a scalar is text (a tarball URL's query).
                    if key && i + 1 < limit && b[i + 1] == 32 { break }
                    if i + 1 == limit || b[i + 1] == 32 || b[i + 1] == UInt8(ascii: "?") || isFlowIndicator(b[i + 1]) { return nil }
                }
                if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") || c == 35 { return nil }
                i += 1
            }
            var e = i
            while e > from, b[e - 1] == 32 { e -= 1 }
            guard e > from else { return nil }
            return .scalar(string(from..<e))
        }

        /// A single- or double-quoted scalar that closes on this line, from `i` (on the quote), and
        /// the index after it. Double quotes with an escape are Yams' to read.
        func quoted(_ i: Int, limit: Int) -> (String, Int)? {
            let q = b[i]
            var j = i + 1
            var out: [UInt8] = []
            while j < limit {
                let c = b[j]
                if c == q {
                    if q == 39, j + 1 < limit, b[j + 1] == 39 { out.append(39); j += 2; continue }
                    return (String(decoding: out, as: UTF8.self), j + 1)
                }
                if q == 34 && c == 92 { return nil }
                out.append(c)
                j += 1
            }
            return nil
        }

        /// Whether a plain scalar may start at `i`: not on an indicator YAML gives a meaning there.
        func plainMayStart(at i: Int, limit: Int, flow: Bool = false) -> Bool {
            switch b[i] {
            case UInt8(ascii: "-"), UInt8(ascii: "?"), UInt8(ascii: ":"):
                // `-1` is plain, and in a block `?x` and `:x` too; followed by a space (or nothing)
                // they are indicators.
                if flow && b[i] != UInt8(ascii: "-") { return false }
                return i + 1 < limit && b[i + 1] != 32 && !isFlowIndicator(b[i + 1])
            case UInt8(ascii: ","), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"),
                 UInt8(ascii: "#"), UInt8(ascii: "&"), UInt8(ascii: "*"), UInt8(ascii: "!"), UInt8(ascii: "|"),
                 UInt8(ascii: ">"), UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "%"), UInt8(ascii: "@"),
                 UInt8(ascii: "`"):
                return false
            default:
                return true
            }
        }

        func isFlowIndicator(_ c: UInt8) -> Bool {
            c == 44 || c == UInt8(ascii: "[") || c == UInt8(ascii: "]") || c == UInt8(ascii: "{") || c == UInt8(ascii: "}")
        }

        func string(_ r: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self) }
    }
}
