/// A JSON tree that keeps key order as written, so documents come out byte-identical every run.
/// Not `indirect`: Array already gives the recursion its indirection, and boxing every case cost an
/// allocation per value.
public enum JSONValue: Sendable, Equatable {
    case string(String), int(Int), double(Double), bool(Bool), null
    case array([JSONValue]), object([(String, JSONValue)])
    /// An array whose elements are built while it is written, so a large document never exists
    /// as one tree: only the batch being written does. `weight` says how large element `i` is
    /// likely to be next to the others (a component with its files), so batches and their split
    /// over the cores follow the bytes rather than the count; nil weighs every element the same.
    case generated(count: Int, weight: (@Sendable (Int) -> Int)? = nil, element: @Sendable (Int) -> JSONValue)
    /// Bytes written straight to the output at the given indent, for the hot spots (tens of
    /// thousands of per-file records) where building a tree per element costs more than writing it.
    case raw(@Sendable (inout [UInt8], _ indent: Int, _ pretty: Bool) -> Void)

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.serialized() == b.serialized() }

    /// Pretty output with two-space indents and a final newline.
    public func serialized(pretty: Bool = true) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(1 << 16)
        write(&out, indent: 0, pretty: pretty, flush: nil)
        if pretty { out.append(10) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Streams the document to `flush` in chunks of about a megabyte.
    public func write(pretty: Bool = true, to flush: ([UInt8]) -> Void) {
        var out: [UInt8] = []
        out.reserveCapacity(Self.chunk + (1 << 16))
        withoutActuallyEscaping(flush) { f in write(&out, indent: 0, pretty: pretty, flush: f) }
        if pretty { out.append(10) }
        flush(out)
    }

    static let chunk = 1 << 20
    /// A generated array is rendered a batch at a time: at most `batch` elements, cut once the
    /// predicted output reaches `batchBytes`.
    static let batch = 4096
    static let batchBytes = 8 << 20
    /// The weight at which an element is written alone (see `generated`).
    public static let alone = 8192

    /// This value's bytes at `indent`, for `JSONWriter`.
    func write(into o: inout [UInt8], indent: Int, pretty: Bool) { write(&o, indent: indent, pretty: pretty, flush: nil) }

    private func write(_ o: inout [UInt8], indent: Int, pretty: Bool, flush: (([UInt8]) -> Void)?) {
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
                v.write(&o, indent: indent + 1, pretty: pretty, flush: flush)
            }
            Self.newline(&o, indent, pretty)
            o.append(UInt8(ascii: "]"))
        case .generated(let count, let weight, let element):
            if count == 0 { o.append(contentsOf: "[]".utf8); return }
            o.append(UInt8(ascii: "["))
            // Batches are built and rendered on every core, then appended in order: the bytes are
            // the same as one at a time, and only one batch is in memory. A batch is cut at about
            // `batchBytes` of output, predicted from the bytes per unit of weight the last batch
            // took: a batch of 4,096 components that own thousands of files each was tens of megabytes
            // held at once. The batch is cut into pieces of equal weight, several per core.
            let weigh: (Int) -> Int = { i in max(1, weight?(i) ?? 1) }
            var start = 0, perUnit = 256   // bytes, learnt from each batch to size the next
            while start < count {
                var cumulative: [Int] = [0]   // weight before each element of the batch
                var end = start
                let units = max(1, Self.batchBytes / perUnit)
                while end < count, end - start < Self.batch, end == start || cumulative.last! < units {
                    // An element weighing `alone` or more gets a batch of its own, written by this
                    // thread while the others are free, so it can spread over the cores itself.
                    let w = weigh(end)
                    if end > start, w >= Self.alone { break }
                    let (sum, overflow) = cumulative.last!.addingReportingOverflow(w)
                    cumulative.append(overflow ? Int.max : sum)
                    end += 1
                    if w >= Self.alone { break }
                }
                let total = cumulative.last!
                // Several pieces per core, taken by whichever core is free: one share per core
                // waited on the slower one (40 ms against 27 for the agent image's third batch).
                let width = end - start < 2 || total < 256 ? 1 : Parallel.pieces
                let bounds = Parallel.shares(of: start..<end, cumulative: cumulative, width: width)
                let (first, guess, weights) = (start, perUnit, cumulative)
                let parts = Parallel.map(width: width) { w -> [UInt8] in
                    var part: [UInt8] = []
                    let mine = bounds[w]..<bounds[w + 1]
                    let (bytes, overflow) = guess.multipliedReportingOverflow(by: weights[mine.upperBound - first] - weights[mine.lowerBound - first])
                    part.reserveCapacity((overflow ? Self.batchBytes : min(Self.batchBytes, bytes)) + 64)
                    for i in mine {
                        if i > 0 { part.append(UInt8(ascii: ",")) }
                        Self.newline(&part, indent + 1, pretty)
                        element(i).write(&part, indent: indent + 1, pretty: pretty, flush: nil)
                    }
                    return part
                }
                perUnit = max(16, parts.reduce(0) { $0 + $1.count } / max(1, total) + 1)
                // Streaming, each part goes out as it is; otherwise it joins the document.
                if let flush {
                    if !o.isEmpty { flush(o); o.removeAll(keepingCapacity: true) }
                    for p in parts where !p.isEmpty { flush(p) }
                } else {
                    for p in parts { o.append(contentsOf: p) }
                }
                start = end
            }
            Self.newline(&o, indent, pretty)
            o.append(UInt8(ascii: "]"))
        case .raw(let emit): emit(&o, indent, pretty)
        case .object(let kv):
            if kv.isEmpty { o.append(contentsOf: "{}".utf8); return }
            o.append(UInt8(ascii: "{"))
            for (i, (k, v)) in kv.enumerated() {
                if i > 0 { o.append(UInt8(ascii: ",")) }
                Self.newline(&o, indent + 1, pretty)
                Self.escape(k, into: &o)
                o.append(contentsOf: (pretty ? ": " : ":").utf8)
                v.write(&o, indent: indent + 1, pretty: pretty, flush: flush)
            }
            Self.newline(&o, indent, pretty)
            o.append(UInt8(ascii: "}"))
        }
    }

    public static func newline(_ o: inout [UInt8], _ indent: Int, _ pretty: Bool) {
        guard pretty else { return }
        o.append(10)
        o.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * 2))
    }

    private static let hex = Array("0123456789abcdef".utf8)
    public static func escape(_ s: String, into o: inout [UInt8]) {
        o.append(34)
        // Almost every string is plain: copy it whole when nothing needs escaping.
        let plain = s.utf8.withContiguousStorageIfAvailable { buf in
            !buf.contains(where: { $0 < 32 || $0 == 34 || $0 == 92 })
        } ?? !s.utf8.contains(where: { $0 < 32 || $0 == 34 || $0 == 92 })
        if plain {
            o.append(contentsOf: s.utf8)
            o.append(34)
            return
        }
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
public struct ObjectBuilder {
    public var fields: [(String, JSONValue)] = []
    public init() {}
    public mutating func add(_ k: String, _ v: JSONValue) { fields.append((k, v)) }
    public mutating func add(_ k: String, _ v: String?) { if let v, !v.isEmpty { fields.append((k, .string(v))) } }
    public mutating func add(_ k: String, array: [JSONValue]) { if !array.isEmpty { fields.append((k, .array(array))) } }
    public var value: JSONValue { .object(fields) }
}
