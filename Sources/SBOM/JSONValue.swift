/// A JSON tree that keeps key order as written, so documents come out byte-identical every run.
public indirect enum JSONValue: Sendable, Equatable {
    case string(String), int(Int), double(Double), bool(Bool), null
    case array([JSONValue]), object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.serialized() == b.serialized() }

    /// Pretty output with two-space indents and a final newline.
    public func serialized(pretty: Bool = true) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(1 << 16)
        write(&out, indent: 0, pretty: pretty)
        if pretty { out.append(10) }
        return String(decoding: out, as: UTF8.self)
    }

    private func write(_ o: inout [UInt8], indent: Int, pretty: Bool) {
        switch self {
        case .string(let s): Self.escape(s, into: &o)
        case .int(let i): o.append(contentsOf: String(i).utf8)
        case .double(let d): o.append(contentsOf: (d.isFinite ? String(d) : "null").utf8)
        case .bool(let b): o.append(contentsOf: (b ? "true" : "false").utf8)
        case .null: o.append(contentsOf: "null".utf8)
        case .array(let a):
            if a.isEmpty { o.append(contentsOf: "[]".utf8); return }
            o.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { o.append(UInt8(ascii: ",")) }
                Self.newline(&o, indent + 1, pretty)
                v.write(&o, indent: indent + 1, pretty: pretty)
            }
            Self.newline(&o, indent, pretty)
            o.append(UInt8(ascii: "]"))
        case .object(let kv):
            if kv.isEmpty { o.append(contentsOf: "{}".utf8); return }
            o.append(UInt8(ascii: "{"))
            for (i, (k, v)) in kv.enumerated() {
                if i > 0 { o.append(UInt8(ascii: ",")) }
                Self.newline(&o, indent + 1, pretty)
                Self.escape(k, into: &o)
                o.append(contentsOf: (pretty ? ": " : ":").utf8)
                v.write(&o, indent: indent + 1, pretty: pretty)
            }
            Self.newline(&o, indent, pretty)
            o.append(UInt8(ascii: "}"))
        }
    }

    private static func newline(_ o: inout [UInt8], _ indent: Int, _ pretty: Bool) {
        guard pretty else { return }
        o.append(10)
        o.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * 2))
    }

    private static let hex = Array("0123456789abcdef".utf8)
    static func escape(_ s: String, into o: inout [UInt8]) {
        o.append(34)
        for b in s.utf8 {
            switch b {
            case 34: o.append(contentsOf: [92, 34])
            case 92: o.append(contentsOf: [92, 92])
            case 10: o.append(contentsOf: [92, 110])
            case 13: o.append(contentsOf: [92, 114])
            case 9: o.append(contentsOf: [92, 116])
            case 0..<32: o.append(contentsOf: [92, 117, 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: o.append(b)
            }
        }
        o.append(34)
    }
}

/// Builds objects while dropping absent optional fields.
struct ObjectBuilder {
    var fields: [(String, JSONValue)] = []
    mutating func add(_ k: String, _ v: JSONValue) { fields.append((k, v)) }
    mutating func add(_ k: String, _ v: String?) { if let v, !v.isEmpty { fields.append((k, .string(v))) } }
    mutating func add(_ k: String, array: [JSONValue]) { if !array.isEmpty { fields.append((k, .array(array))) } }
    var value: JSONValue { .object(fields) }
}
