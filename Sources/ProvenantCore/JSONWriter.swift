/// Writes JSON straight to bytes in exactly `JSONValue`'s layout (two-space indents, `": "`, `{}`
/// and `[]` when empty), for records written by the ten thousand, where building a tree for each
/// costs more than writing it. Runs inside `JSONValue.raw` through `write(into:indent:pretty:_:)`.
public struct JSONWriter {
    public private(set) var out: [UInt8] = []
    public let pretty: Bool
    private var indent: Int
    /// Per open container: whether anything has been written in it yet.
    private var started: [Bool] = []
    /// A key was just written, so the value follows on its line.
    private var afterKey = false

    init(indent: Int, pretty: Bool) { self.indent = indent; self.pretty = pretty }

    /// Runs `body` with a writer appending to `o` at `indent`, without copying the buffer.
    public static func write(into o: inout [UInt8], indent: Int, pretty: Bool, _ body: (inout JSONWriter) -> Void) {
        var w = JSONWriter(indent: indent, pretty: pretty)
        swap(&w.out, &o)
        body(&w)
        swap(&w.out, &o)
    }

    /// The comma and line break before an array element or object member.
    private mutating func separate() {
        guard let top = started.indices.last else { return }
        if started[top] { out.append(UInt8(ascii: ",")) } else { started[top] = true }
        JSONValue.newline(&out, indent, pretty)
    }

    private mutating func beginValue() {
        if afterKey { afterKey = false } else { separate() }
    }

    private mutating func container(_ open: UInt8, _ close: UInt8, _ body: (inout JSONWriter) -> Void) {
        beginValue()
        out.append(open)
        started.append(false)
        indent += 1
        body(&self)
        indent -= 1
        if started.popLast() == true { JSONValue.newline(&out, indent, pretty) }
        out.append(close)
    }

    /// An object value; inside `body`, each `key` starts a member.
    public mutating func object(_ body: (inout JSONWriter) -> Void) { container(UInt8(ascii: "{"), UInt8(ascii: "}"), body) }
    /// An array value; inside `body`, each value written is an element.
    public mutating func array(_ body: (inout JSONWriter) -> Void) { container(UInt8(ascii: "["), UInt8(ascii: "]"), body) }

    public mutating func key(_ k: String) {
        separate()
        JSONValue.escape(k, into: &out)
        out.append(UInt8(ascii: ":"))
        if pretty { out.append(UInt8(ascii: " ")) }
        afterKey = true
    }

    public mutating func string(_ s: String) { beginValue(); JSONValue.escape(s, into: &out) }
    public mutating func null() { beginValue(); out.append(contentsOf: "null".utf8) }
    /// Any tree, laid out as `JSONValue` lays it out at this depth.
    public mutating func value(_ v: JSONValue) { beginValue(); v.write(into: &out, indent: indent, pretty: pretty) }

    public mutating func field(_ k: String, _ s: String) { key(k); string(s) }
    /// `null` when absent.
    public mutating func field(_ k: String, _ s: String?) { key(k); if let s { string(s) } else { null() } }
    public mutating func field(_ k: String, strings: [String]) { key(k); array { w in for s in strings { w.string(s) } } }
}
